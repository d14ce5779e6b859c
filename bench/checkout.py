"""Checkouts under load: checkouts/s, and the time from `POST /v1/checkout` to confirmed.

Sets up shoppers, each with a one-line cart of a product with ample stock, then
checks out every cart (card `tok_visa`) at a fixed concurrency, straight at the
API replicas. The moment each order is confirmed is taken from the orders events
topic itself (a `read_committed` consumer from its end), so polling the API does
not add load to what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import cpu, load
from bench.admin import PASSWORD, admin_and_category, log_in, new_product
from bench.client import Api
from bench.load import Run
from infra.settings import get_settings
from schemas.topics import ORDERS

ADDRESS = {"full_name": "Bench Shopper", "line1": "1 Bench Road", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}
ENDINGS = {b'"type":"OrderConfirmed"': "confirmed", b'"type":"OrderCancelled"': "cancelled"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkouts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--time-limit", type=float, default=300.0)
    return parser.parse_args()


async def ready_shoppers(gateway: httpx.AsyncClient, n: int, product: str, tag: str
                         ) -> list[dict]:
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> dict:
        async with gate:
            email = f"bench-checkout-{tag}-{i}@example.com"
            created = await gateway.post("/v1/users", json={
                "email": email, "password": PASSWORD, "full_name": f"Bench {i}"})
            created.raise_for_status()
            auth = await log_in(gateway, email, created.headers["X-Consistency-Token"])
            (await gateway.post("/v1/cart/items", headers=auth,
                                json={"product_id": product, "quantity": 1})).raise_for_status()
            return auth

    return await asyncio.gather(*(one(i) for i in range(n)))


class Endings:
    """Watches the orders events topic for orders ending, and when."""

    def __init__(self, bootstrap: str, partitions: int) -> None:
        self.partitions = partitions
        self.ended: dict[str, tuple[str, float]] = {}
        self._awaited: dict[str, asyncio.Future] = {}  # order id -> woken when it ends
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                         isolation_level="read_committed",
                                         enable_auto_commit=False)
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [TopicPartition(ORDERS.events.name, p) for p in range(self.partitions)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        async for record in self.consumer:
            for marker, ending in ENDINGS.items():
                if marker in record.value.replace(b" ", b""):
                    order_id = record.key.decode()
                    self.ended.setdefault(order_id, (ending, time.perf_counter()))
                    awaited = self._awaited.pop(order_id, None)
                    if awaited is not None and not awaited.done():
                        awaited.set_result(None)

    async def ending(self, order_id: str, timeout_s: float) -> None:
        """Return once `order_id` has ended, or after `timeout_s`."""
        if order_id in self.ended:
            return
        awaited = self._awaited.setdefault(order_id,
                                           asyncio.get_running_loop().create_future())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(awaited), timeout_s)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.consumer.stop()


async def shoppers_with_carts(gateway: httpx.AsyncClient, n: int) -> list[dict]:
    """`n` new shoppers, signed in, each with one unit of a new product (ample stock) in
    the cart: their Authorization headers."""
    admin, category_id, token = await admin_and_category(gateway)
    tag = uuid.uuid4().hex[:6]
    created = await gateway.post("/v1/admin/products",
                                 json=new_product(tag, 0, category_id) | {"stock": 10 * n},
                                 headers=admin | {"X-Consistency-Token": token})
    created.raise_for_status()
    print(f"setting up {n} shoppers ...")
    return await ready_shoppers(gateway, n, created.json()["id"], tag)


async def to_confirmed(api: Api, shoppers: list[dict], concurrency: int, endings: Endings,
                       time_limit_s: float, *, alone: bool = False) -> tuple[Run, Run]:
    """Each shopper checks out by card (`tok_visa`), `concurrency` POSTs at a time (with
    `alone`, one checkout at a time: the next POST waits for the last order's ending): the
    POSTs (202s, with their latency, which with `alone` includes that wait) and each
    order's time from its POST to confirmed, as `endings` saw it. Both runs' seconds are
    from the first POST to the last ending."""
    sent_at: dict[str, float] = {}

    async def check_out(i: int) -> int:
        sent = time.perf_counter()
        status, body = await api.request(i, "POST", "/v1/checkout", headers=shoppers[i], json={
            "shipping_address": ADDRESS, "payment_method": {"type": "card", "token": "tok_visa"}})
        if status == 202:
            sent_at[body["order_id"]] = sent
            if alone:
                await endings.ending(body["order_id"], time_limit_s)
        return status

    started = time.perf_counter()
    accepted = await load.run(len(shoppers), concurrency, check_out, time_limit_s)
    while (any(o not in endings.ended for o in sent_at)
           and time.perf_counter() < started + time_limit_s + 60):
        await asyncio.sleep(0.05)
    to_end = Run()
    for order_id, sent in sent_at.items():
        ending, at = endings.ended.get(order_id, ("not ended", 0.0))
        to_end.statuses[ending] += 1
        if ending == "confirmed":
            to_end.latencies_s.append(at - sent)
    last = max((endings.ended[o][1] for o in sent_at if o in endings.ended),
               default=time.perf_counter())
    accepted.seconds = to_end.seconds = last - started
    return accepted, to_end


async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as gateway:
        shoppers = await shoppers_with_carts(gateway, args.checkouts)
    api = Api.replicas(settings, args.concurrency)
    endings = Endings(settings.kafka_bootstrap, settings.kafka_partitions)
    await endings.start()
    try:
        before, started = cpu.snapshot(), time.perf_counter()
        accepted, to_end = await to_confirmed(api, shoppers, args.concurrency, endings,
                                              args.time_limit)
        print(accepted.summary(f"POST /v1/checkout (202), concurrency {args.concurrency}"))
        print(to_end.summary("checkout to confirmed"))
        print(cpu.report(before, cpu.snapshot(), time.perf_counter() - started, top=12))
    finally:
        await endings.stop()
        await api.close()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
