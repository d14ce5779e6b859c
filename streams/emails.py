"""What each event's email says: `EMAILS`, the one table of which event sends which email,
and composing it.

Users' events send the welcome and the links to verify an address or reset a
password; orders' and payments' events send the confirmation, the cancellation,
the receipt and the tracking emails, and each step of a return (requested, approved,
rejected with the reason, refunded with the amount). A `FulfilmentRecorded` is looked up with its
status (`email_for`): shipped, out for delivery and delivered each have an email,
packed has none. Every email has a plain-text and an HTML part
(`streams/templates/<template>.txt` and `.html`); only the HTML part is escaped.
Amounts are written by `money` alone. Composing is pure: no I/O but reading the
templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import jinja2

from schemas.events.orders import FulfilmentRecorded, OrderCancelled, OrderConfirmed
from schemas.events.payments import ReceiptIssued
from schemas.events.returns import ReturnApproved, ReturnRefunded, ReturnRejected, ReturnRequested
from schemas.events.users import (
    EmailVerificationRequested,
    PasswordResetRequested,
    UserRegistered,
)
from schemas.messages import Event
from schemas.money import Money

TEMPLATES = Path(__file__).parent / "templates"
ORDER_PATH = "/orders/{order_id}"


@dataclass(frozen=True)
class Email:
    """One kind of email: its templates (`<template>.txt` and `.html`), subject and link.

    `subject` and `link_path` may name fields of the event (`{receipt_number}`); a link
    with a `link_purpose` (of `infra.security.link_token`) carries a one-time token.
    """

    template: str
    subject: str
    link_path: str | None = None
    link_purpose: str | None = None
    # A guest's copy links with the order token: the one email that hands it over.
    order_token: bool = False


def _shipment(status: str) -> str:
    return f"{FulfilmentRecorded.type_name()}:{status}"


# Event type -> the email it calls for: the one place to look for what is sent when.
EMAILS: dict[str, Email] = {
    UserRegistered.type_name(): Email("welcome", "Welcome to shopstream"),
    EmailVerificationRequested.type_name(): Email(
        "verify_email", "Confirm your email address", "/verify-email", "verify"),
    PasswordResetRequested.type_name(): Email(
        "password_reset", "Reset your shopstream password", "/reset-password", "reset"),
    OrderConfirmed.type_name(): Email("order_confirmed", "Your order is confirmed", ORDER_PATH,
                                      order_token=True),
    OrderCancelled.type_name(): Email("order_cancelled", "Your order was cancelled",
                                      ORDER_PATH),
    ReceiptIssued.type_name(): Email("receipt", "Your receipt {receipt_number}", ORDER_PATH),
    _shipment("shipped"): Email("order_tracking", "Your order is on its way", ORDER_PATH),
    _shipment("out_for_delivery"): Email("order_tracking", "Your order is out for delivery",
                                         ORDER_PATH),
    _shipment("delivered"): Email("order_tracking", "Your order was delivered", ORDER_PATH),
    ReturnRequested.type_name(): Email("return_requested", "We have your return request",
                                       ORDER_PATH),
    ReturnApproved.type_name(): Email("return_approved", "Your return is approved", ORDER_PATH),
    ReturnRejected.type_name(): Email("return_rejected", "Your return was not accepted",
                                      ORDER_PATH),
    ReturnRefunded.type_name(): Email("return_refunded", "Your return was received and "
                                                         "refunded", ORDER_PATH),
}


def email_for(event_type: str, payload: dict[str, Any]) -> Email | None:
    """The email an event calls for, or None."""
    if event_type == FulfilmentRecorded.type_name():
        return EMAILS.get(_shipment(str(payload.get("status"))))
    return EMAILS.get(event_type)


# --- formatting --------------------------------------------------------------------------------

# The currencies whose minor unit is not a hundredth, and the symbols written before amounts.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3}
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(value: Money) -> str:
    """`€12.34`, `€1,250.00`, `CHF 0.05`: integer minor units in major units, exactly."""
    digits = _MINOR_DIGITS.get(value.currency, 2)
    major, minor = divmod(value.amount, 10 ** digits)
    number = f"{major:,}" + (f".{minor:0{digits}d}" if digits else "")
    symbol = _SYMBOLS.get(value.currency)
    return f"{symbol}{number}" if symbol else f"{value.currency} {number}"


def label(value: str) -> str:
    """`bank_transfer` -> `Bank transfer`."""
    return value.replace("_", " ").capitalize()


def duration(delta: timedelta) -> str:
    """`7 days`, `30 minutes`, `1 hour`: the largest whole unit, rounded."""
    seconds = max(delta.total_seconds(), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"


def link(frontend_url: str, path: str, token: str | None = None) -> str:
    url = f"{frontend_url.rstrip('/')}{path}"
    return url if token is None else f"{url}?{urlencode({'token': token})}"


# --- composing ---------------------------------------------------------------------------------

@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Personal data (the name) is escaped in HTML; the text part is plain text.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters |= {"money": money, "label": label}
    return environment


def load_templates() -> None:
    """Read and compile every template now (it reads files: call it off the event loop)."""
    environment = _environment()
    for name in environment.list_templates():
        environment.get_template(name)


def compose(email: Email, *, event_id: UUID, sender: str, to: str, name: str,
            frontend_url: str, event: Event | None = None, token: str | None = None,
            issued_at: datetime | None = None,
            expires_at: datetime | None = None) -> EmailMessage:
    """The email as multipart/alternative: a plain-text part, then an HTML part.

    `event` is what the templates show (as `event`); `issued_at` is when it happened.
    """
    name = " ".join(name.split())  # no line breaks in a header or a greeting
    fields = event.model_dump() if event is not None else {}
    subject = email.subject.format_map(fields)
    context: dict[str, Any] = {"subject": subject, "name": name, "event": event,
                               "shop_url": frontend_url.rstrip("/") + "/"}
    if issued_at is not None:
        day = issued_at.astimezone(UTC)
        context["issued_on"] = f"{day.day} {day:%B %Y}"
    if email.link_purpose is not None:
        if token is None or issued_at is None or expires_at is None:
            raise ValueError(f"the {email.template} email needs a token and its lifetime")
        context |= {
            "lifetime": duration(expires_at - issued_at),
            "expires": expires_at.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC"),
        }
    if email.link_path is not None:
        context["link"] = link(frontend_url, email.link_path.format_map(fields), token)
    environment = _environment()
    text = environment.get_template(f"{email.template}.txt").render(context)
    html = environment.get_template(f"{email.template}.html").render(context)

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = Address(display_name=name, addr_spec=to)
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "shopstream.local"
    # Derived from the event: a receiver that sees the same message twice can tell.
    message["Message-ID"] = f"<{event_id}@{domain}>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
