"""A Kafka client that cannot start is stopped, not left to the garbage collector: each
one left behind held its connections and logged "Unclosed AIOKafkaConsumer" at exit."""

from __future__ import annotations

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
