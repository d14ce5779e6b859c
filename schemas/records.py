"""A record of an events topic as its readers see it: where it lies, and the event."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.envelope import EventEnvelope


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    envelope: EventEnvelope

    @classmethod
    def from_message(cls, message) -> Record:
        """From a consumer record of an events topic."""
        return cls(message.topic, message.partition, message.offset,
                   EventEnvelope.from_bytes(message.value))
