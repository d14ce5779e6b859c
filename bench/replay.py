"""Events/s of `shopstream replay catalog` (MySQL) and `shopstream replay catalog-search` (ES).

If the catalog events topic holds fewer than --min-events events, products are
first created through the API replicas (so every event is a real one), and the
live projections are let catch up. Then each replay runs once as the CLI, and
its own closing line ("N events replayed in S s") gives the figure.
Run: `.venv/bin/python -m bench.replay`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import uuid

import httpx

from bench import cpu, load
from bench.admin import admin_and_category, new_product
from ops.bootstrap import build_clients
from infra.settings import PROJECT_ROOT, Settings, get_settings
from infra.topic_reader import TopicReader
from projections import checkpoints
from schemas.topics import CATALOG

PROJECTIONS = ("catalog", "catalog-search")
DONE = re.compile(r"([\d,]+) events replayed in ([\d.]+)s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64, help="of the filling writes")
    parser.add_argument("--fill-time-limit", type=float, default=420.0,
                        help="seconds the filling writes may take in all")
    return parser.parse_args()


async def count_events(settings: Settings) -> int:
    """Committed events in the catalog topic (offsets also count transaction markers)."""
    async with TopicReader(settings, (CATALOG.events.name,)) as reader:
        return sum([len(records) async for records in reader.read(await reader.range())])


async def fill(settings: Settings, missing: int, concurrency: int, time_limit_s: float) -> None:
    """Create `missing` products (one ProductCreated each) round robin across the replicas."""
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
               for port in settings.api_replica_ports]
    try:
        auth, category_id, token = await admin_and_category(clients[0])
        run = uuid.uuid4().hex[:8]
        (await clients[0].post("/v1/admin/products", json=new_product(run, -1, category_id),
                               headers=auth | {"X-Consistency-Token": token})).raise_for_status()

        async def create(i: int) -> httpx.Response:
            return await clients[i % len(clients)].post(
                "/v1/admin/products", json=new_product(run, i, category_id), headers=auth)

        filled = await load.run(missing, concurrency, create, time_limit_s)
        print(filled.summary("filling: POST /v1/admin/products"))
    finally:
        for client in clients:
            await client.aclose()


async def wait_caught_up(settings: Settings, timeout_s: float = 300.0) -> None:
    """Wait until the live catalog projections have applied the whole topic."""
    clients = build_clients(settings)
    deadline = time.monotonic() + timeout_s
    try:
        async with TopicReader(settings, (CATALOG.events.name,)) as reader:
            ends = (await reader.range()).end
        while time.monotonic() < deadline:
            lag = 0
            for name in PROJECTIONS:
                reached = await checkpoints.load(clients.mysql, name)
                lag += sum(max(end - reached.get((tp.topic, tp.partition), 0), 0)
                           for tp, end in ends.items())
            if lag == 0:
                return
            await asyncio.sleep(1)
        print(f"warning: the live projections still lag by {lag} offsets")
    finally:
        await clients.close()


def replay(name: str) -> None:
    """Run `shopstream replay NAME` once and report its events/s."""
    before = cpu.snapshot()
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "ops.cli", "replay", name],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
                            env=os.environ | {"COLUMNS": "200"})
    wall = time.monotonic() - started
    last = (result.stdout.strip().splitlines() or [""])[-1]
    match = DONE.search(last)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"replay {name} failed:\n{result.stdout}\n{result.stderr}")
    events, seconds = int(match[1].replace(",", "")), float(match[2])
    print(f"replay {name}: {events:,} events in {seconds:.1f} s = {events / seconds:,.0f} "
          f"events/s ({wall:.1f} s wall with process start)\n  CLI: {last}")
    print(cpu.report(before, cpu.snapshot(), wall))


def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    events = asyncio.run(count_events(settings))
    print(f"{CATALOG.events.name}: {events:,} events")
    deadline = time.monotonic() + args.fill_time_limit
    # Rounds, since failed writes (e.g. a replica restarting) leave events missing.
    while events < args.min_events and time.monotonic() < deadline:
        asyncio.run(fill(settings, args.min_events - events, args.concurrency,
                         deadline - time.monotonic()))
        events = asyncio.run(count_events(settings))
        print(f"{CATALOG.events.name}: {events:,} events")
    asyncio.run(wait_caught_up(settings))
    for name in PROJECTIONS:
        replay(name)


if __name__ == "__main__":
    main(parse_args())
