"""What a command processor answers to the command's sender."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Position(BaseModel):
    """Where an event landed: what a read-your-writes wait is measured against."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True)

    command_id: UUID
    # accepted: events were appended; duplicate: this command id was applied before,
    # and this is the first outcome again; rejected: nothing changed.
    status: Literal["accepted", "duplicate", "rejected"]
    aggregate_id: str
    aggregate_version: int = 0
    reason: str | None = None
    # For a rejection: conflict (409), invalid (422), not_found (404) or bad_request (400).
    kind: Literal["conflict", "invalid", "not_found", "bad_request"] | None = None
    detail: str | None = None
    event_types: list[str] = []
    positions: list[Position] = []

    @property
    def ok(self) -> bool:
        return self.status != "rejected"
