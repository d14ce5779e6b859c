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
from schemas.replies import Position

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


async def wait_until_reached(engine: AsyncEngine, projection: str, topics: tuple[str, ...],
                             positions: list[Position], timeout_s: float) -> bool:
    """Wait until the projection has applied every position on its topics."""
    wanted = [p for p in positions if p.topic in topics]
    if not wanted:
        return True
    deadline = time.monotonic() + timeout_s
    while True:
        reached = await load(engine, projection)
        if all(reached.get((p.topic, p.partition), 0) > p.offset for p in wanted):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
