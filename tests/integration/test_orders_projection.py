"""The orders read model on the real MySQL: orders, payments and receipts from real events.

Records are built from real event envelopes and applied to a replay's shadow tables
(a shadow stores no checkpoint, so the live model and its position are untouched),
then the tables are dropped. Applying again, in any batching, changes nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from commands import pricing
from infra.clients import Clients
from schemas.records import Record
from projections.orders import OrdersProjection
from projections.orders_views import OrdersView
from projections.registry import build_projections
from schemas.envelope import EventEnvelope
from schemas.events.orders import (
    OrderLine,
    FulfilmentRecorded,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderConfirmed,
    OrderItemReserved,
    OrderPaid,
    OrderPlaced,
)
from schemas.events.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentPending,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentRefundRequested,
    PaymentRequested,
    ReceiptIssued,
)
from schemas.messages import Event
from schemas.topics import ORDERS, PAYMENTS
from tests.support import replay_equals_live, shopstream

START = datetime(2030, 5, 17, 9, 30, tzinfo=UTC)
ADDRESS = {"full_name": "Ada Lovelace", "line1": "12 St James's Square", "line2": None,
           "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}


class Log:
    """Events as the processors append them: numbered per aggregate, placed per topic."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.offsets: dict[str, int] = {}
        self.records: list[Record] = []

    def append(self, event: Event, aggregate_id: uuid.UUID | str, *, minutes: int,
               correlation_id: uuid.UUID) -> Record:
        topic = (ORDERS if type(event).__module__.endswith("orders") else PAYMENTS).events.name
        key = str(aggregate_id)
        self.versions[key] = self.versions.get(key, 0) + 1
        self.offsets[topic] = self.offsets.get(topic, -1) + 1
        envelope = EventEnvelope(
            event_id=uuid.uuid4(), type=event.type_name(), schema_version=event.schema_version,
            aggregate_id=key, aggregate_version=self.versions[key],
            occurred_at=START + timedelta(minutes=minutes), correlation_id=correlation_id,
            causation_id=uuid.uuid4(), actor="test", payload=event.model_dump(mode="json"))
        record = Record(topic, 0, self.offsets[topic], envelope)
        self.records.append(record)
        return record


@pytest.fixture
async def shadow(clients: Clients):
    projection = OrdersProjection(clients.mysql, clients.keys).shadow(f"t{uuid.uuid4().hex[:8]}")
    await projection.setup()
    yield projection
    await projection.drop()


def priced(*quantities: int) -> list:
    return [OrderLine.priced(product_id=uuid.uuid4(), sku=f"SKU-{n}", name=f"Lamp {n}",
                             unit_price=1999, quantity=quantity)
            for n, quantity in enumerate(quantities)]


async def checkout(log: Log, clients: Clients, user_id: uuid.UUID, *, minutes: int,
                   method: str = "card") -> tuple[uuid.UUID, uuid.UUID, list, object]:
    """An order placed, its lines reserved and its payment requested."""
    order_id, payment_id = uuid.uuid4(), uuid.uuid4()
    lines = priced(2, 1)
    totals = pricing.totals(lines)
    sealed = await clients.keys.seal(str(user_id), json.dumps(ADDRESS))
    common = {"order_id": order_id, "user_id": user_id}
    log.append(OrderPlaced(**common, payment_id=payment_id, lines=lines, totals=totals,
                           shipping_address=sealed, payment_method=method),
               order_id, minutes=minutes, correlation_id=order_id)
    for line in lines:
        log.append(OrderItemReserved(**common, product_id=line.product_id), order_id,
                   minutes=minutes, correlation_id=order_id)
    log.append(OrderAwaitingPayment(**common, payment_id=payment_id, amount=totals.total,
                                    payment_method=method), order_id, minutes=minutes,
               correlation_id=order_id)
    log.append(PaymentRequested(payment_id=payment_id, **common, amount=totals.total,
                                method=method, expires_at=START + timedelta(minutes=minutes + 15)),
               payment_id, minutes=minutes, correlation_id=order_id)
    return order_id, payment_id, lines, totals


async def test_an_order_from_checkout_to_delivery_with_its_payment_and_receipt(
        shadow: OrdersProjection, clients: Clients) -> None:
    log = Log()
    user_id = uuid.uuid4()
    order_id, payment_id, lines, totals = await checkout(log, clients, user_id, minutes=0)
    common = {"order_id": order_id, "user_id": user_id, "payment_id": payment_id}
    log.append(PaymentCaptured(**common, method="card", amount=totals.total,
                               provider_reference="pi_123", card_last4="4242"),
               payment_id, minutes=1, correlation_id=order_id)
    log.append(OrderConfirmed(**common, lines=lines, totals=totals, payment_method="card"),
               order_id, minutes=1, correlation_id=order_id)
    log.append(OrderPaid(**common, lines=lines, totals=totals, payment_method="card",
                         card_last4="4242"), order_id, minutes=1, correlation_id=order_id)
    log.append(ReceiptIssued(book="receipts-2030", receipt_number="2030-000042", **common,
                             lines=lines, totals=totals, payment_method="card",
                             card_last4="4242"), "receipts-2030", minutes=2,
               correlation_id=order_id)
    log.append(FulfilmentRecorded(order_id=order_id, user_id=user_id, status="packed"),
               order_id, minutes=60, correlation_id=order_id)
    log.append(FulfilmentRecorded(order_id=order_id, user_id=user_id, status="shipped",
                                  carrier="DHL", tracking_number="JD0123456789"),
               order_id, minutes=120, correlation_id=order_id)
    log.append(FulfilmentRecorded(order_id=order_id, user_id=user_id, status="delivered"),
               order_id, minutes=1440, correlation_id=order_id)

    await shadow.apply(log.records)

    order = await OrdersView.of(shadow).order(str(order_id))
    assert order is not None
    assert order["user_id"] == str(user_id) and order["status"] == "delivered"
    assert order["lines"] == [line.model_dump(mode="json") for line in lines]
    assert (order["subtotal_amount"], order["shipping_amount"], order["tax_amount"],
            order["total_amount"], order["currency"]) == (
        5997, 0, totals.tax.amount, 5997, "EUR")
    assert order["shipping_address"] == ADDRESS
    assert (order["payment_id"], order["payment_method"]) == (str(payment_id), "card")
    assert (order["carrier"], order["tracking_number"]) == ("DHL", "JD0123456789")
    assert order["tracking"] == [
        {"status": "packed", "at": (START + timedelta(minutes=60)).isoformat()},
        {"status": "shipped", "at": (START + timedelta(minutes=120)).isoformat()},
        {"status": "delivered", "at": (START + timedelta(minutes=1440)).isoformat()}]
    # The view gives times back in UTC, aware.
    assert order["created_at"] == START
    assert order["confirmed_at"] == order["paid_at"] == START + timedelta(minutes=1)
    assert order["version"] == log.versions[str(order_id)]
    assert order["cancel_reason"] is None and order["cancelled_by"] is None

    payment = await OrdersView.of(shadow).payment(str(payment_id))
    assert payment is not None
    assert (payment["order_id"], payment["user_id"], payment["method"], payment["status"],
            payment["amount"], payment["currency"], payment["provider_reference"],
            payment["card_last4"]) == (str(order_id), str(user_id), "card", "captured", 5997,
                                       "EUR", "pi_123", "4242")
    assert payment["expires_at"] == START + timedelta(minutes=15)

    receipt = await OrdersView.of(shadow).receipt_for_order(str(order_id))
    assert receipt is not None
    assert (receipt["receipt_number"], receipt["payment_id"], receipt["user_id"],
            receipt["total_amount"], receipt["tax_amount"], receipt["card_last4"]) == (
        "2030-000042", str(payment_id), str(user_id), 5997, totals.tax.amount, "4242")
    assert receipt["lines"] == order["lines"]

    # Each record again, alone, then everything in one batch: nothing changes.
    before = await shadow.snapshot()
    for record in log.records:
        await shadow.apply([record])
    await shadow.apply(log.records)
    assert await shadow.snapshot() == before


async def test_cancellation_failures_refunds_and_a_forgotten_address(
        shadow: OrdersProjection, clients: Clients) -> None:
    log = Log()
    forgotten = uuid.uuid4()
    declined, declined_payment, _, _ = await checkout(log, clients, forgotten, minutes=0)
    await clients.keys.forget(str(forgotten))
    log.append(PaymentFailed(payment_id=declined_payment, order_id=declined, user_id=forgotten,
                             reason="Your card was declined."), declined_payment, minutes=1,
               correlation_id=declined)
    log.append(OrderCancelled(order_id=declined, user_id=forgotten, reason="The payment failed.",
                              cancelled_by="payment", product_ids=[],
                              payment_id=declined_payment), declined, minutes=1,
               correlation_id=declined)

    user_id = uuid.uuid4()
    refunded, refunded_payment, _, totals = await checkout(log, clients, user_id, minutes=5)
    common = {"payment_id": refunded_payment, "order_id": refunded, "user_id": user_id}
    log.append(PaymentCaptured(**common, method="card", amount=totals.total,
                               provider_reference="pi_9"), refunded_payment, minutes=6,
               correlation_id=refunded)
    log.append(OrderCancelled(order_id=refunded, user_id=user_id, reason="Cancelled by the "
                              "customer.", cancelled_by="customer", product_ids=[],
                              payment_id=refunded_payment), refunded, minutes=7,
               correlation_id=refunded)
    log.append(PaymentRefundRequested(**common, method="card", amount=totals.total,
                                      provider_reference="pi_9"), refunded_payment, minutes=7,
               correlation_id=refunded)
    refund_failed = log.append(PaymentRefundFailed(**common, reason="The provider is down."),
                               refunded_payment, minutes=8, correlation_id=refunded)

    await shadow.apply(log.records)

    declined_order = await OrdersView.of(shadow).order(str(declined))
    assert declined_order["shipping_address"] is None
    assert (declined_order["status"], declined_order["cancel_reason"],
            declined_order["cancelled_by"]) == ("cancelled", "The payment failed.", "payment")
    failed = await OrdersView.of(shadow).payment(str(declined_payment))
    assert (failed["status"], failed["failure_reason"]) == ("failed", "Your card was declined.")

    refunding = await OrdersView.of(shadow).payment(str(refunded_payment))
    assert refunding["status"] == "captured"
    assert refunding["refund_failure_reason"] == "The provider is down."
    assert refunding["version"] == refund_failed.envelope.aggregate_version
    assert (await OrdersView.of(shadow).order(str(refunded)))["cancelled_by"] == "customer"

    log.append(PaymentRefunded(**common, amount=totals.total, refund_reference="re_1"),
               refunded_payment, minutes=9, correlation_id=refunded)
    await shadow.apply(log.records)
    refunded_row = await OrdersView.of(shadow).payment(str(refunded_payment))
    assert (refunded_row["status"], refunded_row["refund_reference"]) == ("refunded", "re_1")
    assert await OrdersView.of(shadow).receipt_for_order(str(refunded)) is None


async def test_a_users_orders_page_newest_first(shadow: OrdersProjection,
                                                clients: Clients) -> None:
    log = Log()
    user_id, other = uuid.uuid4(), uuid.uuid4()
    mine = [(await checkout(log, clients, user_id, minutes=n))[0] for n in range(5)]
    await checkout(log, clients, other, minutes=2)
    await shadow.apply(log.records)

    first = await OrdersView.of(shadow).orders_of(str(user_id), 3)
    rest = await OrdersView.of(shadow).orders_of(str(user_id), 3,
                                  after=(first[-1]["created_at"], first[-1]["id"]))

    assert [row["id"] for row in first + rest] == [str(o) for o in reversed(mine)]
    assert await OrdersView.of(shadow).orders_of(str(uuid.uuid4()), 3) == []


async def test_due_payments_are_pending_ones_to_settle_or_expire(
        shadow: OrdersProjection, clients: Clients) -> None:
    log = Log()
    user_id = uuid.uuid4()
    # Requested at START, each expires 15 minutes later.
    _, settling, _, _ = await checkout(log, clients, user_id, minutes=0, method="bank_transfer")
    _, expiring, _, _ = await checkout(log, clients, user_id, minutes=0, method="bank_transfer")
    _, authorized, _, totals = await checkout(log, clients, user_id, minutes=0,
                                              method="cash_on_delivery")
    log.append(PaymentPending(payment_id=settling, order_id=uuid.uuid4(), user_id=user_id,
                              settles_at=START + timedelta(minutes=2)), settling, minutes=0,
               correlation_id=uuid.uuid4())
    log.append(PaymentAuthorized(payment_id=authorized, order_id=uuid.uuid4(), user_id=user_id,
                                 method="cash_on_delivery", amount=totals.total),
               authorized, minutes=0, correlation_id=uuid.uuid4())
    await shadow.apply(log.records)

    def ids(rows: list[dict]) -> set[str]:
        return {row["id"] for row in rows}

    assert await OrdersView.of(shadow).due_payments(START + timedelta(minutes=1)) == []
    view = OrdersView.of(shadow)
    assert ids(await view.due_payments(START + timedelta(minutes=2))) == {str(settling)}
    assert ids(await view.due_payments(START + timedelta(minutes=15))) == {
        str(settling), str(expiring)}
    assert len(await view.due_payments(START + timedelta(minutes=15), limit=1)) == 1
    # Naive times are taken as UTC, as the model stores them.
    assert ids(await view.due_payments((START + timedelta(minutes=2)).replace(
        tzinfo=None))) == {str(settling)}


async def test_a_shadow_leaves_the_live_model_alone_and_replay_rebuilds_it(
        shadow: OrdersProjection, clients: Clients) -> None:
    live = build_projections(clients)["orders"]
    assert isinstance(live, OrdersProjection)
    await live.setup()
    assert {table.name for table in shadow.tables.values()}.isdisjoint(
        table.name for table in live.tables.values())
    log = Log()
    order_id, _, _, _ = await checkout(log, clients, uuid.uuid4(), minutes=0)
    await shadow.apply(log.records)
    assert await OrdersView.of(shadow).order(str(order_id)) is not None
    assert await OrdersView.of(live).order(str(order_id)) is None

    # Once to be sure the live model is complete (a worker of older code may not run it).
    shopstream("replay", "orders")
    await replay_equals_live(clients, "orders")
