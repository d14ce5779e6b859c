"""Requests to a webhook subscription (webhooks service), addressed by its id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from schemas.events.webhooks import WebhookEventType, WebhookUrl
from schemas.messages import Command
from schemas.personal import Sealed


class _WebhookCommand(Command):
    service: ClassVar[str] = "webhooks"
    subscription_id: UUID

    @property
    def aggregate_key(self) -> str:
        return str(self.subscription_id)


class SubscribeWebhook(_WebhookCommand):
    url: WebhookUrl
    events: Annotated[list[WebhookEventType], Field(min_length=1, max_length=20)]
    secret: Sealed


class DeleteWebhook(_WebhookCommand):
    pass


class ReplayWebhook(_WebhookCommand):
    replay_id: UUID
    since: datetime
