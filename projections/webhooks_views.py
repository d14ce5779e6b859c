"""Typed reads of the webhooks model: subscriptions, and each one's delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import select, tuple_

from projections.views import MySQLView
from projections.webhooks import WebhooksProjection


class SubscriptionRow(TypedDict):
    id: str
    url: str
    events: list[str]
    secret: str
    created_at: datetime
    deleted_at: datetime | None


class DeliveryRow(TypedDict):
    seq: int
    subscription_id: str
    event_id: str
    replay_id: str
    type: str
    event_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]
    status: str
    attempts: int
    last_status_code: int | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime


class WebhooksView(MySQLView):
    projection = WebhooksProjection

    async def subscription(self, subscription_id: str) -> SubscriptionRow | None:
        table = self.tables["webhook_subscriptions"]
        return await self._one("webhook_subscriptions", table.c.id == subscription_id)

    async def subscriptions(self, limit: int, after: tuple[datetime, str] | None
                            ) -> list[SubscriptionRow]:
        """The live subscriptions, oldest first."""
        table = self.tables["webhook_subscriptions"]
        query = select(table).where(table.c.deleted_at.is_(None))
        if after is not None:
            query = query.where(tuple_(table.c.created_at, table.c.id) > tuple_(*after))
        return await self._all(query.order_by(table.c.created_at, table.c.id).limit(limit))

    async def deliveries(self, subscription_id: str, limit: int, after_seq: int | None
                         ) -> list[DeliveryRow]:
        """A subscription's deliveries in the order they were recorded."""
        table = self.tables["webhook_deliveries"]
        query = select(table).where(table.c.subscription_id == subscription_id)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._all(query.order_by(table.c.seq).limit(limit))
