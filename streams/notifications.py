"""The notification sender: mails what events call for (`streams/emails.py` says which, and what).

Two Faust agents (this role runs `at_least_once`) share one `Sender`:
- `notification-sender` reads `shopstream.users.events`. The address and the
  name come, sealed, only in `UserRegistered` (and a new name in
  `ProfileChanged`), so it keeps them per user in a table keyed by user id,
  co-partitioned with the events (all of one user's events have its id as key;
  `EmailClaimed`, keyed by the email key, is ignored). They are unsealed only
  when an email is made. A link's token is made again from the event's request
  id (`infra.security.link_token`); the events hold only its hash.
- `order-notification-sender` reads `shopstream.orders.events` and
  `shopstream.payments.events`, keyed by order id and receipt book, not by user,
  so no table co-partitioned with them can hold the user's address: it is read
  from the users read model in MySQL (`projections/users.py`) by the event's
  `user_id`. A guest's order has no account: its address comes sealed in the
  order's events (`guest_email`) or, for the later emails, from the orders read
  model; the confirmation links to the order with its token, made again from the
  order id (`infra.guest_tokens.order_token`).
Either way a user who has been forgotten (key shredded, or a null address in
the read model) gets nothing.

AT MOST ONCE per event, across restarts and redeliveries: before sending, the
event's row is inserted into `notifications_sent` with status `sending`
(`INSERT IGNORE`); if it was there already the email is not sent again. After
the transport takes the message the row becomes `sent` (or `failed`). A crash
between the insert and the send therefore loses that one email rather than
sending it twice: a duplicate password-reset, receipt or order email is worse
than a missing one.

Events replayed long after the fact send nothing: a link that has expired, or
any email whose event is older than `STALE_AFTER` (e.g. a new worker reading
the topic from its beginning must not greet every past customer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import UUID

import faust
import mode
import structlog
from sqlalchemy.exc import DBAPIError

from infra.clients import Clients
from infra.container import Container
from infra.database import create_tables
from infra.mail import Mailer, MailUnavailable, claim, mark
from infra.guest_tokens import order_token
from infra.security import link_token
from infra.settings import Settings
from projections.orders_views import OrdersView
from projections.users_views import UsersView
from schemas.envelope import EventEnvelope
from schemas.events.users import ProfileChanged, UserRegistered
from streams.emails import Email, compose, load_templates
from streams.following import follower
from streams.system import Mail, Subscription

log = structlog.get_logger(__name__)

# An email whose event is older than this is not sent any more.
STALE_AFTER = timedelta(days=1)
# While the transport is unreachable, retry this often (the partition waits meanwhile).
RETRY_DELAYS_S = (1, 2, 5, 10, 30, 30, 30, 60, 60, 60)


class Recipient(faust.Record, serializer="json"):
    """A user's address and name, both still sealed with the user's key."""

    email: str
    full_name: str


@dataclass(frozen=True)
class Addressee:
    """Where an email goes and whom it greets; no `address` once the user was forgotten.
    `guest_order`: the guest's order the email is about."""

    address: str | None
    name: str
    guest_order: UUID | None = None


# How an agent finds the addressee of an event's email: None if it knows no such user.
FindAddressee = Callable[[EventEnvelope], Awaitable[Addressee | None]]


class Sender(mode.Service):
    """Makes and sends one event's email; builds its clients once, on first use."""

    def __init__(self, settings: Settings, build: Callable[[], Container], **kwargs) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self._build = build
        self._container: Container | None = None
        self._clients: Clients | None = None
        self._mailer: Mailer | None = None
        self._users: UsersView | None = None
        self._orders: OrdersView | None = None
        self._lock = asyncio.Lock()

    async def ready(self) -> tuple[Clients, Mailer, UsersView]:
        async with self._lock:
            if self._clients is None or self._mailer is None or self._users is None:
                container = self._build()
                clients = container.clients
                try:
                    await create_tables(clients.mysql)
                    await asyncio.to_thread(load_templates)
                except BaseException:
                    await container.close()
                    raise
                self._container = container
                self._clients, self._mailer = clients, container.mailer
                self._users = UsersView(clients.mysql_reads)
                self._orders = OrdersView(clients.mysql_reads)
            return self._clients, self._mailer, self._users

    async def on_stop(self) -> None:
        if self._mailer is not None:
            await self._mailer.close()
        if self._container is not None:
            await self._container.close()
        self._clients = self._mailer = self._users = None

    async def unsealed(self, user_id: UUID, recipient: Recipient | None) -> Addressee | None:
        """The address and name kept (sealed) from the user's own events."""
        if recipient is None:
            return None
        clients, _, _ = await self.ready()
        address = await clients.keys.unseal(str(user_id), recipient.email)
        name = await clients.keys.unseal(str(user_id), recipient.full_name)
        return Addressee(address if name is not None else None, name or "")

    async def registered(self, user_id: UUID) -> Addressee | None:
        """The address and name in the users read model."""
        _, _, users = await self.ready()
        row = await users.find(str(user_id))
        return None if row is None else Addressee(row["email"], row["full_name"] or "")

    async def customer(self, envelope: EventEnvelope) -> Addressee | None:
        """An order's customer: an account in the users read model, else the guest the
        order names (sealed in the event, or in the orders read model), greeted by the
        name on the shipping address."""
        event = envelope.event()
        user_id: UUID = event.user_id  # type: ignore[attr-defined]
        account = await self.registered(user_id)
        order_id: UUID | None = getattr(event, "order_id", None)
        if account is not None or order_id is None:
            return account
        clients, _, _ = await self.ready()
        assert self._orders is not None
        row = await self._orders.order(str(order_id))
        sealed: str | None = getattr(event, "guest_email", None)
        if sealed is None and (row is None or row["order_token_hash"] is None):
            return None
        address = (await clients.keys.unseal(str(user_id), sealed) if sealed is not None
                   else row["guest_email"] if row is not None else None)
        name = ((row or {}).get("shipping_address") or {}).get("full_name", "")
        return Addressee(address, name, guest_order=order_id)

    async def notify(self, envelope: EventEnvelope, email: Email,
                     find: FindAddressee) -> None:
        user_id: UUID = envelope.event().user_id  # type: ignore[attr-defined]
        context = {"event_id": str(envelope.event_id), "type": envelope.type,
                   "user_id": str(user_id)}
        if stale(envelope, datetime.now(UTC)):
            log.info("notification.stale", **context)
            return
        addressee = await find(envelope)
        if addressee is None:
            log.warning("notification.no_recipient", **context)
            return
        if addressee.address is None:
            log.info("notification.forgotten_user", **context)
            return
        clients, mailer, _ = await self.ready()
        message = message_for(self.settings, envelope, email, addressee)
        if not await claim(clients.mysql, envelope.event_id, envelope.type, user_id):
            log.info("notification.already_sent", **context)
            return
        try:
            await self._send(mailer, message, context)
        except Exception:
            log.exception("notification.failed", **context)
            await mark(clients.mysql, envelope.event_id, "failed")
            return
        await mark(clients.mysql, envelope.event_id, "sent")
        log.info("notification.sent", **context)

    async def _send(self, mailer: Mailer, message: EmailMessage, context: dict) -> None:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                await mailer.send(message)
                return
            except MailUnavailable as error:
                if delay is None or self.should_stop:
                    raise
                log.warning("notification.transport_unavailable", retry_in_s=delay,
                            error=str(error), **context)
                await asyncio.sleep(delay)


def stale(envelope: EventEnvelope, now: datetime) -> bool:
    """Too old to send: its link has expired, or it happened more than `STALE_AFTER` ago."""
    expires_at: datetime | None = getattr(envelope.event(), "expires_at", None)
    return now - envelope.occurred_at > STALE_AFTER or bool(expires_at and expires_at <= now)


def message_for(settings: Settings, envelope: EventEnvelope, email: Email,
                addressee: Addressee) -> EmailMessage:
    """The email `envelope` calls for, to `addressee` (who has an address)."""
    event = envelope.event()
    token = None
    if email.order_token and addressee.guest_order is not None:
        token = order_token(settings, addressee.guest_order)
    if email.link_purpose is not None:
        token = link_token(settings, email.link_purpose,
                           event.user_id, event.request_id)  # type: ignore[attr-defined]
    assert addressee.address is not None
    return compose(email, event_id=envelope.event_id, sender=settings.mail_from,
                   to=addressee.address, name=addressee.name,
                   frontend_url=settings.frontend_url, event=event, token=token,
                   issued_at=envelope.occurred_at,
                   expires_at=getattr(event, "expires_at", None))


def remembered(envelope: EventEnvelope, kept: Mapping[str, Recipient]
               ) -> tuple[str, Recipient] | None:
    """The sealed address and name a user's later emails need, as `envelope` changes them
    (by user id); None when it changes neither."""
    if envelope.type == UserRegistered.type_name():
        registered = UserRegistered.model_validate(envelope.payload)
        return str(registered.user_id), Recipient(email=registered.email,
                                                  full_name=registered.full_name)
    if envelope.type == ProfileChanged.type_name():
        changed = ProfileChanged.model_validate(envelope.payload)
        current = kept.get(str(changed.user_id))
        if changed.full_name is not None and current is not None:
            return str(changed.user_id), Recipient(email=current.email,
                                                   full_name=changed.full_name)
    return None


def _agent(sender: Sender, find: FindAddressee, email_for: Callable[[str, dict], Email | None],
           remember: Callable[[EventEnvelope], None] = lambda envelope: None):
    """The agent body: each event's email, found by `find`; `remember` sees every event first."""

    async def handle(envelope: EventEnvelope) -> None:
        remember(envelope)
        email = email_for(envelope.type, envelope.payload)
        if email is not None:
            await sender.notify(envelope, email, find)

    # MySQL (or a socket) down is waited out; the claim in `notifications_sent` keeps a
    # retry from sending twice. A bad event must not stop every user's email: skipped.
    return follower("notification", handle, transient=(DBAPIError, OSError))


def register(app: faust.App, settings: Settings, build: Callable[[], Container],
             subscriptions: list[Subscription]) -> None:
    """Add an agent per `Mail` of `streams/system.py`, the recipients table and the sender."""

    recipients = app.Table("notification-recipients", key_type=str, value_type=Recipient,
                           default=None, partitions=settings.kafka_partitions)
    sender = Sender(settings, build)
    app.service(sender)

    def remember(envelope: EventEnvelope) -> None:
        """Keep the sealed address and name that later emails of the user need."""
        change = remembered(envelope, recipients)
        if change is not None:
            recipients[change[0]] = change[1]

    async def kept(envelope: EventEnvelope) -> Addressee | None:
        user_id: UUID = envelope.event().user_id  # type: ignore[attr-defined]
        return await sender.unsealed(user_id, recipients.get(str(user_id)))

    for subscription in subscriptions:
        mail = subscription.handler
        assert isinstance(mail, Mail)
        topics = app.topic(*subscription.topics, key_type=bytes, value_type=bytes,
                           key_serializer="raw", value_serializer="raw",
                           partitions=settings.kafka_partitions)
        if mail.addressed_from == "the user's events":
            body = _agent(sender, kept, mail.email_for, remember)
        else:
            body = _agent(sender, sender.customer, mail.email_for)
        app.agent(topics, name=subscription.name)(body)
