"""The audit trail: every event with its Kafka coordinates, append-only in MySQL.

Keyed by (topic, partition, offset), so applying a record twice adds nothing.
`audit verify` compares it with the topics themselves; the trails of an order
and of a payment (their whole history, for the API and `shopstream audit`) are
read here.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table
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

