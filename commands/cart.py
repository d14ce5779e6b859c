"""The cart service's write model: a shopper's lines of products and quantities.

A line is keyed by its item id: the variant's id for a product with variants (two
sizes of one shirt are two lines), else the product's.

Whether a product exists and how many are in stock belongs to the catalog; the
API checks that against the catalog's read model before sending a command. The
cart itself keeps its lines within bounds, and holds at most one voucher code (the
API checks the code against the vouchers model; the voucher's own writer decides its
use at checkout).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch
from types import MappingProxyType
from typing import Mapping
from uuid import UUID

from commands.decisions import Rejected
from schemas.commands.cart import (
    MAX_LINES,
    MAX_QUANTITY,
    AddCartItem,
    ApplyCartVoucher,
    ClearCart,
    RemoveCartVoucher,
    RemoveCartItem,
    RemoveOrderedItems,
    SetCartItemQuantity,
)
from schemas.events.cart import (
    CartCleared,
    CartItemAdded,
    CartItemQuantityChanged,
    CartItemRemoved,
    CartVoucherApplied,
    CartVoucherRemoved,
    OrderedItemsRemoved,
)
from schemas.messages import Command, Event


@dataclass(frozen=True)
class Cart:
    # item id -> quantity
    lines: Mapping[UUID, int] = field(default_factory=lambda: MappingProxyType({}))
    voucher: str | None = None


State = Cart | None


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state or Cart())


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state or Cart())


def _with(cart: Cart, changes: Mapping[UUID, int | None]) -> Cart:
    lines = dict(cart.lines)
    for item, quantity in changes.items():
        if quantity is None:
            lines.pop(item, None)
        else:
            lines[item] = quantity
    return replace(cart, lines=MappingProxyType(lines))


@singledispatch
def _decide(command: Command, cart: Cart) -> list[Event]:
    raise TypeError(f"the cart service does not handle {type(command).__name__}")


@_decide.register
def _(command: AddCartItem, cart: Cart) -> list[Event]:
    current = cart.lines.get(command.item_id, 0)
    if current == 0 and len(cart.lines) >= MAX_LINES:
        raise Rejected("cart_full", f"A cart holds at most {MAX_LINES} different products.",
                       "invalid")
    total = current + command.quantity
    if total > MAX_QUANTITY:
        raise Rejected("too_many", f"A cart line holds at most {MAX_QUANTITY} of a product.",
                       "invalid")
    return [CartItemAdded(**_line(command), added=command.quantity, quantity=total)]


def _line(command: AddCartItem | SetCartItemQuantity | RemoveCartItem) -> dict:
    return {"cart_id": command.cart_id, "product_id": command.product_id,
            "variant_id": command.variant_id}


@_decide.register
def _(command: SetCartItemQuantity, cart: Cart) -> list[Event]:
    current = cart.lines.get(command.item_id)
    if current is None:
        if command.quantity == 0:
            return []
        raise Rejected("not_in_cart", "That item is not in the cart.", "not_found")
    if command.quantity == 0:
        return [CartItemRemoved(**_line(command))]
    if command.quantity == current:
        return []
    return [CartItemQuantityChanged(**_line(command), quantity=command.quantity)]


@_decide.register
def _(command: RemoveCartItem, cart: Cart) -> list[Event]:
    if command.item_id not in cart.lines:
        raise Rejected("not_in_cart", "That item is not in the cart.", "not_found")
    return [CartItemRemoved(**_line(command))]


@_decide.register
def _(command: ClearCart, cart: Cart) -> list[Event]:
    return [CartCleared(cart_id=command.cart_id)] if cart.lines else []


@_decide.register
def _(command: RemoveOrderedItems, cart: Cart) -> list[Event]:
    quantities = {item: max(cart.lines[item] - bought, 0)
                  for item, bought in command.quantities.items() if item in cart.lines}
    events: list[Event] = []
    if quantities:
        events.append(OrderedItemsRemoved(cart_id=command.cart_id, order_id=command.order_id,
                                          quantities=quantities))
    if command.voucher is not None and cart.voucher == command.voucher:
        events.append(CartVoucherRemoved(cart_id=command.cart_id))  # it was used
    return events


@_decide.register
def _(command: ApplyCartVoucher, cart: Cart) -> list[Event]:
    if cart.voucher == command.code:
        return []
    return [CartVoucherApplied(cart_id=command.cart_id, code=command.code)]


@_decide.register
def _(command: RemoveCartVoucher, cart: Cart) -> list[Event]:
    return [CartVoucherRemoved(cart_id=command.cart_id)] if cart.voucher else []


@singledispatch
def _evolve(event: Event, cart: Cart) -> State:
    raise TypeError(f"the cart service does not apply {type(event).__name__}")


@_evolve.register
def _(event: CartItemAdded, cart: Cart) -> State:
    return _with(cart, {event.item_id: event.quantity})


@_evolve.register
def _(event: CartItemQuantityChanged, cart: Cart) -> State:
    return _with(cart, {event.item_id: event.quantity})


@_evolve.register
def _(event: CartItemRemoved, cart: Cart) -> State:
    return _with(cart, {event.item_id: None})


@_evolve.register
def _(event: CartCleared, cart: Cart) -> State:
    return Cart()


@_evolve.register
def _(event: OrderedItemsRemoved, cart: Cart) -> State:
    return _with(cart, {item: quantity or None for item, quantity in event.quantities.items()})


@_evolve.register
def _(event: CartVoucherApplied, cart: Cart) -> State:
    return replace(cart, voucher=event.code)


@_evolve.register
def _(event: CartVoucherRemoved, cart: Cart) -> State:
    return replace(cart, voucher=None)
