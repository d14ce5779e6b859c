"""The audit trail: every event with its Kafka coordinates, append-only in MySQL.

Keyed by (topic, partition, offset), so applying a record twice adds nothing.
`audit verify` compares it with the topics themselves; the trails of an order
and of a payment (their whole history, for the API and `shopstream audit`) are
read here.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    or_,
    select,
)
from sqlalchemy.dialects.mysql import DATETIME

from schemas.records import Record
from projections.mysql import MySQLProjection, Write, insert_row
from schemas.topics import event_topics


def audit_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("topic", String(200), primary_key=True),
        Column("partition", Integer, primary_key=True, autoincrement=False),
        Column("offset", BigInteger, primary_key=True, autoincrement=False),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("schema_version", Integer, nullable=False),
        Column("aggregate_id", String(64), nullable=False, index=True),
        Column("aggregate_version", Integer, nullable=False),
        Column("occurred_at", DATETIME(fsp=6), nullable=False),
        Column("correlation_id", String(36), nullable=False, index=True),
        Column("causation_id", String(36), nullable=False),
        Column("actor", String(64)),
        Column("payload", JSON, nullable=False),
    )


def audit_row(record: Record) -> dict:
    envelope = record.envelope
    return {
        "topic": record.topic, "partition": record.partition, "offset": record.offset,
        "event_id": str(envelope.event_id), "type": envelope.type,
        "schema_version": envelope.schema_version, "aggregate_id": envelope.aggregate_id,
        "aggregate_version": envelope.aggregate_version,
        "occurred_at": envelope.occurred_at.replace(tzinfo=None),
        "correlation_id": str(envelope.correlation_id),
        "causation_id": str(envelope.causation_id), "actor": envelope.actor,
        "payload": envelope.payload,
    }


class AuditProjection(MySQLProjection):
    name = "audit"
    topics = tuple(t.name for t in event_topics())
    table_factories = {"audit_events": audit_table}

    async def writes_for(self, record: Record) -> list[Write]:
        return [insert_row(self.tables["audit_events"], **audit_row(record))]

    async def order_trail(self, order_id: str) -> list[dict]:
        """Every event of an order, of its payment and of its checkout (whose events carry
        the order id as their correlation id), in the order they happened."""
        table = self.tables["audit_events"]
        payments = await self._values(
            select(table.c.payload["payment_id"].as_string())
            .where(table.c.aggregate_id == order_id, table.c.type == "OrderPlaced"))
        return await self._trail(or_(table.c.correlation_id == order_id,
                                     table.c.aggregate_id.in_([order_id, *payments])))

    async def payment_trail(self, payment_id: str) -> list[dict]:
        """Every event of a payment and the receipt issued for it, in the order they happened."""
        table = self.tables["audit_events"]
        checkouts = await self._values(select(table.c.correlation_id).distinct()
                                       .where(table.c.aggregate_id == payment_id))
        receipt = and_(table.c.correlation_id.in_(checkouts), table.c.type == "ReceiptIssued",
                       table.c.payload["payment_id"].as_string() == payment_id)
        return await self._trail(or_(table.c.aggregate_id == payment_id, receipt))

    async def _values(self, query) -> list:
        async with self.engine.connect() as connection:
            return [value for value in (await connection.execute(query)).scalars()
                    if value is not None]

    async def _trail(self, condition) -> list[dict]:
        table = self.tables["audit_events"]
        return await self.rows(select(table).where(condition).order_by(
            table.c.occurred_at, table.c.topic, table.c.partition, table.c.offset))
