"""Reads of the orders model: orders and their returns, a user's order history, payments
and receipts, vouchers with their uses, and the shipping zones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from sqlalchemy import func, or_, select, tuple_

from infra.database import rows
from projections.orders import OrdersProjection
from projections.views import MySQLView


class OrderRow(TypedDict):
    id: str
    user_id: str
    status: str
    lines: list[Any]
    subtotal_amount: int
    discount_amount: int
    shipping_amount: int
    tax_amount: int
    total_amount: int
    currency: str
    voucher: dict[str, Any] | None
    shipping_method: dict[str, Any] | None
    shipping_address: dict[str, Any] | None
    payment_id: str
    payment_method: str
    voucher_code: str | None
    guest_email: str | None
    order_token_hash: str | None
    cancel_reason: str | None
    cancelled_by: str | None
    carrier: str | None
    tracking_number: str | None
    tracking: list[Any]
    created_at: datetime
    confirmed_at: datetime | None
    paid_at: datetime | None
    updated_at: datetime
    version: int


class PaymentRow(TypedDict):
    id: str
    order_id: str
    user_id: str
    method: str
    status: str
    amount: int
    refunded_amount: int
    currency: str
    failure_reason: str | None
    refund_failure_reason: str | None
    provider_reference: str | None
    refund_reference: str | None
    card_last4: str | None
    settles_at: datetime | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int


class ReturnRow(TypedDict):
    id: str
    order_id: str
    user_id: str
    status: str
    lines: list[Any]
    reason: str
    reject_reason: str | None
    refund_amount: int
    refunded_amount: int | None
    refund_note: str | None
    currency: str
    created_at: datetime
    updated_at: datetime
    version: int


class ReceiptRow(TypedDict):
    receipt_number: str
    order_id: str
    payment_id: str
    user_id: str
    issued_at: datetime
    lines: list[Any]
    subtotal_amount: int
    discount_amount: int
    shipping_amount: int
    tax_amount: int
    total_amount: int
    currency: str
    voucher: dict[str, Any] | None
    shipping_method: dict[str, Any] | None
    payment_method: str
    card_last4: str | None


class VoucherRow(TypedDict):
    code: str
    kind: str
    value: int
    min_subtotal_amount: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    created_at: datetime


class ShippingZoneRow(TypedDict):
    id: str
    name: str
    countries: list[str]
    methods: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class OrderFilters:
    """What the admin's order list may be narrowed by: nothing sealed (an email or a name
    is encrypted in the model), only what the model keeps in clear."""

    status: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    min_total: int | None = None
    max_total: int | None = None
    id_prefix: str | None = None  # the start of the order id, as an operator reads it out
    customer_id: str | None = None


def _naive(moment: datetime) -> datetime:
    """A time as MySQL keeps it: UTC without its zone."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


# An order has used its voucher once it is confirmed, until it is cancelled.
USED = ("confirmed", "packed", "shipped", "out_for_delivery", "delivered")


class OrdersView(MySQLView):
    projection = OrdersProjection

    async def order(self, order_id: str) -> OrderRow | None:
        return await self._one("orders", self.tables["orders"].c.id == order_id)

    async def orders_of(self, user_id: str, limit: int,
                        after: tuple[datetime, str] | None = None) -> list[OrderRow]:
        """A user's orders, newest first: up to `limit` after the (created_at, id) given."""
        table = self.tables["orders"]
        query = (select(table).where(table.c.user_id == user_id)
                 .order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit))
        if after is not None:
            created_at = after[0].astimezone(UTC).replace(tzinfo=None)
            query = query.where(tuple_(table.c.created_at, table.c.id) < tuple_(created_at,
                                                                                after[1]))
        return await self._all(query)

    async def all_orders(self, filters: OrderFilters, limit: int,
                         after: tuple[datetime, str] | None = None) -> list[OrderRow]:
        """Every customer's orders matching `filters`, newest first: up to `limit` after the
        (created_at, id) given (the admin's list)."""
        table = self.tables["orders"]
        query = select(table).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)
        if filters.status is not None:
            query = query.where(table.c.status == filters.status)
        if filters.since is not None:
            query = query.where(table.c.created_at >= _naive(filters.since))
        if filters.until is not None:
            query = query.where(table.c.created_at < _naive(filters.until))
        if filters.min_total is not None:
            query = query.where(table.c.total_amount >= filters.min_total)
        if filters.max_total is not None:
            query = query.where(table.c.total_amount <= filters.max_total)
        if filters.id_prefix:
            query = query.where(table.c.id.startswith(filters.id_prefix, autoescape=True))
        if filters.customer_id is not None:
            query = query.where(table.c.user_id == filters.customer_id)
        if after is not None:
            query = query.where(tuple_(table.c.created_at, table.c.id)
                                < tuple_(_naive(after[0]), after[1]))
        return await self._all(query)

    async def all_returns(self, status: str | None, limit: int,
                          after: tuple[datetime, str] | None = None) -> list[ReturnRow]:
        """Every return (of one status, when given), newest first: up to `limit` after the
        (created_at, id) given."""
        table = self.tables["returns"]
        query = (select(table).order_by(table.c.created_at.desc(), table.c.id.desc())
                 .limit(limit))
        if status is not None:
            query = query.where(table.c.status == status)
        if after is not None:
            query = query.where(tuple_(table.c.created_at, table.c.id)
                                < tuple_(_naive(after[0]), after[1]))
        return await self._all(query)

    async def returns_of(self, order_id: str) -> list[ReturnRow]:
        """An order's returns, oldest first."""
        table = self.tables["returns"]
        return await self._all(select(table).where(table.c.order_id == order_id)
                               .order_by(table.c.created_at, table.c.id))

    async def a_return(self, return_id: str) -> ReturnRow | None:
        return await self._one("returns", self.tables["returns"].c.id == return_id)

    async def payment(self, payment_id: str) -> PaymentRow | None:
        return await self._one("payments", self.tables["payments"].c.id == payment_id)

    async def receipt_for_order(self, order_id: str) -> ReceiptRow | None:
        return await self._one("receipts", self.tables["receipts"].c.order_id == order_id)

    async def due_payments(self, now: datetime, limit: int = 100) -> list[PaymentRow]:
        """Pending payments whose money is due (`settles_at`) or whose time ran out
        (`expires_at`) by `now`, the longest overdue first."""
        table = self.tables["payments"]
        moment = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo is not None else now
        return await self._all(
            select(table)
            .where(table.c.status == "pending",
                   or_(table.c.settles_at <= moment, table.c.expires_at <= moment))
            .order_by(table.c.expires_at, table.c.id).limit(limit))

    async def voucher(self, code: str) -> VoucherRow | None:
        return await self._one("vouchers", self.tables["vouchers"].c.code == code.upper())

    async def vouchers(self, limit: int,
                       after: tuple[datetime, str] | None = None) -> list[VoucherRow]:
        """Every voucher, newest first: up to `limit` after the (created_at, code) given."""
        table = self.tables["vouchers"]
        query = (select(table).order_by(table.c.created_at.desc(), table.c.code.desc())
                 .limit(limit))
        if after is not None:
            query = query.where(tuple_(table.c.created_at, table.c.code)
                                < tuple_(_naive(after[0]), after[1]))
        return await self._all(query)

    async def uses_of(self, codes: list[str]) -> dict[str, int]:
        """How many orders were confirmed with each voucher and not cancelled since."""
        if not codes:
            return {}
        orders = self.tables["orders"]
        query = (select(orders.c.voucher_code, func.count()).select_from(orders)
                 .where(orders.c.voucher_code.in_(codes), orders.c.status.in_(USED))
                 .group_by(orders.c.voucher_code))
        counted = {code: count for code, count in await rows(self.engine, query)}
        return {code: counted.get(code, 0) for code in codes}

    async def voucher_uses(self, code: str, user_id: str | None = None) -> int:
        """How many orders (of `user_id`, when given) were confirmed with the voucher and
        not cancelled since."""
        orders = self.tables["orders"]
        query = (select(func.count()).select_from(orders)
                 .where(orders.c.voucher_code == code.upper(), orders.c.status.in_(USED)))
        if user_id is not None:
            query = query.where(orders.c.user_id == user_id)
        ((count,),) = await rows(self.engine, query)
        return count

    async def shipping_zones(self) -> list[ShippingZoneRow]:
        """Every zone, oldest first (a shop has a handful)."""
        table = self.tables["shipping_zones"]
        return await self._all(select(table).order_by(table.c.created_at, table.c.id))

    async def zone_serving(self, country: str) -> ShippingZoneRow | None:
        return next((zone for zone in await self.shipping_zones()
                     if country in zone["countries"]), None)
