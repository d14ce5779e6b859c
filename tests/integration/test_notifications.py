"""The notifications worker mails what users' events call for, once; SES works too.

Against the running stack: sign-ups go through the gateway, the emails are read
back from the mail sink's MailHog API. The SES path runs against `moto_server`,
a fake of Amazon's service (an outside party we do not run).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import TopicPartition
from sqlalchemy import select

from infra.clients import Clients
from infra.mail import SesMailer, notifications_sent
from infra.security import token_hash, token_user
from infra.settings import Settings
from ops.stack.manager import Stack
from schemas.topics import USERS
from streams.emails import EMAILS, duration
from tests.mail_support import mails_to, read_again, subjects, wait_for_mails
from tests.support import read_events, sign_up, unique_email

WELCOME = EMAILS["UserRegistered"].subject
VERIFY = EMAILS["EmailVerificationRequested"].subject


async def user_events(settings: Settings, user_id: UUID):
    return [(partition, offset, event)
            for partition, offset, event in await read_events(settings, USERS.events.name)
            if event.aggregate_id == str(user_id)]


@pytest.fixture(scope="module")
async def newcomer(gateway: httpx.AsyncClient, settings: Settings) -> dict:
    """A new account, and the emails it was sent."""
    address = unique_email("mail")
    response = await sign_up(gateway, address, full_name="Ada <b>Lovelace</b>")
    assert response.status_code == 201, response.text
    mails = await wait_for_mails(settings, address, [WELCOME, VERIFY])
    return {"id": UUID(response.json()["id"]), "email": address, "mails": mails}


async def test_a_sign_up_gets_one_welcome_and_one_verification_email(
        newcomer: dict, settings: Settings) -> None:
    mails = newcomer["mails"]
    assert subjects(mails) == sorted([WELCOME, VERIFY])
    for mail in mails:
        assert mail.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
        assert newcomer["email"] in str(mail["To"])
        html = mail.get_body(("html",)).get_content()
        # The name is personal data from the user: escaped in HTML.
        assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html and "<b>Lovelace" not in html
        assert "Ada <b>Lovelace</b>" in mail.get_body(("plain",)).get_content()


async def test_the_verification_link_carries_the_token_whose_hash_is_in_the_event(
        newcomer: dict, settings: Settings) -> None:
    mail = next(m for m in newcomer["mails"] if m["Subject"] == VERIFY)
    text = mail.get_body(("plain",)).get_content()
    url = next(word for word in text.split() if "/verify-email?" in word)
    assert url.startswith(f"{settings.frontend_url}/verify-email?")
    token = parse_qs(urlparse(url).query)["token"][0]
    assert token_user(token) == newcomer["id"]
    assert url in mail.get_body(("html",)).get_content()

    requested = [e for _, _, e in await user_events(settings, newcomer["id"])
                 if e.type == "EmailVerificationRequested"]
    assert len(requested) == 1
    assert requested[0].payload["token_hash"] == token_hash(token)
    lifetime = duration(timedelta(seconds=settings.verification_link_ttl_s))
    assert f"works for {lifetime}" in text  # from the event's expires_at


@pytest.mark.destructive
async def test_a_restarted_worker_that_reads_the_events_again_sends_nothing_twice(
        newcomer: dict, stack: Stack, settings: Settings, gateway: httpx.AsyncClient,
        clients: Clients) -> None:
    events = await user_events(settings, newcomer["id"])
    partitions = {p for p, _, _ in events}
    assert len(partitions) == 1
    partition = partitions.pop()
    first, last = min(o for _, o, _ in events), max(o for _, o, _ in events)
    tp = TopicPartition(USERS.events.name, partition)
    await read_again(stack, settings, {tp: (first, last)})
    # The worker has read the first user's events again, and mails new ones.
    second = unique_email("mail")
    assert (await sign_up(gateway, second)).status_code == 201
    assert subjects(await wait_for_mails(settings, second, [WELCOME, VERIFY])) == sorted(
        [WELCOME, VERIFY])

    assert subjects(await mails_to(settings, newcomer["email"])) == sorted([WELCOME, VERIFY])
    async with clients.mysql.connect() as connection:
        rows = (await connection.execute(
            select(notifications_sent.c.type, notifications_sent.c.status)
            .where(notifications_sent.c.user_id == str(newcomer["id"])))).all()
    assert sorted(rows) == [("EmailVerificationRequested", "sent"), ("UserRegistered", "sent")]


async def test_mail_goes_on_after_the_mail_relay_restarts(
        newcomer: dict, stack: Stack, settings: Settings, gateway: httpx.AsyncClient) -> None:
    # The worker keeps its connection to the relay between emails (the newcomer's were
    # sent on it); a restarted relay has closed it, and the next email opens another.
    relay = stack.select(["mailsink"])
    await asyncio.to_thread(stack.down, relay)
    await asyncio.to_thread(stack.up, relay)

    later = unique_email("mail")
    assert (await sign_up(gateway, later)).status_code == 201
    assert subjects(await wait_for_mails(settings, later, [WELCOME, VERIFY])) == sorted(
        [WELCOME, VERIFY])


# --- Amazon SES, through moto_server -----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def moto_ses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A moto_server on a free loopback port, and dummy AWS credentials for it."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    log = (tmp_path / "moto.log").open("wb")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/moto-api/data.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert process.poll() is None, (tmp_path / "moto.log").read_text()
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def test_ses_mailer_sends_the_raw_message(moto_ses: str) -> None:
    import boto3

    sender = "no-reply@shopstream.example"
    boto3.client("ses", region_name="eu-west-1",
                 endpoint_url=moto_ses).verify_email_identity(EmailAddress=sender)
    subject = f"SES test {uuid4().hex[:8]}"
    message = EmailMessage()
    message["From"] = f"shopstream <{sender}>"
    message["To"] = "Grace <grace@example.com>"
    message["Subject"] = subject
    message.set_content("plain")
    message.add_alternative("<p>html</p>", subtype="html")

    mailer = SesMailer("eu-west-1", moto_ses)
    await mailer.send(message)
    await mailer.close()

    async with httpx.AsyncClient() as http:
        data = (await http.get(f"{moto_ses}/moto-api/data.json")).json()
    sent = data["ses"]["RawMessage"]
    assert len(sent) == 1
    assert sent[0]["source"] == sender
    assert "grace@example.com" in sent[0]["raw_data"]
    assert f"Subject: {subject}" in sent[0]["raw_data"]
