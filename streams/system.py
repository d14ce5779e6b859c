"""The event topology, declared once: for each worker role, which topics each handler
reads and what it does with them. Read `SYSTEM` to learn what reacts to an event.

A handler is one of five kinds:
- `Decide`: a command processor, the single writer of one service's aggregates; its
  decider (`commands/<service>.py`) turns each command into events.
- `React`: a policy turning each event into the commands that follow it (the
  checkout saga, `streams/checkout_saga.py`).
- `Mail`: the emails events call for (`streams/emails.py`), each sent at most once.
- `Project`: a read model (`projections/`), kept by its own consumer group.
- `Deliver`: the webhook deliveries the webhooks dispatcher recorded, sent to
  integrators (`streams/webhooks.py`).

Two runners carry out the same table: the Faust workers (`streams/app.py` builds
each role's app from it) and the in-process runner (`streams/in_process.py`) that
tests a whole checkout with no servers, as eventsourcing's `System(pipes=...)` is run
by its `SingleThreadedRunner` or by threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from commands.registry import DECIDERS
from projections.audit import AuditProjection
from projections.base import Projection
from projections.carts import CartsProjection
from projections.catalog import CatalogProjection
from projections.orders import OrdersProjection
from projections.search import SearchProjection
from projections.users import UsersProjection
from projections.webhooks import WebhooksProjection
from schemas.envelope import EventEnvelope
from schemas.topics import CATALOG, ORDERS, PAYMENTS, SERVICES, USERS
from streams import checkout_saga, emails
from streams.checkout_saga import Policy, Step

Role = Literal["commands", "projections", "notifications", "sagas", "webhooks"]


@dataclass(frozen=True)
class Decide:
    """Commands to events: the command processor of `service`."""

    service: str
    decider: ModuleType


Reaction = Callable[[EventEnvelope, Policy], list[Step]]


@dataclass(frozen=True)
class React:
    """Events to the commands that follow them."""

    react: Reaction


@dataclass(frozen=True)
class Mail:
    """Events to the emails they call for.

    `addressed_from` says where the address comes from: the user's own events (they
    are keyed by user id, so a table co-partitioned with them keeps it), or the users
    read model (for topics keyed otherwise).
    """

    email_for: Callable[[str, dict[str, Any]], emails.Email | None]
    addressed_from: Literal["the user's events", "the users read model"]


@dataclass(frozen=True)
class Project:
    """Events to one read model, by projection name."""

    projection: str


@dataclass(frozen=True)
class Deliver:
    """Recorded webhook deliveries to their subscribers' URLs; reads no topic itself."""


Handler = Decide | React | Mail | Project | Deliver


@dataclass(frozen=True)
class Subscription:
    """`handler` reads `topics`; `name` is its Faust agent or, for a read model, its
    consumer group's (`shopstream.projection.<name>`)."""

    name: str
    topics: tuple[str, ...]
    handler: Handler


@dataclass(frozen=True)
class Worker:
    """One worker role: its consumer group is `shopstream-<role>`."""

    guarantee: Literal["exactly_once", "at_least_once"]
    subscriptions: tuple[Subscription, ...]


def _processor(service: str) -> Subscription:
    return Subscription(f"{service}-command-processor", (SERVICES[service].commands.name,),
                        Decide(service, DECIDERS[service]))


def _read_model(projection: type[Projection]) -> Subscription:
    return Subscription(projection.name, tuple(projection.topics), Project(projection.name))


SYSTEM: dict[Role, Worker] = {
    # Events, replies and the command's offset commit in one transaction.
    "commands": Worker("exactly_once", tuple(_processor(service) for service in SERVICES)),
    "projections": Worker("at_least_once", tuple(_read_model(projection) for projection in (
        UsersProjection, CatalogProjection, SearchProjection, CartsProjection,
        OrdersProjection, AuditProjection))),
    "notifications": Worker("at_least_once", (
        Subscription("notification-sender", (USERS.events.name,),
                     Mail(emails.email_for, "the user's events")),
        Subscription("order-notification-sender", (ORDERS.events.name, PAYMENTS.events.name),
                     Mail(emails.email_for, "the users read model")),
    )),
    # Besides its events, the saga has a clock: every second it settles and expires the
    # payments that are due, as the payments read model tells (`checkout_saga.due`).
    "sagas": Worker("at_least_once", (
        Subscription("checkout-saga", (CATALOG.events.name, ORDERS.events.name,
                                       PAYMENTS.events.name), React(checkout_saga.react)),
    )),
    # The dispatcher records a pending delivery per matching subscription with its
    # checkpoint; the sender sends them, one loop per subscription.
    "webhooks": Worker("at_least_once", (
        _read_model(WebhooksProjection),
        Subscription("webhook-sender", (), Deliver()),
    )),
}
ROLES: tuple[Role, ...] = tuple(SYSTEM)


def subscribers(topic: str) -> list[Handler]:
    """Every handler that reads `topic`, in the table's order."""
    return [subscription.handler for worker in SYSTEM.values()
            for subscription in worker.subscriptions if topic in subscription.topics]
