"""Facts of the cart service. Each carries the line's resulting quantity.

A line is keyed by its item id: `variant_id` when the product comes in variants
(events before variants have none), else `product_id`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from schemas.events.orders import VoucherCode
from schemas.messages import Event

Quantity = Annotated[int, Field(ge=1, le=99)]


class _LineEvent(Event):
    cart_id: UUID
    product_id: UUID
    variant_id: UUID | None = None

    @property
    def item_id(self) -> UUID:
        return self.variant_id or self.product_id


class CartItemAdded(_LineEvent):
    added: Quantity
    quantity: Quantity


class CartItemQuantityChanged(_LineEvent):
    quantity: Quantity


class CartItemRemoved(_LineEvent):
    pass


class CartCleared(Event):
    cart_id: UUID


class OrderedItemsRemoved(Event):
    """A placed order took its lines out of the cart.

    `quantities` holds each line's resulting quantity by item id; 0 means the line is gone.
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
