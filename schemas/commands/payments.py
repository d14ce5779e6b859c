"""Requests to the payments service: to a payment by its id, or to a receipt book."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from schemas.events.orders import OrderLine, Reason, ShippingMethod, Totals, VoucherTerms
from schemas.payments import PaymentMethodType
from schemas.events.payments import Last4, ReceiptBook, Reference
from schemas.messages import Command
from schemas.money import Money
from schemas.personal import Sealed


class _PaymentCommand(Command):
    service: ClassVar[str] = "payments"
    payment_id: UUID

    @property
    def aggregate_key(self) -> str:
        return str(self.payment_id)


class RequestPayment(_PaymentCommand):
    order_id: UUID
    user_id: UUID
    amount: Money
    method: PaymentMethodType
    token: Sealed | None = None
    expires_at: datetime


class RecordAuthorization(_PaymentCommand):
    """The provider's answer to the authorization."""

    status: Literal["authorized", "pending", "captured", "failed"]
    provider_reference: Reference | None = None
    failure_reason: Reason | None = None
    card_last4: Last4 | None = None
    settles_at: datetime | None = None


class RecordCapture(_PaymentCommand):
    """The provider's answer to the capture of an authorization."""

    status: Literal["captured", "failed"]
    failure_reason: Reason | None = None


class SettlePayment(_PaymentCommand):
    """The money arrived: a bank transfer paid, or cash taken on delivery.

    `amount`, when the notice states one, must be the payment's.
    """

    source: Literal["bank", "cash_on_delivery", "provider"]
    amount: Money | None = None


class FailPayment(_PaymentCommand):
    """The payment will not complete: it timed out, or the provider says it failed."""

    reason: Reason


class CancelPayment(_PaymentCommand):
    """The order was cancelled: stop the payment, or refund it once taken."""

    reason: Reason


class RecordRefund(_PaymentCommand):
    status: Literal["refunded", "failed"]
    refund_reference: Reference | None = None
    failure_reason: Reason | None = None
    # The return the refund was for; None for a cancelled order's.
    return_id: UUID | None = None


class RefundPayment(_PaymentCommand):
    """Give back a return's share: never more than is left of what was captured."""

    return_id: UUID
    amount: Money


class IssueReceipt(Command):
    service: ClassVar[str] = "payments"

    book: ReceiptBook
    payment_id: UUID
    order_id: UUID
    user_id: UUID
    lines: list[OrderLine]
    totals: Totals
    payment_method: PaymentMethodType
    card_last4: Last4 | None = None
    voucher: VoucherTerms | None = None
    shipping_method: ShippingMethod | None = None

    @property
    def aggregate_key(self) -> str:
        return self.book
