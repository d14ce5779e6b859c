"""Where each projection has got to in each partition of its topics.

MySQL projections write their row here in the same transaction as their data;
other projections record what they reached after each batch. Read-your-writes
waits compare a consistency token against these rows.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import BigInteger, Column, Integer, String, Table, func, select
from sqlalchemy.dialects.mysql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.database import metadata, rows

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
    return {(r.topic, r.partition): r.next_offset for r in await rows(
        engine, select(checkpoints).where(checkpoints.c.projection == projection))}


class Progress:
    """How far each projection has got, as this process last read it, and waits on it.

    Checkpoints never move backwards, so a row read once is a lower bound for good: a
    wait that the last reading already satisfies costs no query. The requests waiting
    on one projection share one reader, which reads its checkpoints every
    `POLL_S` while any of them waits: the cost of waiting does not grow with the
    number of waiting requests.
    """

    POLL_S = 0.005

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._seen: dict[str, dict[tuple[str, int], int]] = {}
        # projection -> the waits not yet met: what each needs, and whom to wake
        self._waits: dict[str, list[tuple[dict[tuple[str, int], int], asyncio.Future]]] = {}
        self._readers: dict[str, asyncio.Task] = {}

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
        if not self._short(projection, needed):
            return True
        met: asyncio.Future = asyncio.get_running_loop().create_future()
        wait = (needed, met)
        self._waits.setdefault(projection, []).append(wait)
        reader = self._readers.get(projection)
        if reader is None or reader.done():
            self._readers[projection] = asyncio.create_task(
                self._read(projection), name=f"checkpoints-{projection}")
        try:
            async with asyncio.timeout(timeout_s):
                await met
            return True
        except TimeoutError:
            return False
        finally:
            waits = self._waits.get(projection, [])
            if wait in waits:
                waits.remove(wait)

    async def _read(self, projection: str) -> None:
        """Read the checkpoints while anyone waits on them, and wake those now met; a
        failed read is the failure of every wait."""
        while waits := self._waits.get(projection):
            try:
                self._seen[projection] = await load(self._engine, projection)
            except Exception as error:
                for _, met in waits:
                    if not met.done():
                        met.set_exception(error)
                waits.clear()
                return
            for needed, met in list(waits):
                if not met.done() and not self._short(projection, needed):
                    met.set_result(True)
            await asyncio.sleep(self.POLL_S)

