"""Rebuild a read model from offset 0 into a fresh table or index, then swap it in.

The live model keeps serving while the replay runs. After the swap, the events
that arrived during the replay are applied again on top (version guards make
that harmless), so nothing the live projection wrote meanwhile is lost.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from infra.clients import Clients
from infra.topic_reader import TopicReader
from projections.base import Projection
from projections.registry import build_projections


@dataclass(frozen=True)
class ReplayResult:
    projection: str
    events: int
    caught_up: int
    seconds: float


Progress = Callable[[int, int], Awaitable[None] | None]


def shadow_suffix() -> str:
    """The name a replay's fresh model takes after the live one's, from the time."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


async def replay(clients: Clients, name: str,
                 progress: Progress = lambda done, total: None,
                 suffix: str | None = None) -> ReplayResult:
    """Replay projection `name` into a shadow named by `suffix` (default: now);
    `progress(done, total)` is called, and awaited if it is a coroutine function, after
    each batch."""
    live: Projection = build_projections(clients)[name]
    await live.setup()
    shadow = live.shadow(suffix or shadow_suffix())
    started = time.monotonic()
    await shadow.setup()

    async def report(done: int, total: int) -> None:
        answer = progress(done, total)
        if inspect.isawaitable(answer):
            await answer

    try:
        async with TopicReader(clients.settings, live.topics) as reader:
            everything = await reader.range()
            done = 0
            await report(0, everything.total)
            async for records in reader.read(everything):
                await shadow.apply(records)
                done += len(records)
                await report(reader.done, everything.total)
            await report(everything.total, everything.total)
        await live.promote(shadow)
    except BaseException:
        await shadow.drop()  # type: ignore[attr-defined]
        raise
    # What arrived while replaying went to the old model: apply it to the new one too.
    async with TopicReader(clients.settings, live.topics) as reader:
        since = await reader.range(start=everything.end)
        caught_up = 0
        async for records in reader.read(since):
            await live.apply(records)
            caught_up += len(records)
    return ReplayResult(name, done, caught_up, time.monotonic() - started)
