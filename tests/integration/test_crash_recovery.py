"""kill -9 of the command processor in the middle of 1,000 commands loses and duplicates nothing
(a crash: the stack's supervisor races the test to start it again, and one of them does)."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import httpx
import pytest

from infra.settings import Settings
from ops.stack.manager import Stack
from schemas.topics import CATALOG
from tests.outages import crash
from tests.support import eventually, read_events

COMMANDS = 1000
IN_FLIGHT = 32
KILL_AFTER = 250


@pytest.mark.destructive
async def test_kill_9_of_the_worker_mid_stream_gives_exactly_one_event_per_command(
        stack: Stack, settings: Settings, admin: dict, category: dict, clients) -> None:
    # Straight to the API replicas: this is about the command path, not the gateway's limits.
    replicas = itertools.cycle([httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                                  timeout=30)
                                for port in settings.api_replica_ports])
    keys = [str(uuid.uuid4()) for _ in range(COMMANDS)]
    created: dict[str, str] = {}
    retried = 0
    gate = asyncio.Semaphore(IN_FLIGHT)
    half_done = asyncio.Event()

    async def create(n: int, key: str) -> None:
        nonlocal retried
        body = {"sku": f"CRASH-{n:04d}-{key[:6]}", "name": f"Crash test product {n}",
                "category_id": category["id"], "price": {"amount": 1000 + n, "currency": "EUR"},
                "stock": n}
        headers = admin | {"Idempotency-Key": key, "X-Consistency-Token": category["token"]}
        async with gate:
            for attempt in range(60):
                try:
                    response = await next(replicas).post("/v1/admin/products", json=body,
                                                         headers=headers)
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 201:
                    created[key] = response.json()["id"]
                    if len(created) >= KILL_AFTER:
                        half_done.set()
                    return
                assert response is None or response.status_code in (502, 503, 504), response.text
                retried += 1
                await asyncio.sleep(0.5)
            raise AssertionError(f"command {n} never succeeded")

    async def kill_and_restart() -> None:
        await half_done.wait()
        crash(stack, ["worker-commands"])
        await asyncio.sleep(1)
        # Whichever of this and the supervisor comes first starts it; both wait for it.
        await asyncio.to_thread(stack.up, stack.select(["worker-commands"]))

    await asyncio.gather(kill_and_restart(), *(create(n, k) for n, k in enumerate(keys)))

    ids = set(created.values())
    assert len(created) == COMMANDS and len(ids) == COMMANDS
    events = [e for _, _, e in await read_events(settings, CATALOG.events.name)]
    ours = [e for e in events if e.aggregate_id in ids]
    assert sorted(e.aggregate_id for e in ours) == sorted(ids)      # one each: none lost or doubled
    assert all(e.type == "ProductCreated" and e.aggregate_version == 1 for e in ours)
    assert len({e.event_id for e in events}) == len(events)          # no event appears twice

    # The read models show every product once, as created, once they have caught up.
    from projections.catalog_views import CatalogView
    from projections.search import SearchProjection

    catalog = CatalogView(clients.mysql_reads)
    search = SearchProjection(clients.elasticsearch)

    async def in_mysql() -> bool:
        rows = await catalog.products(sorted(ids))
        return len(rows) == COMMANDS

    async def in_elasticsearch() -> bool:
        await search.refresh()
        found = await clients.elasticsearch.count(index="products",
                                                  query={"terms": {"id": sorted(ids)}})
        return found["count"] == COMMANDS

    await eventually(in_mysql, timeout_s=120)
    await eventually(in_elasticsearch, timeout_s=120)


@pytest.mark.destructive
async def test_after_a_restart_new_commands_are_decided_against_the_whole_history(
        stack: Stack, settings: Settings, admin: dict, category: dict, clients, gateway) -> None:
    from infra.command_bus import CommandBus
    from schemas.commands.catalog import CreateProduct
    from tests.support import sign_up, unique_email

    created = await gateway.post(
        "/v1/admin/products", headers=admin | {"X-Consistency-Token": category["token"]},
        json={"sku": f"HIST-{uuid.uuid4().hex[:8]}", "name": "Historic kettle",
              "category_id": category["id"], "price": {"amount": 2500, "currency": "EUR"}})
    assert created.status_code == 201
    email = unique_email("history")
    assert (await sign_up(gateway, email)).status_code == 201

    crash(stack, ["worker-commands"])
    await asyncio.to_thread(stack.up, stack.select(["worker-commands"]))

    bus = CommandBus(clients)
    try:
        again = await bus.send(CreateProduct(
            product_id=created.json()["id"], sku="HIST-again", name="Another kettle",
            slug="another-kettle", category_id=category["id"],
            price={"amount": 1, "currency": "EUR"}), actor="test", command_id=uuid.uuid4(),
            timeout_s=60)
    finally:
        await bus.close()
    assert (again.status, again.reason) == ("rejected", "product_exists")
    assert (await sign_up(gateway, email)).status_code == 409
