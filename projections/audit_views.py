"""Reads of the audit model: an order's or a payment's whole history, with where each
event lies in Kafka."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import and_, or_, select

from infra.database import rows
from projections.audit import AuditProjection
from projections.views import MySQLView


class AuditEventRow(TypedDict):
    topic: str
    partition: int
    offset: int
    event_id: str
    type: str
    schema_version: int
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime
    correlation_id: str
    causation_id: str
    actor: str | None
    payload: dict[str, Any]


class AuditView(MySQLView):
    projection = AuditProjection

    async def order_trail(self, order_id: str) -> list[AuditEventRow]:
        """Every event of an order, of its payment and of its checkout (whose events carry
        the order id as their correlation id), in the order they happened."""
        table = self.tables["audit_events"]
        payments = await self._values(
            select(table.c.payload["payment_id"].as_string())
            .where(table.c.aggregate_id == order_id, table.c.type == "OrderPlaced"))
        return await self._trail(or_(table.c.correlation_id == order_id,
                                     table.c.aggregate_id.in_([order_id, *payments])))

    async def payment_trail(self, payment_id: str) -> list[AuditEventRow]:
        """Every event of a payment and the receipt issued for it, in the order they happened."""
        table = self.tables["audit_events"]
        checkouts = await self._values(select(table.c.correlation_id).distinct()
                                       .where(table.c.aggregate_id == payment_id))
        receipt = and_(table.c.correlation_id.in_(checkouts), table.c.type == "ReceiptIssued",
                       table.c.payload["payment_id"].as_string() == payment_id)
        return await self._trail(or_(table.c.aggregate_id == payment_id, receipt))

    async def _values(self, query) -> list:
        return [value for (value,) in await rows(self.engine, query) if value is not None]

    async def _trail(self, condition) -> list[AuditEventRow]:
        table = self.tables["audit_events"]
        return await self._all(select(table).where(condition).order_by(
            table.c.occurred_at, table.c.topic, table.c.partition, table.c.offset))
