"""What every read view shares: the read model it reads and the topics that model follows.

A view is the read side's only way into a model: plain typed queries, apart from the
projection that writes the model (cosmicpython's `views.py`). `model` and `topics`
let a read wait until the model shows a caller's writes (`api/consistency.py`).
MySQL hands times back in UTC without their zone; the views return them aware.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import metadata, rows
from projections.mysql import MySQLProjection
from schemas.times import utc


class View:
    model: ClassVar[str]
    topics: ClassVar[tuple[str, ...]]

    async def show(self, applied: dict[tuple[str, int], int]) -> None:
        """Make visible to this view's reads what its model has applied up to `applied`
        (next offsets). A store that shows a write once it is applied needs nothing."""


def aware(row: Any) -> dict[str, Any]:
    """A row as a dict, its times in UTC with their zone."""
    return {key: utc(value) if isinstance(value, datetime) else value
            for key, value in row._mapping.items()}


class MySQLView(View):
    """Reads the live tables of one MySQL projection."""

    projection: ClassVar[type[MySQLProjection]]

    def __init__(self, engine: AsyncEngine, tables: dict[str, Table] | None = None) -> None:
        """The live tables, unless others (a replay's) are given."""
        self.engine = engine
        self.tables: dict[str, Table] = tables or {
            name: metadata.tables[name] if name in metadata.tables else factory(metadata, name)
            for name, factory in self.projection.table_factories.items()}

    @classmethod
    def of(cls, projection: MySQLProjection) -> Self:
        """The view of the tables `projection` writes (a replay's, say)."""
        return cls(projection.engine, projection.tables)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "projection" in cls.__dict__:
            cls.model, cls.topics = cls.projection.name, cls.projection.topics

    async def _one(self, table: str, condition) -> Any:
        """The one row of `table` matching `condition` (aware times), or None."""
        found = await rows(self.engine, select(self.tables[table]).where(condition))
        return aware(found[0]) if found else None

    async def _all(self, query) -> list[Any]:
        """Every row a query returns (aware times)."""
        return [aware(found) for found in await rows(self.engine, query)]
