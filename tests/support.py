"""Small helpers the integration and end-to-end tests share: accounts, tokens, topics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx

from infra.clients import Clients
from infra.settings import PROJECT_ROOT, Settings
from infra.topic_reader import TopicReader
from ops.stack.manager import Stack
from projections.base import Projection
from projections.positions import Position, positions
from projections.registry import build_projections
from projections.replays import ReplayRequests
from schemas.envelope import EventEnvelope

PASSWORD = "a long and unusual passphrase"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def shopstream(*args: str, check: bool = True, stack: Stack | None = None
               ) -> subprocess.CompletedProcess:
    """Run the `shopstream` command as a user would; on `stack` (default: the local one)."""
    env = None if stack is None else os.environ | stack.child_env
    result = subprocess.run([sys.executable, "-m", "ops.cli", *args], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=600, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"shopstream {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


async def sign_up(http: httpx.AsyncClient, email: str, full_name: str = "Test Shopper",
                  password: str = PASSWORD) -> httpx.Response:
    return await http.post("/v1/users", json={"email": email, "password": password,
                                              "full_name": full_name})


async def log_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD,
                 consistency_token: str | None = None) -> dict[str, str]:
    """Sign in and return the Authorization header."""
    headers = {"X-Consistency-Token": consistency_token} if consistency_token else {}
    response = await http.post("/v1/auth/login", json={"email": email, "password": password},
                               headers=headers)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def make_product(http: httpx.AsyncClient, admin: dict, category: dict, name: str,
                       price: int, stock: int) -> dict:
    """A product made through the admin API; its dict carries the write's consistency token."""
    response = await http.post(
        "/v1/admin/products", headers=admin | {"X-Consistency-Token": category["token"]},
        json={"sku": f"T-{uuid.uuid4().hex[:12]}", "name": name, "category_id": category["id"],
              "price": {"amount": price, "currency": "EUR"}, "stock": stock})
    assert response.status_code == 201, response.text
    return response.json() | {"token": response.headers["X-Consistency-Token"]}


async def shopper(http: httpx.AsyncClient, prefix: str = "shopper") -> tuple[str, dict]:
    """A new signed-in customer: their address and Authorization header."""
    email = unique_email(prefix)
    created = await sign_up(http, email)
    assert created.status_code == 201, created.text
    return email, await log_in(http, email,
                               consistency_token=created.headers["X-Consistency-Token"])


async def read_events(settings: Settings, topic: str) -> list[tuple[int, int, EventEnvelope]]:
    """Every committed event of a topic, read by a plain consumer: (partition, offset, event)."""
    async with TopicReader(settings, (topic,)) as reader:
        return [(r.partition, r.offset, r.envelope)
                async for records in reader.read(await reader.range()) for r in records]


async def eventually(check, timeout_s: float = 30.0, interval_s: float = 0.1):
    """Retry an async check until it returns a truthy value; fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            assert result, f"not true within {timeout_s}s: {result!r}"
            return result
        await asyncio.sleep(interval_s)


async def position_of(clients: Clients, name: str) -> Position:
    """The read model's position now (`projections.positions`)."""
    return next(found for found in await positions(clients.settings, clients.mysql)
                if found.name == name)


async def caught_up(clients: Clients, projection: Projection) -> Position | None:
    """The projection's position once it has applied all its topics hold; None before."""
    found = await position_of(clients, projection.name)
    return found if found.lag == 0 else None


async def replay_equals_live(clients: Clients, name: str,
                             replay: Callable[[], Awaitable[object]] | None = None, *,
                             timeout_s: float = 30.0, interval_s: float = 0.1) -> dict:
    """Rebuild the read model `name` with `replay` (by default `shopstream replay <name>`),
    assert it equals the live model it replaced, and return it.

    A live shop keeps appending events (an unpaid order is cancelled when its payment runs
    out of time), and a model rebuilt while its topics grew cannot equal the one read
    before. So a comparison counts only when the topics held the same offsets before and
    after the replay; otherwise it is made again."""
    projection = build_projections(clients)[name]

    async def by_the_command_line() -> None:
        # One replay of a model at a time: one an earlier test asked for may still run.
        await eventually(lambda: no_replay_under_way(clients, name), 300, 1)
        result = await asyncio.to_thread(shopstream, "replay", name)
        assert "replayed" in result.stdout, result.stdout

    for _ in range(3):
        reached = await eventually(lambda: caught_up(clients, projection), timeout_s, interval_s)
        live = await projection.snapshot()
        await (replay or by_the_command_line)()
        rebuilt = await projection.snapshot()
        if (await position_of(clients, name)).offsets == reached.offsets:
            assert live, f"{name} is empty: nothing was compared"
            assert rebuilt == live, f"{name} differs after its replay:\n{differences(live, rebuilt)}"
            return rebuilt
    raise AssertionError(f"{name}'s topics grew during each of three replays")


async def no_replay_under_way(clients: Clients, name: str) -> bool:
    """True when no replay of the read model `name` is requested or running."""
    return await ReplayRequests(clients.mysql).current(name) is None


def differences(live: dict, rebuilt: dict, shown: int = 5) -> str:
    """What a rebuilt model has other than the live one: keys on one side only, and for
    the first few keys on both sides the fields that differ."""
    only_live = sorted(set(live) - set(rebuilt))
    only_rebuilt = sorted(set(rebuilt) - set(live))
    changed = [key for key in live if key in rebuilt and live[key] != rebuilt[key]]
    lines = [f"{len(only_live)} only live: {only_live[:shown]}",
             f"{len(only_rebuilt)} only rebuilt: {only_rebuilt[:shown]}",
             f"{len(changed)} differ:"]
    for key in changed[:shown]:
        before, after = live[key], rebuilt[key]
        if isinstance(before, dict) and isinstance(after, dict):
            fields = sorted(f for f in before.keys() | after.keys() if before.get(f) != after.get(f))
            lines.append(f"  {key}: " + "; ".join(
                f"{f}: live {before.get(f)!r:.200} rebuilt {after.get(f)!r:.200}" for f in fields))
        else:
            lines.append(f"  {key}: live {before!r:.300} rebuilt {after!r:.300}")
    return "\n".join(lines)


def until(check, timeout_s: float = 30.0):
    """Retry a check from synchronous code until it returns a truthy value; that value."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "not true in time"
        time.sleep(0.05)
    return result
