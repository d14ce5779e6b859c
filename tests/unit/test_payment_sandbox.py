"""Payment rules with no I/O: the sandbox's answers, the bank's settling time, Stripe's
response mapping, and webhook signatures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.payments.provider import PaymentAmountMismatch
from schemas.payments import PaymentMethod, PaymentResult
from infra.payments.sandbox import (
    SandboxPaymentProvider,
    decide_authorization,
    reference_for,
    settles_at,
)
from infra.payments.stripe import (
    StripeError,
    parse_authorization,
    parse_capture,
    parse_refund,
    raise_for_error,
)
from infra.payments.webhooks import (
    WebhookSignatureError,
    compute_signature,
    signature_header,
    verify_signature,
)
from schemas.money import Money

PAYMENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
AMOUNT = Money(amount=2599, currency="EUR")
SECRET = "whsec_test_secret"
NOW = 1_800_000_000


# --- sandbox -----------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "status", "last4", "reason_starts"), [
    (PaymentMethod("card", "tok_visa"), "authorized", "4242", None),
    (PaymentMethod("card", "tok_chargeDeclined"), "failed", "0002", "card_declined"),
    (PaymentMethod("wallet", "wallet_ok"), "authorized", None, None),
    (PaymentMethod("wallet", "wallet_declined"), "failed", None, "wallet_declined"),
    (PaymentMethod("bank_transfer", None), "pending", None, None),
    (PaymentMethod("cash_on_delivery", None), "authorized", None, None),
    (PaymentMethod("card", "tok_unknown"), "failed", None, "unknown_token"),
    (PaymentMethod("card", None), "failed", None, "missing_token"),
    (PaymentMethod("wallet", "tok_visa"), "failed", None, "unknown_token"),
    (PaymentMethod("card", "wallet_ok"), "failed", None, "unknown_token"),
])
async def test_sandbox_authorization_by_token(method, status, last4, reason_starts) -> None:
    result = await SandboxPaymentProvider().authorize(PAYMENT, AMOUNT, method, "key-1")
    assert result.status == status
    assert result.card_last4 == last4
    assert result.provider_reference == reference_for(PAYMENT)
    if reason_starts is None:
        assert result.failure_reason is None
    else:
        assert result.failure_reason.startswith(reason_starts)


@pytest.mark.parametrize(("method", "status"), [
    (PaymentMethod("card", "tok_visa"), "captured"),
    (PaymentMethod("card", "tok_chargeDeclined"), "failed"),
    (PaymentMethod("wallet", "wallet_ok"), "captured"),
    (PaymentMethod("wallet", "wallet_declined"), "failed"),
])
async def test_a_sandbox_charge_captures_what_it_would_authorize(method, status) -> None:
    sandbox = SandboxPaymentProvider()
    charged = await sandbox.charge(PAYMENT, AMOUNT, method, "key-1")
    authorized = await sandbox.authorize(PAYMENT, AMOUNT, method, "key-1")

    assert charged.status == status
    assert (charged.provider_reference, charged.failure_reason, charged.card_last4) == (
        authorized.provider_reference, authorized.failure_reason, authorized.card_last4)


async def test_unknown_token_reason_names_the_token_and_the_known_ones() -> None:
    result = await SandboxPaymentProvider().authorize(
        PAYMENT, AMOUNT, PaymentMethod("card", "tok_mastercard"), "key-1")
    assert "tok_mastercard" in result.failure_reason and "tok_visa" in result.failure_reason


async def test_zero_amount_is_refused() -> None:
    result = await SandboxPaymentProvider().authorize(
        PAYMENT, Money(amount=0), PaymentMethod("card", "tok_visa"), "key-1")
    assert result.status == "failed" and result.failure_reason.startswith("invalid_amount")


@given(st.uuids(), st.integers(1, 10**12), st.sampled_from(
    ["tok_visa", "tok_chargeDeclined", "wallet_ok", "wallet_declined", None, "x"]),
    st.sampled_from(["card", "bank_transfer", "wallet", "cash_on_delivery"]), st.text(max_size=8))
def test_sandbox_is_deterministic(payment_id, minor, token, kind, key) -> None:
    amount, method = Money(amount=minor), PaymentMethod(kind, token)
    first = decide_authorization(payment_id, amount, method)
    assert first == decide_authorization(payment_id, amount, method)
    assert first.provider_reference == reference_for(payment_id)
    assert first.status in ("authorized", "pending", "failed")
    assert (first.failure_reason is None) == (first.status != "failed")


async def test_sandbox_capture_and_refund() -> None:
    sandbox = SandboxPaymentProvider()
    reference = (await sandbox.authorize(PAYMENT, AMOUNT, PaymentMethod("card", "tok_visa"), "a")
                 ).provider_reference
    assert await sandbox.capture(PAYMENT, reference, AMOUNT, "c") == PaymentResult(
        "captured", reference)
    assert await sandbox.refund(PAYMENT, reference, AMOUNT, "r") == PaymentResult(
        "refunded", reference)
    part = Money(amount=AMOUNT.amount - 1, currency=AMOUNT.currency)
    assert (await sandbox.refund(PAYMENT, reference, part, "r2")).status == "refunded"
    nothing = await sandbox.refund(PAYMENT, reference, Money(amount=0), "r3")
    assert nothing.status == "failed" and nothing.failure_reason.startswith("invalid_amount")
    other = await sandbox.capture(uuid.uuid4(), reference, AMOUNT, "c")
    assert other.status == "failed" and other.failure_reason.startswith("unknown_reference")


def test_settles_at_adds_the_delay() -> None:
    requested = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert settles_at(requested, 2.0) == requested + timedelta(seconds=2)
    assert settles_at(requested, 0) == requested
    assert SandboxPaymentProvider(bank_delay_s=5).settles_at(requested) == (
        requested + timedelta(seconds=5))
    with pytest.raises(ValueError):
        settles_at(requested, -1)


@given(st.datetimes(timezones=st.just(UTC), max_value=datetime(9000, 1, 1)),
       st.floats(0, 86_400, allow_nan=False))
def test_settles_at_is_never_before_the_request(requested, delay) -> None:
    assert settles_at(requested, delay) >= requested


# --- Stripe response mapping ---------------------------------------------------------------

def intent(status: str, amount: int = 2599, currency: str = "eur", **extra) -> dict:
    return {"id": "pi_123", "object": "payment_intent", "amount": amount, "currency": currency,
            "status": status, "amount_received": 0,
            "payment_method": {"id": "pm_1", "card": {"last4": "4242"}}} | extra


@pytest.mark.parametrize(("status", "expected"), [
    ("requires_capture", "authorized"), ("processing", "pending"),
    ("requires_payment_method", "failed"), ("requires_action", "failed"), ("canceled", "failed"),
])
def test_stripe_intent_status_mapping(status, expected) -> None:
    result = parse_authorization(intent(status), AMOUNT)
    assert (result.status, result.provider_reference, result.card_last4) == (
        expected, "pi_123", "4242")
    assert (result.failure_reason is not None) == (expected == "failed")


def test_stripe_decline_reason_comes_from_last_payment_error() -> None:
    body = intent("requires_payment_method", last_payment_error={
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds."})
    result = parse_authorization(body, AMOUNT)
    assert result.failure_reason == "insufficient_funds: Your card has insufficient funds."


def test_stripe_402_is_a_failed_result_not_an_exception() -> None:
    body = {"error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                      "message": "Your card was declined.",
                      "payment_intent": intent("requires_payment_method")}}
    result = raise_for_error(402, body)
    assert result == PaymentResult("failed", "pi_123", "generic_decline: Your card was declined.",
                                   "4242")


@pytest.mark.parametrize("status", [400, 401, 404, 409, 429, 500, 503])
def test_stripe_other_errors_raise(status) -> None:
    with pytest.raises(StripeError) as raised:
        raise_for_error(status, {"error": {"type": "api_error", "message": "nope"}})
    assert raised.value.http_status == status
    assert raised.value.retryable == (status in (409, 429) or status >= 500)


@pytest.mark.parametrize("body", [
    intent("requires_capture", amount=2600), intent("requires_capture", currency="usd"),
    intent("succeeded", amount_received=100),
])
def test_stripe_amount_mismatch_is_never_accepted(body) -> None:
    with pytest.raises(PaymentAmountMismatch):
        parse_authorization(body, AMOUNT)


def test_stripe_capture_and_refund_mapping() -> None:
    assert parse_capture(intent("succeeded", amount_received=2599), AMOUNT).status == "captured"
    assert parse_capture(intent("requires_capture"), AMOUNT).status == "failed"
    with pytest.raises(PaymentAmountMismatch):
        parse_capture(intent("succeeded", amount_received=2000), AMOUNT)
    refund = {"id": "re_1", "amount": 2599, "currency": "eur", "status": "succeeded"}
    assert parse_refund(refund, AMOUNT) == PaymentResult("refunded", "re_1")
    assert parse_refund(refund | {"status": "pending"}, AMOUNT).status == "pending"
    failed = parse_refund(refund | {"status": "failed", "failure_reason": "expired_or_canceled_card"},
                          AMOUNT)
    assert failed.status == "failed" and "expired_or_canceled_card" in failed.failure_reason
    with pytest.raises(PaymentAmountMismatch):
        parse_refund(refund | {"amount": 1}, AMOUNT)
    with pytest.raises(StripeError):
        parse_refund(refund | {"status": "mystery"}, AMOUNT)


# --- webhook signatures --------------------------------------------------------------------

PAYLOAD = b'{"id":"evt_1","type":"payment_intent.succeeded"}'


def test_a_valid_signature_verifies() -> None:
    header = signature_header(PAYLOAD, SECRET, NOW)
    assert verify_signature(PAYLOAD, header, SECRET, now=NOW + 10) == NOW


def test_any_of_several_v1_signatures_may_match() -> None:
    header = f"t={NOW},v1={'0' * 64},v0=abc,v1={compute_signature(PAYLOAD, SECRET, NOW)}"
    assert verify_signature(PAYLOAD, header, SECRET, now=NOW) == NOW


@pytest.mark.parametrize(("payload", "header", "secret", "now"), [
    (PAYLOAD + b" ", signature_header(PAYLOAD, SECRET, NOW), SECRET, NOW),  # tampered body
    (PAYLOAD, signature_header(PAYLOAD, "whsec_other", NOW), SECRET, NOW),  # other secret
    (PAYLOAD, f"t={NOW + 1},v1={compute_signature(PAYLOAD, SECRET, NOW)}", SECRET, NOW),  # new t
    (PAYLOAD, signature_header(PAYLOAD, SECRET, NOW), SECRET, NOW + 301),  # expired
    (PAYLOAD, signature_header(PAYLOAD, SECRET, NOW + 301), SECRET, NOW),  # from the future
    (PAYLOAD, None, SECRET, NOW),
    (PAYLOAD, "", SECRET, NOW),
    (PAYLOAD, "garbage", SECRET, NOW),
    (PAYLOAD, f"v1={compute_signature(PAYLOAD, SECRET, NOW)}", SECRET, NOW),  # no t
    (PAYLOAD, f"t={NOW}", SECRET, NOW),  # no v1
    (PAYLOAD, f"t=abc,v1={compute_signature(PAYLOAD, SECRET, NOW)}", SECRET, NOW),
    (PAYLOAD, f"t={NOW},t={NOW},v1={compute_signature(PAYLOAD, SECRET, NOW)}", SECRET, NOW),
    (PAYLOAD, signature_header(PAYLOAD, SECRET, NOW), "", NOW),  # no secret configured
])
def test_invalid_signatures_are_refused(payload, header, secret, now) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_signature(payload, header, secret, now=now)


def test_tolerance_is_configurable() -> None:
    header = signature_header(PAYLOAD, SECRET, NOW)
    assert verify_signature(PAYLOAD, header, SECRET, now=NOW + 3000, tolerance_s=3600) == NOW
    with pytest.raises(WebhookSignatureError):
        verify_signature(PAYLOAD, header, SECRET, now=NOW + 61, tolerance_s=60)


@given(st.binary(max_size=2048), st.text(min_size=1, max_size=64),
       st.integers(0, 300))
def test_any_payload_signed_with_the_secret_verifies(payload, secret, age) -> None:
    header = signature_header(payload, secret, NOW)
    assert verify_signature(payload, header, secret, now=NOW + age) == NOW


@given(st.binary(min_size=1, max_size=2048), st.data())
def test_any_single_byte_change_is_refused(payload, data) -> None:
    header = signature_header(payload, SECRET, NOW)
    index = data.draw(st.integers(0, len(payload) - 1))
    new_byte = data.draw(st.integers(0, 255).filter(lambda b: b != payload[index]))
    tampered = payload[:index] + bytes([new_byte]) + payload[index + 1:]
    with pytest.raises(WebhookSignatureError):
        verify_signature(tampered, header, SECRET, now=NOW)
