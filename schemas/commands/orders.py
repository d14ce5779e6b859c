"""Requests to the orders service about an order, addressed by its id (vouchers and the
shipping zones, of the same service, have their own modules)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from schemas.events.orders import (
    CancelledBy,
    Carrier,
    FulfilmentStatus,
    OrderLine,
    PaymentMethodType,
    Reason,
    ShippingMethod,
    TokenHash,
    TrackingNumber,
    VoucherTerms,
)
from schemas.messages import Command
from schemas.personal import Sealed


class _OrderCommand(Command):
    service: ClassVar[str] = "orders"
    order_id: UUID

    @property
    def aggregate_key(self) -> str:
        return str(self.order_id)


class PlaceOrder(_OrderCommand):
    """The lines as priced now; the order's totals follow from them (`commands.pricing`)."""

    user_id: UUID
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]
    shipping_address: Sealed
    payment_method: PaymentMethodType
    payment_token: Sealed | None = None
    voucher: VoucherTerms | None = None
    shipping_method: ShippingMethod | None = None
    # A guest's checkout (`schemas.events.orders.OrderPlaced`).
    cart_id: UUID | None = None
    guest_email: Sealed | None = None
    order_token_hash: TokenHash | None = None


class RecordStockReservation(_OrderCommand):
    """The catalog's answer for one product (all its lines): reserved, or not (with why)."""

    product_id: UUID
    reserved: bool
    reason: Reason | None = None


class RecordVoucherUse(_OrderCommand):
    """The voucher's answer: a use reserved for the order, or not (with why)."""

    reserved: bool
    reason: Reason | None = None


class RecordPayment(_OrderCommand):
    """The payment was authorized (cash on delivery) or captured (the money moved)."""

    payment_id: UUID
    status: Literal["authorized", "captured"]
    card_last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None


class CancelOrder(_OrderCommand):
    reason: Reason
    cancelled_by: CancelledBy


class RecordFulfilment(_OrderCommand):
    status: FulfilmentStatus
    carrier: Carrier | None = None
    tracking_number: TrackingNumber | None = None
    at: datetime | None = None
