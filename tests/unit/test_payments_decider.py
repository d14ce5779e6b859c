"""The payment decider: one payment per order and the receipt books, given commands
through `commands.handling.handle`, then the events (or the rejection)."""

from __future__ import annotations

from commands import pricing
from datetime import timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.commands.payments import (
    CancelPayment,
    FailPayment,
    IssueReceipt,
    RecordAuthorization,
    RecordCapture,
    RecordRefund,
    SettlePayment,
)
from schemas.events.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentPending,
    PaymentRefunded,
    PaymentRefundRequested,
    PaymentRequested,
)
from schemas.money import Money
from tests.unit.checkout import (
    CARD_TOKEN,
    EXPIRES_AT,
    ISSUED_AT,
    ORDER,
    PAYMENT,
    TOTAL,
    USER,
    Processor,
    events,
    lines,
    place_order,
    request_payment,
    types,
)

KEY = str(PAYMENT)
IDS = dict(payment_id=PAYMENT, order_id=ORDER, user_id=USER)
REFERENCE = "sandbox_ref_1"
AMOUNT = Money(amount=TOTAL)
SETTLES_AT = ISSUED_AT + timedelta(seconds=2)


def authorization(status: str, **fields) -> RecordAuthorization:
    fields.setdefault("provider_reference", REFERENCE)
    return RecordAuthorization(payment_id=PAYMENT, status=status, **fields)


def capture(status: str = "captured", **fields) -> RecordCapture:
    return RecordCapture(payment_id=PAYMENT, status=status, **fields)


def settle(source: str, amount: Money | None = None) -> SettlePayment:
    return SettlePayment(payment_id=PAYMENT, source=source, amount=amount)


def fail(reason: str = "payment_timeout") -> FailPayment:
    return FailPayment(payment_id=PAYMENT, reason=reason)


def cancel(reason: str = "order_cancelled: Changed my mind.") -> CancelPayment:
    return CancelPayment(payment_id=PAYMENT, reason=reason)


def refund(status: str = "refunded", **fields) -> RecordRefund:
    return RecordRefund(payment_id=PAYMENT, status=status, **fields)


# How a payment of each method reaches each status.
ROUTES = {
    "requested": [],
    "authorized": [authorization("authorized", card_last4="4242")],
    "pending": [authorization("pending", settles_at=SETTLES_AT)],
    "captured": [authorization("authorized", card_last4="4242"), capture()],
    "failed": [authorization("failed", failure_reason="card_declined")],
    "refund_requested": [authorization("captured"), cancel()],
    "refunded": [authorization("captured"), cancel(), refund()],
}


def payment_at(status: str, method: str = "card") -> Processor:
    payment = Processor(KEY)
    for command in [request_payment(method), *ROUTES[status]]:
        assert payment.send(command).reply.ok
    assert payment.state.status == status
    return payment


# Requesting

def test_a_requested_payment_records_its_amount_method_and_deadline():
    decision = Processor(KEY).send(request_payment("card"))

    assert events(decision) == [PaymentRequested(**IDS, amount=AMOUNT, method="card",
                                                 token=CARD_TOKEN, expires_at=EXPIRES_AT)]


def test_a_payment_requested_again_is_not_requested_twice():
    payment = payment_at("authorized")

    again = payment.send(request_payment("card", amount=1))

    assert again.reply.status == "accepted" and again.events == []
    assert payment.state.amount == AMOUNT


def test_a_payment_of_nothing_is_invalid():
    decision = Processor(KEY).send(request_payment(amount=0))

    assert (decision.reply.reason, decision.reply.kind) == ("invalid_amount", "invalid")


@pytest.mark.parametrize("command", [authorization("authorized"), capture(), settle("bank"),
                                     fail(), cancel(), refund()])
def test_commands_to_a_payment_that_does_not_exist_are_not_found(command):
    decision = Processor(KEY).send(command)

    assert (decision.reply.reason, decision.reply.kind) == ("payment_not_found", "not_found")


# The provider's answer to the authorization

def test_an_authorized_card_remembers_the_providers_reference_and_the_last_four_digits():
    payment = payment_at("requested")

    decision = payment.send(authorization("authorized", card_last4="4242"))

    assert events(decision) == [PaymentAuthorized(**IDS, method="card", amount=AMOUNT,
                                                  provider_reference=REFERENCE,
                                                  card_last4="4242")]
    assert (payment.state.provider_reference, payment.state.card_last4) == (REFERENCE, "4242")


def test_a_bank_transfer_waits_for_the_money_until_it_settles():
    payment = payment_at("requested", method="bank_transfer")

    decision = payment.send(authorization("pending", settles_at=SETTLES_AT))

    assert events(decision) == [PaymentPending(**IDS, provider_reference=REFERENCE,
                                               settles_at=SETTLES_AT)]
    assert payment.state.status == "pending"


def test_a_wallet_captured_at_once_is_captured():
    payment = payment_at("requested", method="wallet")

    decision = payment.send(authorization("captured"))

    assert events(decision) == [PaymentCaptured(**IDS, method="wallet", amount=AMOUNT,
                                                provider_reference=REFERENCE)]


@pytest.mark.parametrize(("reason", "shown"), [
    ("card_declined: your card was declined", "card_declined: your card was declined"),
    (None, "The payment was declined.")])
def test_a_declined_authorization_fails_the_payment_with_a_reason(reason, shown):
    payment = payment_at("requested")

    decision = payment.send(authorization("failed", failure_reason=reason))

    assert events(decision) == [PaymentFailed(**IDS, reason=shown)]
    assert payment.state.status == "failed"


@pytest.mark.parametrize("status", ["authorized", "pending", "captured"])
@pytest.mark.parametrize("answer", ["authorized", "pending", "captured", "failed"])
def test_a_second_answer_to_the_authorization_changes_nothing(status, answer):
    payment = payment_at(status)

    assert payment.send(authorization(answer)).events == []
    assert payment.state.status == status


@pytest.mark.parametrize("answer", ["authorized", "pending", "failed"])
def test_an_authorization_arriving_after_the_payment_failed_lapses(answer):
    payment = payment_at("failed")

    assert payment.send(authorization(answer)).events == []
    assert payment.state.status == "failed"


def test_money_taken_after_the_payment_failed_is_captured_and_asked_back_at_once():
    payment = payment_at("failed")

    decision = payment.send(authorization("captured", provider_reference="late_ref"))

    assert events(decision) == [
        PaymentCaptured(**IDS, method="card", amount=AMOUNT, provider_reference="late_ref"),
        PaymentRefundRequested(**IDS, method="card", amount=AMOUNT,
                               provider_reference="late_ref")]
    assert payment.state.status == "refund_requested"


# Capture

def test_capturing_an_authorization_takes_the_money_once():
    payment = payment_at("authorized")

    decision = payment.send(capture())

    assert events(decision) == [PaymentCaptured(**IDS, method="card", amount=AMOUNT,
                                                provider_reference=REFERENCE,
                                                card_last4="4242")]
    assert payment.send(capture()).events == []
    assert payment.state.status == "captured"


@pytest.mark.parametrize(("reason", "shown"), [("expired_card", "expired_card"),
                                               (None, "The capture failed.")])
def test_a_failed_capture_fails_the_payment(reason, shown):
    payment = payment_at("authorized")

    assert events(payment.send(capture("failed", failure_reason=reason))) == [
        PaymentFailed(**IDS, reason=shown)]


@pytest.mark.parametrize("status", ["requested", "pending", "refunded"])
def test_a_capture_of_nothing_authorized_changes_nothing(status):
    payment = payment_at(status)

    assert payment.send(capture()).events == []
    assert payment.state.status == status


def test_a_capture_completing_after_the_order_was_cancelled_is_refunded_at_once():
    payment = payment_at("authorized")
    payment.send(cancel())

    decision = payment.send(capture())

    assert types(decision) == ["PaymentCaptured", "PaymentRefundRequested"]
    assert events(decision)[1].amount == AMOUNT


# Settling: the money arrived

def test_a_bank_transfer_is_captured_when_the_money_arrives_with_the_right_amount():
    payment = payment_at("pending", method="bank_transfer")

    decision = payment.send(settle("bank", AMOUNT))

    assert events(decision) == [PaymentCaptured(**IDS, method="bank_transfer", amount=AMOUNT,
                                                provider_reference=REFERENCE)]
    assert payment.send(settle("bank", AMOUNT)).events == []


@pytest.mark.parametrize("stated", [Money(amount=TOTAL - 1), Money(amount=TOTAL + 100),
                                    Money(amount=TOTAL, currency="USD")])
def test_a_notice_of_another_amount_is_refused_and_settles_nothing(stated):
    payment = payment_at("pending", method="bank_transfer")

    decision = payment.send(settle("bank", stated))

    assert decision.reply.status == "rejected"
    assert (decision.reply.reason, decision.reply.kind) == ("amount_mismatch", "invalid")
    assert str(stated.amount) in decision.reply.detail
    assert payment.state.status == "pending"


def test_cash_taken_at_the_door_settles_a_cash_on_delivery_payment():
    payment = payment_at("authorized", method="cash_on_delivery")

    assert types(payment.send(settle("cash_on_delivery"))) == ["PaymentCaptured"]
    assert payment.state.status == "captured"


@pytest.mark.parametrize("status", ["authorized", "requested"])
def test_cash_at_the_door_does_not_settle_a_card_payment(status):
    payment = payment_at(status, method="card")

    assert payment.send(settle("cash_on_delivery")).events == []
    assert payment.state.status == status


@pytest.mark.parametrize("status", ["requested", "authorized"])
def test_the_providers_notice_of_success_captures_a_card_payment(status):
    payment = payment_at(status)

    assert types(payment.send(settle("provider", AMOUNT))) == ["PaymentCaptured"]


def test_a_transfer_arriving_after_the_deadline_is_captured_and_refunded_at_once():
    payment = payment_at("pending", method="bank_transfer")
    payment.send(fail("payment_timeout: the payment did not arrive in time"))

    decision = payment.send(settle("bank", AMOUNT))

    assert types(decision) == ["PaymentCaptured", "PaymentRefundRequested"]
    assert payment.state.status == "refund_requested"


@pytest.mark.parametrize("status", ["captured", "refund_requested", "refunded"])
@pytest.mark.parametrize("source", ["bank", "provider"])
def test_money_arriving_again_for_a_captured_payment_is_not_captured_twice(status, source):
    payment = payment_at(status)

    assert payment.send(settle(source)).events == []


# Failing (the clock, or the provider's notice) and cancelling (the order was cancelled)

@pytest.mark.parametrize("status", ["requested", "pending"])
def test_a_payment_still_waiting_fails_when_its_time_runs_out(status):
    payment = payment_at(status, method="bank_transfer")

    assert events(payment.send(fail("payment_timeout"))) == [
        PaymentFailed(**IDS, reason="payment_timeout")]
    assert payment.state.status == "failed"


@pytest.mark.parametrize("status", ["authorized", "captured", "failed", "refunded"])
def test_a_payment_no_longer_waiting_does_not_expire(status):
    payment = payment_at(status)

    assert payment.send(fail()).events == []
    assert payment.state.status == status


def test_cash_on_delivery_waiting_for_the_parcel_does_not_expire():
    payment = payment_at("authorized", method="cash_on_delivery")

    assert payment.send(fail("payment_timeout")).events == []
    assert types(payment.send(settle("cash_on_delivery", AMOUNT))) == ["PaymentCaptured"]


@pytest.mark.parametrize("status", ["requested", "pending", "authorized"])
def test_cancelling_an_open_payment_fails_it(status):
    payment = payment_at(status)

    assert events(payment.send(cancel("order_cancelled: out of stock"))) == [
        PaymentFailed(**IDS, reason="order_cancelled: out of stock")]
    assert payment.state.status == "failed"


def test_cancelling_a_captured_payment_asks_for_the_money_back():
    payment = payment_at("captured")

    assert events(payment.send(cancel())) == [PaymentRefundRequested(
        **IDS, method="card", amount=AMOUNT, provider_reference=REFERENCE)]


@pytest.mark.parametrize("status", ["failed", "refund_requested", "refunded"])
def test_cancelling_a_payment_that_ended_or_is_being_refunded_changes_nothing(status):
    payment = payment_at(status)

    assert payment.send(cancel()).events == []


# Refunds

def test_a_refund_done_by_the_provider_is_recorded_once():
    payment = payment_at("refund_requested")

    decision = payment.send(refund(refund_reference="re_1"))

    assert events(decision) == [PaymentRefunded(**IDS, amount=AMOUNT, refund_reference="re_1",
                                                refunded_amount=AMOUNT)]
    assert payment.send(refund(refund_reference="re_2")).events == []
    assert payment.state.status == "refunded"


def test_a_refund_nobody_asked_for_is_not_recorded():
    payment = payment_at("captured")

    assert payment.send(refund()).events == []


def test_a_refused_refund_leaves_the_money_captured_for_someone_to_look_at():
    payment = payment_at("refund_requested")

    decision = payment.send(refund("failed", failure_reason="insufficient_funds"))

    assert types(decision) == ["PaymentRefundFailed"]
    assert events(decision)[0].reason == "insufficient_funds"
    assert payment.state.status == "captured"
    assert types(payment.send(cancel())) == ["PaymentRefundRequested"]


# Receipts

def receipt(payment_id: UUID, book: str = "receipts-2024") -> IssueReceipt:
    order = place_order()
    return IssueReceipt(book=book, payment_id=payment_id, order_id=ORDER, user_id=USER,
                        lines=lines(), totals=pricing.totals(order.lines), payment_method="card",
                        card_last4="4242")


def test_receipts_are_numbered_without_gaps_within_a_years_book():
    book = Processor("receipts-2024")

    numbers = [events(book.send(receipt(UUID(int=n))))[0].receipt_number
               for n in range(1, 13)]

    assert numbers == [f"2024-{n:06d}" for n in range(1, 13)]


def test_a_payment_gets_one_receipt_number_however_often_it_is_asked():
    book = Processor("receipts-2024")
    (first,) = events(book.send(receipt(UUID(int=1))))

    assert book.send(receipt(UUID(int=1))).events == []
    (second,) = events(book.send(receipt(UUID(int=2))))

    assert (first.receipt_number, second.receipt_number) == ("2024-000001", "2024-000002")


def test_each_year_starts_its_own_book_at_one():
    old, new = Processor("receipts-2024"), Processor("receipts-2025")
    old.send(receipt(UUID(int=1)))

    (issued,) = events(new.send(receipt(UUID(int=2), book="receipts-2025")))

    assert issued.receipt_number == "2025-000001"
    assert (issued.book, issued.payment_id, issued.card_last4) == (
        "receipts-2025", UUID(int=2), "4242")


@given(st.lists(st.integers(1, 8), max_size=40))
def test_any_sequence_of_receipt_requests_numbers_each_payment_once_and_without_gaps(asked):
    book = Processor("receipts-2024")
    issued = {}
    for n in asked:
        for event in events(book.send(receipt(UUID(int=n)))):
            assert event.payment_id not in issued
            issued[event.payment_id] = event.receipt_number

    assert set(issued) == {UUID(int=n) for n in asked}
    assert sorted(issued.values()) == [f"2024-{n:06d}" for n in range(1, len(issued) + 1)]


# Properties

OTHER = Money(amount=1)

payment_commands = st.one_of(
    st.builds(RecordAuthorization, payment_id=st.just(PAYMENT),
              status=st.sampled_from(["authorized", "pending", "captured", "failed"]),
              provider_reference=st.none() | st.just(REFERENCE)),
    st.builds(RecordCapture, payment_id=st.just(PAYMENT),
              status=st.sampled_from(["captured", "failed"])),
    st.builds(SettlePayment, payment_id=st.just(PAYMENT),
              source=st.sampled_from(["bank", "cash_on_delivery", "provider"]),
              amount=st.sampled_from([None, AMOUNT, OTHER])),
    st.builds(FailPayment, payment_id=st.just(PAYMENT), reason=st.just("timeout")),
    st.builds(CancelPayment, payment_id=st.just(PAYMENT), reason=st.just("cancelled")),
    st.builds(RecordRefund, payment_id=st.just(PAYMENT),
              status=st.sampled_from(["refunded", "failed"])),
)


@given(method=st.sampled_from(["card", "wallet", "bank_transfer", "cash_on_delivery"]),
       sequence=st.lists(payment_commands, max_size=40))
def test_a_payment_is_captured_at_most_once_and_refunded_at_most_once(method, sequence):
    payment = Processor(KEY)
    payment.send(request_payment(method))
    emitted = []
    for command in sequence:
        emitted += types(payment.send(command))

    assert emitted.count("PaymentCaptured") <= 1
    assert emitted.count("PaymentRefunded") <= 1
    if "PaymentRefundRequested" in emitted:
        assert "PaymentCaptured" in emitted[:emitted.index("PaymentRefundRequested")]
    if "PaymentCaptured" in emitted and "PaymentFailed" in emitted[
            :emitted.index("PaymentCaptured")]:
        # Money for a payment given up is never kept.
        assert emitted[emitted.index("PaymentCaptured") + 1] == "PaymentRefundRequested"
