"""The order decider: an order from checkout to delivery or cancellation, given
commands through `commands.handling.handle`, then the events (or the rejection)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import pricing
from commands.orders import payment_id_for
from schemas.commands.orders import (
    CancelOrder,
    RecordFulfilment,
    RecordPayment,
    RecordStockReservation,
)
from schemas.events.orders import (
    FulfilmentRecorded,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderItemReserved,
)
from schemas.money import Money
from tests.unit.checkout import (
    CARD_TOKEN,
    CUPS,
    KETTLE,
    ORDER,
    PAYMENT,
    TEA,
    TOTAL,
    USER,
    Processor,
    events,
    place_order,
    types,
)

KEY = str(ORDER)
FORWARD = ("packed", "shipped", "out_for_delivery", "delivered")
PARCEL = dict(carrier="DHL", tracking_number="JD0001")


def reserved(product, ok=True, reason=None) -> RecordStockReservation:
    return RecordStockReservation(order_id=ORDER, product_id=product, reserved=ok, reason=reason)


def paid(status="captured", card_last4="4242") -> RecordPayment:
    return RecordPayment(order_id=ORDER, payment_id=PAYMENT, status=status,
                         card_last4=card_last4 if status == "captured" else None)


def cancel(by="customer", reason="Changed my mind.") -> CancelOrder:
    return CancelOrder(order_id=ORDER, reason=reason, cancelled_by=by)


def fulfil(status, **parcel) -> RecordFulfilment:
    return RecordFulfilment(order_id=ORDER, status=status, **parcel)


def order_at(status: str, method: str = "card") -> Processor:
    """An order of tea and cups moved to `status` by the usual commands."""
    order = Processor(KEY)
    order.send(place_order(method=method))
    steps = [reserved(TEA), reserved(CUPS),
             paid("authorized" if method == "cash_on_delivery" else "captured"),
             fulfil("packed"), fulfil("shipped", **PARCEL), fulfil("out_for_delivery"),
             fulfil("delivered")]
    reached = ["pending", "pending", "awaiting_payment", "confirmed", *FORWARD]
    for step in steps[:reached.index(status)]:
        assert order.send(step).reply.ok
    assert order.state.status == status
    return order


# Placing

def test_placing_an_order_records_its_lines_totals_and_a_payment_id_derived_from_it():
    command = place_order((TEA, 2), (KETTLE, 1))

    (placed,) = events(Processor(KEY).send(command))

    assert placed.type_name() == "OrderPlaced"
    assert placed.lines == command.lines and placed.totals == pricing.totals(command.lines)
    assert placed.totals.total == Money(amount=4890 + 490)       # 48.90 + 4.90 shipping
    assert (placed.user_id, placed.payment_method, placed.payment_token) == (
        USER, "card", CARD_TOKEN)
    assert placed.payment_id == payment_id_for(ORDER) == PAYMENT
    assert payment_id_for(uuid.UUID(int=7)) != PAYMENT


def test_placing_the_same_order_again_under_another_command_is_a_conflict():
    order = order_at("pending")

    decision = order.send(place_order())

    assert decision.reply.status == "rejected"
    assert (decision.reply.reason, decision.reply.kind) == ("order_exists", "conflict")
    assert decision.events == []


def test_an_order_cannot_list_one_product_in_two_lines():
    decision = Processor(KEY).send(place_order((TEA, 1), (TEA, 2)))

    assert (decision.reply.reason, decision.reply.kind) == ("duplicate_lines", "invalid")
    assert decision.aggregate.state is None


@pytest.mark.parametrize("command", [reserved(TEA), paid(), cancel(), fulfil("packed")])
def test_commands_to_an_order_that_does_not_exist_are_not_found(command):
    decision = Processor(KEY).send(command)

    assert (decision.reply.reason, decision.reply.kind) == ("order_not_found", "not_found")


# Stock reservations

def test_each_reserved_line_is_recorded_and_the_last_one_asks_for_the_payment():
    order = order_at("pending")

    first = order.send(reserved(TEA))
    assert events(first) == [OrderItemReserved(order_id=ORDER, user_id=USER, product_id=TEA)]
    assert order.state.status == "pending"

    last = order.send(reserved(CUPS))

    assert events(last) == [
        OrderItemReserved(order_id=ORDER, user_id=USER, product_id=CUPS),
        OrderAwaitingPayment(order_id=ORDER, user_id=USER, payment_id=PAYMENT,
                             amount=Money(amount=TOTAL), payment_method="card",
                             payment_token=CARD_TOKEN)]
    assert order.state.status == "awaiting_payment"


def test_a_reservation_reported_twice_is_recorded_once():
    order = order_at("pending")
    order.send(reserved(TEA))

    again = order.send(reserved(TEA))

    assert again.reply.status == "accepted" and again.events == []
    assert order.state.status == "pending"
    assert types(order.send(reserved(CUPS))) == ["OrderItemReserved", "OrderAwaitingPayment"]
    assert order.send(reserved(CUPS)).events == []


def test_a_refused_line_cancels_the_order_by_stock_and_releases_every_product():
    order = order_at("pending")
    order.send(reserved(TEA))

    decision = order.send(reserved(CUPS, ok=False, reason="Two cups: sold out."))

    assert events(decision) == [OrderCancelled(
        order_id=ORDER, user_id=USER, reason="Two cups: sold out.", cancelled_by="stock",
        product_ids=[TEA, CUPS], payment_id=None)]
    assert order.state.status == "cancelled"


def test_a_refusal_without_a_reason_still_tells_the_customer_why():
    (cancelled,) = events(order_at("pending").send(reserved(TEA, ok=False)))

    assert cancelled.reason == "A product is out of stock."


@pytest.mark.parametrize("late", [reserved(TEA), reserved(CUPS, ok=False), paid(),
                                  paid("authorized")])
def test_answers_arriving_after_the_cancellation_change_nothing(late):
    order = order_at("pending")
    order.send(reserved(TEA, ok=False))
    before = order.aggregate.state

    decision = order.send(late)

    assert decision.reply.status == "accepted" and decision.events == []
    assert order.state == before


def test_a_reservation_for_a_product_the_order_does_not_have_is_invalid():
    decision = order_at("pending").send(reserved(KETTLE))

    assert (decision.reply.reason, decision.reply.kind) == ("not_in_order", "invalid")


# The payment's outcome

def test_a_captured_card_payment_confirms_and_pays_the_order_once():
    order = order_at("awaiting_payment")

    decision = order.send(paid("captured", card_last4="4242"))

    confirmed, paid_event = events(decision)
    assert types(decision) == ["OrderConfirmed", "OrderPaid"]
    assert confirmed.lines == paid_event.lines == list(order.state.lines)
    assert confirmed.totals.total == paid_event.totals.total == Money(amount=TOTAL)
    assert paid_event.card_last4 == "4242"
    assert (order.state.status, order.state.paid) == ("confirmed", True)
    assert order.send(paid("captured")).events == []


def test_cash_on_delivery_is_confirmed_when_authorized_and_paid_when_the_cash_is_taken():
    order = order_at("awaiting_payment", method="cash_on_delivery")

    assert types(order.send(paid("authorized"))) == ["OrderConfirmed"]
    assert order.send(paid("authorized")).events == []
    assert order.state.paid is False
    for status in FORWARD:
        order.send(fulfil(status, **PARCEL))

    assert types(order.send(paid("captured", card_last4=None))) == ["OrderPaid"]
    assert order.send(paid("captured", card_last4=None)).events == []
    assert order.state.status == "delivered"


def test_a_payment_that_is_not_the_orders_is_refused():
    decision = order_at("awaiting_payment").send(RecordPayment(
        order_id=ORDER, payment_id=uuid.UUID(int=99), status="captured"))

    assert (decision.reply.reason, decision.reply.kind) == ("wrong_payment", "invalid")


def test_a_payment_before_every_line_is_reserved_confirms_nothing():
    order = order_at("pending")
    order.send(reserved(TEA))

    assert order.send(paid()).events == []
    assert order.state.status == "pending"


# Cancelling

@pytest.mark.parametrize(("status", "payment_id"), [
    ("pending", None), ("awaiting_payment", PAYMENT), ("confirmed", PAYMENT),
    ("packed", PAYMENT)])
def test_the_customer_may_cancel_until_the_parcel_leaves(status, payment_id):
    order = order_at(status)

    decision = order.send(cancel())

    assert events(decision) == [OrderCancelled(
        order_id=ORDER, user_id=USER, reason="Changed my mind.", cancelled_by="customer",
        product_ids=[TEA, CUPS], payment_id=payment_id)]
    assert order.state.status == "cancelled"


@pytest.mark.parametrize("status", ["shipped", "out_for_delivery", "delivered"])
@pytest.mark.parametrize("by", ["customer", "admin"])
def test_an_order_that_left_the_warehouse_can_no_longer_be_cancelled(status, by):
    order = order_at(status)

    decision = order.send(cancel(by))

    assert decision.reply.status == "rejected"
    assert (decision.reply.reason, decision.reply.kind) == ("already_shipped", "conflict")
    assert status.replace("_", " ") in decision.reply.detail
    assert order.state.status == status


def test_cancelling_a_cancelled_order_again_changes_nothing():
    order = order_at("awaiting_payment")
    order.send(cancel())

    again = order.send(cancel("admin", "Duplicate."))

    assert again.reply.status == "accepted" and again.events == []


def test_a_failed_payment_cancels_an_order_still_waiting_for_it():
    order = order_at("awaiting_payment")

    (cancelled,) = events(order.send(cancel("payment", "card_declined")))

    assert (cancelled.cancelled_by, cancelled.payment_id) == ("payment", PAYMENT)


@pytest.mark.parametrize("status", ["pending", "confirmed", "packed", "shipped"])
def test_a_payment_failing_outside_the_wait_for_it_ends_nothing(status):
    order = order_at(status)

    decision = order.send(cancel("payment", "payment_timeout"))

    assert decision.reply.status == "accepted" and decision.events == []
    assert order.state.status == status


# Fulfilment

@pytest.mark.parametrize("status", ["pending", "awaiting_payment"])
def test_only_a_confirmed_order_is_fulfilled(status):
    decision = order_at(status).send(fulfil("packed"))

    assert (decision.reply.reason, decision.reply.kind) == ("not_confirmed", "conflict")


def test_a_cancelled_order_is_not_fulfilled():
    order = order_at("confirmed")
    order.send(cancel())

    decision = order.send(fulfil("shipped", **PARCEL))

    assert (decision.reply.reason, decision.reply.kind) == ("not_confirmed", "conflict")


def test_fulfilment_moves_forward_and_keeps_the_carrier_and_tracking_number():
    order = order_at("confirmed")

    recorded = [events(order.send(command))[0] for command in (
        fulfil("packed"), fulfil("shipped", **PARCEL), fulfil("out_for_delivery"),
        fulfil("delivered"))]

    assert recorded[1:] == [
        FulfilmentRecorded(order_id=ORDER, user_id=USER, status=status, payment_id=PAYMENT,
                           **PARCEL)
        for status in ("shipped", "out_for_delivery", "delivered")]
    assert (recorded[0].status, recorded[0].carrier, recorded[0].tracking_number) == (
        "packed", None, None)
    assert order.state.status == "delivered"


@pytest.mark.parametrize(("status", "back"), [
    ("shipped", "packed"), ("out_for_delivery", "shipped"), ("delivered", "packed"),
    ("delivered", "out_for_delivery")])
def test_fulfilment_never_goes_backwards(status, back):
    order = order_at(status)

    decision = order.send(fulfil(back, **PARCEL))

    assert (decision.reply.reason, decision.reply.kind) == ("backwards", "conflict")
    assert order.state.status == status


def test_the_same_fulfilment_step_reported_again_changes_nothing():
    order = order_at("shipped")

    assert order.send(fulfil("shipped", carrier="UPS", tracking_number="1Z")).events == []
    assert (order.state.carrier, order.state.tracking_number) == ("DHL", "JD0001")


@pytest.mark.parametrize("parcel", [{}, {"carrier": "DHL"}, {"tracking_number": "JD0001"}])
def test_a_shipped_order_needs_a_carrier_and_a_tracking_number(parcel):
    order = order_at("packed")

    decision = order.send(fulfil("shipped", **parcel))

    assert (decision.reply.reason, decision.reply.kind) == ("tracking_needed", "invalid")
    assert order.state.status == "packed"


def test_a_confirmed_order_may_ship_at_once_given_the_parcel():
    order = order_at("confirmed")

    assert types(order.send(fulfil("shipped", **PARCEL))) == ["FulfilmentRecorded"]
    assert order.state.status == "shipped"


# Properties

order_commands = st.one_of(
    st.builds(RecordStockReservation, order_id=st.just(ORDER),
              product_id=st.sampled_from([TEA, CUPS]), reserved=st.booleans(),
              reason=st.none() | st.just("sold out")),
    st.builds(RecordPayment, order_id=st.just(ORDER), payment_id=st.just(PAYMENT),
              status=st.sampled_from(["authorized", "captured"])),
    st.builds(CancelOrder, order_id=st.just(ORDER), reason=st.just("why"),
              cancelled_by=st.sampled_from(["customer", "payment", "stock", "admin"])),
    st.builds(RecordFulfilment, order_id=st.just(ORDER), status=st.sampled_from(FORWARD),
              carrier=st.none() | st.just("DHL"), tracking_number=st.none() | st.just("JD1")),
)


@given(method=st.sampled_from(["card", "cash_on_delivery", "bank_transfer"]),
       sequence=st.lists(order_commands, max_size=40))
def test_an_order_is_confirmed_and_paid_at_most_once_and_never_after_its_cancellation(
        method, sequence):
    order = Processor(KEY)
    order.send(place_order(method=method))
    emitted = []
    for command in sequence:
        emitted += types(order.send(command))

    assert emitted.count("OrderConfirmed") <= 1
    assert emitted.count("OrderPaid") <= 1
    assert emitted.count("OrderCancelled") <= 1
    if "OrderPaid" in emitted:
        assert "OrderConfirmed" in emitted[:emitted.index("OrderPaid")]
    if "OrderCancelled" in emitted:
        after = emitted[emitted.index("OrderCancelled") + 1:]
        assert not {"OrderConfirmed", "OrderPaid", "FulfilmentRecorded",
                    "OrderAwaitingPayment"} & set(after)
