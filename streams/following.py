"""The loop of every agent that reacts to events: read each envelope, handle it, and
wait and try again while what the handling needs (Kafka, MySQL) is unreachable.

An unreadable record is logged and skipped: it can never succeed. An error that is
not `transient` is a bad event (or a bug): logged and skipped, so one event cannot
hold up every other. When the retries run out, the event is skipped too, or, with
`stop_when_exhausted`, the agent stops, for steps that must never be skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import faust
import structlog

from schemas.envelope import EventEnvelope

log = structlog.get_logger(__name__)

# While a dependency is unreachable, retry an event after these delays (the partition waits).
UNAVAILABLE_DELAYS_S = (1, 2, 5, 10, 30, *(60,) * 30)


def follower(name: str, handle: Callable[[EventEnvelope], Awaitable[None]], *,
             transient: tuple[type[BaseException], ...],
             delays: tuple[float, ...] = UNAVAILABLE_DELAYS_S,
             stop_when_exhausted: bool = False):
    """A Faust agent body that calls `handle` for each event; logs are named `name.*`."""

    async def process(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            where = {"topic": message.topic, "partition": message.partition,
                     "offset": message.offset}
            try:
                envelope = EventEnvelope.from_bytes(message.value)
            except ValueError as error:
                log.error(f"{name}.unreadable_event", error=str(error), **where)
                continue
            about = {"type": envelope.type, "event_id": str(envelope.event_id), **where}
            for delay in (*delays, None):
                try:
                    await handle(envelope)
                    break
                except transient as error:
                    if delay is None:
                        log.exception(f"{name}.event_failed", **about)
                        if stop_when_exhausted:
                            raise
                        break
                    log.warning(f"{name}.unavailable", error=repr(error), retry_in_s=delay,
                                **about)
                    await asyncio.sleep(delay)
                except Exception:
                    log.exception(f"{name}.event_failed", **about)
                    break

    return process
