"""Facts of the orders service: an order's life from checkout to delivery or cancellation.

An order's events all carry its owner's `user_id`, so every reader can tell whose
order it is without looking anything up. The shipping address and the payment
token are personal data and travel sealed with the owner's key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.events.catalog import Name, options_label
from schemas.messages import Event
from schemas.money import CURRENCY, MAX_AMOUNT, Money
from schemas.payments import PaymentMethodType
from schemas.personal import Sealed

FulfilmentStatus = Literal["packed", "shipped", "out_for_delivery", "delivered"]
# Who or what ended an order: the customer, the payment, missing stock, an admin, or a
# voucher whose use was refused.
CancelledBy = Literal["customer", "payment", "stock", "admin", "voucher"]
Carrier = Annotated[str, Field(min_length=1, max_length=100)]
TrackingNumber = Annotated[str, Field(min_length=1, max_length=100)]
Reason = Annotated[str, Field(max_length=500)]
# A voucher's code, upper-cased: codes are compared case-insensitively.
VoucherCode = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$")]
VoucherKind = Literal["percentage", "fixed"]
MethodCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
# A SHA-256 in hex: what is kept of a secret token.
TokenHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class OrderLine(BaseModel):
    """One product of an order, or one variant of it, at the price it was sold for.

    For a variant, `sku` is the variant's and `options` say which it is.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: UUID
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    name: Name
    unit_price: Money
    quantity: Annotated[int, Field(ge=1, le=99)]
    line_total: Money
    variant_id: UUID | None = None
    options: dict[str, str] = {}

    @property
    def item_id(self) -> UUID:
        """What the line is of: the variant, or the product without variants."""
        return self.variant_id or self.product_id

    @property
    def options_label(self) -> str:
        """The variant as people read it ("Size: M"); empty for a product without variants."""
        return options_label(self.options)

    @classmethod
    def priced(cls, product_id: UUID, sku: str, name: str, unit_price: int,
               quantity: int, variant_id: UUID | None = None,
               options: dict[str, str] | None = None) -> OrderLine:
        """A line at `unit_price` minor units in the shop's currency: its total follows."""
        return cls(product_id=product_id, sku=sku, name=name,
                   unit_price=Money(amount=unit_price, currency=CURRENCY), quantity=quantity,
                   line_total=Money(amount=unit_price * quantity, currency=CURRENCY),
                   variant_id=variant_id, options=options or {})


class Totals(BaseModel):
    """An order's amounts. Prices include VAT: `tax` is the VAT contained in `total`, and
    total = subtotal - discount + shipping. `discount` is None on orders placed before
    vouchers, which means 0."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subtotal: Money
    shipping: Money
    tax: Money
    total: Money
    discount: Money | None = None


class ShippingMethod(BaseModel):
    """The shipping an order took, at its price then: free from `free_over` (compared with
    the subtotal after the discount)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: MethodCode
    name: Name
    price: Money
    free_over: Money | None = None


class VoucherTerms(BaseModel):
    """What a voucher takes off: `value` percent (1-100) of the subtotal, or `value` minor
    units; nothing below `min_subtotal`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: VoucherCode
    kind: VoucherKind
    value: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    min_subtotal: Money | None = None

    def discount_on(self, subtotal: int) -> int:
        """The discount on `subtotal` minor units: a percentage rounded half up to the
        cent, never more than the subtotal; 0 below the minimum."""
        if self.min_subtotal is not None and subtotal < self.min_subtotal.amount:
            return 0
        if self.kind == "percentage":
            return min((2 * subtotal * self.value + 100) // 200, subtotal)
        return min(self.value, subtotal)


class _OrderEvent(Event):
    """Every order event names the order and its owner."""

    order_id: UUID
    user_id: UUID


class OrderPlaced(_OrderEvent):
    """A checkout: the cart's lines, priced, with where to send them and how to pay."""

    payment_id: UUID
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]
    totals: Totals
    # JSON of the address fields, sealed with the user's key.
    shipping_address: Sealed
    payment_method: PaymentMethodType
    # The payment network's token for a card or wallet, sealed; None for the others.
    payment_token: Sealed | None = None
    # The voucher's terms when the cart held one: its use is reserved by the saga.
    voucher: VoucherTerms | None = None
    # None on orders placed before shipping methods: the flat rule of their time.
    shipping_method: ShippingMethod | None = None
    # The cart the order was taken from: None means the owner's own (a guest's differs).
    cart_id: UUID | None = None
    # A guest's order: where its emails go, sealed with the guest's key; and the hash of
    # the order token the guest reads it with (`infra.guest_tokens`).
    guest_email: Sealed | None = None
    order_token_hash: TokenHash | None = None


class OrderItemReserved(_OrderEvent):
    """The catalog set aside one product's stock (all its lines) for this order."""

    product_id: UUID


class OrderVoucherReserved(_OrderEvent):
    """The voucher's writer set one use aside for this order."""

    code: VoucherCode


class OrderAwaitingPayment(_OrderEvent):
    """Every line and the voucher's use (if any) are reserved: the payment is requested."""

    payment_id: UUID
    amount: Money
    payment_method: PaymentMethodType
    payment_token: Sealed | None = None


class OrderConfirmed(_OrderEvent):
    """The payment went through (or, for cash on delivery, was accepted)."""

    payment_id: UUID
    lines: list[OrderLine]
    totals: Totals
    payment_method: PaymentMethodType
    voucher: VoucherTerms | None = None
    shipping_method: ShippingMethod | None = None
    # As in `OrderPlaced`: the cart its lines leave, and a guest's sealed address.
    cart_id: UUID | None = None
    guest_email: Sealed | None = None


class OrderPaid(_OrderEvent):
    """The money was taken: what the receipt is issued from."""

    payment_id: UUID
    lines: list[OrderLine]
    totals: Totals
    payment_method: PaymentMethodType
    card_last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    voucher: VoucherTerms | None = None
    shipping_method: ShippingMethod | None = None


class OrderCancelled(_OrderEvent):
    """The order ended without being delivered; its stock goes back, a payment is undone."""

    reason: Reason
    cancelled_by: CancelledBy
    # The products whose reservations are released.
    product_ids: list[UUID]
    # The payment to cancel or refund, once one was requested.
    payment_id: UUID | None = None
    # The voucher whose use is released.
    voucher_code: VoucherCode | None = None


class FulfilmentRecorded(_OrderEvent):
    """The warehouse or the carrier moved the order on."""

    status: FulfilmentStatus
    carrier: Carrier | None = None
    tracking_number: TrackingNumber | None = None
    payment_id: UUID | None = None
    # When it happened, by the recorder's clock (a delivery opens the 30 days for
    # returns); None on events recorded before returns.
    at: datetime | None = None
