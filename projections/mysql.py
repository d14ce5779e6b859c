"""The shared mechanics of projections into MySQL tables.

A batch is applied in one transaction together with the checkpoint, so a crash
either keeps both or neither. Rows carry their aggregate's version: a creation
is `INSERT IGNORE`, later events update only rows with a lower version, so a
record applied twice changes nothing. A replay writes into fresh tables that
`promote` renames into place in one atomic `RENAME TABLE`.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Executable,
    MetaData,
    Table,
    bindparam,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.mysql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infra.database import metadata
from projections import checkpoints
from projections.base import Projection
from schemas.records import Record

TableFactory = Callable[[MetaData, str], Table]


class Fact(NamedTuple):
    """What a MySQL model needs of one record: the event, when it happened (as MySQL keeps
    time: UTC without its zone) and the aggregate version it made."""

    event: Any
    at: datetime
    version: int

    @classmethod
    def of(cls, record: Record) -> Fact:
        envelope = record.envelope
        return cls(envelope.event(), envelope.occurred_at.replace(tzinfo=None),
                   envelope.aggregate_version)


@dataclass(frozen=True)
class Write:
    """One row to write. Consecutive writes of one `shape` run as one executemany."""

    shape: tuple
    statement: Executable
    params: dict[str, Any]


def insert_row(table: Table, **values: Any) -> Write:
    """Insert a row unless its key exists: a creation applied twice adds nothing."""
    return Write(("insert", table.name, tuple(sorted(values))),
                 insert(table).prefix_with("IGNORE"), values)


def update_row(table: Table, row_id: str, version: int, *,
               append: dict[str, Any] | None = None, **values: Any) -> Write:
    """Update a row to an aggregate's `version`, unless it shows that version already.

    `append` maps JSON array columns to an item added at their end.
    """
    columns = tuple(sorted(values))
    appended = tuple(sorted(append or {}))
    statement = (update(table)
                 .where(table.c.id == bindparam("row_id"),
                        table.c.version < bindparam("row_version"))
                 .values(version=bindparam("row_version"),
                         **{c: bindparam(c, type_=table.c[c].type) for c in columns},
                         **{c: func.json_array_append(table.c[c], "$", func.json_extract(
                             bindparam(f"{c}__item", type_=JSON), "$")) for c in appended}))
    return Write(("update", table.name, columns, appended), statement,
                 {"row_id": row_id, "row_version": version, **values,
                  **{f"{c}__item": item for c, item in (append or {}).items()}})


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

    async def outdated(self) -> bool:
        """True when a live table lacks a column this code writes: a release added it, and
        only a replay can fill it for the rows already there."""
        if self.is_shadow:
            return False

        def missing(sync) -> bool:
            inspector = inspect(sync)
            return any({column.name for column in table.columns}
                       - {column["name"] for column in inspector.get_columns(table.name)}
                       for table in self.tables.values())

        async with self.engine.connect() as connection:
            return await connection.run_sync(missing)

    async def apply(self, records: list[Record]) -> None:
        async with self.engine.begin() as connection:
            await self.apply_batch(connection, records)
            if not self.is_shadow:
                reached = {(r.topic, r.partition): r.offset + 1 for r in records}
                await checkpoints.save(connection, self.name, reached)

    async def apply_batch(self, connection: AsyncConnection, records: list[Record]) -> None:
        writes = [write for record in records for write in await self.writes_for(record)]
        for _, group in itertools.groupby(writes, key=lambda write: write.shape):
            batch = list(group)
            await connection.execute(batch[0].statement, [write.params for write in batch])

    async def writes_for(self, record: Record) -> list[Write]:
        """The rows one record writes, in order; none for event types this model ignores."""
        raise NotImplementedError

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
