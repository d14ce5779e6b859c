"""A replay whose worker died mid-way: the live model kept serving, a projections worker
marks the replay failed once its heartbeat is stale, drops its half-built shadow, and
the projection takes a new request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import inspect, update

from infra.clients import Clients
from projections.registry import build_projections
from projections.replays import STALE_AFTER, replays
from tests.support import eventually


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
