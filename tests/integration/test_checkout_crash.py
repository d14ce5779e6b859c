"""kill -9 of the saga and command workers during 200 checkouts: every order still ends,
none is lost, and no payment is taken twice."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter

import httpx
import pytest

from infra.settings import Settings
from ops.stack.manager import Stack
from schemas.topics import ORDERS, PAYMENTS
from tests.e2e.test_checkout import ADDRESS, ENDED
from tests.outages import crash
from tests.support import eventually, make_product, read_events, shopper

CHECKOUTS = 200
STOCK = 150
IN_FLIGHT = 16
KILL_AFTER = 60
# Mostly cards that go through; some declined, some cash on delivery.
METHODS = [("card", "tok_visa")] * 6 + [("card", "tok_chargeDeclined"),
                                        ("cash_on_delivery", None)]


@pytest.mark.destructive
async def test_kill_9_during_200_checkouts_ends_every_order_and_takes_no_payment_twice(
        stack: Stack, settings: Settings, gateway: httpx.AsyncClient, admin: dict,
        category: dict) -> None:
    product = await make_product(gateway, admin, category, "Crash-proof kettle", 2000, STOCK)
    # Straight to the API replicas: this is about the workers, not the gateway's limits.
    replicas = itertools.cycle([httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                                  timeout=30)
                                for port in settings.api_replica_ports])
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def ready_shopper() -> dict:
        async with gate:
            _, headers = await shopper(next(replicas), "crash")
            response = await next(replicas).post(
                "/v1/cart/items", json={"product_id": product["id"], "quantity": 1},
                headers=headers | {"X-Consistency-Token": product["token"]})
            assert response.status_code == 200, response.text
            return headers

    shoppers = await asyncio.gather(*(ready_shopper() for _ in range(CHECKOUTS)))
    placed: dict[str, tuple[dict, str]] = {}
    refused: list[str] = []
    enough_placed = asyncio.Event()

    async def check_out(headers: dict, method: tuple[str, str | None]) -> None:
        kind, token = method
        body = {"shipping_address": ADDRESS,
                "payment_method": {"type": kind} | ({"token": token} if token else {})}
        headers = headers | {"Idempotency-Key": str(uuid.uuid4())}
        async with gate:
            for _ in range(120):
                try:
                    response = await next(replicas).post("/v1/checkout", json=body,
                                                         headers=headers)
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 202:
                    placed[response.json()["order_id"]] = (headers, kind)
                    if len(placed) >= KILL_AFTER:
                        enough_placed.set()
                    return
                if response is not None and response.status_code == 409:
                    refused.append(response.json()["detail"])
                    return
                assert response is None or response.status_code in (502, 503, 504), \
                    response.text
                await asyncio.sleep(0.5)
            raise AssertionError("a checkout was never answered")

    async def kill_and_restart() -> None:
        await enough_placed.wait()
        crash(stack, ["worker-sagas", "worker-commands"])
        await asyncio.sleep(1)
        # Whichever of this and the supervisor comes first starts each; both wait for them.
        await asyncio.to_thread(stack.up, stack.select(["worker-sagas", "worker-commands"]))

    await asyncio.gather(kill_and_restart(), *(
        check_out(headers, method) for headers, method in zip(shoppers, itertools.cycle(METHODS))))
    # Once the stock shows none left, a checkout is refused up front; any other is placed.
    assert len(placed) + len(refused) == CHECKOUTS
    assert all("in stock" in detail for detail in refused), refused

    pending: dict[str, str] = {}  # the orders not ended at the last look, with their state

    async def all_ended() -> dict[str, dict] | None:
        ended = {}
        pending.clear()
        for order_id, (headers, _) in placed.items():
            response = await next(replicas).get(f"/v1/orders/{order_id}", headers=headers)
            if response.status_code != 200 or response.json()["status"] not in ENDED:
                pending[order_id] = (response.json().get("status") if response.status_code == 200
                                     else f"HTTP {response.status_code}")
                continue
            ended[order_id] = response.json()
        return None if pending else ended

    try:
        orders = await eventually(all_ended, timeout_s=240, interval_s=2)
    except AssertionError:
        raise AssertionError(f"{len(pending)} orders never ended: {pending}") from None

    order_events = [e for _, _, e in await read_events(settings, ORDERS.events.name)
                    if e.aggregate_id in placed]
    payment_events = [e for _, _, e in await read_events(settings, PAYMENTS.events.name)
                      if str(e.payload.get("order_id")) in placed]
    # No order lost or doubled; no event written twice.
    assert Counter(e.aggregate_id for e in order_events if e.type == "OrderPlaced") == \
        Counter(list(placed))
    assert len({e.event_id for e in order_events + payment_events}) == \
        len(order_events) + len(payment_events)
    # Each payment captured at most once, each card order confirmed exactly when captured.
    captured = Counter(str(e.payload["order_id"]) for e in payment_events
                       if e.type == "PaymentCaptured")
    assert max(captured.values(), default=0) == 1
    confirmed = {o for o, order in orders.items() if order["status"] == "confirmed"}
    confirmed_cards = {o for o in confirmed if placed[o][1] == "card"}
    assert set(captured) == confirmed_cards

    # The receipt is a later step than the confirmation: wait for it, then count.
    async def receipts_issued() -> Counter | None:
        receipts = Counter(str(e.payload["order_id"])
                           for _, _, e in await read_events(settings, PAYMENTS.events.name)
                           if e.type == "ReceiptIssued" and str(e.payload["order_id"]) in placed)
        return receipts if set(receipts) >= confirmed_cards else None

    receipts = await eventually(receipts_issued, timeout_s=60, interval_s=1)
    assert set(receipts) == confirmed_cards and max(receipts.values(), default=0) == 1
    # Every unit sold is one unit fewer in stock, and released stock came back.
    assert len(confirmed) <= STOCK

    async def stock_settled():
        response = await gateway.get(f"/v1/products/{product['id']}")
        return response.json()["stock"]["available"] == STOCK - len(confirmed)

    await eventually(stock_settled, timeout_s=60)
