"""The webhook delivery worker: sends the pending deliveries the dispatcher recorded.

The `webhooks` role runs two things (`streams/system.py`): the dispatcher
(`projections/webhooks.py`, a consumer group of its own over every events topic,
which records a pending delivery per matching subscription with its checkpoint),
and this sender. Once a second it asks MySQL which live subscriptions have
deliveries due; each such subscription gets its own loop, so a slow or dead
receiver holds up only its own. A loop sends, per aggregate, only the oldest
pending delivery (the next waits until it is delivered or has finally failed),
several aggregates at once, each attempt bounded by `webhook_timeout_s`.

An attempt resolves the target again and checks every address it connects to
(`infra/outbound.py`). A 2xx delivers; anything else is tried again after the
back-off of `infra.outbound.retry_delay`, until the last attempt fails it. Every
attempt is written on the delivery's row, so a restart resumes with nothing lost:
at least once, and receivers deduplicate by event id.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import faust
import mode
import structlog
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver
from prometheus_client import Counter
from sqlalchemy import and_, func, select, update

from infra.container import Container
from infra.database import create_tables, named_lock
from infra.dependencies import log_failure
from infra.outbound import UnsafeTarget, check_address, resolve, retry_delay, sign
from infra.settings import Settings
from projections.orders_views import OrdersView
from projections.webhooks import WebhooksProjection
from projections.webhooks_views import DeliveryRow, SubscriptionRow, WebhooksView
from schemas.events.webhooks import secret_subject
from schemas.webhooks import WITH_ADDRESS, webhook_data
from streams.system import Deliver, Subscription

log = structlog.get_logger(__name__)

DELIVERIES = Counter("shopstream_webhook_deliveries_total",
                     "Webhook delivery attempts by outcome (delivered, retried, failed)",
                     ["outcome"])

POLL_S = 1.0
BATCH = 50  # deliveries a loop takes per round, over its aggregates


def lease(subscription_id: str) -> str:
    """The name of the MySQL lock that a worker holds while it sends a subscription's
    deliveries."""
    return f"shopstream.webhooks:{subscription_id}"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class _CheckedResolver(AbstractResolver):
    """Resolves as usual, and refuses any address a delivery may not connect to."""

    def __init__(self, allow_private: bool) -> None:
        self._inner, self._allow_private = ThreadedResolver(), allow_private

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        found = await self._inner.resolve(host, port, family)
        for address in found:
            check_address(address["host"], allow_private=self._allow_private)
        return found

    async def close(self) -> None:
        await self._inner.close()


def body_of(delivery: DeliveryRow, address: dict | None) -> bytes:
    """The JSON a delivery posts: {id, type, occurred_at, data}."""
    occurred_at = delivery["occurred_at"].astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"id": delivery["event_id"], "type": delivery["type"],
                       "occurred_at": occurred_at,
                       "data": webhook_data(delivery["payload"], address)},
                      separators=(",", ":")).encode()


class WebhookSender(mode.Service):
    def __init__(self, settings: Settings, build: Callable[[], Container], **kwargs) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.build = build
        self._loops: dict[str, asyncio.Task] = {}

    @mode.Service.task
    async def _run(self) -> None:
        """Start a loop for each subscription with deliveries due; after a failure, wait
        and start again (every delivery is still on its row)."""
        delay = 1.0
        while not self.should_stop:
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log_failure(log, "webhooks.sender_failed", error, retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _watch(self) -> None:
        container = self.build()
        connector = aiohttp.TCPConnector(
            resolver=_CheckedResolver(bool(self.settings.webhook_allow_private_targets)),
            limit=0, ttl_dns_cache=None, use_dns_cache=False)
        session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        try:
            await create_tables(container.clients.mysql)
            webhooks = WebhooksView(container.clients.mysql_reads)
            await WebhooksProjection(container.clients.mysql).setup()
            orders = OrdersView(container.clients.mysql_reads)
            while not self.should_stop:
                for subscription_id in await self._due(webhooks):
                    loop = self._loops.get(subscription_id)
                    if loop is None or loop.done():
                        self._loops[subscription_id] = asyncio.create_task(
                            self._drain(webhooks, orders, container, session, subscription_id),
                            name=f"webhook-{subscription_id}")
                await asyncio.sleep(POLL_S)
        finally:
            for loop in self._loops.values():
                loop.cancel()
            await asyncio.gather(*self._loops.values(), return_exceptions=True)
            self._loops.clear()
            await session.close()
            await container.close()

    @staticmethod
    async def _due(webhooks: WebhooksView) -> list[str]:
        """The live subscriptions with a pending delivery due now."""
        deliveries = webhooks.tables["webhook_deliveries"]
        subscriptions = webhooks.tables["webhook_subscriptions"]
        query = (select(deliveries.c.subscription_id).distinct()
                 .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
                 .where(deliveries.c.status == "pending",
                        deliveries.c.next_attempt_at <= _now(),
                        subscriptions.c.deleted_at.is_(None)))
        async with webhooks.engine.connect() as connection:
            return [row.subscription_id for row in await connection.execute(query)]

    async def _drain(self, webhooks: WebhooksView, orders: OrdersView, container: Container,
                     session: aiohttp.ClientSession, subscription_id: str) -> None:
        """Send the subscription's due deliveries, the oldest of each aggregate at a time,
        until none is due, while holding the subscription's lease: where several webhooks
        workers run, one sends a subscription's deliveries at a time, and another takes
        over when it ends (or its process dies, which frees the lease at once)."""
        try:
            async with named_lock(webhooks.engine, lease(subscription_id)) as held:
                if held:
                    await self._send_due(webhooks, orders, container, session, subscription_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log_failure(log, "webhooks.loop_failed", error, subscription=subscription_id)

    async def _send_due(self, webhooks: WebhooksView, orders: OrdersView, container: Container,
                        session: aiohttp.ClientSession, subscription_id: str) -> None:
        """Send the due deliveries of a subscription whose lease this worker holds."""
        while not self.should_stop:
            subscription = await webhooks.subscription(subscription_id)
            if subscription is None or subscription["deleted_at"] is not None:
                return
            heads = await self._heads(webhooks, subscription_id)
            if not heads:
                return
            secret = await container.clients.keys.unseal(
                secret_subject(subscription_id), subscription["secret"])
            if secret is None:  # deleted meanwhile: its key is forgotten
                return
            gate = asyncio.Semaphore(max(1, self.settings.webhook_concurrency))

            async def send(delivery: DeliveryRow) -> None:
                async with gate:
                    await self._attempt(webhooks, orders, container, session,
                                        subscription, secret, delivery)

            await asyncio.gather(*(send(delivery) for delivery in heads))

    @staticmethod
    async def _heads(webhooks: WebhooksView, subscription_id: str) -> list[DeliveryRow]:
        """Per aggregate, its oldest pending delivery, if that is due."""
        deliveries = webhooks.tables["webhook_deliveries"]
        oldest = (select(func.min(deliveries.c.seq).label("seq"))
                  .where(deliveries.c.subscription_id == subscription_id,
                         deliveries.c.status == "pending")
                  .group_by(deliveries.c.aggregate_id).subquery())
        query = (select(deliveries).join(oldest, oldest.c.seq == deliveries.c.seq)
                 .where(deliveries.c.next_attempt_at <= _now())
                 .order_by(deliveries.c.seq).limit(BATCH))
        return await webhooks._all(query)

    async def _attempt(self, webhooks: WebhooksView, orders: OrdersView, container: Container,
                       session: aiohttp.ClientSession, subscription: SubscriptionRow,
                       secret: str, delivery: DeliveryRow) -> None:
        address = None
        if delivery["type"] in WITH_ADDRESS:
            order = await orders.order(str(delivery["payload"].get("order_id")))
            address = order["shipping_address"] if order else None
        body = body_of(delivery, address)
        status: int | None = None
        try:
            await resolve(subscription["url"],
                          allow_private=bool(self.settings.webhook_allow_private_targets))
            headers = {"Content-Type": "application/json",
                       "User-Agent": "shopstream-webhooks",
                       "Shopstream-Event-Id": delivery["event_id"],
                       "Shopstream-Signature": sign(secret, int(time.time()), body)}
            async with session.post(
                    subscription["url"], data=body, headers=headers, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s)
            ) as answer:
                status = answer.status
                await answer.read()
        except (aiohttp.ClientError, TimeoutError, UnsafeTarget, OSError) as error:
            log.info("webhooks.attempt_failed", subscription=subscription["id"],
                     event_id=delivery["event_id"], error=type(error).__name__)
        attempts = delivery["attempts"] + 1
        now = _now()
        values: dict = {"attempts": attempts, "last_status_code": status,
                        "last_attempt_at": now}
        if status is not None and 200 <= status < 300:
            values["status"], outcome = "delivered", "delivered"
        elif (delay := retry_delay(attempts)) is not None:
            values["next_attempt_at"], outcome = now + delay, "retried"
        else:
            values["status"], outcome = "failed", "failed"
        deliveries = webhooks.tables["webhook_deliveries"]
        async with webhooks.engine.begin() as connection:
            await connection.execute(update(deliveries).where(and_(
                deliveries.c.seq == delivery["seq"], deliveries.c.status == "pending"))
                .values(**values))
        DELIVERIES.labels(outcome).inc()


def register(app: faust.App, settings: Settings, build: Callable[[], Container],
             subscriptions: list[Subscription]) -> None:
    """Run the sender (`Deliver`, `streams/system.py`) in `app`."""
    assert all(isinstance(s.handler, Deliver) for s in subscriptions)
    app.service(WebhookSender(settings, build))
