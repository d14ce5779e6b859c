"""A replay whose worker died mid-way (a silent row, then a real kill -9): the live model
keeps serving, a projections worker drops the half-built shadow and marks the replay
failed once its heartbeat is stale, and the projection takes a new request."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import inspect, update

from infra.clients import Clients
from projections.registry import build_projections
from projections.search import ALIAS, MAPPING_VERSION, SearchProjection
from ops.stack.manager import Stack
from projections.replays import STALE_AFTER, ReplayRequests, ReplayRow, replays
from tests.support import eventually, no_replay_under_way, shopstream


def _tables(sync) -> set[str]:
    return set(inspect(sync).get_table_names())


async def test_a_replay_left_by_a_dead_worker_fails_and_its_shadow_goes(
        gateway: httpx.AsyncClient, admin: dict, clients: Clients) -> None:
    # A worker claimed a replay of the catalog, built part of its shadow, and died.
    suffix, replay_id = f"dead{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    shadow = build_projections(clients)["catalog"].shadow(suffix)
    await shadow.setup()
    long_ago = datetime.now(UTC).replace(tzinfo=None) - 2 * STALE_AFTER
    async with clients.mysql.begin() as connection:
        await connection.execute(update(replays).where(replays.c.active == "catalog")
                                 .values(active=None, state="failed", error="test reset"))
        await connection.execute(replays.insert().values(
            id=replay_id, projection="catalog", state="running", active="catalog", done=10,
            total=1000, shadow=f"{suffix}", worker="gone/1", requested_by=str(uuid.uuid4()),
            requested_at=long_ago, started_at=long_ago, beat_at=long_ago))
    shadow_tables = {table.name for table in shadow.tables.values()}
    async with clients.mysql.connect() as connection:
        assert shadow_tables <= await connection.run_sync(_tables)

    async def failed():
        answer = await gateway.get(f"/v1/admin/replays/{replay_id}", headers=admin)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["state"] == "failed" else None

    ended = await eventually(failed, timeout_s=60, interval_s=0.5)
    assert "stopped" in ended["error"] and ended["finished_at"]
    async with clients.mysql.connect() as connection:
        assert not shadow_tables & await connection.run_sync(_tables)
    # The live model served all along, and a new replay may start.
    assert (await gateway.get("/v1/categories")).status_code == 200
    again = await gateway.post("/v1/admin/projections/catalog/replays", headers=admin)
    assert again.status_code == 202, again.text


async def test_kill_9_of_the_worker_mid_replay_keeps_the_live_model_and_fails_the_replay(
        gateway: httpx.AsyncClient, admin: dict, clients: Clients, stack: Stack,
        category: dict) -> None:
    async def ask() -> dict | None:
        answer = await gateway.post("/v1/admin/projections/catalog/replays", headers=admin)
        assert answer.status_code in (202, 409), answer.text
        return answer.json() if answer.status_code == 202 else None

    async def caught_running() -> tuple[dict, ReplayRow] | None:
        """A replay asked for and seen running with progress made; None if it was done
        before that could be seen (a fresh stack's catalog replays in a second or so)."""
        asked = await eventually(ask, timeout_s=300, interval_s=1)  # after any under way

        async def under_way() -> ReplayRow | str | None:
            row = await ReplayRequests(clients.mysql).get(asked["id"])
            assert row is not None and row["state"] in ("requested", "running", "done"), row
            if row["state"] == "done":
                return "done"
            return row if row["state"] == "running" and row["done"] > 0 else None

        seen = await eventually(under_way, timeout_s=120, interval_s=0.05)
        return None if seen == "done" else (asked, seen)

    workers = stack.select(["worker-projections"])
    for _ in range(5):
        if not (caught := await caught_running()):
            continue
        asked, running = caught
        await asyncio.to_thread(stack.down, workers, kill=True)
        try:
            # The live model serves while no worker runs.
            listed = await gateway.get("/v1/categories")
            assert listed.status_code == 200 and listed.json(), listed.text
        finally:
            await asyncio.to_thread(stack.up, workers)
        row = await ReplayRequests(clients.mysql).get(asked["id"])
        if row is not None and row["state"] != "done":  # not done before the kill landed
            break
    else:
        raise AssertionError("five replays in a row were done before the kill could land")

    async def failed():
        answer = await gateway.get(f"/v1/admin/replays/{asked['id']}", headers=admin)
        return answer.json() if answer.json()["state"] == "failed" else None

    ended = await eventually(failed, timeout_s=240, interval_s=1)
    assert "stopped" in ended["error"]
    shadow = build_projections(clients)["catalog"].shadow(running["shadow"])
    async with clients.mysql.connect() as connection:
        assert not ({table.name for table in shadow.tables.values()}
                    & await connection.run_sync(_tables))
    assert category["name"] in [c["name"] for c in (await gateway.get("/v1/categories")).json()]


async def test_the_command_line_replays_one_model_at_a_time_with_the_api(
        gateway: httpx.AsyncClient, admin: dict, clients: Clients) -> None:
    """`shopstream replay` is refused while a replay of the same model is under way, and
    while it runs, the API refuses one too: two rebuilds of one model at once would each
    swap in their own."""
    requests = ReplayRequests(clients.mysql)
    await eventually(lambda: no_replay_under_way(clients, "users"), timeout_s=300, interval_s=1)
    # Another administrator's `shopstream replay users`, under way.
    other = await requests.start("users", "command line", "elsewhere/1", "other")

    refused = await asyncio.to_thread(shopstream, "replay", "users", check=False)
    asked = await gateway.post("/v1/admin/projections/users/replays", headers=admin)

    assert refused.returncode == 1 and "already under way" in refused.stdout, refused.stdout
    assert asked.status_code == 409, asked.text
    assert asked.headers["Location"] == f"/v1/admin/replays/{other['id']}"

    await requests.fail(other["id"], "test: given up")
    await asyncio.to_thread(shopstream, "replay", "users")
    latest = await _latest_replay(gateway, admin, "users")
    assert (latest["state"], latest["id"] != other["id"]) == ("done", True), latest


@pytest.mark.destructive
async def test_a_worker_starting_on_an_older_search_mapping_rebuilds_it_as_a_listed_replay(
        gateway: httpx.AsyncClient, admin: dict, clients: Clients, stack: Stack,
        findable_product: dict) -> None:
    """A release that changes the search mapping needs no command: the projections worker
    finds the live indices older, replays them into new ones, and lists that replay with
    the others (so an administrator's replay of the model waits its turn)."""
    await eventually(lambda: no_replay_under_way(clients, "catalog-search"), 300, 1)
    workers = stack.select(["worker-projections"])
    await asyncio.to_thread(stack.down, workers)
    try:
        await clients.elasticsearch.indices.put_mapping(
            index=ALIAS, meta={"mapping_version": MAPPING_VERSION - 1})
        assert await SearchProjection(clients.elasticsearch).outdated()
        before = await _latest_replay(gateway, admin, "catalog-search")
    finally:
        await asyncio.to_thread(stack.up, workers)

    async def rebuilt() -> dict | None:
        latest = await _latest_replay(gateway, admin, "catalog-search")
        return latest if latest and latest != before and latest["state"] == "done" else None

    await eventually(rebuilt, timeout_s=240, interval_s=1)
    assert not await SearchProjection(clients.elasticsearch).outdated()
    found = await gateway.get("/v1/search", params={"q": findable_product["name"]})
    assert found.status_code == 200, found.text
    assert findable_product["id"] in [p["id"] for p in found.json()["items"]]


async def _latest_replay(gateway: httpx.AsyncClient, admin: dict, name: str) -> dict | None:
    listed = await gateway.get("/v1/admin/projections", headers=admin)
    assert listed.status_code == 200, listed.text
    return next(p["replay"] for p in listed.json()["items"] if p["name"] == name)
