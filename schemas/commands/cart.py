"""Requests to the cart service; a cart is addressed by its owner's user id.

A line is a product, or one variant of it (`variant_id`): its item id is the
variant's id, or the product's for a product without variants.
"""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from schemas.events.cart import Quantity
from schemas.events.orders import VoucherCode
from schemas.messages import Command


# A cart's bounds, which its decider keeps (`commands/cart.py`).
MAX_QUANTITY = 99
MAX_LINES = 50


class _CartCommand(Command):
    service: ClassVar[str] = "cart"
    cart_id: UUID

    @property
    def aggregate_key(self) -> str:
        return str(self.cart_id)


class _LineCommand(_CartCommand):
    product_id: UUID
    variant_id: UUID | None = None

    @property
    def item_id(self) -> UUID:
        return self.variant_id or self.product_id


class AddCartItem(_LineCommand):
    quantity: Quantity


class SetCartItemQuantity(_LineCommand):
    """Set a line's quantity; 0 removes the line."""

    quantity: Annotated[int, Field(ge=0, le=99)]


class RemoveCartItem(_LineCommand):
    pass


class ClearCart(_CartCommand):
    pass


class RemoveOrderedItems(_CartCommand):
    """Take what an order bought out of the cart (by item id); what was added since stays."""

    order_id: UUID
    quantities: dict[UUID, Annotated[int, Field(ge=1, le=99)]]
    # The voucher the order used: taken off the cart too if it is still there.
    voucher: VoucherCode | None = None


class ApplyCartVoucher(_CartCommand):
    """Hold a voucher code in the cart; the API checks it against the vouchers model."""

    code: VoucherCode


class RemoveCartVoucher(_CartCommand):
    pass
