"""Sending email: one `Mailer` interface, over SMTP or Amazon SES, and the log of what was sent.

`build_mailer(settings)` picks the transport from `settings.mail_transport`:
`smtp` (the local mail sink in development, or any SMTP relay) or `ses` (Amazon
SES's `SendRawEmail`, through boto3, run in a thread since boto3 blocks).

`notifications_sent` records, per event, that an email was started and then
sent; the notification sender claims a row before it sends, so no event is
mailed twice (see `streams/notifications.py`).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Literal
from uuid import UUID

import aiosmtplib
from sqlalchemy import Column, String, Table, update
from sqlalchemy.dialects.mysql import DATETIME, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import metadata
from infra.settings import Settings

Status = Literal["sending", "sent", "failed"]

notifications_sent = Table(
    "notifications_sent",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
)


class MailUnavailable(Exception):
    """The transport could not take the message, and certainly did not send it: retry is safe."""


class Mailer(ABC):
    @abstractmethod
    async def send(self, message: EmailMessage) -> None:
        """Hand the message to the transport; raises `MailUnavailable` if it surely was not sent."""

    async def close(self) -> None:
        pass


class SmtpMailer(Mailer):
    """SMTP over one connection, kept while it answers.

    A checkout sends two emails, so a busy shop sends several a second: a connection
    per message cost its opening, greeting and goodbye each time, on both ends. A
    kept connection is checked with NOOP before each message and opened again if it
    does not answer (the relay closed it while idle, or went away), so a message
    is only ever started on a connection that has just answered.
    """

    def __init__(self, host: str, port: int, timeout_s: float = 30.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()  # one message at a time on the one connection

    async def send(self, message: EmailMessage) -> None:
        async with self._lock:
            smtp = await self._answering()
            try:
                await smtp.send_message(message)
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
                raise  # refused: the envelope was reset, the connection is still good
            except BaseException:
                # Cut off or timed out mid-message: it may have gone, so it is not retried,
                # and the connection, in a state no one knows, is not used again.
                self._drop()
                raise

    async def _answering(self) -> aiosmtplib.SMTP:
        if self._smtp is not None:
            try:
                await self._smtp.noop()
                return self._smtp
            except (aiosmtplib.SMTPException, OSError):
                self._drop()
        smtp = aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=self.timeout_s)
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, OSError) as error:
            # Refused, timed out or turned away before MAIL FROM: nothing went out.
            raise MailUnavailable(str(error)) from error
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    async def close(self) -> None:
        async with self._lock:
            if self._smtp is not None and self._smtp.is_connected:
                try:
                    await self._smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    pass
            self._drop()


class SesMailer(Mailer):
    """Amazon SES `SendRawEmail`; the client is made on first use, in a thread."""

    # Error codes SES answers before accepting a message.
    _RETRYABLE = {"Throttling", "ThrottlingException", "ServiceUnavailable"}

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url or None
        self._client = None
        self._lock = asyncio.Lock()

    async def _ses(self):
        async with self._lock:
            if self._client is None:
                import boto3  # slow to import: only processes that send through SES pay for it

                self._client = await asyncio.to_thread(
                    boto3.client, "ses", region_name=self.region, endpoint_url=self.endpoint_url)
            return self._client

    async def send(self, message: EmailMessage) -> None:
        from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

        client = await self._ses()
        recipients = [address for _, address in getaddresses(
            message.get_all("To", []) + message.get_all("Cc", []) + message.get_all("Bcc", []))
            if address]
        raw = message.as_bytes()
        try:
            await asyncio.to_thread(
                client.send_raw_email, Source=parseaddr(message["From"])[1],
                Destinations=recipients, RawMessage={"Data": raw})
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            raise MailUnavailable(str(error)) from error
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in self._RETRYABLE:
                raise MailUnavailable(str(error)) from error
            raise


def build_mailer(settings: Settings) -> Mailer:
    if settings.mail_transport == "smtp":
        return SmtpMailer(settings.smtp_host, settings.smtp_port)
    if settings.mail_transport == "ses":
        return SesMailer(settings.ses_region, settings.ses_endpoint_url)
    raise ValueError(f"SHOPSTREAM_MAIL_TRANSPORT must be smtp or ses, not "
                     f"{settings.mail_transport!r}")


async def claim(engine: AsyncEngine, event_id: UUID, type_: str, user_id: UUID) -> bool:
    """Record that the email of this event is being sent; False if it was started before."""
    async with engine.begin() as connection:
        result = await connection.execute(insert(notifications_sent).prefix_with("IGNORE").values(
            event_id=str(event_id), type=type_, user_id=str(user_id), status="sending",
            created_at=datetime.now(UTC).replace(tzinfo=None)))
    return result.rowcount == 1


async def mark(engine: AsyncEngine, event_id: UUID, status: Status) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(notifications_sent)
                                 .where(notifications_sent.c.event_id == str(event_id))
                                 .values(status=status))
