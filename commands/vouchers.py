"""A voucher's write model: its terms and the uses it has given out.

The voucher is the single writer of its uses, so its limits hold however many
checkouts race for it: a use is reserved for an order, or refused with the reason,
and a cancelled order gives its use back. Limits count the uses reserved and not
released; the validity window is checked at the order's time and the minimum on
the order's subtotal. A release is remembered, so a reservation for that order that
arrives later is refused rather than taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch
from uuid import UUID

from pyrsistent import PMap, pmap

from commands.decisions import Rejected
from commands.recent import Recent
from schemas.commands.vouchers import CreateVoucher, ReleaseVoucherUse, ReserveVoucherUse
from schemas.events.vouchers import (
    VoucherCreated,
    VoucherUseRefused,
    VoucherUseReleased,
    VoucherUseReserved,
    used_up,
    window_or_minimum_refusal,
)
from schemas.messages import Command, Event
from schemas.money import CURRENCY

COMMANDS = (CreateVoucher, ReserveVoucherUse, ReleaseVoucherUse)
EVENTS = (VoucherCreated, VoucherUseReserved, VoucherUseRefused, VoucherUseReleased)


# How many orders' uses and releases a voucher remembers: an order's cancellation, or a
# reservation that raced it, comes before this many later orders with the voucher.
ORDERS_KEPT = 10_000


@dataclass(frozen=True)
class Voucher:
    terms: VoucherCreated
    # order id -> its customer, for each use reserved and not released, of the last
    # ORDERS_KEPT orders
    held: Recent[UUID, UUID] = field(default_factory=lambda: Recent(ORDERS_KEPT))
    released: Recent[UUID, bool] = field(default_factory=lambda: Recent(ORDERS_KEPT))
    # The uses reserved and not released, all of them, and how many of them each customer
    # holds (only customers holding one).
    uses: int = 0
    customers: PMap[UUID, int] = field(default_factory=pmap)

    def uses_by(self, user_id: UUID) -> int:
        return self.customers.get(user_id, 0)


State = Voucher | None


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state)


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state)


@singledispatch
def _decide(command: Command, state: State) -> list[Event]:
    raise TypeError(f"a voucher does not handle {type(command).__name__}")


@_decide.register
def _(command: CreateVoucher, state: State) -> list[Event]:
    if state is not None:
        raise Rejected("voucher_exists", f"The voucher code {command.code} is taken.")
    if command.kind == "percentage" and command.value > 100:
        raise Rejected("invalid_percentage", "A percentage is 1 to 100.", "invalid")
    if (command.starts_at is not None and command.ends_at is not None
            and command.ends_at <= command.starts_at):
        raise Rejected("empty_window", "ends_at must be after starts_at.", "invalid")
    if command.min_subtotal is not None and command.min_subtotal.currency != CURRENCY:
        raise Rejected("foreign_currency", f"The shop sells in {CURRENCY}.", "invalid")
    return [VoucherCreated(**command.model_dump())]


@_decide.register
def _(command: ReserveVoucherUse, state: State) -> list[Event]:
    use = dict(code=command.code, order_id=command.order_id, user_id=command.user_id)
    if state is None:
        return [VoucherUseRefused(**use, reason=f"Unknown voucher code {command.code}.")]
    if command.order_id in state.held:
        return []
    terms = state.terms
    if command.order_id in state.released:
        reason: str | None = "The order was cancelled before its voucher was reserved."
    else:
        reason = window_or_minimum_refusal(
            terms.code, terms.starts_at, terms.ends_at,
            terms.min_subtotal.amount if terms.min_subtotal else None, command.ordered_at,
            command.subtotal.amount) or used_up(
            terms.code, state.uses, terms.usage_limit, state.uses_by(command.user_id),
            terms.per_customer_limit)
    if reason is not None:
        return [VoucherUseRefused(**use, reason=reason)]
    return [VoucherUseReserved(**use)]


@_decide.register
def _(command: ReleaseVoucherUse, state: State) -> list[Event]:
    if state is None or command.order_id in state.released:
        return []
    return [VoucherUseReleased(code=command.code, order_id=command.order_id,
                               user_id=command.user_id, held=command.order_id in state.held)]


@singledispatch
def _evolve(event: Event, state: State) -> State:
    raise TypeError(f"a voucher does not apply {type(event).__name__}")


@_evolve.register
def _(event: VoucherCreated, state: State) -> State:
    return Voucher(terms=event)


@_evolve.register
def _(event: VoucherUseReserved, state: State) -> State:
    assert state is not None
    return replace(state, held=state.held.set(event.order_id, event.user_id),
                   uses=state.uses + 1, customers=state.customers.set(
                       event.user_id, state.uses_by(event.user_id) + 1))


@_evolve.register
def _(event: VoucherUseRefused, state: State) -> State:
    return state


@_evolve.register
def _(event: VoucherUseReleased, state: State) -> State:
    assert state is not None
    released = replace(state, released=state.released.add(event.order_id))
    customer = state.held.get(event.order_id)
    if customer is None:
        return released
    left = state.uses_by(customer) - 1
    return replace(released, held=state.held.discard(event.order_id), uses=state.uses - 1,
                   customers=state.customers.set(customer, left) if left
                   else state.customers.discard(customer))
