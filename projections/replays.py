"""Replays asked for through the API, kept in MySQL until a worker has run them.

An API replica only records the request (`request`); the projections worker claims it
(`claim`, an UPDATE that only one worker can win), runs it with `streams/replay.py` and
writes its progress after every batch (`progress`), then `finish` or `fail`. The
column `active` holds the projection's name while a replay of it is requested or
running, under a unique index: a second request for the same projection fails in the
database (`ReplayInProgress`), however many replicas take requests at once.

A worker that dies mid-replay stops writing its heartbeat (`beat_at`, every batch);
a worker finds it `stale`, drops its half-built shadow, then marks it failed, which
frees its projection. The live model serves throughout: only a finished replay
is swapped in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.dialects.mysql import DATETIME
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import metadata
from projections.views import aware

replays = Table(
    "projection_replays",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("projection", String(100), nullable=False, index=True),
    # requested -> running -> done | failed
    Column("state", String(16), nullable=False),
    # The projection's name while requested or running, else NULL: at most one at a time.
    Column("active", String(100), unique=True),
    Column("done", BigInteger, nullable=False, default=0),
    Column("total", BigInteger),
    Column("events_per_s", Float),
    Column("caught_up", BigInteger),
    Column("shadow", String(32)),
    Column("worker", String(200)),
    Column("error", String(500)),
    Column("requested_by", String(36), nullable=False),
    Column("requested_at", DATETIME(fsp=6), nullable=False),
    Column("started_at", DATETIME(fsp=6)),
    Column("beat_at", DATETIME(fsp=6)),
    Column("finished_at", DATETIME(fsp=6)),
)

ACTIVE = ("requested", "running")
# A running replay whose worker has written nothing for this long is taken for dead.
STALE_AFTER = timedelta(seconds=60)


class ReplayRow(TypedDict):
    id: str
    projection: str
    state: str
    active: str | None
    done: int
    total: int | None
    events_per_s: float | None
    caught_up: int | None
    shadow: str | None
    worker: str | None
    error: str | None
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    beat_at: datetime | None
    finished_at: datetime | None


class ReplayInProgress(Exception):
    """A replay of the projection is already requested or running."""

    def __init__(self, projection: str, replay_id: str | None) -> None:
        super().__init__(f"a replay of {projection} is already under way")
        self.projection, self.replay_id = projection, replay_id


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ReplayRequests:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def request(self, projection: str, requested_by: str) -> ReplayRow:
        """Record a request; `ReplayInProgress` if one of `projection` is requested or running."""
        return await self._insert(projection, requested_by, state="requested")

    async def start(self, projection: str, requested_by: str, worker: str,
                    shadow: str) -> ReplayRow:
        """Record a replay that `worker` runs itself at once (`shopstream replay`), so that
        no worker claims it; `ReplayInProgress` as for `request`."""
        now = _now()
        return await self._insert(projection, requested_by, state="running", worker=worker[:200],
                                  shadow=shadow, started_at=now, beat_at=now)

    async def _insert(self, projection: str, requested_by: str, **values) -> ReplayRow:
        replay_id = str(uuid.uuid4())
        try:
            async with self.engine.begin() as connection:
                await connection.execute(replays.insert().values(
                    id=replay_id, projection=projection, active=projection, done=0,
                    requested_by=requested_by, requested_at=_now(), **values))
        except IntegrityError as error:
            current = await self.current(projection)
            raise ReplayInProgress(projection, current["id"] if current else None) from error
        found = await self.get(replay_id)
        assert found is not None
        return found

    async def get(self, replay_id: str) -> ReplayRow | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(
                select(replays).where(replays.c.id == replay_id))).first()
        return aware(row) if row else None

    async def current(self, projection: str) -> ReplayRow | None:
        """The replay of `projection` requested or running now, if any."""
        async with self.engine.connect() as connection:
            row = (await connection.execute(
                select(replays).where(replays.c.active == projection))).first()
        return aware(row) if row else None

    async def latest(self) -> dict[str, ReplayRow]:
        """Each projection's most recent replay (by request time)."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(
                select(replays).order_by(replays.c.requested_at.desc()).limit(200))).all()
        newest: dict[str, ReplayRow] = {}
        for row in rows:
            newest.setdefault(row.projection, aware(row))
        return newest

    async def claim(self, worker: str, shadow: str) -> ReplayRow | None:
        """Take the oldest requested replay for `worker`; None if there is none (or another
        worker took it first)."""
        async with self.engine.begin() as connection:
            row = (await connection.execute(
                select(replays.c.id).where(replays.c.state == "requested")
                .order_by(replays.c.requested_at).limit(1))).first()
            if row is None:
                return None
            now = _now()
            taken = await connection.execute(
                update(replays).where(replays.c.id == row.id, replays.c.state == "requested")
                .values(state="running", worker=worker[:200], shadow=shadow, started_at=now,
                        beat_at=now))
        return await self.get(row.id) if taken.rowcount == 1 else None

    async def progress(self, replay_id: str, done: int, total: int,
                       events_per_s: float | None) -> None:
        """Record a batch's progress; it is also the worker's heartbeat."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(replays).where(replays.c.id == replay_id, replays.c.state == "running")
                .values(done=done, total=total, events_per_s=events_per_s, beat_at=_now()))

    async def finish(self, replay_id: str, caught_up: int) -> None:
        await self._end(replay_id, state="done", caught_up=caught_up)

    async def fail(self, replay_id: str, error: str) -> None:
        await self._end(replay_id, state="failed", error=error[:500])

    async def _end(self, replay_id: str, **values) -> None:
        now = _now()
        async with self.engine.begin() as connection:
            await connection.execute(
                update(replays).where(replays.c.id == replay_id, replays.c.state.in_(ACTIVE))
                .values(active=None, finished_at=now, beat_at=now, **values))

    async def stale(self, now: datetime | None = None) -> list[ReplayRow]:
        """Every running replay whose worker fell silent (it died): to be cleared up and
        then marked failed with `ABANDONED`."""
        cutoff = (now or _now()) - STALE_AFTER
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(replays).where(
                replays.c.state == "running", replays.c.beat_at < cutoff))).all()
        return [aware(row) for row in rows]


ABANDONED = ("The worker running it stopped; the live model kept serving. Start the replay "
             "again.")
