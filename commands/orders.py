"""The orders service's write model: an order from checkout to delivery or cancellation.

Status runs pending -> awaiting_payment -> confirmed -> packed -> shipped ->
out_for_delivery -> delivered, or ends cancelled. The order is the checkout
saga's memory: it records each line's stock reservation, its voucher's use and
the payment's outcome as they come back, and its events tell the saga what to do next.
Answers that come too late (a reservation for an order already cancelled) change
nothing; what they set in motion elsewhere is undone there.

The service's other aggregates, the vouchers and the shipping zones, have their own
deciders (`commands/vouchers.py`, `commands/shipping.py`), and a delivered order's
returns are decided in `commands/returns.py`; `decide` and `evolve` here hand their
messages to them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import singledispatch
from uuid import UUID

from pyrsistent import PMap, pmap

from commands import pricing, returns, shipping, vouchers
from commands.decisions import Rejected
from schemas.commands.orders import (
    CancelOrder,
    PlaceOrder,
    RecordFulfilment,
    RecordPayment,
    RecordStockReservation,
    RecordVoucherUse,
)
from schemas.events.orders import (
    FulfilmentRecorded,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderConfirmed,
    OrderItemReserved,
    OrderLine,
    OrderPaid,
    OrderPlaced,
    OrderVoucherReserved,
    ShippingMethod,
    Totals,
    VoucherTerms,
)
from schemas.messages import Command, Event

FULFILMENT = ("packed", "shipped", "out_for_delivery", "delivered")
# The customer may cancel until the parcel leaves.
CANCELLABLE = ("pending", "awaiting_payment", "confirmed", "packed")


def payment_id_for(order_id: UUID) -> UUID:
    """An order's one payment: derived, so a retried step can never make a second."""
    return uuid.uuid5(order_id, "payment")


@dataclass(frozen=True)
class Order:
    order_id: UUID
    user_id: UUID
    payment_id: UUID
    status: str
    lines: tuple[OrderLine, ...]
    totals: Totals
    payment_method: str
    payment_token: str | None
    reserved: frozenset[UUID] = frozenset()
    paid: bool = False
    carrier: str | None = None
    tracking_number: str | None = None
    voucher: VoucherTerms | None = None
    voucher_reserved: bool = False
    shipping_method: ShippingMethod | None = None
    # The cart its lines came from (the owner's unless a guest's), and a guest's address.
    cart_id: UUID | None = None
    guest_email: str | None = None
    delivered_at: datetime | None = None
    # return id -> the return, as `commands/returns.py` decides them
    returns: PMap[UUID, returns.Return] = field(default_factory=pmap)

    @property
    def product_ids(self) -> list[UUID]:
        """Each product once: its stock is reserved and released once for all its lines."""
        return list(dict.fromkeys(line.product_id for line in self.lines))


State = Order | vouchers.Voucher | shipping.ShippingZones | None
_PARTS = (vouchers, shipping, returns)


def decide(state: State, command: Command) -> list[Event]:
    for part in _PARTS:
        if isinstance(command, part.COMMANDS):
            return part.decide(state, command)  # type: ignore[arg-type]
    return _decide(command, state)


def evolve(state: State, event: Event) -> State:
    for part in _PARTS:
        if isinstance(event, part.EVENTS):
            return part.evolve(state, event)  # type: ignore[arg-type]
    return _evolve(event, state)


def _ready(order: Order) -> bool:
    """Whether the payment may be requested: every product is reserved, and the
    voucher's use too when the order has one."""
    return (order.reserved == set(order.product_ids)
            and (order.voucher is None or order.voucher_reserved))


def _awaiting_payment(order: Order) -> OrderAwaitingPayment:
    return OrderAwaitingPayment(
        order_id=order.order_id, user_id=order.user_id, payment_id=order.payment_id,
        amount=order.totals.total, payment_method=order.payment_method,
        payment_token=order.payment_token)


def _order(state: State, order_id: UUID) -> Order:
    if state is None:
        raise Rejected("order_not_found", f"There is no order {order_id}.", "not_found")
    return state


@singledispatch
def _decide(command: Command, state: State) -> list[Event]:
    raise TypeError(f"the orders service does not handle {type(command).__name__}")


@_decide.register
def _(command: PlaceOrder, state: State) -> list[Event]:
    if state is not None:
        raise Rejected("order_exists", f"The order {command.order_id} exists already.")
    if len({line.item_id for line in command.lines}) != len(command.lines):
        raise Rejected("duplicate_lines", "Each product or variant may appear in one line "
                                          "only.", "invalid")
    pricing.require_shop_currency(*(money for line in command.lines
                                    for money in (line.unit_price, line.line_total)))
    method, voucher = command.shipping_method, command.voucher
    pricing.require_shop_currency(method and method.price, method and method.free_over,
                                  voucher and voucher.min_subtotal)
    return [OrderPlaced(**command.model_dump(),
                        totals=pricing.totals(command.lines, command.shipping_method,
                                              command.voucher),
                        payment_id=payment_id_for(command.order_id))]


@_decide.register
def _(command: RecordStockReservation, state: State) -> list[Event]:
    order = _order(state, command.order_id)
    if order.status != "pending" or command.product_id in order.reserved:
        return []
    if command.product_id not in order.product_ids:
        raise Rejected("not_in_order", f"The order has no line for {command.product_id}.",
                       "invalid")
    if not command.reserved:
        return [_cancelled(order, command.reason or "A product is out of stock.", "stock")]
    events: list[Event] = [OrderItemReserved(order_id=order.order_id, user_id=order.user_id,
                                             product_id=command.product_id)]
    if _ready(replace(order, reserved=order.reserved | {command.product_id})):
        events.append(_awaiting_payment(order))
    return events


@_decide.register
def _(command: RecordVoucherUse, state: State) -> list[Event]:
    order = _order(state, command.order_id)
    if order.status != "pending" or order.voucher_reserved:
        return []
    if order.voucher is None:
        raise Rejected("no_voucher", "The order has no voucher.", "invalid")
    if not command.reserved:
        return [_cancelled(order, command.reason or "The voucher could not be used.",
                           "voucher")]
    events: list[Event] = [OrderVoucherReserved(order_id=order.order_id, user_id=order.user_id,
                                                code=order.voucher.code)]
    if _ready(replace(order, voucher_reserved=True)):
        events.append(_awaiting_payment(order))
    return events


@_decide.register
def _(command: RecordPayment, state: State) -> list[Event]:
    order = _order(state, command.order_id)
    if command.payment_id != order.payment_id:
        raise Rejected("wrong_payment", "That payment is not this order's.", "invalid")
    events: list[Event] = []
    if order.status == "awaiting_payment":
        events.append(OrderConfirmed(
            order_id=order.order_id, user_id=order.user_id, payment_id=order.payment_id,
            lines=list(order.lines), totals=order.totals, payment_method=order.payment_method,
            voucher=order.voucher, shipping_method=order.shipping_method,
            cart_id=order.cart_id, guest_email=order.guest_email))
    elif order.status in ("pending", "cancelled"):
        # Too late or too early to confirm; the payment side refunds what a cancelled
        # order was paid.
        return []
    if command.status == "captured" and not order.paid:
        events.append(OrderPaid(
            order_id=order.order_id, user_id=order.user_id, payment_id=order.payment_id,
            lines=list(order.lines), totals=order.totals, payment_method=order.payment_method,
            card_last4=command.card_last4, voucher=order.voucher,
            shipping_method=order.shipping_method))
    return events


@_decide.register
def _(command: CancelOrder, state: State) -> list[Event]:
    order = _order(state, command.order_id)
    if order.status == "cancelled":
        return []
    if command.cancelled_by == "payment" and order.status != "awaiting_payment":
        return []  # a payment failing after the order moved on (or before it) ends nothing
    if order.status not in CANCELLABLE:
        raise Rejected("already_shipped", f"The order is {order.status.replace('_', ' ')}; "
                                          "it can no longer be cancelled.")
    return [_cancelled(order, command.reason, command.cancelled_by)]


def _cancelled(order: Order, reason: str, by: str) -> OrderCancelled:
    return OrderCancelled(
        order_id=order.order_id, user_id=order.user_id, reason=reason, cancelled_by=by,
        product_ids=order.product_ids,
        payment_id=order.payment_id if order.status != "pending" else None,
        voucher_code=order.voucher.code if order.voucher is not None else None)


@_decide.register
def _(command: RecordFulfilment, state: State) -> list[Event]:
    order = _order(state, command.order_id)
    if order.status in ("pending", "awaiting_payment", "cancelled"):
        raise Rejected("not_confirmed", f"The order is {order.status.replace('_', ' ')}; "
                                        "only a confirmed order is fulfilled.")
    if order.status == command.status:
        return []
    if order.status in FULFILMENT and (
            FULFILMENT.index(command.status) < FULFILMENT.index(order.status)):
        raise Rejected("backwards", f"The order is {order.status.replace('_', ' ')} already.")
    carrier = command.carrier or order.carrier
    tracking = command.tracking_number or order.tracking_number
    if command.status != "packed" and (carrier is None or tracking is None):
        raise Rejected("tracking_needed", "A shipped order needs a carrier and a tracking "
                                          "number.", "invalid")
    return [FulfilmentRecorded(order_id=order.order_id, user_id=order.user_id,
                               status=command.status, carrier=carrier, tracking_number=tracking,
                               payment_id=order.payment_id, at=command.at)]


@singledispatch
def _evolve(event: Event, state: State) -> State:
    raise TypeError(f"the orders service does not apply {type(event).__name__}")


@_evolve.register
def _(event: OrderPlaced, state: State) -> State:
    return Order(order_id=event.order_id, user_id=event.user_id, payment_id=event.payment_id,
                 status="pending", lines=tuple(event.lines), totals=event.totals,
                 payment_method=event.payment_method, payment_token=event.payment_token,
                 voucher=event.voucher, shipping_method=event.shipping_method,
                 cart_id=event.cart_id or event.user_id, guest_email=event.guest_email)


@_evolve.register
def _(event: OrderVoucherReserved, state: State) -> State:
    return replace(_order(state, event.order_id), voucher_reserved=True)


@_evolve.register
def _(event: OrderItemReserved, state: State) -> State:
    order = _order(state, event.order_id)
    return replace(order, reserved=order.reserved | {event.product_id})


@_evolve.register
def _(event: OrderAwaitingPayment, state: State) -> State:
    return replace(_order(state, event.order_id), status="awaiting_payment")


@_evolve.register
def _(event: OrderConfirmed, state: State) -> State:
    return replace(_order(state, event.order_id), status="confirmed")


@_evolve.register
def _(event: OrderPaid, state: State) -> State:
    return replace(_order(state, event.order_id), paid=True)


@_evolve.register
def _(event: OrderCancelled, state: State) -> State:
    return replace(_order(state, event.order_id), status="cancelled")


@_evolve.register
def _(event: FulfilmentRecorded, state: State) -> State:
    order = _order(state, event.order_id)
    return replace(order, status=event.status, carrier=event.carrier,
                   tracking_number=event.tracking_number,
                   delivered_at=event.at if event.status == "delivered" else order.delivered_at)
