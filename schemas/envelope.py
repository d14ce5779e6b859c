"""The envelopes that carry events and commands on Kafka, as JSON.

Every event travels in an `EventEnvelope` naming its aggregate, its version in
that aggregate, when it happened (UTC), why (correlation and causation ids) and
who did it. Commands travel in a `CommandEnvelope` with their id, which makes a
repeat recognisable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from schemas.messages import Command, Event, command_class, event_class


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class EventEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: UUID
    type: str
    schema_version: int
    aggregate_id: str
    aggregate_version: int
    occurred_at: AwareDatetime
    correlation_id: UUID
    causation_id: UUID
    actor: str | None
    payload: dict[str, Any]

    _as_utc = field_validator("occurred_at")(_utc)

    def event(self) -> Event:
        return event_class(self.type).model_validate(self.payload)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> EventEnvelope:
        return cls.model_validate_json(data)


class CommandEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    command_id: UUID
    type: str
    correlation_id: UUID
    actor: str | None
    issued_at: AwareDatetime
    payload: dict[str, Any]

    _as_utc = field_validator("issued_at")(_utc)

    @classmethod
    def wrap(cls, command: Command, *, command_id: UUID, correlation_id: UUID | None = None,
             actor: str | None, issued_at: datetime | None = None) -> CommandEnvelope:
        return cls(
            command_id=command_id,
            type=command.type_name(),
            correlation_id=correlation_id or command_id,
            actor=actor,
            issued_at=issued_at or datetime.now(UTC),
            payload=command.model_dump(mode="json"),
        )

    def command(self) -> Command:
        return command_class(self.type).model_validate(self.payload)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> CommandEnvelope:
        return cls.model_validate_json(data)
