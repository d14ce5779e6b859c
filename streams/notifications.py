"""The notification sender: the emails that users' events call for.

| event                        | email                                   |
| ---------------------------- | --------------------------------------- |
| `UserRegistered`             | welcome                                 |
| `EmailVerificationRequested` | the link `{frontend_url}/verify-email`  |
| `PasswordResetRequested`     | the link `{frontend_url}/reset-password`|

A Faust agent reads `shopstream.users.events` (this role runs `at_least_once`).
The address and the name come, sealed, only in `UserRegistered` (and a new name
in `ProfileChanged`), so the agent keeps them per user in a table keyed by user
id, co-partitioned with the events (all of one user's events have its id as
key; `EmailClaimed`, keyed by the email key, is ignored). They are unsealed only
when an email is made; a user who has been forgotten gets nothing. A link's
token is made again from the event's request id (`infra.security.link_token`);
the events hold only its hash.

AT MOST ONCE per event, across restarts and redeliveries: before sending, the
event's row is inserted into `notifications_sent` with status `sending`
(`INSERT IGNORE`); if it was there already the email is not sent again. After
the transport takes the message the row becomes `sent` (or `failed`). A crash
between the insert and the send therefore loses that one email rather than
sending it twice: a duplicate password-reset or verification email is worse
than a missing one, which the user can ask for again.

Events replayed long after the fact send nothing: a link that has expired, or
any email whose event is older than `STALE_AFTER` (e.g. a new worker reading
the topic from its beginning must not greet every past customer).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path
from urllib.parse import urlencode
from uuid import UUID

import faust
import jinja2
import mode
import structlog
from sqlalchemy.exc import DBAPIError

from infra.bootstrap import Clients, build_clients
from infra.database import create_tables
from infra.mail import Mailer, MailUnavailable, build_mailer, claim, mark
from infra.security import link_token
from infra.settings import Settings
from schemas.envelope import EventEnvelope
from schemas.events.users import (
    EmailVerificationRequested,
    PasswordResetRequested,
    ProfileChanged,
    UserRegistered,
)
from schemas.topics import USERS

log = structlog.get_logger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
# An email whose event is older than this is not sent any more.
STALE_AFTER = timedelta(days=1)
# While the transport is unreachable, retry this often (the partition waits meanwhile).
RETRY_DELAYS_S = (1, 2, 5, 10, 30, 30, 30, 60, 60, 60)
# While MySQL is unreachable, retry an event this often before giving up on it.
UNAVAILABLE_DELAYS_S = (1, 2, 5, 10, 30, *(60,) * 30)


@dataclass(frozen=True)
class Email:
    """One kind of email: its templates (`<template>.txt` and `.html`), subject and link."""

    template: str
    subject: str
    link_path: str | None = None
    link_purpose: str | None = None  # the `purpose` of `infra.security.link_token`


# Event type -> the email it calls for: the one place to look for what is sent when.
EMAILS: dict[str, Email] = {
    UserRegistered.type_name(): Email("welcome", "Welcome to shopstream"),
    EmailVerificationRequested.type_name(): Email(
        "verify_email", "Confirm your email address", "/verify-email", "verify"),
    PasswordResetRequested.type_name(): Email(
        "password_reset", "Reset your shopstream password", "/reset-password", "reset"),
}


# --- composing (pure) -------------------------------------------------------------------------

@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Personal data (the name) is escaped in HTML; the text part is plain text.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def load_templates() -> None:
    """Read and compile every template now (it reads files: call it off the event loop)."""
    environment = _environment()
    for email in EMAILS.values():
        environment.get_template(f"{email.template}.txt")
        environment.get_template(f"{email.template}.html")


def link(frontend_url: str, path: str, token: str) -> str:
    return f"{frontend_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def duration(delta: timedelta) -> str:
    """`7 days`, `30 minutes`, `1 hour`: the largest whole unit, rounded."""
    seconds = max(delta.total_seconds(), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"


def compose(email: Email, *, event_id: UUID, sender: str, to: str, name: str,
            frontend_url: str, token: str | None = None, issued_at: datetime | None = None,
            expires_at: datetime | None = None) -> EmailMessage:
    """The email as multipart/alternative: a plain-text part, then an HTML part."""
    name = " ".join(name.split())  # no line breaks in a header or a greeting
    context: dict = {"subject": email.subject, "name": name,
                     "shop_url": frontend_url.rstrip("/") + "/"}
    if email.link_path is not None:
        if token is None or issued_at is None or expires_at is None:
            raise ValueError(f"the {email.template} email needs a token and its lifetime")
        context |= {
            "link": link(frontend_url, email.link_path, token),
            "lifetime": duration(expires_at - issued_at),
            "expires": expires_at.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC"),
        }
    environment = _environment()
    text = environment.get_template(f"{email.template}.txt").render(context)
    html = environment.get_template(f"{email.template}.html").render(context)

    message = EmailMessage()
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = Address(display_name=name, addr_spec=to)
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "shopstream.local"
    # Derived from the event: a receiver that sees the same message twice can tell.
    message["Message-ID"] = f"<{event_id}@{domain}>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


# --- sending (I/O) ----------------------------------------------------------------------------

class Recipient(faust.Record, serializer="json"):
    """A user's address and name, both still sealed with the user's key."""

    email: str
    full_name: str


class Sender(mode.Service):
    """Makes and sends one event's email; builds its clients once, on first use."""

    def __init__(self, settings: Settings, **kwargs) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self._clients: Clients | None = None
        self._mailer: Mailer | None = None
        self._lock = asyncio.Lock()

    async def ready(self) -> tuple[Clients, Mailer]:
        async with self._lock:
            if self._clients is None or self._mailer is None:
                clients = build_clients(self.settings)
                try:
                    await create_tables(clients.mysql)
                    await asyncio.to_thread(load_templates)
                except BaseException:
                    await clients.close()
                    raise
                self._clients, self._mailer = clients, build_mailer(self.settings)
            return self._clients, self._mailer

    async def on_stop(self) -> None:
        if self._mailer is not None:
            await self._mailer.close()
        if self._clients is not None:
            await self._clients.close()
        self._clients = self._mailer = None

    async def notify(self, envelope: EventEnvelope, recipient: Recipient | None) -> None:
        email = EMAILS[envelope.type]
        event = envelope.event()
        user_id: UUID = event.user_id  # type: ignore[attr-defined]
        context = {"event_id": str(envelope.event_id), "type": envelope.type,
                   "user_id": str(user_id)}
        now = datetime.now(UTC)
        expires_at: datetime | None = getattr(event, "expires_at", None)
        if now - envelope.occurred_at > STALE_AFTER or (expires_at and expires_at <= now):
            log.info("notification.stale", **context)
            return
        if recipient is None:
            log.warning("notification.no_recipient", **context)
            return
        clients, mailer = await self.ready()
        subject = str(user_id)
        address = await clients.keys.unseal(subject, recipient.email)
        name = await clients.keys.unseal(subject, recipient.full_name)
        if address is None or name is None:
            log.info("notification.forgotten_user", **context)
            return
        token = None
        if email.link_purpose is not None:
            token = link_token(self.settings, email.link_purpose, user_id,
                               event.request_id)  # type: ignore[attr-defined]
        message = compose(email, event_id=envelope.event_id, sender=self.settings.mail_from,
                          to=address, name=name, frontend_url=self.settings.frontend_url,
                          token=token, issued_at=envelope.occurred_at, expires_at=expires_at)
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


def register(app: faust.App, settings: Settings) -> None:
    """Add the notification agent, its recipients table and its sender to `app`."""
    events = app.topic(USERS.events.name, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw",
                       partitions=settings.kafka_partitions)
    recipients = app.Table("notification-recipients", key_type=str, value_type=Recipient,
                           default=None, partitions=settings.kafka_partitions)
    sender = Sender(settings)
    app.service(sender)

    def remember(envelope: EventEnvelope) -> None:
        """Keep the sealed address and name that later emails of the user need."""
        if envelope.type == UserRegistered.type_name():
            registered = UserRegistered.model_validate(envelope.payload)
            recipients[str(registered.user_id)] = Recipient(email=registered.email,
                                                            full_name=registered.full_name)
        elif envelope.type == ProfileChanged.type_name():
            changed = ProfileChanged.model_validate(envelope.payload)
            current = recipients.get(str(changed.user_id))
            if changed.full_name is not None and current is not None:
                recipients[str(changed.user_id)] = Recipient(email=current.email,
                                                             full_name=changed.full_name)

    async def process(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            where = {"topic": message.topic, "partition": message.partition,
                     "offset": message.offset}
            try:
                envelope = EventEnvelope.from_bytes(message.value)
            except ValueError as error:
                log.error("notification.unreadable_event", error=str(error), **where)
                continue
            for delay in (*UNAVAILABLE_DELAYS_S, None):
                try:
                    remember(envelope)
                    if envelope.type in EMAILS:
                        user_id = str(envelope.payload.get("user_id"))
                        await sender.notify(envelope, recipients.get(user_id))
                    break
                except (DBAPIError, OSError) as error:
                    # MySQL (or a socket) is down: wait and try the event again; the claim
                    # in `notifications_sent` keeps a retry from sending twice.
                    if delay is None:
                        log.exception("notification.event_failed", type=envelope.type,
                                      event_id=str(envelope.event_id), **where)
                        break
                    log.warning("notification.unavailable", error=str(error),
                                retry_in_s=delay, **where)
                    await asyncio.sleep(delay)
                except Exception:
                    # A bad event must not stop every user's email: logged, skipped.
                    log.exception("notification.event_failed", type=envelope.type,
                                  event_id=str(envelope.event_id), **where)
                    break

    app.agent(events, name="notification-sender")(process)
