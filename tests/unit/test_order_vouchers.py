"""An order with a voucher and a shipping method: it takes their terms when placed, waits
for its voucher's use as well as its stock, is cancelled by a refused use, and hands the
voucher on to what follows (confirmation, receipt, cancellation)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from commands import pricing
from schemas.commands.orders import RecordPayment, RecordStockReservation, RecordVoucherUse
from schemas.envelope import EventEnvelope
from schemas.events.orders import ShippingMethod, VoucherTerms
from schemas.money import Money
from streams import checkout_saga
from streams.checkout_saga import Policy, Send
from tests.unit.checkout import (
    CUPS,
    ISSUED_AT,
    ORDER,
    PAYMENT,
    TEA,
    USER,
    Processor,
    events,
    place_order,
    types,
)

KEY = str(ORDER)
VOUCHER = VoucherTerms(code="SPRING10", kind="percentage", value=10)
EXPRESS = ShippingMethod(code="express", name="Express", price=Money(amount=1290))


def placed_with_voucher() -> Processor:
    order = Processor(KEY)
    command = place_order().model_copy(update={"voucher": VOUCHER,
                                                "shipping_method": EXPRESS})
    (placed,) = events(order.send(command))
    assert placed.totals == pricing.totals(command.lines, EXPRESS, VOUCHER)
    assert (placed.totals.subtotal.amount, placed.totals.discount.amount,
            placed.totals.shipping.amount, placed.totals.total.amount) == (
        2100, 210, 1290, 2100 - 210 + 1290)
    return order


def stock(product: UUID) -> RecordStockReservation:
    return RecordStockReservation(order_id=ORDER, product_id=product, reserved=True)


def test_the_payment_waits_for_the_vouchers_use_after_every_line():
    order = placed_with_voucher()

    assert types(order.send(stock(TEA))) == ["OrderItemReserved"]
    assert types(order.send(stock(CUPS))) == ["OrderItemReserved"]
    decision = order.send(RecordVoucherUse(order_id=ORDER, reserved=True))

    assert types(decision) == ["OrderVoucherReserved", "OrderAwaitingPayment"]
    assert events(decision)[1].amount == Money(amount=3180)


def test_the_payment_waits_for_the_last_line_after_the_vouchers_use():
    order = placed_with_voucher()

    assert types(order.send(RecordVoucherUse(order_id=ORDER, reserved=True))) == [
        "OrderVoucherReserved"]
    order.send(stock(TEA))
    assert types(order.send(stock(CUPS))) == ["OrderItemReserved", "OrderAwaitingPayment"]
    assert order.send(RecordVoucherUse(order_id=ORDER, reserved=True)).events == []


def test_a_refused_use_cancels_the_order_by_the_voucher_and_releases_what_it_holds():
    order = placed_with_voucher()
    order.send(stock(TEA))

    (cancelled,) = events(order.send(RecordVoucherUse(
        order_id=ORDER, reserved=False, reason="Voucher SPRING10 is used up.")))

    assert (cancelled.cancelled_by, cancelled.reason) == ("voucher",
                                                          "Voucher SPRING10 is used up.")
    assert (cancelled.voucher_code, cancelled.product_ids) == ("SPRING10", [TEA, CUPS])
    assert order.send(stock(CUPS)).events == []


def test_an_order_without_a_voucher_is_ready_with_its_stock_and_refuses_a_voucher_answer():
    order = Processor(KEY)
    order.send(place_order())
    order.send(stock(TEA))

    assert types(order.send(stock(CUPS))) == ["OrderItemReserved", "OrderAwaitingPayment"]
    refused = Processor(KEY)
    refused.send(place_order())
    assert refused.send(RecordVoucherUse(order_id=ORDER, reserved=True)).reply.reason == (
        "no_voucher")


def test_confirmation_and_payment_carry_the_voucher_and_the_method():
    order = placed_with_voucher()
    for step in (stock(TEA), stock(CUPS), RecordVoucherUse(order_id=ORDER, reserved=True)):
        order.send(step)

    confirmed, paid = events(order.send(RecordPayment(order_id=ORDER, payment_id=PAYMENT,
                                                      status="captured", card_last4="4242")))

    assert (confirmed.voucher, confirmed.shipping_method) == (VOUCHER, EXPRESS)
    assert (paid.voucher, paid.shipping_method) == (VOUCHER, EXPRESS)


def _envelope(event) -> EventEnvelope:
    return EventEnvelope(event_id=UUID(int=42), type=event.type_name(), schema_version=1,
                         aggregate_id=KEY, aggregate_version=1, occurred_at=ISSUED_AT,
                         correlation_id=ORDER, causation_id=UUID(int=41), actor="test",
                         payload=event.model_dump(mode="json"))


def test_the_saga_reserves_the_use_with_the_orders_time_and_releases_it_on_cancel():
    order = placed_with_voucher()
    (event,) = events(Processor(KEY).send(place_order().model_copy(
        update={"voucher": VOUCHER, "shipping_method": EXPRESS})))
    policy = Policy(payment_timeout=timedelta(minutes=15), bank_transfer_timeout=timedelta(
        days=3))

    steps = checkout_saga.react(_envelope(event), policy)
    again = checkout_saga.react(_envelope(event), policy)

    reserve = steps[-1]
    assert isinstance(reserve, Send) and reserve.command.type_name() == "ReserveVoucherUse"
    assert (reserve.command.code, reserve.command.user_id, reserve.command.subtotal,
            reserve.command.ordered_at) == ("SPRING10", USER, Money(amount=2100), ISSUED_AT)
    assert [s.command_id for s in steps] == [s.command_id for s in again]  # derived ids

    (cancelled,) = events(order.send(RecordVoucherUse(order_id=ORDER, reserved=False,
                                                      reason="used up")))
    release = checkout_saga.react(_envelope(cancelled), policy)
    assert [s.command.type_name() for s in release] == [
        "ReleaseStock", "ReleaseStock", "ReleaseVoucherUse"]
