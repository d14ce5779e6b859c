"""Freshness: from a write's answer to the moment another client, carrying no token, sees it.

An admin creates products (POST /v1/admin/products, answered 201); at once a second
client with no session and no consistency token reads the product page
(GET /v1/products/{id}, which waits on a miss for the product's partition) and
polls the search (GET /v1/search, which does not wait). Freshness is the time from
the 201 to the first read that shows the product.

Three phases in one run: the command path's peak (CreateProduct at --concurrency),
freshness at idle, and freshness while a paced background load sends CreateProduct
at half that peak. The yardstick, from the same run: a plain aiokafka producer's
record seen by a plain consumer (Kafka's own end-to-end latency on this broker).
Run: `.venv/bin/python -m bench.freshness`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from bench import cpu, load
from bench.admin import admin_and_category, new_product
from infra.settings import get_settings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="per freshness phase")
    parser.add_argument("--peak-requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32, help="for the peak")
    return parser.parse_args()


def percentiles(values_s: list[float]) -> str:
    ordered = sorted(values_s)
    if not ordered:
        return "no samples"

    def at(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return f"p50 {at(50):.1f} ms, p99 {at(99):.1f} ms, max {at(100):.1f} ms (n={len(ordered)})"


async def kafka_yardstick(bootstrap: str, samples: int) -> list[float]:
    """Produce one record at a time and time until a plain consumer has it."""
    topic = "shopstream.bench.freshness"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=True)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                isolation_level="read_committed", fetch_max_wait_ms=500)
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up", partition=0)
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        latencies = []
        for _ in range(samples):
            sent = time.perf_counter()
            await producer.send_and_wait(topic, b"x", partition=0)
            while not (await consumer.getmany(tp, timeout_ms=1000)).get(tp):
                pass
            latencies.append(time.perf_counter() - sent)
        return latencies
    finally:
        await consumer.stop()
        await producer.stop()


class Probe:
    """Writes one product and times how soon a tokenless reader sees it."""

    def __init__(self, writer: httpx.AsyncClient, reader: httpx.AsyncClient, auth: dict,
                 category_id: str) -> None:
        self.writer, self.reader, self.auth, self.category_id = writer, reader, auth, category_id
        self.run = uuid.uuid4().hex[:8]
        self.page: list[float] = []
        self.search: list[float] = []
        self.failures = 0

    async def once(self, i: int) -> None:
        body = new_product(self.run, i, self.category_id) | {"name": f"Fresh {self.run}x{i}"}
        created = await self.writer.post("/v1/admin/products", json=body, headers=self.auth)
        answered = time.perf_counter()
        if created.status_code != 201:
            self.failures += 1
            return
        product_id = created.json()["id"]
        page = await self.reader.get(f"/v1/products/{product_id}")
        if page.status_code != 200:
            self.failures += 1
        else:
            self.page.append(time.perf_counter() - answered)
        deadline = answered + 10
        while time.perf_counter() < deadline:
            found = await self.reader.get("/v1/search", params={"q": f"Fresh {self.run}x{i}"})
            if found.status_code == 200 and any(p["id"] == product_id
                                                for p in found.json()["items"]):
                self.search.append(time.perf_counter() - answered)
                return
            await asyncio.sleep(0.005)
        self.failures += 1

    def summary(self, label: str) -> str:
        return (f"{label}:\n  product page (keyed read): {percentiles(self.page)}\n"
                f"  search (polled every 5 ms): {percentiles(self.search)}\n"
                f"  failures: {self.failures}")


async def paced(rate: float, send, stop: asyncio.Event) -> int:
    """Call `send(i)` `rate` times a second, without waiting for answers, until `stop`."""
    tasks: set[asyncio.Task] = set()
    i, started = 0, time.perf_counter()
    while not stop.is_set():
        due = started + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        task = asyncio.create_task(send(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    await asyncio.gather(*tasks, return_exceptions=True)
    return i


async def probe_under(rate: float, send, probe: Probe, samples: int) -> int:
    """`samples` probes one after another, while `send(i)` goes `rate` times a second in
    the background (none at 0); the number of background writes sent."""
    stop = asyncio.Event()
    background = asyncio.create_task(paced(rate, send, stop)) if rate else None
    try:
        for i in range(samples):
            await probe.once(i)
    finally:
        stop.set()
    return await background if background else 0


async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    base = f"http://127.0.0.1:{settings.gateway_port}"
    limits = httpx.Limits(max_connections=args.concurrency + 8)
    # The load goes to the API replicas directly (the gateway would rate-limit one
    # address); the probe's writer and reader go through the gateway, as a shop's would.
    loaders = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits)
               for port in settings.api_replica_ports]
    async with httpx.AsyncClient(base_url=base, timeout=30) as writer, \
            httpx.AsyncClient(base_url=base, timeout=30) as reader:
        auth, category_id, _ = await admin_and_category(writer)
        run = uuid.uuid4().hex[:8]

        async def create(i: int) -> httpx.Response:
            return await loaders[i % len(loaders)].post(
                "/v1/admin/products", headers=auth, json=new_product(run, i, category_id))

        before = cpu.snapshot()
        peak = await load.run(args.peak_requests, args.concurrency, create, 120)
        print(peak.summary(f"peak: CreateProduct at concurrency {args.concurrency}"))
        print(cpu.report(before, cpu.snapshot(), peak.seconds))

        yardstick = await kafka_yardstick(settings.kafka_bootstrap, args.samples)
        print(f"yardstick: a Kafka record produced (acks=all) until consumed (read_committed): "
              f"{percentiles(yardstick)}")

        idle = Probe(writer, reader, auth, category_id)
        before = cpu.snapshot()
        started = time.perf_counter()
        await probe_under(0, create, idle, args.samples)
        print(idle.summary("freshness at idle (one write at a time)"))
        print(cpu.report(before, cpu.snapshot(), time.perf_counter() - started))

        rate = max(1.0, peak.ok / peak.seconds / 2)
        loaded = Probe(writer, reader, auth, category_id)
        before = cpu.snapshot()
        started = time.perf_counter()
        sent = await probe_under(rate, create, loaded, args.samples)
        seconds = time.perf_counter() - started
        print(loaded.summary(f"freshness under a background load of {rate:.0f} CreateProduct/s "
                             f"(half the peak; {sent} sent)"))
        print(cpu.report(before, cpu.snapshot(), seconds))
    for loader in loaders:
        await loader.aclose()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parse_args()))
