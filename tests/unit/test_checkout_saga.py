"""The checkout saga's pure decisions: which steps follow each event (`react`), how the
provider's answer is recorded (`answer`, `unreachable`), and what the clock does
(`due`). Whole checkouts run through the topology in `tests/inprocess/`. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import pricing
from schemas.payments import PaymentResult
from schemas.commands.cart import RemoveOrderedItems
from schemas.commands.catalog import ReleaseStock, ReserveStock
from schemas.commands.orders import (
    CancelOrder,
    RecordPayment,
    RecordStockReservation,
)
from schemas.commands.payments import (
    CancelPayment,
    FailPayment,
    IssueReceipt,
    RecordAuthorization,
    RecordCapture,
    RecordRefund,
    RequestPayment,
    SettlePayment,
)
from schemas.envelope import EventEnvelope
from schemas.events.catalog import ProductCreated, StockReservationRejected, StockReserved
from schemas.events.orders import (
    FulfilmentRecorded,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderConfirmed,
    OrderItemReserved,
    OrderPaid,
    OrderPlaced,
)
from schemas.events.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentPending,
    PaymentRefundRequested,
    PaymentRequested,
)
from schemas.money import Money
from streams.checkout_saga import (
    TIMED_OUT,
    AskProvider,
    Policy,
    Send,
    answer,
    due,
    react,
    unreachable,
)
from tests.unit.checkout import (
    CARD_TOKEN,
    CUPS,
    ISSUED_AT,
    ORDER,
    PAYMENT,
    TEA,
    TOTAL,
    USER,
    place_order,
)

POLICY = Policy(payment_timeout=timedelta(minutes=15), bank_transfer_timeout=timedelta(days=3))
AMOUNT = Money(amount=TOTAL)
REFERENCE = "sandbox_ref_1"


def recorded(event, n: int = 1, occurred_at: datetime = ISSUED_AT) -> EventEnvelope:
    """`event` as the saga reads it from a topic; `n` tells one recording from another."""
    return EventEnvelope(event_id=UUID(int=n), type=event.type_name(),
                         schema_version=event.schema_version, aggregate_id="some-aggregate",
                         aggregate_version=n, occurred_at=occurred_at, correlation_id=ORDER,
                         causation_id=UUID(int=10_000 + n), actor="user:test",
                         payload=event.model_dump(mode="json"))


def commands(steps) -> list:
    assert all(isinstance(step, Send) for step in steps)
    return [step.command for step in steps]


def placed(method: str = "card") -> OrderPlaced:
    order = place_order((TEA, 2), (CUPS, 1), method=method)
    return OrderPlaced(**order.model_dump(), totals=pricing.totals(order.lines),
                       payment_id=PAYMENT)


def order_cancelled(payment_id: UUID | None) -> OrderCancelled:
    return OrderCancelled(order_id=ORDER, user_id=USER, reason="Changed my mind.",
                          cancelled_by="customer", product_ids=[TEA, CUPS],
                          payment_id=payment_id)


def authorized(method: str) -> PaymentAuthorized:
    return PaymentAuthorized(payment_id=PAYMENT, order_id=ORDER, user_id=USER, method=method,
                             amount=AMOUNT, provider_reference=REFERENCE, card_last4="4242")


def order_paid(card_last4: str | None = "4242") -> OrderPaid:
    order = place_order((TEA, 2), (CUPS, 1))
    return OrderPaid(order_id=ORDER, user_id=USER, payment_id=PAYMENT, lines=order.lines,
                     totals=pricing.totals(order.lines), payment_method="card", card_last4=card_last4)


# react: which step follows each event

def test_a_placed_order_reserves_the_stock_of_each_line():
    steps = react(recorded(placed()), POLICY)

    assert commands(steps) == [ReserveStock(product_id=TEA, order_id=ORDER, quantity=2),
                               ReserveStock(product_id=CUPS, order_id=ORDER, quantity=1)]
    assert len({step.command_id for step in steps}) == 2


def test_the_catalogs_answers_are_recorded_on_the_order():
    reserved = StockReserved(product_id=TEA, order_id=ORDER, quantity=2, available=3)
    refused = StockReservationRejected(product_id=CUPS, order_id=ORDER, requested=1,
                                       available=0, reason="Two cups: sold out.")

    assert commands(react(recorded(reserved), POLICY)) == [
        RecordStockReservation(order_id=ORDER, product_id=TEA, reserved=True)]
    assert commands(react(recorded(refused), POLICY)) == [
        RecordStockReservation(order_id=ORDER, product_id=CUPS, reserved=False,
                               reason="Two cups: sold out.")]


@pytest.mark.parametrize(("method", "token", "wait"), [
    ("card", CARD_TOKEN, timedelta(minutes=15)), ("wallet", CARD_TOKEN, timedelta(minutes=15)),
    ("cash_on_delivery", None, timedelta(minutes=15)),
    ("bank_transfer", None, timedelta(days=3))])
def test_an_order_awaiting_payment_requests_it_with_a_deadline_by_method(method, token, wait):
    event = OrderAwaitingPayment(order_id=ORDER, user_id=USER, payment_id=PAYMENT,
                                 amount=AMOUNT, payment_method=method, payment_token=token)

    assert commands(react(recorded(event), POLICY)) == [RequestPayment(
        payment_id=PAYMENT, order_id=ORDER, user_id=USER, amount=AMOUNT, method=method,
        token=token, expires_at=ISSUED_AT + wait)]


@pytest.mark.parametrize(("method", "call"), [
    ("card", "charge"), ("wallet", "charge"), ("bank_transfer", "authorize"),
    ("cash_on_delivery", "authorize")])
def test_a_requested_payment_is_charged_at_once_or_authorized_with_the_sealed_token(
        method, call):
    event = PaymentRequested(payment_id=PAYMENT, order_id=ORDER, user_id=USER, amount=AMOUNT,
                             method=method, token=CARD_TOKEN,
                             expires_at=ISSUED_AT + timedelta(minutes=15))

    (ask,) = react(recorded(event), POLICY)

    assert isinstance(ask, AskProvider)
    assert (ask.call, ask.payment_id, ask.user_id, ask.amount, ask.method, ask.token) == (
        call, PAYMENT, USER, AMOUNT, method, CARD_TOKEN)
    assert ask.provider_reference is None
    assert ask.requested_at == ISSUED_AT
    assert str(PAYMENT) in ask.idempotency_key


def test_cash_on_delivery_authorized_confirms_the_order_without_taking_money():
    assert commands(react(recorded(authorized("cash_on_delivery")), POLICY)) == [
        RecordPayment(order_id=ORDER, payment_id=PAYMENT, status="authorized")]


@pytest.mark.parametrize("method", ["card", "wallet"])
def test_an_authorized_card_or_wallet_is_captured_at_the_provider(method):
    (ask,) = react(recorded(authorized(method)), POLICY)

    assert isinstance(ask, AskProvider)
    assert (ask.call, ask.payment_id, ask.amount, ask.method) == (
        "capture", PAYMENT, AMOUNT, method)
    assert (ask.provider_reference, ask.token) == (REFERENCE, None)


def test_a_captured_payment_is_recorded_on_the_order_with_the_cards_last_digits():
    event = PaymentCaptured(payment_id=PAYMENT, order_id=ORDER, user_id=USER, method="card",
                            amount=AMOUNT, provider_reference=REFERENCE, card_last4="4242")

    assert commands(react(recorded(event), POLICY)) == [
        RecordPayment(order_id=ORDER, payment_id=PAYMENT, status="captured", card_last4="4242")]


def test_a_failed_payment_cancels_the_order_saying_why():
    event = PaymentFailed(payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                          reason="card_declined: your card was declined")

    assert commands(react(recorded(event), POLICY)) == [CancelOrder(
        order_id=ORDER, reason="card_declined: your card was declined", cancelled_by="payment")]


def test_a_refund_request_asks_the_provider_to_refund_the_captured_reference():
    event = PaymentRefundRequested(payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                                   method="card", amount=AMOUNT, provider_reference=REFERENCE)

    (ask,) = react(recorded(event), POLICY)

    assert (ask.call, ask.amount, ask.provider_reference, ask.token) == (
        "refund", AMOUNT, REFERENCE, None)


def test_a_confirmed_order_takes_what_it_bought_out_of_its_owners_cart():
    order = place_order((TEA, 2), (CUPS, 1))
    event = OrderConfirmed(order_id=ORDER, user_id=USER, payment_id=PAYMENT,
                           lines=order.lines, totals=pricing.totals(order.lines), payment_method="card")

    assert commands(react(recorded(event), POLICY)) == [RemoveOrderedItems(
        cart_id=USER, order_id=ORDER, quantities={TEA: 2, CUPS: 1})]


@pytest.mark.parametrize(("occurred_at", "book"), [
    (datetime(2024, 12, 31, 23, 59, tzinfo=UTC), "receipts-2024"),
    (datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC), "receipts-2025")])
def test_a_paid_order_gets_a_receipt_from_the_book_of_the_year_it_was_paid(occurred_at, book):
    (issue,) = commands(react(recorded(order_paid(), occurred_at=occurred_at), POLICY))

    assert issue == IssueReceipt(book=book, payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                                 lines=order_paid().lines, totals=order_paid().totals,
                                 payment_method="card", card_last4="4242")


def test_a_cancelled_order_releases_every_product_and_cancels_its_payment():
    steps = react(recorded(order_cancelled(PAYMENT)), POLICY)

    assert commands(steps) == [
        ReleaseStock(product_id=TEA, order_id=ORDER),
        ReleaseStock(product_id=CUPS, order_id=ORDER),
        CancelPayment(payment_id=PAYMENT, reason="order_cancelled: Changed my mind.")]
    assert len({step.command_id for step in steps}) == 3


def test_an_order_cancelled_before_its_payment_was_requested_only_releases_stock():
    assert commands(react(recorded(order_cancelled(None)), POLICY)) == [
        ReleaseStock(product_id=TEA, order_id=ORDER),
        ReleaseStock(product_id=CUPS, order_id=ORDER)]


def test_a_delivered_order_settles_a_cash_payment_at_the_door():
    event = FulfilmentRecorded(order_id=ORDER, user_id=USER, status="delivered",
                               carrier="DHL", tracking_number="JD1", payment_id=PAYMENT)

    assert commands(react(recorded(event), POLICY)) == [
        SettlePayment(payment_id=PAYMENT, source="cash_on_delivery")]


@pytest.mark.parametrize("event", [
    FulfilmentRecorded(order_id=ORDER, user_id=USER, status="shipped", carrier="DHL",
                       tracking_number="JD1", payment_id=PAYMENT),
    FulfilmentRecorded(order_id=ORDER, user_id=USER, status="delivered", carrier="DHL",
                       tracking_number="JD1"),
    OrderItemReserved(order_id=ORDER, user_id=USER, product_id=TEA),
    PaymentPending(payment_id=PAYMENT, order_id=ORDER, user_id=USER),
    ProductCreated(product_id=TEA, sku="TEA-001", name="Green tea", slug="green-tea",
                   category_id=UUID(int=1), price=Money(amount=450), stock=3),
])
def test_events_that_need_no_next_step_lead_to_none(event):
    assert react(recorded(event), POLICY) == []


SAGA_EVENTS = [
    placed(), order_cancelled(PAYMENT), authorized("card"), authorized("cash_on_delivery"),
    order_paid(), StockReserved(product_id=TEA, order_id=ORDER, quantity=2, available=3),
    PaymentFailed(payment_id=PAYMENT, order_id=ORDER, user_id=USER, reason="declined"),
]


def step_ids(steps) -> list[UUID]:
    return [step.command_id for step in steps]


@given(event=st.sampled_from(SAGA_EVENTS), first=st.integers(1, 2**64),
       second=st.integers(1, 2**64))
def test_step_ids_are_the_same_for_the_same_event_and_differ_between_events(event, first,
                                                                            second):
    once, again = react(recorded(event, first), POLICY), react(recorded(event, first), POLICY)
    other = react(recorded(event, second), POLICY)

    assert once == again                     # a step repeated after a crash is a duplicate
    assert len(set(step_ids(once))) == len(once) >= 1
    if first != second:
        assert not set(step_ids(once)) & set(step_ids(other))


def test_one_event_recorded_twice_asks_the_provider_with_the_same_idempotency_key():
    event = recorded(authorized("card"), 5)

    (ask,), (again,) = react(event, POLICY), react(event, POLICY)

    assert ask.idempotency_key == again.idempotency_key
    assert ask.command_id == again.command_id


def test_a_refund_asked_again_after_a_failed_one_is_a_new_request_to_the_provider():
    refund = PaymentRefundRequested(payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                                    method="card", amount=AMOUNT, provider_reference=REFERENCE)
    first, second = recorded(refund, 7), recorded(refund, 9)

    (ask,), (again,) = react(first, POLICY), react(second, POLICY)

    assert ask.call == again.call == "refund"
    assert ask.idempotency_key != again.idempotency_key


# answer and unreachable: what the provider said, as a command

def ask_for(call: str, method: str = "card") -> AskProvider:
    requested = PaymentRequested(payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                                 amount=AMOUNT, method=method, token=CARD_TOKEN,
                                 expires_at=ISSUED_AT)
    event = {"charge": requested, "authorize": requested,
             "capture": authorized(method),
             "refund": PaymentRefundRequested(payment_id=PAYMENT, order_id=ORDER,
                                              user_id=USER, method=method, amount=AMOUNT,
                                              provider_reference=REFERENCE)}[call]
    (ask,) = react(recorded(event), POLICY)
    return ask


SETTLES_AT = ISSUED_AT + timedelta(seconds=2)


@pytest.mark.parametrize(("result", "expected"), [
    (PaymentResult("authorized", REFERENCE, card_last4="4242"),
     RecordAuthorization(payment_id=PAYMENT, status="authorized", provider_reference=REFERENCE,
                         card_last4="4242")),
    (PaymentResult("captured", REFERENCE),
     RecordAuthorization(payment_id=PAYMENT, status="captured", provider_reference=REFERENCE)),
    (PaymentResult("pending", REFERENCE),
     RecordAuthorization(payment_id=PAYMENT, status="pending", provider_reference=REFERENCE,
                         settles_at=SETTLES_AT)),
    (PaymentResult("failed", REFERENCE, "card_declined: your card was declined", "0002"),
     RecordAuthorization(payment_id=PAYMENT, status="failed", provider_reference=REFERENCE,
                         failure_reason="card_declined: your card was declined",
                         card_last4="0002")),
    (PaymentResult("refunded", REFERENCE),
     RecordAuthorization(payment_id=PAYMENT, status="failed", provider_reference=REFERENCE)),
])
@pytest.mark.parametrize(("call", "method"), [("charge", "card"), ("authorize", "bank_transfer")])
def test_the_answer_to_a_charge_or_an_authorization_is_recorded_as_given(
        result, expected, call, method):
    ask = ask_for(call, method)
    assert ask.call == call
    assert answer(ask, result, settles_at=SETTLES_AT) == expected


@pytest.mark.parametrize(("result", "status", "reason"), [
    (PaymentResult("captured", REFERENCE), "captured", None),
    (PaymentResult("failed", REFERENCE, "expired_card"), "failed", "expired_card"),
    (PaymentResult("authorized", REFERENCE), "failed", None)])
def test_only_a_capture_the_provider_confirms_counts_as_captured(result, status, reason):
    assert answer(ask_for("capture"), result) == RecordCapture(
        payment_id=PAYMENT, status=status, failure_reason=reason)


@pytest.mark.parametrize(("result", "status", "reason"), [
    (PaymentResult("refunded", "re_1"), "refunded", None),
    (PaymentResult("failed", "re_1", "insufficient_funds"), "failed", "insufficient_funds"),
    (PaymentResult("captured", "re_1"), "failed", None)])
def test_only_a_refund_the_provider_confirms_counts_as_refunded(result, status, reason):
    assert answer(ask_for("refund"), result) == RecordRefund(
        payment_id=PAYMENT, status=status, refund_reference="re_1", failure_reason=reason)


def test_a_long_provider_message_is_cut_to_fit_the_reason():
    command = answer(ask_for("charge"), PaymentResult("failed", REFERENCE, "x" * 2000))

    assert command.failure_reason == "x" * 500


@pytest.mark.parametrize(("call", "method"), [("charge", "card"), ("authorize", "bank_transfer")])
def test_an_unreachable_provider_fails_a_charge_or_an_authorization_and_says_so(call, method):
    command = unreachable(ask_for(call, method), "connection refused " * 100)

    assert isinstance(command, RecordAuthorization)
    assert (command.payment_id, command.status) == (PAYMENT, "failed")
    assert command.failure_reason.startswith("provider_unavailable: connection refused")
    assert len(command.failure_reason) <= 500


@pytest.mark.parametrize("call", ["capture", "refund"])
def test_an_unreachable_provider_leaves_a_capture_or_refund_for_an_operator(call):
    assert unreachable(ask_for(call), "timeout") is None


# due: the clock's steps

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def row(settles_at=None, expires_at=NOW + timedelta(minutes=5), n: int = 1) -> dict:
    """A row of the payments read model, as MySQL hands it back (ids as strings)."""
    return {"id": str(UUID(int=n)), "order_id": str(UUID(int=100 + n)), "status": "pending",
            "settles_at": settles_at, "expires_at": expires_at}


def test_a_transfer_the_sandbox_bank_has_paid_is_settled():
    (step,) = due([row(settles_at=NOW - timedelta(seconds=1))], NOW)

    assert step.command == SettlePayment(payment_id=UUID(int=1), source="bank")
    assert step.correlation_id == UUID(int=101)


def test_a_payment_past_its_deadline_fails():
    (step,) = due([row(expires_at=NOW - timedelta(seconds=1))], NOW)

    assert step.command == FailPayment(payment_id=UUID(int=1), reason=TIMED_OUT)
    assert step.correlation_id == UUID(int=101)


def test_money_the_bank_paid_after_the_deadline_is_late_and_the_payment_fails():
    (step,) = due([row(settles_at=NOW - timedelta(seconds=1),
                       expires_at=NOW - timedelta(seconds=2))], NOW)

    assert step.command == FailPayment(payment_id=UUID(int=1), reason=TIMED_OUT)


def test_a_payment_due_exactly_now_is_due():
    settled, expired = due([row(settles_at=NOW, n=1), row(expires_at=NOW, n=2)], NOW)

    assert isinstance(settled.command, SettlePayment)
    assert isinstance(expired.command, FailPayment)


def test_payments_not_yet_due_are_left_waiting():
    assert due([row(settles_at=NOW + timedelta(seconds=1)), row(n=2)], NOW) == []


def test_naive_times_from_mysql_are_read_as_utc():
    naive_settles = datetime(2024, 5, 1, 12, 0)                    # 12:00 UTC
    naive_expires = datetime(2024, 5, 1, 12, 30)                   # 12:30 UTC
    berlin = timezone(timedelta(hours=2))
    rows = [row(settles_at=naive_settles, n=1), row(expires_at=naive_expires, n=2)]

    assert due(rows, datetime(2024, 5, 1, 13, 59, tzinfo=berlin)) == []     # 11:59 UTC
    (settled,) = due(rows, datetime(2024, 5, 1, 14, 0, tzinfo=berlin))      # 12:00 UTC
    assert settled.command.payment_id == UUID(int=1)
    settled, expired = due(rows, datetime(2024, 5, 1, 14, 30, tzinfo=berlin))
    assert isinstance(expired.command, FailPayment)


def test_the_clock_asks_the_same_step_with_the_same_id_on_every_tick():
    overdue = [row(settles_at=NOW - timedelta(seconds=5), n=1),
               row(expires_at=NOW - timedelta(seconds=5), n=2)]

    first, later = due(overdue, NOW), due(overdue, NOW + timedelta(seconds=1))

    assert step_ids(first) == step_ids(later)
    assert len(set(step_ids(first))) == 2
