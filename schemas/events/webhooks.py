"""Facts of a webhook subscription, the one aggregate of the webhooks service.

The signing secret travels sealed under the subscription's own key (subject
`webhook:<id>`): deleting the subscription forgets that key, so the secret is
unreadable in the log from then on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from schemas.messages import Event
from schemas.personal import Sealed

WebhookUrl = Annotated[str, Field(min_length=8, max_length=2000)]
WebhookEventType = Annotated[str, Field(min_length=1, max_length=64)]


def secret_subject(subscription_id: UUID | str) -> str:
    """Whose key seals a subscription's secret."""
    return f"webhook:{subscription_id}"


class WebhookSubscribed(Event):
    subscription_id: UUID
    url: WebhookUrl
    events: Annotated[list[WebhookEventType], Field(min_length=1, max_length=20)]
    secret: Sealed


class WebhookDeleted(Event):
    subscription_id: UUID


class WebhookReplayRequested(Event):
    """Every matching event since `since` is to be delivered again."""

    subscription_id: UUID
    replay_id: UUID
    since: datetime
