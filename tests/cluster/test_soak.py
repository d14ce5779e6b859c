"""Ten minutes at half the measured peak: memory and logs stay flat, no lag is left.

First the peak: commands (new products) at 64 in flight for `BURST_S`, the rate
acknowledged. Then `SOAK_S` at half that rate of commands (new products and stock
changes), each with two reads (a product page, a search), and a checkout every
`CHECKOUT_EVERY_S`. Every `SAMPLE_EVERY_S` the resident memory (RSS) of every process
of the stack (each part's process group) and the bytes each part's log has written
are sampled.

Flat means, over the second half of the soak (from the sample at the half to the last
ones, each the median of `ENDS` samples): each process's memory grew by less than
`MEMORY_GROWTH` of what it had at the half, or `MEMORY_SLACK` if that is more; each log
wrote less than `LOG_BYTES` (a line per request would be far more). At the end, with
the load stopped, every projection's lag is 0 and every consumer group has read every
record of its topics, within `CATCH_UP_S`. No request answers a server error other
than 503 or 504 (the answers a client retries); each kind of answer is counted in the
figures, the checkouts' too.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from infra.clients import Clients
from infra.topic_reader import TopicReader
from ops.stack.manager import Stack
from projections.positions import positions
from tests.cluster.support import ClusterStack
from tests.e2e.test_checkout import fill_cart, placed
from tests.outages import new_product, signed_up
from tests.support import eventually

BURST_S = 30
BURST_IN_FLIGHT = 64
SOAK_S = 600
SAMPLE_EVERY_S = 15
CHECKOUT_EVERY_S = 30
ENDS = 3
MEMORY_GROWTH = 0.10
MEMORY_SLACK = 24 * 1024 * 1024
LOG_BYTES = 1024 * 1024
CATCH_UP_S = 180
MIB = 1024 * 1024


def group_rss(pgid: int) -> int:
    """Resident bytes of every process in the process group `pgid` (a part and its children)."""
    total = 0
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            status = (stat_file.parent / "status").read_text()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        total += next((int(line.split()[1]) * 1024 for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)
    return total


class LogMeter:
    """Bytes each part's log has written since the meter started, across rotations."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.max_bytes = stack.settings.stack_log_max_bytes
        self.last = {part.name: self._size(part) for part in stack.parts}
        self.written = dict.fromkeys(self.last, 0)

    def _size(self, part) -> int:
        log = self.stack.log_file(part)
        return log.stat().st_size if log.exists() else 0

    def read(self) -> dict[str, int]:
        for part in self.stack.parts:
            size = self._size(part)
            before = self.last[part.name]
            # A smaller log rolled over: what was written since filled the old one up.
            self.written[part.name] += size - before if size >= before else (
                max(self.max_bytes - before, 0) + size)
            self.last[part.name] = size
        return dict(self.written)


def sample(stack: Stack, meter: LogMeter, started: float) -> dict:
    pids = {part.name: stack.pid(part) for part in stack.parts}
    return {"t_s": round(time.monotonic() - started, 1),
            "rss": {name: group_rss(pid) for name, pid in pids.items() if pid is not None},
            "log_bytes": meter.read()}


async def measure_peak(http: list[httpx.AsyncClient], admin: dict, category: dict) -> float:
    """Commands acknowledged per second with `BURST_IN_FLIGHT` in flight for `BURST_S`."""
    deadline = time.monotonic() + BURST_S
    accepted = 0
    replicas = itertools.cycle(http)

    async def sender() -> None:
        nonlocal accepted
        while time.monotonic() < deadline:
            response = await create_once(next(replicas), admin, category)
            if response.status_code == 201:
                accepted += 1

    started = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(BURST_IN_FLIGHT)))
    return accepted / (time.monotonic() - started)


async def soak_product(http: httpx.AsyncClient, admin: dict, category: dict) -> dict:
    """The product every checkout buys and every read opens, made as a careful client does."""
    created = await new_product(http, admin, category, [], target="soak product",
                                sku=f"SOAK-{uuid.uuid4().hex[:10]}", name="Soak kettle",
                                price=2500, stock=1_000_000)
    assert created.status == 201, created
    return created.body | {"token": created.consistency_token}


async def create_once(http: httpx.AsyncClient, admin: dict, category: dict) -> httpx.Response:
    """One new product, sent once (the soak counts every answer, retries would hide them)."""
    word = uuid.uuid4().hex[:10]
    try:
        return await http.post("/v1/admin/products", headers=admin | {
            "Idempotency-Key": str(uuid.uuid4())}, json={
            "sku": f"SOAK-{word}", "name": f"Soak lamp {word}", "category_id": category["id"],
            "price": {"amount": 1200, "currency": "EUR"}, "stock": 5})
    except httpx.TransportError:
        return httpx.Response(599)


class Soak:
    """Half the peak's commands per second, with two reads each, and a checkout now and
    then, counting every answer by what it was."""

    def __init__(self, http: list[httpx.AsyncClient], gateway: httpx.AsyncClient, admin: dict,
                 category: dict, product: dict, rate: float) -> None:
        self.http, self.gateway, self.admin, self.category = http, gateway, admin, category
        self.product, self.rate = product, rate
        self.answers: dict[str, dict[int, int]] = {}
        self.behind = 0  # commands not sent on time: every sender was still busy
        self.in_flight = asyncio.Semaphore(BURST_IN_FLIGHT)

    def count(self, what: str, status: int) -> None:
        self.answers.setdefault(what, {}).setdefault(status, 0)
        self.answers[what][status] += 1

    async def _get(self, http: httpx.AsyncClient, what: str, path: str, **params) -> None:
        try:
            status = (await http.get(path, params=params or None)).status_code
        except httpx.TransportError:
            status = 599
        self.count(what, status)

    async def one(self, n: int) -> None:
        async with self.in_flight:
            http = self.http[n % len(self.http)]
            if n % 4 == 3:
                try:
                    status = (await http.patch(
                        f"/v1/admin/products/{self.product['id']}", headers=self.admin,
                        json={"stock": 100_000 + n})).status_code
                except httpx.TransportError:
                    status = 599
                self.count("stock change", status)
            else:
                self.count("new product", (await create_once(http, self.admin,
                                                              self.category)).status_code)
            await self._get(http, "product page", f"/v1/products/{self.product['id']}")
            await self._get(http, "search", "/v1/search", q=self.product["name"].split()[-1])

    async def checkouts(self, until: float) -> None:
        while time.monotonic() < until:
            try:
                _, headers = await signed_up(self.gateway, "soak", [])
                await fill_cart(self.gateway, headers, (self.product, 1))
                order = await placed(self.gateway, headers, "card", "tok_visa")
                self.count("checkout", 200 if order["status"] == "confirmed" else 409)
            except (AssertionError, httpx.HTTPError) as error:
                self.count("checkout", 599)
                print(f"a checkout failed: {error!r}"[:300])
            await asyncio.sleep(CHECKOUT_EVERY_S)

    async def run(self, seconds: float) -> None:
        started = time.monotonic()
        until = started + seconds
        tasks: set[asyncio.Task] = set()
        checkouts = asyncio.create_task(self.checkouts(until))
        for n in itertools.count():
            due = started + n / self.rate
            if due >= until:
                break
            await asyncio.sleep(max(due - time.monotonic(), 0))
            if self.in_flight.locked():
                self.behind += 1
            task = asyncio.create_task(self.one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        await checkouts


def growth(series: list[float]) -> tuple[float, float]:
    """(the value at the half, the growth from there to the end): medians of `ENDS` samples."""
    half = len(series) // 2
    at_half = statistics.median(series[max(half - ENDS // 2, 0):half + ENDS // 2 + 1])
    return at_half, statistics.median(series[-ENDS:]) - at_half


async def consumer_groups_behind(clients: Clients) -> dict[str, int]:
    """Per consumer group, the records of its topics it has not committed (transaction
    markers past its offset are not records, so they are read and not counted)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=clients.settings.kafka_bootstrap,
                                request_timeout_ms=10_000)
    await admin.start()
    try:
        groups = [group for group, _ in await admin.list_consumer_groups()]
        committed = {group: await admin.list_consumer_group_offsets(group) for group in groups}
    finally:
        await admin.close()
    behind: dict[str, int] = {}
    for group, offsets in committed.items():
        topics = tuple(sorted({tp.topic for tp in offsets}))
        if not topics:
            continue
        async with TopicReader(clients.settings, topics) as reader:
            unread = await reader.range(start={tp: meta.offset for tp, meta in offsets.items()
                                               if meta.offset >= 0})
            records = 0
            async for batch in reader.read(unread):
                records += len(batch)
        behind[group] = records
    return behind


async def lags(clients: Clients) -> dict[str, int]:
    return {found.name: found.lag for found in await positions(clients.settings, clients.mysql)}


@pytest.mark.timeout(SOAK_S + 1800)
async def test_ten_minutes_at_half_the_peak_keep_memory_and_logs_flat_and_leave_no_lag(
        cluster: ClusterStack, cluster_gateway: httpx.AsyncClient, cluster_admin: dict,
        cluster_category: dict, cluster_clients: Clients) -> None:
    stack, settings = cluster.stack, cluster.settings
    # Commands and reads straight to the API replicas, as in the benchmarks: the gateway's
    # limit per client address is for clients, not for one load generator.
    replicas = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60)
                for port in settings.api_replica_ports]
    try:
        product = await soak_product(cluster_gateway, cluster_admin, cluster_category)
        peak = await measure_peak(replicas, cluster_admin, cluster_category)
        assert peak > 0, "no command was acknowledged in the burst"
        rate = peak / 2
        print(f"\npeak {peak:.1f} commands/s; soaking at {rate:.1f}/s for {SOAK_S} s")

        meter = LogMeter(stack)
        started = time.monotonic()
        samples = [sample(stack, meter, started)]

        async def sampling() -> None:
            while True:
                await asyncio.sleep(SAMPLE_EVERY_S)
                samples.append(sample(stack, meter, started))

        soak = Soak(replicas, cluster_gateway, cluster_admin, cluster_category, product, rate)
        sampler = asyncio.create_task(sampling())
        try:
            await soak.run(SOAK_S)
        finally:
            sampler.cancel()
        samples.append(sample(stack, meter, started))
    finally:
        for replica in replicas:
            await replica.aclose()

    caught_up_from = time.monotonic()

    async def no_lag() -> bool:
        return (not any((await lags(cluster_clients)).values())
                and not any((await consumer_groups_behind(cluster_clients)).values()))

    await eventually(no_lag, timeout_s=CATCH_UP_S, interval_s=2)
    caught_up_s = time.monotonic() - caught_up_from

    processes = sorted({name for s in samples for name in s["rss"]})
    memory = {name: growth([s["rss"].get(name, 0) for s in samples]) for name in processes}
    logs = {name: growth([s["log_bytes"][name] for s in samples])[1]
            for name in samples[-1]["log_bytes"]}
    figures = {
        "peak_commands_per_s": round(peak, 1), "rate_commands_per_s": round(rate, 1),
        "soak_s": SOAK_S, "sample_every_s": SAMPLE_EVERY_S, "behind": soak.behind,
        "answers": soak.answers, "caught_up_after_load_s": round(caught_up_s, 1),
        "memory_mib_at_half_and_growth": {
            name: [round(at / MIB, 1), round(grew / MIB, 1)] for name, (at, grew) in
            memory.items()},
        "log_bytes_in_second_half": logs,
        "criteria": {"memory_growth": MEMORY_GROWTH, "memory_slack_mib": MEMORY_SLACK / MIB,
                     "log_bytes": LOG_BYTES},
        "samples": samples,
        "cpus": os.cpu_count(),
    }
    cluster.write_figures("test_soak", figures)

    grew = {name: (round(at / MIB, 1), round(by / MIB, 1)) for name, (at, by) in memory.items()
            if by >= max(MEMORY_GROWTH * at, MEMORY_SLACK)}
    assert not grew, f"memory grew over the second half (MiB at the half, growth): {grew}"
    noisy = {name: written for name, written in logs.items() if written >= LOG_BYTES}
    assert not noisy, f"logs that wrote {LOG_BYTES} bytes or more in the second half: {noisy}"
    # A busy shop may answer 503 (with Retry-After) or 504 (retry with the same
    # Idempotency-Key); never another server error.
    errors = {what: {s: n for s, n in counts.items() if s >= 500 and s not in (503, 504)}
              for what, counts in soak.answers.items() if what != "checkout"}
    assert not any(errors.values()), f"server errors during the soak: {errors}"
