"""The webhook dispatcher: subscriptions, and a pending delivery for every event one
of them wants, written with the checkpoint in one transaction.

It reads every service's events topic (the webhooks service's own too). A
subscription's event is kept as a row; any other event that maps to a webhook type
(`schemas/webhooks.py`) becomes one delivery row per live subscription of that
type, holding the event as recorded (personal data still sealed). The delivery
worker (`streams/webhooks.py`) sends them and records each attempt on the row.
A replay copies a subscription's deliveries since a time as new pending rows.
Rows are keyed by (subscription, event, replay), so a batch applied twice adds
nothing, and `seq` orders the deliveries of one aggregate.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.mysql import DATETIME, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.mysql import MySQLProjection
from schemas.records import Record
from schemas.topics import event_topics
from schemas.webhooks import webhook_type

ORIGINAL = ""  # the replay id of a delivery made when its event happened
SUBSCRIPTION_EVENTS = frozenset({"WebhookSubscribed", "WebhookDeleted", "WebhookReplayRequested"})


def subscriptions_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("url", String(2000), nullable=False),
        Column("events", JSON, nullable=False),
        Column("secret", Text, nullable=False),  # sealed under the subscription's key
        Column("created_at", DATETIME(fsp=6), nullable=False),
        Column("deleted_at", DATETIME(fsp=6)),
    )


def deliveries_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=True),
        Column("subscription_id", String(36), nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("replay_id", String(36), nullable=False),
        Column("type", String(64), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("aggregate_id", String(100), nullable=False),
        Column("occurred_at", DATETIME(fsp=6), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("status", String(10), nullable=False),  # pending, delivered, failed
        Column("attempts", SmallInteger, nullable=False),
        Column("last_status_code", Integer),
        Column("last_attempt_at", DATETIME(fsp=6)),
        Column("next_attempt_at", DATETIME(fsp=6), nullable=False),
        UniqueConstraint("subscription_id", "event_id", "replay_id",
                         name=f"{name}_once"),
        Index(f"{name}_queue", "subscription_id", "status", "aggregate_id", "seq"),
        Index(f"{name}_due", "status", "next_attempt_at"),
        Index(f"{name}_since", "subscription_id", "replay_id", "occurred_at"),
    )


def _concerns(record: Record) -> bool:
    """Whether the dispatcher may write anything for `record`, whatever the subscriptions."""
    envelope = record.envelope
    return (envelope.type in SUBSCRIPTION_EVENTS
            or webhook_type(envelope.type, envelope.payload) is not None)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class WebhooksProjection(MySQLProjection):
    name = "webhooks"
    topics = tuple(t.name for t in event_topics())
    table_factories = {"webhook_subscriptions": subscriptions_table,
                       "webhook_deliveries": deliveries_table}

    async def outdated(self) -> bool:
        # Never rebuilt: a replay would send every delivery again. A release that adds a
        # column to these tables must add it to the live table itself (ALTER TABLE).
        return False

    async def apply(self, records: list[Record]) -> None:
        # Most events (a product created, a cart changed) are no webhook's: a batch of only
        # those writes nothing, so it costs no transaction; the runner saves its checkpoint
        # with the next markers.
        if any(_concerns(record) for record in records):
            await super().apply(records)

    async def apply_batch(self, connection: AsyncConnection, records: list[Record]) -> None:
        subscriptions = self.tables["webhook_subscriptions"]
        live: dict[str, list[str]] = {
            row.id: row.events for row in await connection.execute(
                select(subscriptions.c.id, subscriptions.c.events)
                .where(subscriptions.c.deleted_at.is_(None)))}
        pending: list[dict] = []
        for record in records:
            envelope = record.envelope
            payload = envelope.payload
            at = envelope.occurred_at.astimezone(UTC).replace(tzinfo=None)
            if envelope.type == "WebhookSubscribed":
                await connection.execute(insert(subscriptions).prefix_with("IGNORE").values(
                    id=payload["subscription_id"], url=payload["url"], events=payload["events"],
                    secret=payload["secret"], created_at=at))
                live[payload["subscription_id"]] = payload["events"]
            elif envelope.type == "WebhookDeleted":
                await connection.execute(update(subscriptions).where(
                    subscriptions.c.id == payload["subscription_id"],
                    subscriptions.c.deleted_at.is_(None)).values(deleted_at=at))
                live.pop(payload["subscription_id"], None)
            elif envelope.type == "WebhookReplayRequested":
                pending = await self._flush(connection, pending)
                await self._replay(connection, payload)
            elif (kind := webhook_type(envelope.type, payload)) is not None:
                pending += [dict(
                    subscription_id=subscription, event_id=str(envelope.event_id),
                    replay_id=ORIGINAL, type=kind, event_type=envelope.type,
                    aggregate_id=envelope.aggregate_id, occurred_at=at, payload=payload,
                    status="pending", attempts=0, next_attempt_at=_now())
                    for subscription, wanted in live.items() if kind in wanted]
        await self._flush(connection, pending)

    async def _flush(self, connection: AsyncConnection, rows: list[dict]) -> list[dict]:
        if rows:
            await connection.execute(
                insert(self.tables["webhook_deliveries"]).prefix_with("IGNORE"), rows)
        return []

    async def _replay(self, connection: AsyncConnection, payload: dict) -> None:
        deliveries = self.tables["webhook_deliveries"]
        subscription_id = payload["subscription_id"]
        since = datetime.fromisoformat(payload["since"]).astimezone(UTC).replace(tzinfo=None)
        columns = ("subscription_id", "event_id", "replay_id", "type", "event_type",
                   "aggregate_id", "occurred_at", "payload", "status", "attempts",
                   "next_attempt_at")
        source = (select(deliveries.c.subscription_id, deliveries.c.event_id,
                         literal(payload["replay_id"]), deliveries.c.type,
                         deliveries.c.event_type, deliveries.c.aggregate_id,
                         deliveries.c.occurred_at, deliveries.c.payload, literal("pending"),
                         literal(0), literal(_now()))
                  .where(and_(deliveries.c.subscription_id == subscription_id,
                              deliveries.c.replay_id == ORIGINAL,
                              deliveries.c.occurred_at >= since))
                  .order_by(deliveries.c.seq))
        await connection.execute(insert(deliveries).prefix_with("IGNORE")
                                 .from_select(list(columns), source))
