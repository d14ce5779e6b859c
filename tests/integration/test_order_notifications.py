"""The emails of checkout, sent once each from the orders and payments events.

Against the running stack: a customer signs up through the gateway; an order's
history and a receipt are produced straight to the real events topics, in one
Kafka transaction, and the notifications worker's emails are read back from the
mail sink. The history starts with `OrderPlaced`, as every order's does, so the
orders processor can fold it when it rebuilds its state. The receipt goes into a
book no real receipt uses, so the shop's gap-free numbering is left alone.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import select

from commands.orders import payment_id_for
from infra.clients import Clients
from infra.mail import notifications_sent
from infra.settings import Settings
from ops.stack.manager import Stack
from schemas.envelope import EventEnvelope
from schemas.events.orders import (
    FulfilmentRecorded,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    Totals,
)
from schemas.events.payments import ReceiptIssued
from schemas.messages import Event
from schemas.money import Money
from schemas.topics import ORDERS, PAYMENTS
from tests.mail_support import (
    mails_to,
    read_again,
    subjects,
    wait_for_mails,
)
from tests.support import log_in, shopstream, sign_up, unique_email

TEST_BOOK = "receipts-9999"
CONFIRMED = "Your order is confirmed"
SHIPPED = "Your order is on its way"
CANCELLED = "Your order was cancelled"


def envelope(event: Event, aggregate_id: UUID | str, version: int) -> EventEnvelope:
    """An event as the command processors wrap it (`commands/handling.py`), with a new id."""
    cause = uuid4()
    return EventEnvelope(event_id=uuid4(), type=event.type_name(),
                         schema_version=event.schema_version, aggregate_id=str(aggregate_id),
                         aggregate_version=version, occurred_at=datetime.now(UTC),
                         correlation_id=cause, causation_id=cause, actor=None,
                         payload=event.model_dump(mode="json"))


async def produce(settings: Settings, records: list[tuple[str, EventEnvelope]]
                  ) -> list[tuple[TopicPartition, int]]:
    """Append the events to their topics, keyed by aggregate, all or none; where each went."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                enable_idempotence=True,
                                transactional_id=f"test-order-notifications-{uuid4()}")
    await producer.start()
    try:
        async with producer.transaction():
            sent = [await producer.send(topic, key=event.aggregate_id.encode(),
                                        value=event.to_bytes()) for topic, event in records]
        written = [await future for future in sent]
    finally:
        await producer.stop()
    return [(TopicPartition(m.topic, m.partition), m.offset) for m in written]


LINES = [OrderLine(product_id=uuid4(), sku="TEA-1", name="Earl Grey & <Lemon>",
                   unit_price=Money(amount=1234), quantity=2, line_total=Money(amount=2468)),
         OrderLine(product_id=uuid4(), sku="MUG-1", name="Mug", unit_price=Money(amount=999),
                   quantity=1, line_total=Money(amount=999))]
TOTALS = Totals(subtotal=Money(amount=3467), shipping=Money(amount=490),
                tax=Money(amount=660), total=Money(amount=3957))


async def customer(gateway: httpx.AsyncClient, full_name: str) -> tuple[UUID, str]:
    """A new account, signed in: the users read model, where the worker looks, has it."""
    address = unique_email("orders")
    created = await sign_up(gateway, address, full_name=full_name)
    assert created.status_code == 201, created.text
    await log_in(gateway, address, consistency_token=created.headers["X-Consistency-Token"])
    return UUID(created.json()["id"]), address


async def placed(clients: Clients, user_id: UUID, order_id: UUID) -> EventEnvelope:
    """The first event of every order, with its address sealed as checkout seals it."""
    address = await clients.keys.seal(str(user_id), json.dumps({
        "full_name": "Grace Hopper", "line1": "1 Navy Way", "line2": None, "city": "Arlington",
        "postal_code": "22202", "country": "US"}))
    return envelope(OrderPlaced(order_id=order_id, user_id=user_id,
                                payment_id=payment_id_for(order_id), lines=LINES, totals=TOTALS,
                                shipping_address=address, payment_method="card"), order_id, 1)


def confirmed(user_id: UUID, order_id: UUID) -> EventEnvelope:
    return envelope(OrderConfirmed(order_id=order_id, user_id=user_id,
                                   payment_id=payment_id_for(order_id), lines=LINES,
                                   totals=TOTALS, payment_method="card"), order_id, 2)


async def history(clients: Clients, user_id: UUID) -> dict[str, EventEnvelope]:
    """Two orders of one customer: one confirmed, paid and shipped; one cancelled unpaid."""
    shipped_id, cancelled_id = uuid4(), uuid4()
    payment_id = payment_id_for(shipped_id)
    number = f"{TEST_BOOK.removeprefix('receipts-')}-{random.randrange(10**11, 10**12)}"
    return {
        "placed": await placed(clients, user_id, shipped_id),
        "confirmed": confirmed(user_id, shipped_id),
        "receipt": envelope(ReceiptIssued(
            book=TEST_BOOK, receipt_number=number, payment_id=payment_id, order_id=shipped_id,
            user_id=user_id, lines=LINES, totals=TOTALS, payment_method="card",
            card_last4="4242"), TEST_BOOK, 1),
        "shipped": envelope(FulfilmentRecorded(
            order_id=shipped_id, user_id=user_id, status="shipped", carrier="DHL",
            tracking_number="JD014600003SE", payment_id=payment_id), shipped_id, 3),
        "other placed": await placed(clients, user_id, cancelled_id),
        "cancelled": envelope(OrderCancelled(
            order_id=cancelled_id, user_id=user_id, cancelled_by="stock",
            reason="Sorry, the Mug <XL> is sold out.",
            product_ids=[line.product_id for line in LINES]), cancelled_id, 2),
    }


@pytest.fixture(scope="module")
async def checkout(gateway: httpx.AsyncClient, settings: Settings, clients: Clients) -> dict:
    """A customer, the events of their orders, and the emails they were sent."""
    user_id, address = await customer(gateway, "Grace <i>Hopper</i>")
    events = await history(clients, user_id)
    positions = await produce(settings, [
        (PAYMENTS.events.name if key == "receipt" else ORDERS.events.name, event)
        for key, event in events.items()])
    receipt = f"Your receipt {events['receipt'].payload['receipt_number']}"
    mails = await wait_for_mails(settings, address, [CONFIRMED, receipt, SHIPPED, CANCELLED])
    return {"email": address, "events": events, "receipt": receipt, "positions": positions,
            "mails": {str(m["Subject"]): m for m in mails}, "all": mails}


def bodies(mail) -> tuple[str, str]:
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


async def test_each_event_sends_its_email_once(checkout: dict, settings: Settings,
                                               clients: Clients) -> None:
    assert subjects(checkout["all"]) == sorted(
        ["Welcome to shopstream", "Confirm your email address", CONFIRMED, checkout["receipt"],
         SHIPPED, CANCELLED])
    events = checkout["events"]
    mailed = [events[k].event_id for k in ("confirmed", "receipt", "shipped", "cancelled")]
    async with clients.mysql.connect() as connection:
        rows = (await connection.execute(
            select(notifications_sent.c.event_id, notifications_sent.c.status)
            .where(notifications_sent.c.event_id.in_([str(i) for i in mailed])))).all()
    assert sorted(rows) == sorted((str(i), "sent") for i in mailed)
    for mail in checkout["all"]:
        assert mail.get_content_type() == "multipart/alternative"
        html = bodies(mail)[1]
        assert "Grace &lt;i&gt;Hopper&lt;/i&gt;" in html and "<i>Hopper" not in html


async def test_the_confirmation_lists_the_order(checkout: dict, settings: Settings) -> None:
    text, html = bodies(checkout["mails"][CONFIRMED])
    order_id = checkout["events"]["confirmed"].payload["order_id"]
    assert "Hello Grace <i>Hopper</i>," in text
    for said in ("2 × Earl Grey & <Lemon>: €24.68", "1 × Mug: €9.99", "Subtotal: €34.67",
                 "Shipping: €4.90", "Total: €39.57", "VAT included: €6.60",
                 f"{settings.frontend_url}/orders/{order_id}"):
        assert said in text
    assert "Earl Grey &amp; &lt;Lemon&gt;" in html and "<Lemon>" not in html


async def test_the_receipt_has_its_number_amounts_and_card(checkout: dict) -> None:
    event = checkout["events"]["receipt"]
    text, html = bodies(checkout["mails"][checkout["receipt"]])
    issued = event.occurred_at
    for body in (text, html):
        assert f"Receipt {event.payload['receipt_number']}" in body
        assert f"{issued.day} {issued:%B %Y}" in body
        assert "Payment: Card ending in 4242" in body
        for amount in ("€24.68", "€9.99", "€34.67", "€4.90", "€6.60", "€39.57"):
            assert amount in body


async def test_the_shipping_email_has_the_tracking_number(checkout: dict) -> None:
    for body in bodies(checkout["mails"][SHIPPED]):
        assert "DHL" in body and "JD014600003SE" in body


async def test_the_cancellation_gives_the_reason_and_keeps_the_cart(checkout: dict) -> None:
    text, html = bodies(checkout["mails"][CANCELLED])
    assert "Sorry, the Mug <XL> is sold out." in text
    assert "Sorry, the Mug &lt;XL&gt; is sold out." in html
    for body in (text, html):
        assert "Your cart still holds the items" in body


async def test_a_forgotten_customer_is_sent_nothing(gateway: httpx.AsyncClient,
                                                    settings: Settings, clients: Clients) -> None:
    user_id, address = await customer(gateway, "Forgotten Customer")
    canary_id, canary_address = await customer(gateway, "Canary Customer")
    order_id = uuid4()
    events = [await placed(clients, user_id, order_id), confirmed(user_id, order_id)]
    shopstream("forget", str(user_id))
    # Behind them in the same partition (same key), an email that does go out: once it has
    # arrived, the worker has dealt with the forgotten customer's event.
    canary = envelope(OrderConfirmed(order_id=order_id, user_id=canary_id,
                                     payment_id=payment_id_for(order_id), lines=LINES,
                                     totals=TOTALS, payment_method="card"), order_id, 3)
    await produce(settings, [(ORDERS.events.name, e) for e in [*events, canary]])

    await wait_for_mails(settings, canary_address, [CONFIRMED])
    assert CONFIRMED not in subjects(await mails_to(settings, address))
    async with clients.mysql.connect() as connection:
        claimed = (await connection.execute(select(notifications_sent.c.event_id).where(
            notifications_sent.c.event_id == str(events[1].event_id)))).all()
    assert claimed == []


@pytest.mark.destructive
async def test_a_restarted_worker_that_reads_the_orders_again_sends_nothing_twice(
        checkout: dict, stack: Stack, settings: Settings) -> None:
    spans: dict[TopicPartition, tuple[int, int]] = {}
    for tp, offset in checkout["positions"]:
        first, last = spans.get(tp, (offset, offset))
        spans[tp] = (min(first, offset), max(last, offset))
    await read_again(stack, settings, spans)
    assert subjects(await mails_to(settings, checkout["email"])) == subjects(checkout["all"])
