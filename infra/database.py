"""The MySQL schema every shopstream table is declared on, and its creation.

Read-model tables (declared in `projections/`) can be dropped and rebuilt by
replay; the key store (`infra/crypto.py`) cannot, it is the one table whose
loss is unrecoverable by design (it is what crypto-shredding deletes from).
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()


async def create_tables(engine: AsyncEngine) -> None:
    """Create the tables declared so far (by the modules this process has imported) that
    do not exist yet: each process creates the tables it uses."""
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
