"""A Kafka client that cannot start is stopped, not left to the garbage collector: each
one left behind held its connections and logged "Unclosed AIOKafkaConsumer" at exit."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import warnings

import pytest

from infra.dependencies import DependencyUnavailable
from infra.log_ends import LogEnds
from infra.settings import Settings
from infra.topic_reader import TopicReader


def _nothing_listening() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _unclosed(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "Unclosed AIOKafka" in str(w.message)]


async def test_log_ends_stop_the_consumer_that_could_not_start(settings: Settings) -> None:
    ends = LogEnds(settings.model_copy(update={"kafka_bootstrap": _nothing_listening()}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DependencyUnavailable):
            await ends.of("shopstream.orders.events")
        gc.collect()
    assert _unclosed(caught) == []


async def test_a_topic_reader_that_cannot_start_is_stopped(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"kafka_bootstrap": _nothing_listening()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Exception):
            async with TopicReader(unreachable, ("shopstream.orders.events",)):
                pass
        gc.collect()
    assert _unclosed(caught) == []


async def test_a_look_up_its_caller_stops_waiting_for_leaves_no_connection_open(
        settings: Settings) -> None:
    # A read whose model catches up first cancels its probe of the log's end, often while
    # a fresh client is still connecting to the broker.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for attempt in range(40):
            ends = LogEnds(settings)
            probe = asyncio.ensure_future(ends.of("shopstream.orders.events", "a key"))
            await asyncio.sleep(attempt * 0.0005)
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            await asyncio.sleep(0.05)  # the look-up finishes on its own
            await ends.close()
            gc.collect()
    assert _unclosed(caught) == []
