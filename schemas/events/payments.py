"""Facts of the payments service: one payment per order, and the receipt book.

No card number ever appears: only the provider's token (sealed) and the card's
last four digits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from schemas.events.orders import OrderLine, Reason, ShippingMethod, Totals, VoucherTerms
from schemas.payments import PaymentMethodType
from schemas.messages import Event
from schemas.money import Money
from schemas.personal import Sealed

Last4 = Annotated[str, Field(pattern=r"^[0-9]{4}$")]
Reference = Annotated[str, Field(min_length=1, max_length=200)]
ReceiptBook = Annotated[str, Field(pattern=r"^receipts-[0-9]{4}$")]


class _PaymentEvent(Event):
    """Every payment event names the payment, its order and the order's owner."""

    payment_id: UUID
    order_id: UUID
    user_id: UUID


class PaymentRequested(_PaymentEvent):
    amount: Money
    method: PaymentMethodType
    token: Sealed | None = None
    # Not settled by then: the payment fails and the order is cancelled.
    expires_at: datetime


class PaymentAuthorized(_PaymentEvent):
    """The money is reserved (a card or a wallet) or promised (cash on delivery)."""

    method: PaymentMethodType
    amount: Money
    provider_reference: Reference | None = None
    card_last4: Last4 | None = None


class PaymentPending(_PaymentEvent):
    """Waiting for the money (a bank transfer); `settles_at` when the sandbox bank pays."""

    provider_reference: Reference | None = None
    settles_at: datetime | None = None


class PaymentCaptured(_PaymentEvent):
    method: PaymentMethodType
    amount: Money
    provider_reference: Reference | None = None
    card_last4: Last4 | None = None


class PaymentFailed(_PaymentEvent):
    reason: Reason


class PaymentRefundRequested(_PaymentEvent):
    """`amount` is asked back of the provider: all that is left of the payment for a
    cancelled order, or a return's share (`return_id`)."""

    method: PaymentMethodType
    amount: Money
    provider_reference: Reference | None = None
    return_id: UUID | None = None


class PaymentRefunded(_PaymentEvent):
    amount: Money
    refund_reference: Reference | None = None
    return_id: UUID | None = None
    # All refunded so far, and whether that is everything captured; None and "refunded"
    # on events from before partial refunds, which refunded the whole payment.
    refunded_amount: Money | None = None
    status: Literal["refunded", "partially_refunded"] = "refunded"


class PaymentRefundFailed(_PaymentEvent):
    """The provider would not refund: someone must look at it."""

    reason: Reason
    return_id: UUID | None = None


class PaymentRefundDeclined(_PaymentEvent):
    """A return's refund was not asked of the provider: nothing of the payment was left
    to give back, or it was never captured."""

    return_id: UUID
    requested: Money
    reason: Reason


class ReceiptIssued(Event):
    """A numbered receipt; numbers run without gaps within a year's book."""

    book: ReceiptBook
    receipt_number: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{6,}$")]
    payment_id: UUID
    order_id: UUID
    user_id: UUID
    lines: list[OrderLine]
    totals: Totals
    payment_method: PaymentMethodType
    card_last4: Last4 | None = None
    voucher: VoucherTerms | None = None
    shipping_method: ShippingMethod | None = None
