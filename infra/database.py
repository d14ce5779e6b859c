"""The MySQL schema every shopstream table is declared on, and its creation.

Read-model tables (declared in `projections/`) can be dropped and rebuilt by
replay; the key store (`infra/crypto.py`) cannot, it is the one table whose
loss is unrecoverable by design (it is what crypto-shredding deletes from).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import MetaData, Row, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()
# Held while tables are created: every worker and replica creates its tables as it
# starts, and two creating the same new table at once would fail one of them.
SCHEMA_LOCK = "shopstream.create_tables"
SCHEMA_LOCK_WAIT_S = 60


async def rows(engine: AsyncEngine, query) -> list[Row]:
    """Every row a read returns. The read views' engine does not ping a connection before
    each use (`ops/bootstrap.py`), so a read that meets a connection the server has closed
    (it restarted) is tried once more, on a new one."""
    try:
        return await _rows(engine, query)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return await _rows(engine, query)


async def _rows(engine: AsyncEngine, query) -> list[Row]:
    async with engine.connect() as connection:
        return list((await connection.execute(query)).all())


@contextlib.asynccontextmanager
async def named_lock(engine: AsyncEngine, name: str, wait_s: float = 0
                     ) -> AsyncIterator[bool]:
    """MySQL's named lock `name` (up to 64 characters), waited for up to `wait_s`; inside,
    whether it is held. It is held by one connection, kept while inside: if this process
    dies, the server sees the connection end and frees the lock at once."""
    async with engine.connect() as connection:
        held = (await connection.execute(text("SELECT GET_LOCK(:name, :wait)"),
                                         {"name": name, "wait": wait_s})).scalar() == 1
        try:
            yield held
        finally:
            if held:
                await connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})


async def create_tables(engine: AsyncEngine) -> None:
    """Create the tables declared so far (by the modules this process has imported) that
    do not exist yet: each process creates the tables it uses."""
    async with named_lock(engine, SCHEMA_LOCK, SCHEMA_LOCK_WAIT_S):
        async with engine.connect() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.commit()
