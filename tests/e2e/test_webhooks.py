"""Integrators' webhooks through the gateway, with a local receiver as the outside party:
retries until accepted, in order per order, signed; a receiver down for a minute misses
nothing; a replay re-delivers exactly what matched since a time; refused URLs and
deleted subscriptions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.e2e.test_checkout import check_out, fill_cart, order_when
from tests.support import eventually, make_product, shopper
from tests.webhook_receiver import Receiver, signature_valid

# Attempts of one delivery come 2, 10 and 60 s apart before the fourth
# (`infra.outbound.RETRY_DELAYS_S`); these waits leave room for a busy machine.
RETRIES_WAIT_S = 240.0


# The subscriptions a test made: deleted after it, since their receivers stop with it.
_made: list[str] = []


@pytest.fixture(autouse=True)
async def _unsubscribed(gateway: httpx.AsyncClient, admin: dict):
    yield
    while _made:
        gone = await gateway.delete(f"/v1/admin/webhooks/{_made.pop()}", headers=admin)
        assert gone.status_code in (204, 404), gone.text


async def subscribe(http: httpx.AsyncClient, admin: dict, url: str, events: list[str]) -> dict:
    response = await http.post("/v1/admin/webhooks", headers=admin,
                               json={"url": url, "events": events})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"] and set(created["events"]) == set(events)
    _made.append(created["id"])
    return created


async def deliveries(http: httpx.AsyncClient, admin: dict, webhook_id: str) -> list[dict]:
    """The whole delivery log, page by page."""
    items, cursor = [], None
    while True:
        response = await http.get(f"/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin,
                                  params={"limit": 50} | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def confirmed_order(http: httpx.AsyncClient, admin: dict, category: dict) -> tuple[str, dict]:
    product = await make_product(http, admin, category, "Webhook mug", 1500, 10)
    _, me = await shopper(http, "webhooks")
    await fill_cart(http, me, (product, 2))
    response = await check_out(http, me, "card", "tok_visa")
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]
    await order_when(http, me, order_id, ("confirmed",))
    return order_id, product


async def ship_and_deliver(http: httpx.AsyncClient, admin: dict, order_id: str) -> None:
    for step in ({"status": "shipped", "carrier": "DHL", "tracking_number": "JD0146001"},
                 {"status": "delivered"}):
        response = await http.post(f"/v1/admin/orders/{order_id}/fulfilment", headers=admin,
                                   json=step)
        assert response.status_code == 202, response.text


async def test_a_receiver_failing_three_times_gets_each_event_once_in_order_and_signed(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    receiver = Receiver(answer=lambda n: 500 if n <= 3 else 200)
    await receiver.start()
    try:
        hook = await subscribe(gateway, admin, receiver.url,
                               ["order.confirmed", "order.shipped", "order.delivered"])
        order_id, product = await confirmed_order(gateway, admin, category)
        await ship_and_deliver(gateway, admin, order_id)

        async def all_accepted():
            got = receiver.accepted_for("order_id", order_id)
            return got if {r.payload["type"] for r in got} >= {
                "order.confirmed", "order.shipped", "order.delivered"} else None

        await eventually(all_accepted, timeout_s=RETRIES_WAIT_S, interval_s=0.5)
        accepted = receiver.accepted_for("order_id", order_id)
        # Each event accepted once: deduplicated by event id, nothing accepted twice.
        ids = [r.event_id for r in accepted]
        assert len(ids) == len(set(ids)) == 3
        assert [r.payload["type"] for r in accepted] == [
            "order.confirmed", "order.shipped", "order.delivered"]
        assert all(r.event_id == r.payload["id"] for r in accepted)
        for request in receiver.requests:
            assert signature_valid(hook["secret"], request.signature, request.body)
        assert not signature_valid("whsec_another", accepted[0].signature, accepted[0].body)

        confirmed = accepted[0].payload["data"]
        assert [(line["sku"], line["quantity"]) for line in confirmed["lines"]] == [
            (product["sku"], 2)]
        assert confirmed["totals"]["total"]["amount"] > 0
        assert confirmed["shipping_address"]["city"] == "Lyon"
        assert "user_id" not in confirmed
        assert "shipping_address" not in accepted[2].payload["data"]  # delivered: not needed

        log = {item["event_id"]: item for item in await deliveries(gateway, admin, hook["id"])}
        first = log[ids[0]]
        assert (first["status"], first["attempts"], first["last_status_code"]) == (
            "delivered", 4, 200)
        assert first["last_attempt_at"] is not None
        assert all(log[i]["status"] == "delivered" for i in ids)
    finally:
        await receiver.stop()


async def test_a_receiver_down_for_a_minute_misses_nothing(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    receiver = Receiver()
    await receiver.start()
    hook = await subscribe(gateway, admin, receiver.url,
                           ["order.confirmed", "order.shipped", "product.changed"])
    await receiver.stop()
    try:
        order_id, product = await confirmed_order(gateway, admin, category)
        await ship_and_deliver(gateway, admin, order_id)
        renamed = await gateway.patch(f"/v1/admin/products/{product['id']}", headers=admin,
                                      json={"name": "Webhook mug, renamed"})
        assert renamed.status_code == 200, renamed.text

        async def failing():
            # Every event recorded, and attempts failing (an order's later events wait
            # behind its first).
            log = await deliveries(gateway, admin, hook["id"])
            return log if ({item["type"] for item in log} >= {
                "order.confirmed", "order.shipped", "product.changed"}
                and any(item["attempts"] >= 1 for item in log)) else None

        log = await eventually(failing, timeout_s=60)
        assert all(item["status"] == "pending" and item["last_status_code"] is None
                   for item in log)
        await asyncio.sleep(60)  # the receiver stays down for a minute
        await receiver.start()

        async def arrived():
            got = {(r.payload["type"], r.payload["data"].get("order_id")
                    or r.payload["data"].get("product_id")) for r in receiver.accepted()}
            return got >= {("order.confirmed", order_id), ("order.shipped", order_id),
                           ("product.changed", product["id"])}

        await eventually(arrived, timeout_s=RETRIES_WAIT_S, interval_s=0.5)
        log = await deliveries(gateway, admin, hook["id"])
        assert {item["event_id"] for item in log} <= {r.event_id for r in receiver.accepted()}
    finally:
        await receiver.stop()


async def test_a_replay_redelivers_exactly_the_matching_events_since_a_time(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        product = await make_product(gateway, admin, category, "Replayed kettle", 3000, 5)
        hook = await subscribe(gateway, admin, receiver.url, ["product.changed"])

        async def change(**fields) -> None:
            response = await gateway.patch(f"/v1/admin/products/{product['id']}",
                                           headers=admin, json=fields)
            assert response.status_code == 200, response.text

        def names() -> list[str]:
            return [r.payload["data"].get("name")
                    for r in receiver.accepted_for("product_id", product["id"])]

        await change(name="Kettle one")
        await change(name="Kettle two")
        await eventually(lambda: _true(names() == ["Kettle one", "Kettle two"]))
        since = datetime.now(UTC)
        await asyncio.sleep(0.01)
        await change(name="Kettle three")
        await change(stock=9)  # stock.changed: not subscribed
        await change(name="Kettle four")
        await eventually(lambda: _true(len(names()) == 4))
        first_pass = {r.payload["data"]["name"]: r.event_id
                      for r in receiver.accepted_for("product_id", product["id"])}

        response = await gateway.post(f"/v1/admin/webhooks/{hook['id']}/replay", headers=admin,
                                      json={"since": since.isoformat()})
        assert response.status_code == 202, response.text

        await eventually(lambda: _true(len(names()) == 6))
        assert names()[4:] == ["Kettle three", "Kettle four"]
        assert [r.event_id for r in receiver.accepted_for("product_id", product["id"])][4:] == [
            first_pass["Kettle three"], first_pass["Kettle four"]]
        assert {r.payload["type"] for r in receiver.accepted()} == {"product.changed"}
        log = await deliveries(gateway, admin, hook["id"])
        replayed = [item for item in log if item["replayed"]]
        assert {item["event_id"] for item in replayed} == {
            first_pass["Kettle three"], first_pass["Kettle four"]}
    finally:
        await receiver.stop()


async def _true(value: bool) -> bool:
    return value


async def test_refused_urls_are_422_and_a_deleted_subscription_receives_nothing_more(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    for url in ("ftp://example.com/hook", "http://user:pass@127.0.0.1/hook",
                "http://224.0.0.1/hook", "http://0.0.0.0/hook",
                "http://" + "a" * 2000 + ".example/hook"):
        response = await gateway.post("/v1/admin/webhooks", headers=admin,
                                      json={"url": url, "events": ["order.confirmed"]})
        assert response.status_code == 422, (url, response.text)
    unknown = await gateway.post("/v1/admin/webhooks", headers=admin,
                                 json={"url": "http://127.0.0.1/hook", "events": ["order.x"]})
    assert unknown.status_code == 422

    deleted, kept = Receiver(), Receiver()
    await deleted.start()
    await kept.start()
    try:
        product = await make_product(gateway, admin, category, "Deleted hook lamp", 2000, 3)
        doomed = await subscribe(gateway, admin, deleted.url, ["product.changed"])
        await subscribe(gateway, admin, kept.url, ["product.changed"])  # the control

        async def rename(name: str) -> None:
            response = await gateway.patch(f"/v1/admin/products/{product['id']}",
                                           headers=admin, json={"name": name})
            assert response.status_code == 200, response.text

        await rename("Lamp before")
        for receiver in (deleted, kept):
            await eventually(lambda r=receiver: _true(
                len(r.accepted_for("product_id", product["id"])) == 1))

        gone = await gateway.delete(f"/v1/admin/webhooks/{doomed['id']}", headers=admin)
        assert gone.status_code == 204, gone.text
        assert (await gateway.get(f"/v1/admin/webhooks/{doomed['id']}/deliveries",
                                  headers=admin)).status_code == 404
        listed = (await gateway.get("/v1/admin/webhooks", headers=admin,
                                    params={"limit": 100})).json()
        assert doomed["id"] not in {item["id"] for item in listed["items"]}

        await rename("Lamp after")
        await eventually(lambda: _true(len(kept.accepted_for("product_id", product["id"])) == 2))
        # The control subscription got the later event; the deleted one was never sent it.
        assert [r.payload["data"]["name"]
                for r in deleted.accepted_for("product_id", product["id"])] == ["Lamp before"]
        assert len(deleted.requests) == 1
    finally:
        await deleted.stop()
        await kept.stop()


async def test_an_unknown_webhook_is_404(gateway: httpx.AsyncClient, admin: dict) -> None:
    unknown = uuid.uuid4()
    assert (await gateway.delete(f"/v1/admin/webhooks/{unknown}", headers=admin)
            ).status_code == 404
    assert (await gateway.post(f"/v1/admin/webhooks/{unknown}/replay", headers=admin,
                               json={"since": "2026-01-01T00:00:00Z"})).status_code == 404


async def test_a_subscription_sent_again_after_its_deletion_is_refused_not_made_anew(
        gateway: httpx.AsyncClient, admin: dict) -> None:
    """A client's retry of a subscription it has since deleted: the key was spent on the
    deleted one, so the answer says so instead of bringing it back or pretending it is
    unknown."""
    receiver = Receiver()
    await receiver.start()
    try:
        headers = admin | {"Idempotency-Key": str(uuid.uuid4())}
        body = {"url": receiver.url, "events": ["order.confirmed"]}
        first = await gateway.post("/v1/admin/webhooks", headers=headers, json=body)
        assert first.status_code == 201, first.text
        again = await gateway.post("/v1/admin/webhooks", headers=headers, json=body)
        assert again.status_code == 201 and again.json() == first.json()
        webhook_id = first.json()["id"]
        assert (await gateway.delete(f"/v1/admin/webhooks/{webhook_id}", headers=admin)
                ).status_code == 204

        late = await gateway.post("/v1/admin/webhooks", headers=headers, json=body)

        assert late.status_code == 409, late.text
        assert webhook_id in late.json()["detail"] and "new key" in late.json()["detail"]
        listed = await gateway.get("/v1/admin/webhooks", headers=admin, params={"limit": 100})
        assert webhook_id not in [w["id"] for w in listed.json()["items"]]
    finally:
        await receiver.stop()
