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
import itertools
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import cpu
from bench.admin import PASSWORD, admin_and_category, log_in, new_product
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
                    self.ended.setdefault(record.key.decode(), (ending, time.perf_counter()))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.consumer.stop()


async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    gateway = httpx.AsyncClient(base_url=settings.public_url, timeout=30)
    admin, category_id, token = await admin_and_category(gateway)
    tag = uuid.uuid4().hex[:6]
    body = new_product(tag, 0, category_id) | {"stock": 10 * args.checkouts}
    created = await gateway.post("/v1/admin/products", json=body,
                                 headers=admin | {"X-Consistency-Token": token})
    created.raise_for_status()
    product = created.json()["id"]
    await gateway.get(f"/v1/products/{product}",
                      headers={"X-Consistency-Token": created.headers["X-Consistency-Token"]})
    print(f"setting up {args.checkouts} shoppers ...")
    shoppers = await ready_shoppers(gateway, args.checkouts, product, tag)

    endings = Endings(settings.kafka_bootstrap, settings.kafka_partitions)
    await endings.start()
    replicas = itertools.cycle([httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                                  timeout=30)
                                for port in settings.api_replica_ports])
    sent_at: dict[str, float] = {}
    accepted = Run()
    indexes = iter(range(args.checkouts))
    started = time.perf_counter()
    deadline = started + args.time_limit

    async def worker() -> None:
        for i in indexes:
            if time.perf_counter() > deadline:
                accepted.unsent += 1
                continue
            sent = time.perf_counter()
            response = await next(replicas).post(
                "/v1/checkout", headers=shoppers[i],
                json={"shipping_address": ADDRESS,
                      "payment_method": {"type": "card", "token": "tok_visa"}})
            accepted.statuses[response.status_code] += 1
            if response.status_code == 202:
                accepted.latencies_s.append(time.perf_counter() - sent)
                sent_at[response.json()["order_id"]] = sent

    before = cpu.snapshot()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    while len([o for o in sent_at if o in endings.ended]) < len(sent_at) and (
            time.perf_counter() < deadline + 60):
        await asyncio.sleep(0.2)
    await endings.stop()

    to_end = Run()
    for order_id, sent in sent_at.items():
        if order_id in endings.ended:
            ending, at = endings.ended[order_id]
            to_end.statuses[ending] += 1
            if ending == "confirmed":
                to_end.latencies_s.append(at - sent)
        else:
            to_end.statuses["not ended"] += 1
    last = max((endings.ended[o][1] for o in sent_at if o in endings.ended), default=started)
    accepted.seconds = to_end.seconds = last - started
    print(accepted.summary(f"POST /v1/checkout (202), concurrency {args.concurrency}"))
    print(to_end.summary("checkout to confirmed"))
    print(cpu.report(before, cpu.snapshot(), time.perf_counter() - started, top=12))
    await gateway.aclose()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
