"""The notification emails as rendered: parts, escaping, links, lifetimes, no stray personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import uuid4

import pytest

from streams.emails import EMAILS, Email, compose, duration

ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADDRESS = "ada.private@example.com"
FRONTEND = "https://shop.example"
TOKEN = "AbC-123_xyz"
SCRIPT_NAME = '<script>alert("x")</script> & Co'

WELCOME = EMAILS["UserRegistered"]
VERIFY = EMAILS["EmailVerificationRequested"]
RESET = EMAILS["PasswordResetRequested"]


def render(email: Email, name: str = "Ada Lovelace",
           lifetime: timedelta = timedelta(days=7)) -> EmailMessage:
    return compose(email, event_id=uuid4(), sender="shopstream <no-reply@shop.example>",
                   to=ADDRESS, name=name, frontend_url=FRONTEND,
                   token=TOKEN if email.link_purpose else None, issued_at=ISSUED,
                   expires_at=ISSUED + lifetime)


def parts(message: EmailMessage) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


@pytest.mark.parametrize("email", [WELCOME, VERIFY, RESET])
def test_every_email_has_a_text_and_an_html_part(email: Email) -> None:
    message = render(email)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == email.subject
    assert message["To"].addresses[0].addr_spec == ADDRESS
    text, html = parts(message)
    assert "Hello Ada Lovelace," in text
    assert "Hello Ada Lovelace," in html
    assert html.lstrip().startswith("<!doctype html>")


@pytest.mark.parametrize("email", [WELCOME, VERIFY, RESET])
def test_the_name_is_escaped_in_html(email: Email) -> None:
    text, html = parts(render(email, name=SCRIPT_NAME))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert SCRIPT_NAME in text  # plain text is not HTML: shown as typed


@pytest.mark.parametrize(("email", "path"), [(VERIFY, "/verify-email"),
                                             (RESET, "/reset-password")])
def test_the_link_holds_the_token(email: Email, path: str) -> None:
    text, html = parts(render(email))
    link = f"{FRONTEND}{path}?token={TOKEN}"
    assert link in text
    assert f'href="{link}"' in html


@pytest.mark.parametrize(("email", "lifetime", "said"), [
    (VERIFY, timedelta(days=7), "7 days"),
    (RESET, timedelta(minutes=30), "30 minutes"),
    (RESET, timedelta(hours=1), "1 hour"),
])
def test_the_link_lifetime_is_stated(email: Email, lifetime: timedelta, said: str) -> None:
    text, html = parts(render(email, lifetime=lifetime))
    until = (ISSUED + lifetime).strftime("%d %B %Y, %H:%M UTC")
    assert f"for {said}, until {until}" in text
    assert f"for {said}, until {until}" in html


@pytest.mark.parametrize("email", [WELCOME, VERIFY, RESET])
def test_no_personal_data_but_the_name_is_in_the_body(email: Email) -> None:
    message = render(email, name="Ada Lovelace")
    for body in parts(message):
        assert ADDRESS not in body and "ada.private" not in body
    headers = "".join(f"{k}: {v}\n" for k, v in message.items())
    # The address is only where it must be: the recipient.
    assert headers.count(ADDRESS) == 1 and f"<{ADDRESS}>" in str(message["To"])


def test_a_name_cannot_add_header_lines() -> None:
    message = render(WELCOME, name="Eve\r\nBcc: victim@example.com")
    assert message["Bcc"] is None
    assert "\nBcc:" not in message.as_string()


def test_link_emails_need_a_token() -> None:
    with pytest.raises(ValueError):
        compose(VERIFY, event_id=uuid4(), sender="a@b.c", to=ADDRESS, name="Ada",
                frontend_url=FRONTEND)


@pytest.mark.parametrize(("delta", "said"), [
    (timedelta(days=7), "7 days"), (timedelta(days=1), "1 day"), (timedelta(hours=3), "3 hours"),
    (timedelta(minutes=30), "30 minutes"), (timedelta(seconds=20), "less than a minute"),
    (timedelta(days=7, seconds=-1), "7 days"),
])
def test_duration(delta: timedelta, said: str) -> None:
    assert duration(delta) == said
