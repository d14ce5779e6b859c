"""The system in one process, one message at a time, over the topology of `streams/system.py`.

Like eventsourcing's `SingleThreadedRunner`, with no server: a command goes to the
decider that reads its topic (`commands.handling.handle`, as its command processor
runs it), and each event it appends goes, in order, to every handler that reads the
event's topic: the saga's reactions queue the commands that follow (asking the payment
provider first where a step needs it), and the emails are composed, once per event,
into `outbox` (not sent). Read models are not kept: their writers need their stores.

Commands wait in `pending` until their processor takes them: `settle` takes them in
the order sent; `take` lets one aggregate's processor take its oldest, so a test can
run the processors in any order (one aggregate's commands stay in order, as in its
partition). With `redeliver`, every event reaches the reactions twice, as after a
worker's restart before its offsets were committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, get_args
from uuid import UUID

from commands.handling import Aggregate, handle
from infra.payments.provider import PaymentProvider
from infra.payments.sandbox import SandboxPaymentProvider
from infra.settings import Settings, get_settings
from schemas.envelope import CommandEnvelope, EventEnvelope
from schemas.messages import Command
from schemas.payments import PaymentMethodType
from schemas.topics import SERVICES
from streams import checkout_saga, notifications, sagas
from streams.checkout_saga import AskProvider, Send, Step
from streams.notifications import Addressee, Recipient
from streams.sagas import Unseal
from streams.system import Decide, Deliver, Handler, Mail, Project, React, subscribers

# Commands from outside the saga (the shopper, an admin, a webhook) are sent as this.
OUTSIDE = "user:in-process"


@dataclass(frozen=True)
class Waiting:
    """A command appended to its topic, not yet taken by its processor."""

    command: Command
    command_id: UUID
    correlation_id: UUID | None
    actor: str


class InProcess:
    """Every aggregate of the shop, in memory, and every reaction, carried out in turn.

    `unseal` opens sealed personal data (the payment token, the address and name), as
    the key store does; `payments` are the providers by payment method (the sandbox's
    by default); `clock` gives each command its time.
    """

    def __init__(self, *, unseal: Unseal, payments: Mapping[str, PaymentProvider] | None = None,
                 settings: Settings | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 redeliver: bool = False) -> None:
        self.settings = settings or get_settings()
        sandbox = SandboxPaymentProvider(self.settings.sandbox_bank_delay_s)
        self.payments = payments or {method: sandbox for method in get_args(PaymentMethodType)}
        self.unseal = unseal
        self.clock = clock
        self.redeliver = redeliver
        self.policy = sagas.policy(self.settings)
        self.aggregates: dict[tuple[str, str], Aggregate] = {}
        # Every event in the order appended, and each events topic's.
        self.recorded: list[EventEnvelope] = []
        self.topics: dict[str, list[EventEnvelope]] = {}
        self.pending: list[Waiting] = []
        # Event id -> the email it called for: at most one per event, as the worker's claim.
        self.outbox: dict[UUID, EmailMessage] = {}
        self.recipients: dict[str, Recipient] = {}
        self._posted = 0

    # --- what a test does ------------------------------------------------------------------

    def post(self, command: Command, command_id: UUID | None = None) -> None:
        """Append a command from outside the saga; its processor takes it later."""
        self._posted += 1
        command_id = command_id or uuid.uuid5(UUID(int=0), f"posted {self._posted}")
        self.pending.append(Waiting(command, command_id, None, OUTSIDE))

    async def send(self, command: Command) -> None:
        """`command` and everything it leads to."""
        self.post(command)
        await self.settle()

    async def settle(self) -> None:
        """Take every waiting command, and every one that follows, in the order sent."""
        while self.pending:
            await self._decide(self.pending.pop(0))

    def waiting(self) -> list[tuple[str, str]]:
        """The aggregates (service, key) with commands waiting, each once."""
        return list(dict.fromkeys(_aggregate(w.command) for w in self.pending))

    async def take(self, aggregate: tuple[str, str]) -> None:
        """The processor of `aggregate` takes its oldest waiting command."""
        index = next(i for i, w in enumerate(self.pending)
                     if _aggregate(w.command) == aggregate)
        await self._decide(self.pending.pop(index))

    # --- what a test reads -----------------------------------------------------------------

    def state(self, service: str, key: Any) -> Any:
        aggregate = self.aggregates.get((service, str(key)))
        return aggregate.state if aggregate else None

    def types(self) -> list[str]:
        return [envelope.type for envelope in self.recorded]

    def emails(self) -> list[EmailMessage]:
        return list(self.outbox.values())

    # --- carrying it out -------------------------------------------------------------------

    async def _decide(self, waiting: Waiting) -> None:
        command = waiting.command
        topics = SERVICES[command.service]
        if not any(isinstance(h, Decide) for h in subscribers(topics.commands.name)):
            raise LookupError(f"no command processor reads {topics.commands.name}")
        key = _aggregate(command)
        envelope = CommandEnvelope.wrap(command, command_id=waiting.command_id,
                                        correlation_id=waiting.correlation_id,
                                        actor=waiting.actor, issued_at=self.clock())
        decision = handle(self.aggregates.get(key, Aggregate()), envelope, key[1])
        self.aggregates[key] = decision.aggregate
        for event in decision.events:
            self.recorded.append(event)
            self.topics.setdefault(topics.events.name, []).append(event)
            for handler in subscribers(topics.events.name):
                await self._deliver(handler, event)

    async def _deliver(self, handler: Handler, envelope: EventEnvelope) -> None:
        match handler:
            case React(react=react):
                for _ in range(2 if self.redeliver else 1):
                    for step in react(envelope, self.policy):
                        await self._carry_out(step, envelope.correlation_id)
            case Mail():
                await self._mail(handler, envelope)
            case Project() | Decide() | Deliver():
                pass  # a read model needs its store; a decider reads no events

    async def _carry_out(self, step: Step, correlation_id: UUID | None) -> None:
        if isinstance(step, AskProvider):
            # No retries: an unreachable provider is given up on at once.
            command = await sagas.ask_provider(self.payments[step.method], step, self.unseal,
                                               retry_delays=())
            if command is None:
                return
            step = Send(command, step.command_id)
        self.pending.append(Waiting(step.command, step.command_id,
                                    step.correlation_id or correlation_id, checkout_saga.ACTOR))

    async def _mail(self, mail: Mail, envelope: EventEnvelope) -> None:
        change = notifications.remembered(envelope, self.recipients)
        if change is not None:
            self.recipients[change[0]] = change[1]
        email = mail.email_for(envelope.type, envelope.payload)
        if email is None or envelope.event_id in self.outbox or notifications.stale(
                envelope, self.clock()):
            return
        addressee = await self._addressee(envelope.event().user_id)  # type: ignore[attr-defined]
        if addressee is not None:
            self.outbox[envelope.event_id] = notifications.message_for(
                self.settings, envelope, email, addressee)

    async def _addressee(self, user_id: UUID) -> Addressee | None:
        """The address and name the user's own events gave; the users read model, which
        order emails read in the worker, holds the same."""
        recipient = self.recipients.get(str(user_id))
        if recipient is None:
            return None
        address = await self.unseal(str(user_id), recipient.email)
        name = await self.unseal(str(user_id), recipient.full_name)
        return Addressee(address, name or "") if address and name is not None else None


def _aggregate(command: Command) -> tuple[str, str]:
    return command.service, command.aggregate_key
