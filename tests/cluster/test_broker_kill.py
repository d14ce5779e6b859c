"""kill -9 of one of three brokers during 2,000 commands and 100 checkouts.

The clients go through the gateway, as a shop's clients do, each write with an
Idempotency-Key, sent again while it answers 502, 503 or 504 (or not at all). The
broker killed leads partitions of the catalog's events. Afterwards, with the broker
started again: every acknowledged write is in the topics and in the read models
(0 lost), no event is in a topic twice (0 duplicated), no payment is captured twice
(0 double charges), and every order ends confirmed or cancelled.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter

import httpx
import pytest

from schemas.topics import CATALOG, ORDERS, PAYMENTS
from tests.cluster.support import ClusterStack
from tests.e2e.test_checkout import ADDRESS, ENDED
from tests.outages import (RETRIED, Answer, every_product_readable, new_product, persist,
                           signed_in, signed_up, statuses)
from tests.support import eventually, read_events

COMMANDS = 2000
CHECKOUTS = 100
IN_FLIGHT = 24
SETUP_IN_FLIGHT = 8  # sign-ups hash passwords: fewer at once
KILL_AFTER = 500  # acknowledged commands before the kill
# Cards that go through, and some declined: every order ends confirmed or cancelled.
TOKENS = ["tok_visa"] * 4 + ["tok_chargeDeclined"]


@pytest.mark.timeout(3600)
async def test_kill_9_of_a_broker_loses_duplicates_and_charges_twice_nothing(
        cluster: ClusterStack, cluster_gateway: httpx.AsyncClient, cluster_admin_email: str,
        cluster_admin: dict, cluster_category: dict) -> None:
    http = cluster_gateway
    answers: list[Answer] = []
    made = await new_product(http, cluster_admin, cluster_category, answers, target="product",
                             sku=f"CL-{uuid.uuid4().hex[:12]}", name="Replicated kettle",
                             price=1500, stock=10 * CHECKOUTS, after=cluster_category["token"])
    assert made.status == 201, made
    product = made.body
    setup_gate = asyncio.Semaphore(SETUP_IN_FLIGHT)

    async def ready_shopper() -> str:
        async with setup_gate:
            email, headers = await signed_up(http, "cluster", answers)
            added = await persist("cart", lambda: http.post(
                "/v1/cart/items", json={"product_id": product["id"], "quantity": 1},
                headers=headers | {"X-Consistency-Token": made.consistency_token,
                                   "Idempotency-Key": str(uuid.uuid4())}), answers)
            assert added.status == 200, added
            return email

    shoppers = await asyncio.gather(*(ready_shopper() for _ in range(CHECKOUTS)))
    gate = asyncio.Semaphore(IN_FLIGHT)

    created: dict[str, str] = {}  # Idempotency-Key -> product id
    placed: dict[str, str] = {}  # order id -> card token
    enough = asyncio.Event()
    killed: dict[str, float | str] = {}

    async def create(n: int) -> None:
        key = str(uuid.uuid4())
        body = {"sku": f"CL-{n:04d}-{key[:6]}", "name": f"Cluster kettle {n}",
                "category_id": cluster_category["id"],
                "price": {"amount": 1000 + n, "currency": "EUR"}, "stock": 5}
        extra = {"Idempotency-Key": key, "X-Consistency-Token": cluster_category["token"]}
        async with gate:
            answer = await persist("command", lambda: http.post(
                "/v1/admin/products", json=body, headers=cluster_admin | extra), answers)
            if answer.status == 401:  # the access token expired (15 minutes): sign in again
                cluster_admin.update(await signed_in(http, cluster_admin_email, answers))
                answer = await persist("command", lambda: http.post(
                    "/v1/admin/products", json=body, headers=cluster_admin | extra), answers)
        assert answer.status == 201, answer
        created[key] = answer.body["id"]
        if len(created) >= KILL_AFTER:
            enough.set()

    async def check_out(email: str, token: str) -> None:
        body = {"shipping_address": ADDRESS, "payment_method": {"type": "card", "token": token}}
        async with gate:
            headers = await signed_in(http, email, answers) | {"Idempotency-Key": str(uuid.uuid4())}
            answer = await persist("checkout", lambda: http.post(
                "/v1/checkout", json=body, headers=headers), answers)
        assert answer.status == 202, answer
        placed[answer.body["order_id"]] = token

    async def kill_a_leader() -> None:
        await enough.wait()
        leaders = await cluster.leaders(CATALOG.events.name)
        node = Counter(leaders.values()).most_common(1)[0][0]
        killed["broker"] = cluster.broker_of(node)
        killed["at"] = time.monotonic()
        await asyncio.to_thread(cluster.kill, killed["broker"])

    started_at = time.monotonic()
    checkouts = [check_out(email, token)
                 for email, token in zip(shoppers, itertools.cycle(TOKENS))]
    # The checkouts are spread over the commands, so that some are in flight at the kill.
    work = [create(n) for n in range(COMMANDS)]
    for n, checkout in enumerate(checkouts):
        work.insert(n * (len(work) // CHECKOUTS) + n, checkout)
    try:
        await asyncio.gather(kill_a_leader(), *work)
        took_s = time.monotonic() - started_at
    finally:
        if "broker" in killed:
            await asyncio.to_thread(cluster.start, killed["broker"])
    await eventually(cluster.in_sync, timeout_s=180, interval_s=2)

    after_kill = [a for a in answers if a.sent_at >= killed["at"]]
    writing_again = min((a.done_at for a in after_kill if a.status in (200, 201, 202)),
                        default=None)
    figures = {
        "commands": COMMANDS, "checkouts": CHECKOUTS, "broker_killed": killed["broker"],
        "killed_after_acknowledged": KILL_AFTER, "took_s": round(took_s, 1),
        "answers": {str(k): v for k, v in statuses(answers).items()},
        "answers_after_kill": {str(k): v for k, v in statuses(after_kill).items()},
        "first_write_after_kill_s": None if writing_again is None
        else round(writing_again - killed["at"], 1),
        "slowest_answer_s": round(max(a.took_s for a in answers), 1),
    }

    # A 401 is the administrator's access token expiring in a long run: signed in again.
    wrong = [a for a in answers if a.status not in (200, 201, 202, 401, *RETRIED)
             or (a.status == 401 and "expired" not in a.detail)]
    assert len(created) == COMMANDS and len(placed) == CHECKOUTS

    # 0 acknowledged writes lost, 0 duplicated events: read the raw topics.
    catalog_events = [e for _, _, e in await read_events(cluster.settings, CATALOG.events.name)]
    ids = set(created.values())
    products = Counter(e.aggregate_id for e in catalog_events
                       if e.type == "ProductCreated" and e.aggregate_id in ids)
    order_events = [e for _, _, e in await read_events(cluster.settings, ORDERS.events.name)]
    orders_placed = Counter(e.aggregate_id for e in order_events
                            if e.type == "OrderPlaced" and e.aggregate_id in placed)
    lost = len(ids - set(products)) + len(set(placed) - set(orders_placed))

    # Every order ends, as the shop's administrator sees it.
    pending: dict[str, str] = {}
    admin = await signed_in(http, cluster_admin_email, answers)

    async def all_ended() -> dict[str, str] | None:
        ended, pending_now = {}, {}
        for order_id in placed:
            response = await http.get(f"/v1/orders/{order_id}", headers=admin)
            status = (response.json()["status"] if response.status_code == 200
                      else f"HTTP {response.status_code}")
            (ended if status in ENDED else pending_now)[order_id] = status
        pending.clear()
        pending.update(pending_now)
        return None if pending_now else ended

    try:
        ended = await eventually(all_ended, timeout_s=240, interval_s=2)
    except AssertionError:
        raise AssertionError(f"{len(pending)} orders never ended: {pending}") from None

    payment_events = [e for _, _, e in await read_events(cluster.settings, PAYMENTS.events.name)]
    everything = catalog_events + order_events + payment_events
    duplicated = len(everything) - len({e.event_id for e in everything})
    captured = Counter(str(e.payload["order_id"]) for e in payment_events
                       if e.type == "PaymentCaptured" and str(e.payload["order_id"]) in placed)
    figures |= {
        "acknowledged_writes_lost": lost, "duplicated_events": duplicated,
        "double_charges": sum(1 for n in captured.values() if n > 1),
        "orders": dict(Counter(ended.values())), "events_read": len(everything),
    }
    cluster.write_figures("test_broker_kill", figures)

    assert not wrong, f"answers a client cannot retry: {statuses(wrong)}; e.g. {wrong[:3]}"

    assert lost == 0, (f"{len(ids - set(products))} products and "
                       f"{len(set(placed) - set(orders_placed))} orders acknowledged but lost")
    assert max(products.values()) == 1 and max(orders_placed.values()) == 1
    assert duplicated == 0
    assert max(captured.values(), default=0) == 1
    confirmed = {o for o, status in ended.items() if status == "confirmed"}
    assert set(captured) == confirmed
    assert all(placed[o] == "tok_visa" for o in confirmed)
    # Every acknowledged product shows in the read model (from a replica: so many reads
    # at once would pass the gateway's limit).
    await every_product_readable(f"http://127.0.0.1:{cluster.settings.api_replica_ports[0]}",
                                 ids, timeout_s=300)
