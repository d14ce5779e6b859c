"""Every figure of the command path's speed table in one run, with the CPU each part of the
stack used and the same run's yardsticks.

Phases, in order, against the running local stack (`make up`), each measured from
outside with an aiohttp client (`bench/client.py`):

1. Yardsticks: Kafka's own ProducerPerformance (idempotent, acks=all) on the stack's
   broker, and one bare FastAPI process (`bench/bare_api.py`) answering a JSON POST,
   at each concurrency.
2. CreateProduct (`POST /v1/admin/products`) round robin over the API replicas, at
   each concurrency.
3. Card checkouts (`POST /v1/checkout`, `tok_visa`) at each concurrency; the moment
   each order is confirmed is read from the orders events topic.
4. Freshness: a write's 201 until a reader with no token sees it (the product page),
   one write at a time, at idle and under a paced load of half the CreateProduct peak.
5. The carts model's guarded update in the stack's MongoDB at growing collection sizes.
6. Reads at each concurrency: the product page (`GET /v1/products/{id}`), search
   (`GET /v1/search`, shoppers' queries with typos) and the cart (`GET /v1/cart`).

Writes `docs/benchmarks/run.json` and the plots `docs/benchmarks/*.png`, and prints
the table for `docs/benchmarks.md`. Nothing asserts on the numbers.
Run: `.venv/bin/python -m bench.report` (plots need `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import cart_updates, cpu, freshness, kafka_producer, load
from bench.admin import admin_and_category, new_product
from bench.checkout import Endings, shoppers_with_carts, to_confirmed
from bench.search import query_mix
from bench.client import Api
from infra.settings import PROJECT_ROOT, Settings, get_settings

OUT = PROJECT_ROOT / "docs" / "benchmarks"
# What is not the shop: left out of "CPU per command".
NOT_THE_STACK = {cpu.LOAD_GENERATOR, "other", "bare FastAPI", "Kafka producer perf"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,4,16,64",
                        help="CreateProduct and bare FastAPI concurrencies")
    parser.add_argument("--checkout-concurrency", default="1,4,16")
    parser.add_argument("--requests", type=int, default=2000, help="per CreateProduct phase")
    parser.add_argument("--checkouts", type=int, default=200, help="per checkout phase")
    parser.add_argument("--samples", type=int, default=200, help="per freshness phase")
    parser.add_argument("--cart-sizes", default="1000,10000,100000")
    parser.add_argument("--reads", type=int, default=2000, help="per read phase")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase")
    return parser.parse_args()


@dataclass
class Phase:
    """One measured phase: its rate, latency and the CPU seconds per part of the stack."""

    name: str
    concurrency: int
    ok: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def stack_cpu_s(self) -> float:
        return sum(s for part, s in self.cpu_s.items() if part not in NOT_THE_STACK)

    def cpu_per_ok_ms(self, parts: set[str] | None = None) -> float:
        used = (sum(self.cpu_s.get(p, 0.0) for p in parts) if parts is not None
                else self.stack_cpu_s)
        return 1000 * used / self.ok if self.ok else float("nan")

    def line(self, unit: str) -> str:
        busiest = ", ".join(f"{part} {s:.1f}" for part, s in
                            sorted(self.cpu_s.items(), key=lambda kv: -kv[1])[:7])
        return (f"{self.name} c={self.concurrency}: {self.rate:,.1f} {unit}/s, "
                f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, {self.ok} ok "
                f"{self.statuses}; CPU s: {busiest}")


def phase(name: str, concurrency: int, run: load.Run, before: dict) -> Phase:
    return Phase(name, concurrency, run.ok, run.seconds, run.percentile_ms(50),
                 run.percentile_ms(99), {str(k): v for k, v in run.statuses.items()},
                 cpu.by_part(before, cpu.snapshot()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def kafka_yardstick(settings: Settings) -> dict[str, Any]:
    args = argparse.Namespace(records=200_000, record_size=500)
    await kafka_producer.topic(settings, create=True)
    try:
        summary = await asyncio.to_thread(kafka_producer.perf_test, settings, args)
    finally:
        await kafka_producer.topic(settings, create=False)
    rate = float(re.search(r"([\d.]+) records/sec", summary).group(1))
    print(f"yardstick: Kafka ProducerPerformance, idempotent, acks=all: {rate:,.0f} records/s")
    return {"records_per_s": rate, "summary": summary.splitlines()[0]}


async def fastapi_yardstick(concurrencies: list[int], requests: int) -> list[Phase]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_api:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"], cwd=PROJECT_ROOT)
    api = Api([f"http://127.0.0.1:{port}"], max(concurrencies))
    try:
        for _ in range(100):
            try:
                await api.request(0, "POST", "/items", json={"sku": "a", "name": "b", "price": 1})
                break
            except OSError:
                await asyncio.sleep(0.1)
        phases = []
        for c in concurrencies:
            body = {"sku": "SKU-1", "name": "A bare kettle", "price": 1999}
            before = cpu.snapshot()
            async def post(i: int) -> int:
                return (await api.request(i, "POST", "/items", json=body))[0]

            run = await load.run(requests, c, post, 60)
            phases.append(phase("bare FastAPI POST", c, run, before))
            print(phases[-1].line("requests"))
        return phases
    finally:
        await api.close()
        server.terminate()
        server.wait(timeout=10)


async def create_products(settings: Settings, concurrencies: list[int], requests: int,
                          time_limit_s: float) -> list[Phase]:
    async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as gateway:
        auth, category_id, token = await admin_and_category(gateway)
        run_id = uuid.uuid4().hex[:8]
        (await gateway.post("/v1/admin/products", json=new_product(run_id, -1, category_id),
                            headers=auth | {"X-Consistency-Token": token})).raise_for_status()
    api = Api.replicas(settings, max(concurrencies))
    phases = []
    counter = iter(range(10**9))
    try:
        for c in concurrencies:
            async def create(i: int) -> int:
                status, _ = await api.request(i, "POST", "/v1/admin/products", headers=auth,
                                              json=new_product(run_id, next(counter),
                                                               category_id))
                return status

            n = requests if c > 1 else min(requests, 300)
            await load.run(min(50, n), c, create, 30)  # warm up: connections, caches
            before = cpu.snapshot()
            run = await load.run(n, c, create, time_limit_s)
            phases.append(phase("CreateProduct", c, run, before))
            print(phases[-1].line("commands") + f"; CPU per command "
                  f"{phases[-1].cpu_per_ok_ms():.1f} ms")
        return phases
    finally:
        await api.close()


async def checkouts(settings: Settings, concurrencies: list[int], per_phase: int,
                    time_limit_s: float) -> list[Phase]:
    """Each phase: `per_phase` shoppers (fewer alone) check out a one-line cart by card."""
    sizes = [per_phase if c > 1 else min(per_phase, 50) for c in concurrencies]
    async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as gateway:
        shoppers = await shoppers_with_carts(gateway, sum(sizes))
    api = Api.replicas(settings, max(concurrencies))
    endings = Endings(settings.kafka_bootstrap, settings.kafka_partitions)
    await endings.start()
    phases, first = [], 0
    try:
        for c, size in zip(concurrencies, sizes):
            before = cpu.snapshot()
            # One in flight is one checkout alone: the next waits for the last to end.
            accepted, to_end = await to_confirmed(api, shoppers[first:first + size], c,
                                                  endings, time_limit_s, alone=c == 1)
            first += size
            phases.append(phase("card checkout to confirmed", c, to_end, before))
            phases[-1].statuses |= {f"POST {k}": v for k, v in accepted.statuses.items()}
            print(phases[-1].line("checkouts") + f"; CPU per checkout "
                  f"{phases[-1].cpu_per_ok_ms():.0f} ms")
            await asyncio.sleep(2)  # the tail of the phase's work, out of the next one
        return phases
    finally:
        await endings.stop()
        await api.close()


async def freshness_phases(settings: Settings, peak_rate: float, samples: int
                           ) -> list[dict[str, Any]]:
    api = Api.replicas(settings, 64)
    base = settings.public_url
    results = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as writer, \
                httpx.AsyncClient(base_url=base, timeout=30) as reader:
            auth, category_id, _ = await admin_and_category(writer)
            run_id = uuid.uuid4().hex[:8]

            async def create(i: int) -> int:
                status, _ = await api.request(i, "POST", "/v1/admin/products", headers=auth,
                                              json=new_product(run_id, i, category_id))
                return status

            for label, rate in (("idle", 0.0), ("half the peak", peak_rate / 2)):
                probe = freshness.Probe(writer, reader, auth, category_id)
                before, started = cpu.snapshot(), time.perf_counter()
                sent = await freshness.probe_under(rate, create, probe, samples)
                page = load.Run(seconds=time.perf_counter() - started,
                                latencies_s=probe.page)
                result = {"load": label, "background_per_s": rate, "background_sent": sent,
                          "page_p50_ms": page.percentile_ms(50),
                          "page_p99_ms": page.percentile_ms(99),
                          "search_p50_ms": load.Run(latencies_s=probe.search).percentile_ms(50),
                          "failures": probe.failures,
                          "cpu_s": cpu.by_part(before, cpu.snapshot())}
                results.append(result)
                print(f"freshness at {label} ({rate:.0f} CreateProduct/s): product page "
                      f"p50 {result['page_p50_ms']:.1f} ms, p99 {result['page_p99_ms']:.1f} ms;"
                      f" search (polled) p50 {result['search_p50_ms']:.0f} ms; "
                      f"failures {probe.failures}")
    finally:
        await api.close()
    return results


async def reads(settings: Settings, concurrencies: list[int], requests: int,
                time_limit_s: float) -> dict[str, list[Phase]]:
    """The product page, search and the cart, each at every concurrency."""
    async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as gateway:
        shoppers = await shoppers_with_carts(gateway, 20)
        auth, category_id, token = await admin_and_category(gateway)
        run_id = uuid.uuid4().hex[:8]
        products = []
        for i in range(20):
            created = await gateway.post(
                "/v1/admin/products", json=new_product(run_id, i, category_id),
                headers=auth | {"X-Consistency-Token": token})
            created.raise_for_status()
            products.append(created.json()["id"])
            token = created.headers["X-Consistency-Token"]
        # Read once with the token: every product is in the model before the clock starts.
        (await gateway.get(f"/v1/products/{products[-1]}",
                           headers={"X-Consistency-Token": token})).raise_for_status()
    queries = query_mix(requests)
    kinds = {
        "product page": lambda i: ("GET", f"/v1/products/{products[i % len(products)]}", None),
        "search": lambda i: ("GET", "/v1/search?" + urlencode(queries[i % len(queries)]), None),
        "cart": lambda i: ("GET", "/v1/cart", shoppers[i % len(shoppers)]),
    }
    api = Api.replicas(settings, max(concurrencies))
    phases: dict[str, list[Phase]] = {}
    try:
        for kind, request in kinds.items():
            async def read(i: int, request=request) -> int:
                method, path, headers = request(i)
                return (await api.request(i, method, path, headers=headers))[0]

            await load.run(min(100, requests), max(concurrencies), read, 30)  # warm up
            for c in concurrencies:
                before = cpu.snapshot()
                run = await load.run(requests if c > 1 else min(requests, 500), c, read,
                                     time_limit_s)
                phases.setdefault(kind, []).append(phase(kind, c, run, before))
                print(phases[kind][-1].line("reads") + f"; CPU per read "
                      f"{phases[kind][-1].cpu_per_ok_ms():.1f} ms")
        return phases
    finally:
        await api.close()


def carts(settings: Settings, sizes: list[int]) -> list[dict[str, Any]]:
    from pymongo import MongoClient

    results = []
    with MongoClient(settings.mongodb_url) as client:
        collection = client[settings.mongodb_database][f"bench_carts_{uuid.uuid4().hex[:8]}"]
        versions: dict[str, int] = {}
        try:
            for size in sizes:
                cart_updates.fill(collection, versions, size)
                update_s, find_s = cart_updates.measure(collection, versions, 300)
                update = load.Run(latencies_s=update_s)
                results.append({"carts": size, "update_p50_ms": update.percentile_ms(50),
                                "update_p99_ms": update.percentile_ms(99),
                                "find_p50_ms": load.Run(latencies_s=find_s).percentile_ms(50)})
                print(f"carts model, {size:,} carts: guarded update "
                      f"p50 {results[-1]['update_p50_ms']:.2f} ms, "
                      f"p99 {results[-1]['update_p99_ms']:.2f} ms")
        finally:
            collection.drop()
    return results


def plot(results: dict[str, Any]) -> list[Path]:
    """Every benchmark of the run as PNGs: throughput, p50 and p99 latency against
    concurrency for each request kind; freshness at idle and under load; the carts
    model's update as carts grow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {"bare FastAPI POST (yardstick)": results["fastapi"],
              "CreateProduct": results["create_product"],
              "card checkout to confirmed": results["checkout"]}
    series |= {f"GET {kind}": phases for kind, phases in results.get("reads", {}).items()}
    day = results["started_at"][:10]
    paths = []

    def save(figure, axis, name: str, title: str) -> None:
        axis.set_title(f"{title}, {day}")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
        figure.tight_layout()
        path = OUT / f"{name}.png"
        figure.savefig(path)
        plt.close(figure)
        paths.append(path)

    for key, label, unit in (("rate", "throughput", "per second"),
                             ("p50_ms", "p50 latency", "ms"),
                             ("p99_ms", "p99 latency", "ms")):
        figure, axis = plt.subplots(figsize=(7.5, 4.5), dpi=110)
        for name, phases in series.items():
            xs = [p["concurrency"] for p in phases]
            ys = [p["ok"] / p["seconds"] if key == "rate" else p[key] for p in phases]
            axis.plot(xs, ys, marker="o", label=name)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("requests in flight")
        axis.set_ylabel(f"{label} ({unit})")
        save(figure, axis, label.replace(" ", "-"), f"{label} against concurrency")

    figure, axis = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    loads = [f"{f['load']} ({f['background_per_s']:.0f} writes/s)" for f in results["freshness"]]
    for offset, (key, label) in enumerate((("page_p50_ms", "p50"), ("page_p99_ms", "p99"))):
        axis.bar([i + 0.4 * offset for i in range(len(loads))],
                 [f[key] for f in results["freshness"]], width=0.4, label=label)
    axis.set_xticks([i + 0.2 for i in range(len(loads))], loads)
    axis.set_ylabel("write answered -> visible to another reader (ms)")
    save(figure, axis, "freshness", "freshness of the product page")

    figure, axis = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    sizes = [c["carts"] for c in results["carts"]]
    for key, label in (("update_p50_ms", "guarded update p50"),
                       ("update_p99_ms", "guarded update p99"),
                       ("find_p50_ms", "find by _id p50")):
        axis.plot(sizes, [c[key] for c in results["carts"]], marker="o", label=label)
    axis.set_xscale("log")
    axis.set_xlabel("carts in the collection")
    axis.set_ylabel("ms")
    save(figure, axis, "carts", "the carts model in the local MongoDB as carts grow")
    return paths


def table(results: dict[str, Any]) -> str:
    """The speed table's figures, measured, beside their aims."""
    create = {p["concurrency"]: Phase(**p) for p in results["create_product"]}
    checkout = {p["concurrency"]: Phase(**p) for p in results["checkout"]}
    top_c, top_k = max(create), max(checkout)
    fresh = {f["load"]: f for f in results["freshness"]}
    carts_row = ", ".join(f"{c['carts']:,}: {c['update_p50_ms']:.1f} ms"
                          for c in results["carts"])
    rows = [
        (f"CreateProduct at {top_c} in flight",
         f"{create[top_c].rate:,.0f} commands/s, p99 {create[top_c].p99_ms:,.0f} ms",
         ">= 600 commands/s, p99 <= 250 ms"),
        ("one command alone, request to answer", f"p50 {create[1].p50_ms:.1f} ms",
         "p50 <= 6 ms"),
        ("CPU per command, whole stack", f"{create[top_c].cpu_per_ok_ms():.1f} ms", "<= 3 ms"),
        (f"card checkouts at {top_k} in flight",
         f"{checkout[top_k].rate:,.1f} checkouts/s; to confirmed p50 "
         f"{checkout[top_k].p50_ms:,.0f} ms, p99 {checkout[top_k].p99_ms:,.0f} ms",
         ">= 80 checkouts/s; to confirmed p99 <= 800 ms"),
        ("one checkout alone, to confirmed", f"p50 {checkout[1].p50_ms:.0f} ms", "<= 120 ms"),
        ("CPU per checkout, whole stack", f"{checkout[top_k].cpu_per_ok_ms():.0f} ms",
         "<= 20 ms"),
        ("freshness, write answered -> visible to a reader",
         f"idle p50 {fresh['idle']['page_p50_ms']:.1f} ms; at half the peak "
         f"p50 {fresh['half the peak']['page_p50_ms']:.1f} ms, "
         f"p99 {fresh['half the peak']['page_p99_ms']:.1f} ms",
         "p50 <= 10 ms, p99 <= 40 ms at half the peak rate"),
        ("cart update in the local MongoDB (p50)", carts_row, "flat from 1k to 100k carts"),
    ]
    lines = ["| figure | measured | aim |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", "Yardsticks of the same run: Kafka's ProducerPerformance "
              f"{results['kafka']['records_per_s']:,.0f} records/s; a bare FastAPI process "
              + ", ".join(f"{p['ok'] / p['seconds']:,.0f} requests/s at {p['concurrency']}"
                          for p in results["fastapi"]) + "."]
    return "\n".join(lines)


def reads_table(results: dict[str, Any]) -> str:
    """Each read at each concurrency: rate, p50 and p99, CPU per read."""
    lines = ["| read | in flight | reads/s | p50 | p99 | CPU per read |",
             "| --- | --- | --- | --- | --- | --- |"]
    for kind, phases in results.get("reads", {}).items():
        for p in map(lambda p: Phase(**p), phases):
            lines.append(f"| GET {kind} | {p.concurrency} | {p.rate:,.0f} | "
                         f"{p.p50_ms:.1f} ms | {p.p99_ms:.1f} ms | {p.cpu_per_ok_ms():.2f} ms |")
    return "\n".join(lines)


def cpu_table(results: dict[str, Any]) -> str:
    """CPU milliseconds per command and per checkout, by part, at the highest concurrency."""
    create = Phase(**results["create_product"][-1])
    checkout = Phase(**results["checkout"][-1])
    parts = sorted(set(create.cpu_s) | set(checkout.cpu_s),
                   key=lambda p: -(create.cpu_s.get(p, 0) + checkout.cpu_s.get(p, 0)))
    lines = [f"| part | per command (c={create.concurrency}) | "
             f"per checkout (c={checkout.concurrency}) |", "| --- | --- | --- |"]
    for part in parts:
        lines.append(f"| {part} | {create.cpu_per_ok_ms({part}):.2f} ms | "
                     f"{checkout.cpu_per_ok_ms({part}):.1f} ms |")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    checkout_concurrencies = [int(c) for c in args.checkout_concurrency.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    results["kafka"] = await kafka_yardstick(settings)
    results["fastapi"] = [asdict(p) for p in await fastapi_yardstick(concurrencies, 3000)]
    created = await create_products(settings, concurrencies, args.requests, args.time_limit)
    results["create_product"] = [asdict(p) for p in created]
    results["checkout"] = [asdict(p) for p in await checkouts(
        settings, checkout_concurrencies, args.checkouts, args.time_limit)]
    peak = max(p.rate for p in created)
    results["freshness"] = await freshness_phases(settings, peak, args.samples)
    results["carts"] = await asyncio.to_thread(
        carts, settings, [int(s) for s in args.cart_sizes.split(",")])
    results["reads"] = {kind: [asdict(p) for p in phases] for kind, phases in (await reads(
        settings, concurrencies, args.reads, args.time_limit)).items()}
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (OUT / "run.json").write_text(json.dumps(results, indent=1))
    try:
        for path in plot(results):
            print(f"plot: {path.relative_to(PROJECT_ROOT)}")
    except ImportError:
        print("no plots: matplotlib is missing (pip install -e '.[bench]')")
    print()
    print(table(results))
    print()
    print(cpu_table(results))
    print()
    print(reads_table(results))


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
