"""Where each projection has got to in each partition of its topics.

MySQL projections write their row here in the same transaction as their data;
other projections record what they reached after each batch. Read-your-writes
waits compare a consistency token against these rows.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import BigInteger, Column, Integer, String, Table, func, select
from sqlalchemy.dialects.mysql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.database import metadata

checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger, nullable=False),
)


async def save(connection: AsyncConnection, projection: str,
               reached: dict[tuple[str, int], int]) -> None:
    """Record `next_offset` per (topic, partition); never moves a checkpoint backwards."""
    if not reached:
        return
    statement = insert(checkpoints)
    statement = statement.on_duplicate_key_update(
        next_offset=func.greatest(checkpoints.c.next_offset, statement.inserted.next_offset))
    await connection.execute(statement, [
        {"projection": projection, "topic": topic, "partition": partition, "next_offset": offset}
        for (topic, partition), offset in reached.items()
    ])


async def load(engine: AsyncEngine, projection: str) -> dict[tuple[str, int], int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(checkpoints).where(checkpoints.c.projection == projection))
        return {(r.topic, r.partition): r.next_offset for r in rows}


class Progress:
    """How far each projection has got, as this process last read it, and waits on it.

    Checkpoints never move backwards, so a row read once is a lower bound for good: a
    wait that the last reading already satisfies costs no query.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._seen: dict[str, dict[tuple[str, int], int]] = {}

    def _short(self, projection: str, needed: dict[tuple[str, int], int]) -> bool:
        seen = self._seen.get(projection, {})
        return any(seen.get(tp, 0) < offset for tp, offset in needed.items())

    def shows(self, projection: str, needed: dict[tuple[str, int], int]) -> bool:
        """Whether the last reading already shows `needed`: no wait, no query."""
        return not self._short(projection, needed)

    async def reach(self, projection: str, needed: dict[tuple[str, int], int],
                    timeout_s: float) -> bool:
        """Wait until `projection`'s next offset is at least `needed` in each partition;
        False if it has not got there within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while self._short(projection, needed):
            if time.monotonic() > deadline:
                return False
            self._seen[projection] = await load(self._engine, projection)
            if self._short(projection, needed):
                await asyncio.sleep(0.01)
        return True
