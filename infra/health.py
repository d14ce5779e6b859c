"""Readiness: is every dependency of a shopstream process reachable right now?"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from infra.clients import Clients


async def _kafka(clients: Clients) -> None:
    producer = await clients.producer()
    await producer.client.fetch_all_metadata()


async def _mysql(clients: Clients) -> None:
    async with clients.mysql.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _mongodb(clients: Clients) -> None:
    await clients.mongo.admin.command("ping")


async def _redis(clients: Clients) -> None:
    await clients.redis.ping()


async def _elasticsearch(clients: Clients) -> None:
    health = await clients.elasticsearch.cluster.health()
    if health["status"] == "red":
        raise RuntimeError("cluster status is red")


CHECKS: dict[str, Callable[[Clients], Awaitable[None]]] = {
    "kafka": _kafka,
    "mysql": _mysql,
    "mongodb": _mongodb,
    "redis": _redis,
    "elasticsearch": _elasticsearch,
}


async def check_dependencies(clients: Clients, timeout_s: float) -> dict[str, str]:
    """Run every check at once; each answers "ok" or why it failed."""

    async def run(name: str, check: Callable[[Clients], Awaitable[None]]) -> tuple[str, str]:
        try:
            await asyncio.wait_for(check(clients), timeout_s)
            return name, "ok"
        except TimeoutError:
            return name, f"no answer within {timeout_s:g}s"
        except Exception as error:  # any failure means "not ready"; the reason is reported
            return name, f"{type(error).__name__}: {error}".strip()[:300]

    results = await asyncio.gather(*(run(n, c) for n, c in CHECKS.items()))
    return dict(results)
