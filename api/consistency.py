"""Read-your-writes: a request's reads show every write its caller has had acknowledged.

Three things set what a read must show:
- the writes of the caller's session: each authenticated write remembers where its
  events landed in the session (in Redis, so every API replica sees it), and each
  read of that session waits until its read model has passed those positions;
- an `X-Consistency-Token` the client carries across sessions (a write's answer
  holds one);
- a keyed read that finds nothing (a product, an order, an account by email) waits
  until its read model has reached the end of the key's partition as it is now,
  before it answers "not found": the miss may be an acknowledged write the model
  has not applied yet. A hit costs nothing extra.

Every wait is bounded; a read model that lags longer answers 503 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import HTTPException, Response

from infra.log_ends import LogEnds
from infra.sessions import SessionStore
from projections.checkpoints import Progress
from projections.views import View
from schemas.replies import Position

HEADER = "X-Consistency-Token"

T = TypeVar("T")


def encode(positions: list[Position]) -> str:
    data = json.dumps([[p.topic, p.partition, p.offset] for p in positions],
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode(token: str) -> list[Position]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return [Position(topic=t, partition=int(p), offset=int(o)) for t, p, o in data]
    except (ValueError, TypeError) as error:
        raise HTTPException(422, f"{HEADER} is not a token this API issued.") from error


def _needed(positions: list[Position]) -> dict[tuple[str, int], int]:
    """The next offset a read model must reach to include each position."""
    needed: dict[tuple[str, int], int] = {}
    for p in positions:
        tp = (p.topic, p.partition)
        needed[tp] = max(needed.get(tp, 0), p.offset + 1)
    return needed


class ReadYourWrites:
    """What one request's reads must show, and the record of its writes."""

    def __init__(self, *, progress: Progress, ends: LogEnds, sessions: SessionStore,
                 session_id: str | None, session_writes: list[Position], token: str | None,
                 response: Response, wait_s: float) -> None:
        self._progress = progress
        self._ends = ends
        self._sessions = sessions
        self._session_id = session_id
        self._response = response
        self._wait_s = wait_s
        self._positions = [*(decode(token) if token else []), *session_writes]

    async def wrote(self, positions: list[Position]) -> None:
        """A write of this request was acknowledged: later reads, of this request and of
        the caller's session, show it; the answer carries its token."""
        if not positions:
            return
        self._positions.extend(positions)
        self._response.headers[HEADER] = encode(positions)
        if self._session_id is not None:
            await self._sessions.remember_writes(self._session_id, positions)

    async def began_session(self, session_id: str) -> None:
        """The request signed the caller in: the new session shows what the request wrote
        (a first social sign-in creates the account it signs in to)."""
        self._session_id = session_id
        own = list(self._positions)
        if own:
            await self._sessions.remember_writes(session_id, own)

    async def wait(self, view: View, only: tuple[str, int] | None = None) -> None:
        """Wait until `view`'s model shows every write this request must see (`only`: those
        in that one partition)."""
        needed = {tp: offset for tp, offset in _needed(self._positions).items()
                  if tp[0] in view.topics and (only is None or tp == only)}
        await self._reach(view, needed)

    async def found(self, view: View, lookup: Callable[[], Awaitable[T | None]], *,
                    topic: str, key: str | None, own_events: bool = False) -> T | None:
        """`lookup()` on a view, once its model shows this request's writes; on a miss,
        again once the model has reached the end of `key`'s partition of `topic` (every
        partition when the key does not name one).

        `own_events`: the row is made of `key`'s own events alone, so of this request's
        writes only those in `key`'s partition can change it, and only they are waited for
        (a session creating products one after another does not wait for the last one to
        be projected before each check of their category).
        """
        only = (topic, self._ends.partition(key)) if own_events and key is not None else None
        await self.wait(view, only)
        row = await lookup()
        if row is None:
            await self._reach(view, await self._ends.of(topic, key), kafka_answered=True)
            row = await lookup()
        return row

    async def latest(self, view: View, topic: str, key: str) -> None:
        """Wait until `view`'s model has reached the end of `key`'s partition of `topic` as
        it is now: how a caller without a session (a guest) sees its own earlier writes."""
        await self.wait(view)
        await self._reach(view, await self._ends.of(topic, key), kafka_answered=True)

    async def current(self, view: View, topic: str) -> None:
        """Wait until `view`'s model has reached the end of every partition of `topic` as it
        is now, whether or not a lookup would miss: for a read that must take the same time
        whatever it finds."""
        await self.wait(view)
        await self._reach(view, await self._ends.of(topic), kafka_answered=True)

    async def _reach(self, view: View, needed: dict[tuple[str, int], int], *,
                     kafka_answered: bool = False) -> None:
        """Wait for `needed`, then have the view show it; `kafka_answered`: the caller has
        just read the ends from Kafka, so there is no outage to look for."""
        if not needed:
            return
        if not self._progress.shows(view.model, needed):
            if kafka_answered:
                reached = await self._progress.reach(view.model, needed, self._wait_s)
            else:
                reached = await self._reach_or_name_outage(view, needed)
            if not reached:
                raise HTTPException(503, f"The {view.model} view has not caught up with "
                                         "recent writes yet; retry shortly.",
                                    headers={"Retry-After": "1"})
        await view.show(needed)

    async def _reach_or_name_outage(self, view: View, needed: dict[tuple[str, int], int]
                                    ) -> bool:
        # A model stands still while Kafka is down: ask Kafka meanwhile, so that an outage
        # is answered at once, and as what it is.
        reach = asyncio.ensure_future(self._progress.reach(view.model, needed, self._wait_s))
        probe = asyncio.ensure_future(self._ends.of(view.topics[0]))
        try:
            await asyncio.wait({reach, probe}, return_when=asyncio.FIRST_COMPLETED)
            if probe.done() and probe.exception() is not None:
                raise probe.exception()
            return await reach
        finally:
            for task in (reach, probe):
                task.cancel()
