"""Facts of the cart service. Each carries the line's resulting quantity."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from schemas.events.orders import VoucherCode
from schemas.messages import Event

Quantity = Annotated[int, Field(ge=1, le=99)]


class CartItemAdded(Event):
    cart_id: UUID
    product_id: UUID
    added: Quantity
    quantity: Quantity


class CartItemQuantityChanged(Event):
    cart_id: UUID
    product_id: UUID
    quantity: Quantity


class CartItemRemoved(Event):
    cart_id: UUID
    product_id: UUID


class CartCleared(Event):
    cart_id: UUID


class OrderedItemsRemoved(Event):
    """A placed order took its lines out of the cart.

    `quantities` holds each line's resulting quantity; 0 means the line is gone.
    """

    cart_id: UUID
    order_id: UUID
    quantities: dict[UUID, Annotated[int, Field(ge=0, le=99)]]


class CartVoucherApplied(Event):
    """The cart holds a voucher code; its discount follows from the current subtotal."""

    cart_id: UUID
    code: VoucherCode


class CartVoucherRemoved(Event):
    cart_id: UUID
