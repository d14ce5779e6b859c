"""An order's returns: the decisions the orders decider hands over for them.

The order is the single writer of its returns, so whatever the races, a line never
goes back more often than it was bought: a request counts every unit already asked
back by a return that is not rejected. A return runs requested -> approved ->
received -> refunded, or ends rejected; each step is allowed from the one before only.
A return may be asked for from delivery until `WINDOW` after it. Its refund is the
lines' paid share (`pricing.paid_shares`: after the discount; shipping is not
refunded), worked out when it is requested; the payment refunds at most what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import singledispatch
from typing import Protocol
from uuid import UUID

from pyrsistent import PMap


from commands import pricing
from commands.decisions import Rejected
from schemas.commands.returns import (
    ApproveReturn,
    ReceiveReturn,
    RecordReturnRefund,
    RejectReturn,
    RequestReturn,
)
from schemas.events.returns import (
    ReturnApproved,
    ReturnLine,
    ReturnReceived,
    ReturnRefunded,
    ReturnRejected,
    ReturnRequested,
)
from schemas.events.orders import OrderLine, Totals
from schemas.messages import Event
from schemas.money import Money

WINDOW = timedelta(days=30)
COMMANDS = (RequestReturn, ApproveReturn, RejectReturn, ReceiveReturn, RecordReturnRefund)
EVENTS = (ReturnRequested, ReturnApproved, ReturnRejected, ReturnReceived, ReturnRefunded)
# Each step, and the status it may follow.
AFTER = {"approved": "requested", "rejected": "requested", "received": "approved",
         "refunded": "received"}


@dataclass(frozen=True)
class Return:
    return_id: UUID
    status: str
    lines: tuple[ReturnLine, ...]
    refund: Money


class Order(Protocol):
    """What returns need of an order (`commands.orders.Order`)."""

    order_id: UUID
    user_id: UUID
    payment_id: UUID
    status: str
    lines: tuple[OrderLine, ...]
    totals: Totals
    delivered_at: datetime | None
    returns: PMap[UUID, Return]


def returned(order: Order) -> dict[UUID, int]:
    """Units of each item asked back by returns that are not rejected."""
    counts: dict[UUID, int] = {}
    for held in order.returns.values():
        if held.status != "rejected":
            for line in held.lines:
                counts[line.item_id] = counts.get(line.item_id, 0) + line.quantity
    return counts


def decide(order: Order | None, command) -> list[Event]:
    if order is None:
        raise Rejected("order_not_found", f"There is no order {command.order_id}.", "not_found")
    return _decide(command, order)


def evolve(order: Order, event: Event) -> Order:
    return _evolve(event, order)


def _ids(order: Order, return_id: UUID) -> dict:
    return {"order_id": order.order_id, "user_id": order.user_id, "return_id": return_id}


def _return(order: Order, return_id: UUID) -> Return:
    if return_id not in order.returns:
        raise Rejected("return_not_found", f"The order has no return {return_id}.",
                       "not_found")
    return order.returns[return_id]


def _step(order: Order, return_id: UUID, step: str) -> Return | None:
    """The return if `step` may follow where it stands; None if it was taken already."""
    held = _return(order, return_id)
    if held.status == step:
        return None
    if held.status != AFTER[step]:
        raise Rejected("return_out_of_order", f"The return is {held.status}; it cannot be "
                                              f"{step} now.")
    return held


@singledispatch
def _decide(command, order: Order) -> list[Event]:
    raise TypeError(f"returns do not handle {type(command).__name__}")


@_decide.register(RequestReturn)
def _(command: RequestReturn, order: Order) -> list[Event]:
    if command.return_id in order.returns:
        return []
    if command.user_id != order.user_id:
        raise Rejected("order_not_found", f"There is no order {order.order_id}.", "not_found")
    if order.status != "delivered":
        raise Rejected("not_delivered", f"The order is {order.status.replace('_', ' ')}; "
                                        "only a delivered order may be returned.")
    if order.delivered_at is not None and command.requested_at - order.delivered_at > WINDOW:
        raise Rejected("return_window_closed", f"Returns are accepted for {WINDOW.days} days "
                                               "after delivery.")
    if len({item.item_id for item in command.lines}) != len(command.lines):
        raise Rejected("duplicate_lines", "Each line may appear once in a return.", "invalid")
    lines = {line.item_id: line for line in order.lines}
    paid = dict(zip(lines, pricing.paid_shares(order.lines, order.totals.discount),
                    strict=True))
    before = returned(order)
    taken: list[ReturnLine] = []
    for item in command.lines:
        line = lines.get(item.item_id)
        if line is None:
            raise Rejected("not_in_order", f"The order has no line {item.item_id}.", "invalid")
        earlier = before.get(item.item_id, 0)
        if earlier + item.quantity > line.quantity:
            raise Rejected("more_than_bought", f"{line.name}: {line.quantity} bought, "
                                               f"{earlier} returned already.", "invalid")
        refund = pricing.units_refund(paid[item.item_id], line.quantity, earlier,
                                      item.quantity)
        taken.append(ReturnLine(item_id=item.item_id, product_id=line.product_id,
                                variant_id=line.variant_id, sku=line.sku, name=line.name,
                                quantity=item.quantity, refund=Money(
                                    amount=refund, currency=line.line_total.currency)))
    total = Money(amount=sum(line.refund.amount for line in taken),
                  currency=order.totals.total.currency)
    return [ReturnRequested(**_ids(order, command.return_id), lines=taken,
                            reason=command.reason, refund=total)]


@_decide.register(ApproveReturn)
def _(command: ApproveReturn, order: Order) -> list[Event]:
    if _step(order, command.return_id, "approved") is None:
        return []
    return [ReturnApproved(**_ids(order, command.return_id))]


@_decide.register(RejectReturn)
def _(command: RejectReturn, order: Order) -> list[Event]:
    if _step(order, command.return_id, "rejected") is None:
        return []
    return [ReturnRejected(**_ids(order, command.return_id), reason=command.reason)]


@_decide.register(ReceiveReturn)
def _(command: ReceiveReturn, order: Order) -> list[Event]:
    held = _step(order, command.return_id, "received")
    if held is None:
        return []
    return [ReturnReceived(**_ids(order, command.return_id), payment_id=order.payment_id,
                           lines=list(held.lines), refund=held.refund)]


@_decide.register(RecordReturnRefund)
def _(command: RecordReturnRefund, order: Order) -> list[Event]:
    held = _step(order, command.return_id, "refunded")
    if held is None:
        return []
    return [ReturnRefunded(**_ids(order, command.return_id), amount=command.amount,
                           requested=held.refund, refund_reference=command.refund_reference,
                           note=command.note)]


def _moved(order: Order, return_id: UUID, status: str) -> Order:
    return replace(order, returns=order.returns.set(
        return_id, replace(order.returns[return_id], status=status)))


@singledispatch
def _evolve(event: Event, order: Order) -> Order:
    raise TypeError(f"returns do not apply {type(event).__name__}")


@_evolve.register(ReturnRequested)
def _(event: ReturnRequested, order: Order) -> Order:
    return replace(order, returns=order.returns.set(event.return_id, Return(
        return_id=event.return_id, status="requested", lines=tuple(event.lines),
        refund=event.refund)))


for _type, _status in ((ReturnApproved, "approved"), (ReturnRejected, "rejected"),
                       (ReturnReceived, "received"), (ReturnRefunded, "refunded")):
    _evolve.register(_type, lambda event, order, status=_status: _moved(
        order, event.return_id, status))
