"""The Stripe adapter against the running stripe-mock.

stripe-mock is stateless: it validates each request against Stripe's OpenAPI spec and
answers fixture objects (reflecting some request fields, such as a new intent's amount
and currency). It does not simulate declines or remember intents, so these tests check
what it can show: our requests are valid Stripe requests of the right shape, carry an
Idempotency-Key, and the answers are parsed, with errors mapped. Decline decisions are
tested in `tests/unit/test_payment_sandbox.py`.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

import httpx
import pytest

from infra.payments.provider import PaymentAmountMismatch
from schemas.payments import PaymentMethod
from infra.payments.stripe import StripeError, StripePaymentProvider
from infra.settings import Settings
from schemas.money import Money

AMOUNT = Money(amount=2599, currency="EUR")


class Recorder:
    """Our own client's event hooks: what we sent and what came back."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def on_response(self, response: httpx.Response) -> None:
        self.responses.append(response)

    def form(self, index: int = -1) -> dict[str, list[str]]:
        return parse_qs(self.requests[index].content.decode())


@pytest.fixture
async def recorded(settings: Settings):
    recorder = Recorder()
    async with httpx.AsyncClient(timeout=10, event_hooks={
            "request": [recorder.on_request], "response": [recorder.on_response]}) as http:
        yield recorder, http


def provider(settings: Settings, http: httpx.AsyncClient, api_key: str | None = None):
    return StripePaymentProvider(
        http, api_url=settings.stripe_api_url,
        api_key=api_key or settings.stripe_api_key.get_secret_value())


async def test_local_stripe_key_is_a_test_key(settings: Settings) -> None:
    assert settings.stripe_api_key.get_secret_value().startswith("sk_test_")
    assert settings.stripe_webhook_secret.get_secret_value().startswith("whsec_")


@pytest.mark.parametrize(("call", "capture_method"), [("authorize", "manual"),
                                                      ("charge", "automatic")])
async def test_an_authorization_or_a_charge_then_a_refund(
        settings: Settings, recorded, call: str, capture_method: str) -> None:
    recorder, http = recorded
    stripe = provider(settings, http)
    payment_id = uuid.uuid4()

    authorized = await getattr(stripe, call)(payment_id, AMOUNT,
                                             PaymentMethod("card", "tok_visa"),
                                             f"{call}-{payment_id}")
    assert authorized.provider_reference.startswith("pi_")
    # stripe-mock's fixture intent is never really confirmed, so its status is a stand-in;
    # whatever it is, a non-success carries a reason.
    assert authorized.status in ("authorized", "captured", "pending", "failed")
    assert (authorized.failure_reason is not None) == (authorized.status == "failed")
    sent = recorder.form()
    assert recorder.requests[-1].url.path == "/v1/payment_intents"
    assert {k: v[0] for k, v in sent.items()}.items() >= {
        "amount": "2599", "currency": "eur", "payment_method": "tok_visa", "confirm": "true",
        "capture_method": capture_method, "metadata[payment_id]": str(payment_id)}.items()
    assert recorder.requests[-1].headers["Idempotency-Key"] == f"{call}-{payment_id}"
    assert "number" not in str(sent)  # tokens only, never a card number

    refunded = await stripe.refund(payment_id, authorized.provider_reference, AMOUNT,
                                   f"refund-{payment_id}")
    assert refunded.status == "refunded" and refunded.provider_reference.startswith("re_")
    assert recorder.form()["payment_intent"] == [authorized.provider_reference]
    assert recorder.requests[-1].url.path == "/v1/refunds"


async def test_capture_answer_is_parsed_and_its_amount_checked(settings: Settings, recorded) -> None:
    recorder, http = recorded
    stripe = provider(settings, http)
    payment_id = uuid.uuid4()
    # stateless stripe-mock answers a capture with its fixture intent (another amount and
    # currency than ours): the adapter must refuse that answer, not report a capture.
    with pytest.raises(PaymentAmountMismatch):
        await stripe.capture(payment_id, "pi_roundtrip123", AMOUNT, f"capture-{payment_id}")
    assert recorder.requests[-1].url.path == "/v1/payment_intents/pi_roundtrip123/capture"
    assert recorder.form()["amount_to_capture"] == ["2599"]
    assert recorder.responses[-1].status_code == 200


async def test_every_request_carries_its_idempotency_key(settings: Settings, recorded) -> None:
    recorder, http = recorded
    stripe = provider(settings, http)
    payment_id = uuid.uuid4()
    await stripe.authorize(payment_id, AMOUNT, PaymentMethod("card", "tok_visa"), "key-auth")
    await stripe.refund(payment_id, "pi_123", AMOUNT, "key-refund")
    with pytest.raises(PaymentAmountMismatch):
        await stripe.capture(payment_id, "pi_123", AMOUNT, "key-capture")
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == [
        "key-auth", "key-refund", "key-capture"]
    # stripe-mock echoes the key it received.
    assert [r.headers.get("Idempotency-Key") for r in recorder.responses] == [
        "key-auth", "key-refund", "key-capture"]
    assert all(r.headers["Authorization"].startswith("Bearer sk_test_") for r in recorder.requests)


async def test_a_bad_key_raises_instead_of_failing_the_payment(settings: Settings, recorded) -> None:
    _, http = recorded
    stripe = provider(settings, http, api_key="not-a-key")
    with pytest.raises(StripeError) as raised:
        await stripe.authorize(uuid.uuid4(), AMOUNT, PaymentMethod("card", "tok_visa"), "k")
    assert raised.value.http_status == 401 and not raised.value.retryable


async def test_a_malformed_reference_is_refused_before_sending(settings: Settings,
                                                             recorded) -> None:
    recorder, http = recorded
    with pytest.raises(ValueError):
        await provider(settings, http).capture(uuid.uuid4(), "pi_1/../../v1/refunds", AMOUNT, "k")
    assert recorder.requests == []


async def test_unreachable_stripe_is_a_retryable_error(recorded) -> None:
    _, http = recorded
    stripe = StripePaymentProvider(http, api_url="http://127.0.0.1:9", api_key="sk_test_x")
    with pytest.raises(StripeError) as raised:
        await stripe.authorize(uuid.uuid4(), AMOUNT, PaymentMethod("card", "tok_visa"), "k")
    assert raised.value.retryable


async def test_non_card_methods_are_not_sent_to_stripe(settings: Settings, recorded) -> None:
    recorder, http = recorded
    result = await provider(settings, http).authorize(
        uuid.uuid4(), AMOUNT, PaymentMethod("wallet", "wallet_ok"), "k")
    assert result.status == "failed" and result.failure_reason.startswith("unsupported_method")
    assert recorder.requests == []
