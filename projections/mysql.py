"""The shared mechanics of projections into MySQL tables.

A batch is applied in one transaction together with the checkpoint, so a crash
either keeps both or neither. Rows carry their aggregate's version: a creation
is `INSERT IGNORE`, later events update only rows with a lower version, so a
record applied twice changes nothing. A replay writes into fresh tables that
`promote` renames into place in one atomic `RENAME TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import MetaData, Table, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.database import metadata
from projections import checkpoints
from projections.base import Projection, Record

TableFactory = Callable[[MetaData, str], Table]


class MySQLProjection(Projection):
    stores_checkpoint = True
    # name -> function declaring that table under a given name
    table_factories: dict[str, TableFactory]

    def __init__(self, engine: AsyncEngine, suffix: str = "") -> None:
        self.engine = engine
        self.suffix = suffix
        self._metadata = metadata if not suffix else MetaData()
        self.tables = {name: self._declare(factory, name + suffix)
                       for name, factory in self.table_factories.items()}

    def _declare(self, factory: TableFactory, name: str) -> Table:
        if name in self._metadata.tables:  # declared by another instance in this process
            return self._metadata.tables[name]
        return factory(self._metadata, name)

    @property
    def is_shadow(self) -> bool:
        return bool(self.suffix)

    async def setup(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(lambda sync: self._metadata.create_all(
                sync, tables=list(self.tables.values())))

    async def apply(self, records: list[Record]) -> None:
        async with self.engine.begin() as connection:
            await self.apply_batch(connection, records)
            if not self.is_shadow:
                reached = {(r.topic, r.partition): r.offset + 1 for r in records}
                await checkpoints.save(connection, self.name, reached)

    async def apply_batch(self, connection: AsyncConnection, records: list[Record]) -> None:
        for record in records:
            await self.apply_one(connection, record)

    async def apply_one(self, connection: AsyncConnection, record: Record) -> None:
        """Apply one record; ignore event types this model does not show."""
        raise NotImplementedError

    @staticmethod
    async def update_row(connection: AsyncConnection, table: Table, row_id: str, version: int,
                         **values) -> None:
        """Update a row to an aggregate's `version`, unless it shows that version already."""
        await connection.execute(
            update(table).where(table.c.id == row_id, table.c.version < version)
            .values(version=version, **values))

    def shadow(self, suffix: str) -> MySQLProjection:
        shadow = type(self).__new__(type(self))
        shadow.__dict__.update(self.__dict__)
        MySQLProjection.__init__(shadow, self.engine, suffix=f"__replay_{suffix}")
        return shadow

    async def promote(self, shadow: Projection) -> None:
        assert isinstance(shadow, MySQLProjection)
        renames, drops = [], []
        for name, table in self.tables.items():
            old = f"{name}__old{shadow.suffix}"
            renames += [f"`{table.name}` TO `{old}`", f"`{shadow.tables[name].name}` TO `{name}`"]
            drops.append(f"`{old}`")
        async with self.engine.begin() as connection:
            await connection.execute(text("RENAME TABLE " + ", ".join(renames)))
            await connection.execute(text("DROP TABLE " + ", ".join(drops)))

    async def drop(self) -> None:
        """Remove this (shadow) projection's tables, e.g. after a failed replay."""
        async with self.engine.begin() as connection:
            for table in self.tables.values():
                await connection.execute(text(f"DROP TABLE IF EXISTS `{table.name}`"))

    async def snapshot(self) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        async with self.engine.connect() as connection:
            for name, table in self.tables.items():
                key = list(table.primary_key.columns)
                for row in await connection.execute(select(table)):
                    data = dict(row._mapping)
                    rows[f"{name}:" + ":".join(str(data[c.name]) for c in key)] = data
        return rows
