"""Handle one command against one aggregate: the pure core of every command processor.

An `Aggregate` is what a processor holds per key: the domain state, its
version, and the outcomes of the commands it decided (so a repeated command id
is answered with its first outcome and appends nothing). Both `handle` and
`fold` are deterministic: re-deciding the same command over the same state
yields the same events, with the same ids and times.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from pyrsistent import PDeque, PMap, pdeque, pmap

from commands.decisions import Rejected
from commands.registry import decider_for
from schemas.envelope import CommandEnvelope, EventEnvelope
from schemas.replies import Position, Reply

# How many command outcomes an aggregate remembers. Retries with one
# Idempotency-Key come within minutes, long before this many later commands.
REMEMBERED_COMMANDS = 1000


@dataclass(frozen=True)
class Rejection:
    reason: str
    kind: str
    detail: str


@dataclass(frozen=True)
class Outcome:
    aggregate_version: int
    event_types: tuple[str, ...]
    positions: tuple[Position, ...] = ()
    rejection: Rejection | None = None


class Remembered(Mapping[UUID, Outcome]):
    """The outcomes of an aggregate's last `REMEMBERED_COMMANDS` commands, oldest first.

    Persistent: remembering one more shares all but a few nodes with the map before
    it, so it costs the same however many are remembered (a copy of the whole map,
    per command, made a busy aggregate's every command slower than the last).
    """

    __slots__ = ("_outcomes", "_order")

    def __init__(self, outcomes: PMap[UUID, Outcome] = pmap(),
                 order: PDeque[UUID] = pdeque()) -> None:
        self._outcomes, self._order = outcomes, order

    def __getitem__(self, command_id: UUID) -> Outcome:
        return self._outcomes[command_id]

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._outcomes

    def __iter__(self) -> Iterator[UUID]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._outcomes)

    @classmethod
    def of(cls, outcomes: list[tuple[UUID, Outcome]]) -> Remembered:
        """Remembered `outcomes` (oldest first), as a snapshot lists them."""
        return cls(pmap(dict(outcomes)), pdeque(command_id for command_id, _ in outcomes))

    def with_outcome(self, command_id: UUID, outcome: Outcome) -> Remembered:
        """These outcomes and `command_id`'s (in its old place if it was remembered), the
        oldest forgotten beyond the limit."""
        order = self._order if command_id in self._outcomes else self._order.append(command_id)
        outcomes = self._outcomes.set(command_id, outcome)
        while len(order) > REMEMBERED_COMMANDS:
            outcomes, order = outcomes.discard(order.left), order.popleft()
        return Remembered(outcomes, order)


@dataclass(frozen=True)
class Aggregate:
    state: Any = None
    version: int = 0
    applied: Remembered = field(default_factory=Remembered)

    def remember(self, command_id: UUID, outcome: Outcome) -> Aggregate:
        return replace(self, applied=self.applied.with_outcome(command_id, outcome))


@dataclass(frozen=True)
class Decision:
    aggregate: Aggregate
    events: list[EventEnvelope]
    reply: Reply


def handle(aggregate: Aggregate, envelope: CommandEnvelope, aggregate_key: str) -> Decision:
    """Decide the command; the new aggregate already includes its events."""
    seen = aggregate.applied.get(envelope.command_id)
    if seen is not None:
        return Decision(aggregate, [], _reply(envelope.command_id, aggregate_key, seen,
                                              repeated=True))
    command = envelope.command()
    decider = decider_for(command)
    try:
        events = decider.decide(aggregate.state, command)
    except Rejected as rejected:
        # Remembered too: a repeat gets this first answer, not a new decision.
        outcome = Outcome(aggregate.version, (), rejection=Rejection(
            rejected.reason, rejected.kind, rejected.detail))
        return Decision(aggregate.remember(envelope.command_id, outcome), [],
                        _reply(envelope.command_id, aggregate_key, outcome, repeated=False))
    # The aggregate is part of an event's id: one command id can reach two aggregates (a
    # client that reuses its Idempotency-Key for a voucher of another code), and event
    # ids must stay unique (the audit trail, emails and saga steps are keyed by them).
    envelopes = [
        EventEnvelope(
            event_id=uuid.uuid5(envelope.command_id, f"{aggregate_key}\n{index}"),
            type=event.type_name(),
            schema_version=event.schema_version,
            aggregate_id=aggregate_key,
            aggregate_version=aggregate.version + index + 1,
            occurred_at=envelope.issued_at,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.command_id,
            actor=envelope.actor,
            payload=event.model_dump(mode="json"),
        )
        for index, event in enumerate(events)
    ]
    state = aggregate.state
    for event in events:
        state = decider.evolve(state, event)
    version = aggregate.version + len(envelopes)
    outcome = Outcome(version, tuple(e.type for e in envelopes))
    updated = replace(aggregate, state=state, version=version).remember(envelope.command_id,
                                                                        outcome)
    return Decision(updated, envelopes, _reply(envelope.command_id, aggregate_key, outcome,
                                               repeated=False))


def _reply(command_id: UUID, aggregate_key: str, outcome: Outcome, *, repeated: bool) -> Reply:
    rejection = outcome.rejection
    status = "rejected" if rejection else ("duplicate" if repeated else "accepted")
    return Reply(
        command_id=command_id, status=status, aggregate_id=aggregate_key,
        aggregate_version=outcome.aggregate_version, event_types=list(outcome.event_types),
        positions=list(outcome.positions), reason=rejection.reason if rejection else None,
        kind=rejection.kind if rejection else None,  # type: ignore[arg-type]
        detail=rejection.detail if rejection else None)


def recall(aggregate: Aggregate, reply: Reply) -> Aggregate:
    """Remember an answer read back from the replies topic when recovering.

    The events topic shows only commands that appended events; a rejected
    command, or one accepted with nothing to change, is known from its reply.
    """
    if reply.command_id in aggregate.applied:
        return aggregate
    rejection = (Rejection(reply.reason or "", reply.kind or "conflict", reply.detail or "")
                 if reply.status == "rejected" else None)
    return aggregate.remember(reply.command_id, Outcome(
        reply.aggregate_version, tuple(reply.event_types), tuple(reply.positions), rejection))


def fold(aggregate: Aggregate, envelope: EventEnvelope, position: Position | None,
         decider) -> Aggregate:
    """Apply one recorded event: how a processor recovers its state from the events topic."""
    state = decider.evolve(aggregate.state, envelope.event())
    previous = aggregate.applied.get(envelope.causation_id)
    positions = (previous.positions if previous else ()) + ((position,) if position else ())
    types = (previous.event_types if previous else ()) + (envelope.type,)
    updated = replace(aggregate, state=state, version=envelope.aggregate_version)
    return updated.remember(envelope.causation_id,
                            Outcome(envelope.aggregate_version, types, positions))


def with_positions(aggregate: Aggregate, command_id: UUID,
                   positions: list[Position]) -> Aggregate:
    """Record where a command's events landed, once the broker has acknowledged them."""
    outcome = aggregate.applied[command_id]
    return aggregate.remember(command_id, replace(outcome, positions=tuple(positions)))
