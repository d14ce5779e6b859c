"""The orders read model in MySQL: orders with their returns, their payments and the
receipts issued for them, and the service's other aggregates: vouchers and shipping zones.

Orders and payments are rows guarded by their aggregate's version, so a record
applied twice changes nothing; a receipt belongs to another aggregate (the
receipt book) and is inserted once, keyed by its number. The shipping address
arrives sealed and is unsealed with its owner's key: null once they were
forgotten. Times are stored as naive UTC, as in every MySQL read model. A voucher's
`used` is not stored: it is counted from the orders confirmed with it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    update,
)
from sqlalchemy.dialects.mysql import DATETIME
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.crypto import KeyStore
from schemas.records import Record
from projections.mysql import Fact, MySQLProjection, Write, insert_row, update_row
from schemas.events.orders import (
    FulfilmentRecorded,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderConfirmed,
    OrderItemReserved,
    OrderPaid,
    OrderPlaced,
    OrderVoucherReserved,
)
from schemas.events.returns import (
    ReturnApproved,
    ReturnReceived,
    ReturnRefunded,
    ReturnRejected,
    ReturnRequested,
)
from schemas.events.shipping import ShippingZoneCreated
from schemas.events.vouchers import VoucherCreated
from schemas.events.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentPending,
    PaymentRefundDeclined,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentRefundRequested,
    PaymentRequested,
    ReceiptIssued,
)
from schemas.topics import ORDERS, PAYMENTS


def _amount_columns() -> list[Column]:
    return [Column(f"{name}_amount", BigInteger, nullable=False)
            for name in ("subtotal", "discount", "shipping", "tax", "total")] + [
        Column("currency", String(3), nullable=False),
        # {code, kind, value, min_subtotal} and {code, name, price, free_over}: the terms
        # the order took; null without a voucher, or for an order before shipping methods.
        Column("voucher", JSON), Column("shipping_method", JSON)]


def orders_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("user_id", String(36), nullable=False),
        Column("status", String(32), nullable=False),
        Column("lines", JSON, nullable=False),
        *_amount_columns(),
        Column("shipping_address", JSON),
        Column("payment_id", String(36), nullable=False, index=True),
        Column("payment_method", String(32), nullable=False),
        Column("cancel_reason", String(500)),
        Column("cancelled_by", String(16)),
        Column("carrier", String(100)),
        Column("tracking_number", String(100)),
        # [{status, at}] per fulfilment step, oldest first.
        Column("tracking", JSON, nullable=False),
        Column("created_at", DATETIME(fsp=6), nullable=False),
        Column("confirmed_at", DATETIME(fsp=6)),
        Column("paid_at", DATETIME(fsp=6)),
        Column("updated_at", DATETIME(fsp=6), nullable=False),
        Column("voucher_code", String(32)),
        # A guest's order: where its emails go (null once forgotten), and the hash of the
        # token the guest reads it with.
        Column("guest_email", String(320)),
        Column("order_token_hash", String(64)),
        Column("version", Integer, nullable=False),
        # A user's orders, newest first.
        Index("ix_orders_user_created", "user_id", "created_at", "id"),
        # A voucher's uses.
        Index("ix_orders_voucher", "voucher_code", "status"),
    )


def vouchers_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("code", String(32), primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("value", BigInteger, nullable=False),
        Column("min_subtotal_amount", BigInteger),
        Column("starts_at", DATETIME(fsp=6)),
        Column("ends_at", DATETIME(fsp=6)),
        Column("usage_limit", Integer),
        Column("per_customer_limit", Integer),
        Column("created_at", DATETIME(fsp=6), nullable=False),
    )


def shipping_zones_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("countries", JSON, nullable=False),
        # [{code, name, price, free_over, estimated_days{min, max}}]
        Column("methods", JSON, nullable=False),
        Column("created_at", DATETIME(fsp=6), nullable=False),
    )


def payments_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("order_id", String(36), nullable=False, index=True),
        Column("user_id", String(36), nullable=False, index=True),
        Column("method", String(32), nullable=False),
        Column("status", String(32), nullable=False),
        Column("amount", BigInteger, nullable=False),
        # What was given back so far (a cancelled order's whole payment, or returns').
        Column("refunded_amount", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("failure_reason", String(500)),
        # Why the provider would not refund: someone must look at it.
        Column("refund_failure_reason", String(500)),
        Column("provider_reference", String(200)),
        Column("refund_reference", String(200)),
        Column("card_last4", String(4)),
        Column("settles_at", DATETIME(fsp=6)),
        Column("expires_at", DATETIME(fsp=6), nullable=False),
        Column("created_at", DATETIME(fsp=6), nullable=False),
        Column("updated_at", DATETIME(fsp=6), nullable=False),
        Column("version", Integer, nullable=False),
        # The saga's clock: pending payments due to settle or to expire.
        Index("ix_payments_status_settles", "status", "settles_at"),
        Index("ix_payments_status_expires", "status", "expires_at"),
    )


def returns_table(metadata: MetaData, name: str) -> Table:
    """An order's returns; a row's version is its order's, as of the return's last step."""
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("order_id", String(36), nullable=False, index=True),
        Column("user_id", String(36), nullable=False),
        Column("status", String(16), nullable=False),
        # [ReturnLine]: item, product, variant, sku, name, quantity, refund
        Column("lines", JSON, nullable=False),
        Column("reason", String(500), nullable=False),
        Column("reject_reason", String(500)),
        Column("refund_amount", BigInteger, nullable=False),
        # What the payment gave back: null until refunded; less than `refund_amount` when
        # less was left, with `refund_note` saying why.
        Column("refunded_amount", BigInteger),
        Column("refund_note", String(500)),
        Column("currency", String(3), nullable=False),
        Column("created_at", DATETIME(fsp=6), nullable=False),
        Column("updated_at", DATETIME(fsp=6), nullable=False),
        Column("version", Integer, nullable=False),
    )


def receipts_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("receipt_number", String(32), primary_key=True),
        Column("order_id", String(36), nullable=False, unique=True),
        Column("payment_id", String(36), nullable=False),
        Column("user_id", String(36), nullable=False, index=True),
        Column("issued_at", DATETIME(fsp=6), nullable=False),
        Column("lines", JSON, nullable=False),
        *_amount_columns(),
        Column("payment_method", String(32), nullable=False),
        Column("card_last4", String(4)),
    )


def _amounts(event: OrderPlaced | ReceiptIssued) -> dict:
    totals = event.totals
    return {"subtotal_amount": totals.subtotal.amount, "shipping_amount": totals.shipping.amount,
            "discount_amount": totals.discount.amount if totals.discount else 0,
            "tax_amount": totals.tax.amount, "total_amount": totals.total.amount,
            "currency": totals.total.currency,
            "voucher": event.voucher.model_dump(mode="json") if event.voucher else None,
            "shipping_method": (event.shipping_method.model_dump(mode="json")
                                if event.shipping_method else None)}


def _naive(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC).replace(tzinfo=None) if value is not None else None


def _given(**values) -> dict:
    """Only the values an event states: an absent one keeps what the row holds."""
    return {name: value for name, value in values.items() if value is not None}


class OrdersProjection(MySQLProjection):
    name = "orders"
    topics = (ORDERS.events.name, PAYMENTS.events.name)
    table_factories = {"orders": orders_table, "returns": returns_table,
                       "payments": payments_table,
                       "receipts": receipts_table, "vouchers": vouchers_table,
                       "shipping_zones": shipping_zones_table}

    def __init__(self, engine: AsyncEngine, keys: KeyStore, suffix: str = "") -> None:
        super().__init__(engine, suffix)
        self.keys = keys

    async def writes_for(self, record: Record) -> list[Write]:
        event, at, version = Fact.of(record)
        orders, payments = self.tables["orders"], self.tables["payments"]

        def order(**values) -> list[Write]:
            return [update_row(orders, str(event.order_id), version, updated_at=at, **values)]

        def a_return(**values) -> list[Write]:
            return order() + [update_row(self.tables["returns"], str(event.return_id), version,
                                         updated_at=at, **values)]

        def payment(**values) -> list[Write]:
            return [update_row(payments, str(event.payment_id), version, updated_at=at,
                               **values)]

        match event:
            case OrderPlaced():
                return [insert_row(
                    orders, id=str(event.order_id), user_id=str(event.user_id),
                    status="pending", lines=[line.model_dump(mode="json") for line in event.lines],
                    **_amounts(event),
                    voucher_code=event.voucher.code if event.voucher else None,
                    shipping_address=await self._address(str(event.user_id),
                                                         event.shipping_address),
                    payment_id=str(event.payment_id), payment_method=event.payment_method,
                    guest_email=(await self.keys.unseal(str(event.user_id), event.guest_email)
                                 if event.guest_email else None),
                    order_token_hash=event.order_token_hash,
                    tracking=[], created_at=at, updated_at=at, version=version)]
            case OrderItemReserved() | OrderVoucherReserved():
                return order()
            case OrderAwaitingPayment():
                return order(status="awaiting_payment")
            case OrderConfirmed():
                return order(status="confirmed", confirmed_at=at)
            case OrderPaid():
                return order(paid_at=at)
            case OrderCancelled():
                return order(status="cancelled", cancel_reason=event.reason,
                             cancelled_by=event.cancelled_by)
            case FulfilmentRecorded():
                return [update_row(
                    orders, str(event.order_id), version, updated_at=at, status=event.status,
                    append={"tracking": {"status": event.status,
                                         "at": record.envelope.occurred_at.isoformat()}},
                    **_given(carrier=event.carrier, tracking_number=event.tracking_number))]
            case ReturnRequested():
                return order() + [insert_row(
                    self.tables["returns"], id=str(event.return_id), order_id=str(event.order_id),
                    user_id=str(event.user_id), status="requested",
                    lines=[line.model_dump(mode="json") for line in event.lines],
                    reason=event.reason, refund_amount=event.refund.amount,
                    currency=event.refund.currency, created_at=at, updated_at=at,
                    version=version)]
            case ReturnApproved():
                return a_return(status="approved")
            case ReturnRejected():
                return a_return(status="rejected", reject_reason=event.reason)
            case ReturnReceived():
                return a_return(status="received")
            case ReturnRefunded():
                return a_return(status="refunded", refunded_amount=event.amount.amount,
                                refund_note=event.note)
            case PaymentRequested():
                return [insert_row(
                    payments, id=str(event.payment_id), order_id=str(event.order_id),
                    user_id=str(event.user_id), method=event.method, status="pending",
                    amount=event.amount.amount, currency=event.amount.currency,
                    refunded_amount=0, expires_at=_naive(event.expires_at), created_at=at,
                    updated_at=at, version=version)]
            case PaymentAuthorized() | PaymentCaptured():
                status = "authorized" if isinstance(event, PaymentAuthorized) else "captured"
                return payment(status=status, **_given(
                    provider_reference=event.provider_reference, card_last4=event.card_last4))
            case PaymentPending():
                return payment(status="pending", **_given(
                    provider_reference=event.provider_reference,
                    settles_at=_naive(event.settles_at)))
            case PaymentFailed():
                return payment(status="failed", failure_reason=event.reason)
            case PaymentRefundRequested() | PaymentRefundDeclined():
                return payment()
            case PaymentRefunded():
                # Refunds before partial ones gave back the whole payment at once.
                refunded = event.refunded_amount or event.amount
                return payment(status=event.status, refunded_amount=refunded.amount,
                               **_given(refund_reference=event.refund_reference))
            case PaymentRefundFailed():
                return payment(refund_failure_reason=event.reason)
            case ReceiptIssued():
                return [insert_row(
                    self.tables["receipts"], receipt_number=event.receipt_number,
                    order_id=str(event.order_id), payment_id=str(event.payment_id),
                    user_id=str(event.user_id), issued_at=at,
                    lines=[line.model_dump(mode="json") for line in event.lines],
                    **_amounts(event), payment_method=event.payment_method,
                    card_last4=event.card_last4)]
            case VoucherCreated():
                return [insert_row(
                    self.tables["vouchers"], code=event.code, kind=event.kind, value=event.value,
                    min_subtotal_amount=event.min_subtotal.amount if event.min_subtotal else None,
                    starts_at=_naive(event.starts_at), ends_at=_naive(event.ends_at),
                    usage_limit=event.usage_limit, per_customer_limit=event.per_customer_limit,
                    created_at=at)]
            case ShippingZoneCreated():
                return [insert_row(
                    self.tables["shipping_zones"], id=str(event.zone_id), name=event.name,
                    countries=event.countries,
                    methods=[method.model_dump(mode="json") for method in event.methods],
                    created_at=at)]
        return []

    async def _address(self, user_id: str, sealed: str) -> dict | None:
        address = await self.keys.unseal(user_id, sealed)
        return json.loads(address) if address is not None else None

    async def forget(self, user_id: str) -> bool:
        """The shipping addresses are the personal data here; the orders stay, for the books."""
        table = self.tables["orders"]
        async with self.engine.begin() as connection:
            result = await connection.execute(update(table).where(table.c.user_id == user_id)
                                              .values(shipping_address=None,
                                                      guest_email=None))
        return result.rowcount > 0

