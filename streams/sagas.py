"""The saga worker: carries out the checkout saga's steps (`streams.checkout_saga`).

A Faust agent per `React` of `streams/system.py` (the checkout saga's reads the
catalog, orders and payments events, `at_least_once`) asks its reaction
(`checkout_saga.react`) what follows each event, and appends those commands,
calling the payment provider first where a step needs it. The event's offset
is committed only after its commands are acknowledged by Kafka, so a crash
repeats steps rather than losing them; derived command ids and provider
idempotency keys make the repeats harmless.

The clock runs on the leader only: every second it asks the payments read model
for payments that the sandbox bank has paid or that ran out of time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import faust
import mode
import structlog

from infra.clients import Clients
from infra.container import Container
from infra.dependencies import log_failure
from infra.command_bus import post
from infra.payments.provider import PaymentProvider, PaymentProviderError
from infra.payments.sandbox import SandboxPaymentProvider
from infra.settings import Settings
from projections.orders_views import OrdersView
from schemas.envelope import EventEnvelope
from schemas.messages import Command
from schemas.payments import PaymentMethod, PaymentResult
from streams import checkout_saga
from streams.checkout_saga import AskProvider, Policy, Send, Step
from streams.following import follower
from streams.system import React, Reaction, Subscription

log = structlog.get_logger(__name__)

# While the provider cannot answer, ask again after these delays, then give up on the step.
PROVIDER_RETRY_DELAYS_S = (0.5, 1, 2, 5, 10, 30, 60, 60, 60)
CLOCK_INTERVAL_S = 1.0

# A key store's `unseal`: the plaintext, or None once the subject was forgotten.
Unseal = Callable[[str, str], Awaitable[str | None]]


class SagaRunner(mode.Service):
    """Carries out steps; builds its clients and providers once, on first use."""

    def __init__(self, settings: Settings, build: Callable[[], Container], **kwargs) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self._build = build
        self._container: Container | None = None
        self.policy = policy(settings)
        self._clients: Clients | None = None
        self._providers: dict[str, PaymentProvider] = {}
        self._payments: OrdersView | None = None
        self._lock = asyncio.Lock()

    async def clients(self) -> Clients:
        async with self._lock:
            if self._clients is None:
                self._container = self._build()
                self._providers = dict(self._container.payments)
                self._clients = self._container.clients
                self._payments = OrdersView(self._clients.mysql_reads)
            return self._clients

    async def on_stop(self) -> None:
        if self._container is not None:
            await self._container.close()
        self._container = self._clients = None

    async def follow(self, envelope: EventEnvelope, react: Reaction) -> None:
        """Carry out every step `react` says follows `envelope`, all acknowledged on return."""
        steps = react(envelope, self.policy)
        if steps:
            await asyncio.gather(*(self.carry_out(step, envelope.correlation_id)
                                   for step in steps))

    async def carry_out(self, step: Step, correlation_id: UUID | None) -> None:
        if isinstance(step, AskProvider):
            clients = await self.clients()
            command = await ask_provider(self._providers[step.method], step, clients.keys.unseal,
                                         stopping=lambda: self.should_stop)
            if command is None:
                return
            step = Send(command, step.command_id)
        clients = await self.clients()
        await post(clients, step.command, command_id=step.command_id,
                   actor=checkout_saga.ACTOR, correlation_id=step.correlation_id or correlation_id)

    async def tick(self) -> None:
        """The clock: settle and expire the payments that are due."""
        await self.clients()
        assert self._payments is not None
        now = datetime.now(UTC)
        rows = await self._payments.due_payments(now)
        for step in checkout_saga.due(rows, now):
            await self.carry_out(step, None)


def policy(settings: Settings) -> Policy:
    return Policy(timedelta(seconds=settings.payment_timeout_s),
                  timedelta(seconds=settings.bank_transfer_timeout_s))


async def ask_provider(provider: PaymentProvider, ask: AskProvider, unseal: Unseal, *,
                       retry_delays: tuple[float, ...] = PROVIDER_RETRY_DELAYS_S,
                       stopping: Callable[[], bool] = lambda: False) -> Command | None:
    """The provider's answer to `ask`, as the command that records it; while the provider
    cannot answer, ask again after each of `retry_delays`, then give up on the step."""
    token = None
    if ask.token is not None:
        token = await unseal(str(ask.user_id), ask.token)
        if token is None:  # the customer was forgotten meanwhile
            return checkout_saga.unreachable(ask, "the customer's data was erased")
    error = ""
    for delay in (*retry_delays, None):
        try:
            result = await _call(provider, ask, token)
            settles_at = None
            if result.status == "pending" and isinstance(provider, SandboxPaymentProvider):
                settles_at = provider.settles_at(ask.requested_at)
            return checkout_saga.answer(ask, result, settles_at)
        except PaymentProviderError as failure:
            error = str(failure)
            retryable = getattr(failure, "retryable", False)
            log.warning("saga.provider_error", call=ask.call, payment_id=str(ask.payment_id),
                        error=error, retry_in_s=delay if retryable else None)
            if delay is None or not retryable or stopping():
                break
            await asyncio.sleep(delay)
    log.error("saga.provider_gave_up", call=ask.call, payment_id=str(ask.payment_id),
              error=error)
    return checkout_saga.unreachable(ask, error)


async def _call(provider: PaymentProvider, ask: AskProvider, token: str | None
                ) -> PaymentResult:
    reference = ask.provider_reference or ""
    match ask.call:
        case "charge" | "authorize":
            confirm = provider.charge if ask.call == "charge" else provider.authorize
            return await confirm(ask.payment_id, ask.amount,
                                 PaymentMethod(ask.method, token),  # type: ignore[arg-type]
                                 ask.idempotency_key)
        case "capture":
            return await provider.capture(ask.payment_id, reference, ask.amount,
                                          ask.idempotency_key)
        case _:
            return await provider.refund(ask.payment_id, reference, ask.amount,
                                         ask.idempotency_key)


def register(app: faust.App, settings: Settings, build: Callable[[], Container],
             subscriptions: list[Subscription]) -> None:
    """Add an agent per reaction (`React`, `streams/system.py`) and the clock to `app`."""
    runner = SagaRunner(settings, build)
    app.service(runner)
    for subscription in subscriptions:
        assert isinstance(subscription.handler, React)
        topics = app.topic(*subscription.topics, key_type=bytes, value_type=bytes,
                           key_serializer="raw", value_serializer="raw",
                           partitions=settings.kafka_partitions)
        # Kafka or MySQL (the key store) unreachable, or a bug: a step must never be skipped
        # silently, so the partition waits and tries again, and in the end stops.
        process = follower("saga", partial(runner.follow, react=subscription.handler.react),
                           transient=(Exception,), stop_when_exhausted=True)
        app.agent(topics, name=subscription.name)(process)

    @app.timer(CLOCK_INTERVAL_S, on_leader=True)
    async def clock() -> None:
        try:
            await runner.tick()
        except Exception as error:  # the next tick tries again
            log_failure(log, "saga.clock_failed", error)
