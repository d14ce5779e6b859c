"""Payment provider webhooks over HTTP: only a valid Stripe signature gets a notice in.

Whatever is refused must send no command: the payments commands topic is read from
where it ended before the requests, and no command may name the test's payment.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from infra.payments.webhooks import signature_header
from infra.settings import Settings
from infra.topic_reader import TopicReader
from schemas.envelope import CommandEnvelope
from schemas.topics import PAYMENTS

URL = "/v1/payments/webhooks/stripe"


def stripe_event(payment_id: uuid.UUID, kind: str = "payment_intent.succeeded") -> bytes:
    return json.dumps({
        "id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": kind,
        "data": {"object": {"id": f"pi_{uuid.uuid4().hex[:24]}", "object": "payment_intent",
                            "amount": 2599, "amount_received": 2599, "currency": "eur",
                            "metadata": {"payment_id": str(payment_id)}}}}).encode()


def signed(body: bytes, secret: str, at: float | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "Stripe-Signature": signature_header(body, secret, int(at or time.time()))}


class CommandsTopic:
    """The payments commands sent after `start()`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ends = None

    async def start(self) -> None:
        async with TopicReader(self.settings, (PAYMENTS.commands.name,)) as reader:
            self.ends = (await reader.range()).end

    async def naming(self, payment_id: uuid.UUID) -> list[CommandEnvelope]:
        async with TopicReader(self.settings, (PAYMENTS.commands.name,)) as reader:
            sent = [CommandEnvelope.from_bytes(m.value)
                    async for batch in reader.read_messages(await reader.range(self.ends))
                    for m in batch if m.value is not None]
        return [c for c in sent if c.payload.get("payment_id") == str(payment_id)]


@pytest.fixture
async def commands(settings: Settings) -> CommandsTopic:
    topic = CommandsTopic(settings)
    await topic.start()
    return topic


async def test_a_notice_without_a_valid_signature_is_a_400_and_sends_nothing(
        gateway: httpx.AsyncClient, settings: Settings, commands: CommandsTopic) -> None:
    secret = settings.stripe_webhook_secret.get_secret_value()
    payment_id = uuid.uuid4()
    body = stripe_event(payment_id)
    refused = {
        "no signature": (body, {"Content-Type": "application/json"}),
        "another secret": (body, signed(body, "whsec_" + "0" * 48)),
        "a changed body": (body.replace(b"2599", b"2"), signed(body, secret)),
        "too old": (body, signed(body, secret, at=time.time() - 3600)),
        "garbage": (body, {"Stripe-Signature": "t=now,v1=zz"}),
    }
    for case, (content, headers) in refused.items():
        response = await gateway.post(URL, content=content, headers=headers)
        assert response.status_code == 400, (case, response.text)
        assert response.headers["content-type"] == "application/problem+json"

    # The same request with a valid signature gets past the check (a control for the
    # reads below): it is an event of no interest, acknowledged and ignored.
    ignored = stripe_event(payment_id, "charge.refund.updated")
    response = await gateway.post(URL, content=ignored, headers=signed(ignored, secret))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "ignored"

    assert await commands.naming(payment_id) == []


async def test_a_signed_notice_that_is_not_json_is_a_400(
        gateway: httpx.AsyncClient, settings: Settings) -> None:
    body = b"not json"
    response = await gateway.post(URL, content=body, headers=signed(
        body, settings.stripe_webhook_secret.get_secret_value()))
    assert response.status_code == 400


async def test_an_unknown_provider_is_a_404_and_sends_nothing(
        gateway: httpx.AsyncClient, settings: Settings, commands: CommandsTopic) -> None:
    payment_id = uuid.uuid4()
    body = stripe_event(payment_id)
    response = await gateway.post("/v1/payments/webhooks/paypal", content=body,
                                  headers=signed(body, settings.stripe_webhook_secret
                                                 .get_secret_value()))
    assert response.status_code == 404
    assert await commands.naming(payment_id) == []


async def test_a_redelivered_notice_is_one_command_and_an_unknown_payment_is_refused(
        gateway: httpx.AsyncClient, settings: Settings, commands: CommandsTopic) -> None:
    secret = settings.stripe_webhook_secret.get_secret_value()
    payment_id = uuid.uuid4()
    body = stripe_event(payment_id, "payment_intent.payment_failed")

    answers = [await gateway.post(URL, content=body, headers=signed(body, secret))
               for _ in range(2)]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        # Nothing to retry: Stripe must not redeliver it again and again.
        assert answer.json()["outcome"].startswith("refused"), answer.text
    sent = await commands.naming(payment_id)
    assert [c.type for c in sent] == ["FailPayment", "FailPayment"]
    assert len({c.command_id for c in sent}) == 1
    assert sent[0].actor == "provider:stripe"
