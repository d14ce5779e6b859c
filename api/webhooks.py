"""Webhooks: admins subscribe integrators' URLs to event types, read each one's delivery
log, replay what was delivered since a time, and delete a subscription.

The signing secret is made here, shown once in the creation's answer and travels
only sealed under the subscription's own key, which a deletion forgets. A target
URL is checked here (`infra/outbound.py`) and again before every delivery.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api import cursors
from api.catalog import Cursor, Limit
from api.commands import Refused, command_id, derived_id, execute
from api.deps import Admin, BusDep, ClientsDep, IdempotencyKey, Seen, SettingsDep, WebhooksViewDep
from infra.outbound import UnsafeTarget, resolve
from projections.webhooks_views import SubscriptionRow, WebhooksView
from schemas.commands.webhooks import DeleteWebhook, ReplayWebhook, SubscribeWebhook
from schemas.events.webhooks import secret_subject
from schemas.topics import WEBHOOKS
from schemas.values import Url
from schemas.webhooks import EVENT_TYPES

router = APIRouter(tags=["webhooks"])

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class NewWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[Url, Field(description=(
        "http or https; no credentials; its host may not resolve to a private, loopback or "
        "link-local address (unless the shop allows it)."))]
    events: Annotated[list[EventType], Field(min_length=1, max_length=20)]


class Webhook(BaseModel):
    id: UUID
    url: str
    events: list[str]
    created_at: datetime | None = None


class CreatedWebhook(Webhook):
    secret: str = Field(description="Signs every delivery; shown only in this answer.")


class WebhookList(BaseModel):
    items: list[Webhook]
    next_cursor: cursors.NextCursor


class Delivery(BaseModel):
    event_id: UUID
    type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_attempt_at: datetime | None
    occurred_at: datetime
    replayed: bool = Field(description="Made by a replay rather than by the event itself.")


class DeliveryList(BaseModel):
    items: list[Delivery]
    next_cursor: str | None


class Replay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime


class ReplayAccepted(BaseModel):
    replay_id: UUID


def _shown(row: SubscriptionRow) -> Webhook:
    return Webhook(id=row["id"], url=row["url"], events=row["events"],
                   created_at=row["created_at"])


async def _live(webhooks: WebhooksView, seen: Seen, webhook_id: UUID) -> SubscriptionRow:
    row = await seen.found(webhooks, lambda: webhooks.subscription(str(webhook_id)),
                           topic=WEBHOOKS.events.name, key=str(webhook_id), own_events=True)
    if row is None or row["deleted_at"] is not None:
        raise HTTPException(404, f"There is no webhook {webhook_id}.")
    return row


@router.post("/v1/admin/webhooks", status_code=201, response_model=CreatedWebhook,
             responses={409: {"description": "The Idempotency-Key made a webhook since "
                                             "deleted"},
                        422: {"description": "An unknown event type or a refused URL"}})
async def create_webhook(form: NewWebhook, admin: Admin, bus: BusDep, clients: ClientsDep,
                         settings: SettingsDep, webhooks: WebhooksViewDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> CreatedWebhook:
    """Subscribe a URL to event types. Each matching event is POSTed to it as
    {id, type, occurred_at, data}, signed in `Shopstream-Signature`; the answer holds the
    signing secret, shown only here."""
    try:
        await resolve(form.url, allow_private=bool(settings.webhook_allow_private_targets))
    except UnsafeTarget as refused:
        raise Refused("invalid", str(refused)) from None
    cid = command_id(f"POST /v1/admin/webhooks\n{admin.user_id}", idempotency_key)
    webhook_id = derived_id(cid, "webhook")
    secret = "whsec_" + secrets.token_hex(32)
    events = list(dict.fromkeys(form.events))
    sealed = await clients.keys.seal(secret_subject(webhook_id), secret)
    reply = await execute(bus, SubscribeWebhook(subscription_id=webhook_id, url=form.url,
                                                events=events, secret=sealed),
                          actor=admin.user_id, seen=seen, command_id=cid)
    # Deliveries start with the events after this answer: the dispatcher knows it now.
    try:
        row = await _live(webhooks, seen, webhook_id)
    except HTTPException as missing:
        if reply.status != "duplicate":
            raise
        raise HTTPException(409, f"This Idempotency-Key subscribed webhook {webhook_id}, "
                                 "deleted since; subscribe again with a new key.") from missing
    if reply.status == "duplicate":  # the same request again: its secret, not a new one
        secret = await clients.keys.unseal(secret_subject(webhook_id), row["secret"]) or ""
    return CreatedWebhook(**_shown(row).model_dump(), secret=secret)


@router.get("/v1/admin/webhooks", response_model=WebhookList,
            responses={422: {"description": "Invalid limit or cursor"}})
async def list_webhooks(admin: Admin, webhooks: WebhooksViewDep, seen: Seen,
                        limit: Limit = 20, cursor: Cursor = None) -> WebhookList:
    """The live subscriptions, oldest first (without their secrets)."""
    await seen.wait(webhooks)
    query_print = cursors.fingerprint("webhooks")
    after = cursors.decode(cursor, query_print)
    try:
        position = ((datetime.fromisoformat(after[0]).astimezone(UTC).replace(tzinfo=None),
                     str(UUID(after[1]))) if after else None)
    except (ValueError, TypeError, IndexError) as error:
        raise cursors.invalid() from error
    rows = await webhooks.subscriptions(limit + 1, position)
    page = rows[:limit]
    last = page[-1] if page else None
    return WebhookList(items=[_shown(row) for row in page], next_cursor=(
        cursors.encode([last["created_at"].isoformat(), last["id"]], query_print)
        if len(rows) > limit and last else None))


@router.get("/v1/admin/webhooks/{webhook_id}", response_model=Webhook,
            responses={404: {"description": "No such webhook"}})
async def get_webhook(webhook_id: UUID, admin: Admin, webhooks: WebhooksViewDep,
                      seen: Seen) -> Webhook:
    """A subscription (without its secret)."""
    return _shown(await _live(webhooks, seen, webhook_id))


@router.get("/v1/admin/webhooks/{webhook_id}/deliveries", response_model=DeliveryList,
            responses={404: {"description": "No such webhook"},
                       422: {"description": "Invalid limit or cursor"}})
async def list_deliveries(webhook_id: UUID, admin: Admin, webhooks: WebhooksViewDep,
                          seen: Seen, limit: Limit = 20, cursor: Cursor = None) -> DeliveryList:
    """The subscription's delivery log, in the order the deliveries were recorded: each
    with its status, attempts, and the last attempt's HTTP status and time."""
    await _live(webhooks, seen, webhook_id)
    query_print = cursors.fingerprint("webhook-deliveries", str(webhook_id))
    after = cursors.decode(cursor, query_print)
    if after is not None and not isinstance(after[0], int):
        raise cursors.invalid()
    rows = await webhooks.deliveries(str(webhook_id), limit + 1, after[0] if after else None)
    page = rows[:limit]
    items = [Delivery(event_id=row["event_id"], type=row["type"], status=row["status"],
                      attempts=row["attempts"], last_status_code=row["last_status_code"],
                      last_attempt_at=row["last_attempt_at"], occurred_at=row["occurred_at"],
                      replayed=bool(row["replay_id"])) for row in page]
    return DeliveryList(items=items, next_cursor=(
        cursors.encode([page[-1]["seq"]], query_print) if len(rows) > limit else None))


@router.post("/v1/admin/webhooks/{webhook_id}/replay", status_code=202,
             response_model=ReplayAccepted, responses={404: {"description": "No such webhook"}})
async def replay_webhook(webhook_id: UUID, form: Replay, admin: Admin, bus: BusDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> ReplayAccepted:
    """Deliver again every event delivered to this subscription since `since` (each as
    a new delivery with the same event id, in order per aggregate)."""
    cid = command_id(f"POST /v1/admin/webhooks/{webhook_id}/replay\n{admin.user_id}",
                     idempotency_key)
    replay_id = derived_id(cid, "replay")
    await execute(bus, ReplayWebhook(subscription_id=webhook_id, replay_id=replay_id,
                                     since=form.since.astimezone(UTC)),
                  actor=admin.user_id, seen=seen, command_id=cid)
    return ReplayAccepted(replay_id=replay_id)


@router.delete("/v1/admin/webhooks/{webhook_id}", status_code=204,
               responses={404: {"description": "No such webhook"}})
async def delete_webhook(webhook_id: UUID, admin: Admin, bus: BusDep, clients: ClientsDep,
                         webhooks: WebhooksViewDep, seen: Seen) -> Response:
    """Delete the subscription: nothing more is delivered to it, and its secret is
    forgotten."""
    await execute(bus, DeleteWebhook(subscription_id=webhook_id), actor=admin.user_id,
                  seen=seen, command_id=uuid4())
    # The dispatcher records nothing for it from the events after this answer.
    await seen.wait(webhooks)
    await clients.keys.forget(secret_subject(webhook_id))
    return Response(status_code=204)
