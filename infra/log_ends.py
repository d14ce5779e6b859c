"""Where an events topic ends now, for one key or a whole topic.

A keyed read that finds nothing asks this before it says "not found": the read
model may simply not have caught up with an acknowledged write yet. The answer is
the high watermark, which counts the records of transactions still open: a
projection reaches it once they end (it reads past their commit or abort markers).

Not the last stable offset: a command's transaction writes its answer and its events
to partitions that may lead on different brokers, and the coordinator writes the
commit marker to each in turn. A client can hold the answer while the events
partition's last stable offset is still before the events, so a read right after
it (a sign-in after a sign-up) would miss them and answer "not found".
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from infra.dependencies import DependencyUnavailable
from infra.settings import Settings

_partitioner = DefaultPartitioner()
# A look-up that takes longer has met a broker that is down or restarting.
TIMEOUT_S = 2.0


def partition_of(key: str, partitions: list[int]) -> int:
    """The partition a producer with the default partitioner sends `key` to."""
    ordered = sorted(partitions)
    return _partitioner(key.encode(), ordered, ordered)


def _retrieved(task: asyncio.Future) -> None:
    """Take the outcome of a look-up whose caller stopped waiting, so it is not reported
    as never retrieved (a failure is already `DependencyUnavailable`)."""
    if not task.cancelled():
        task.exception()


class LogEnds:
    """Looks up end offsets through one group-less consumer, rebuilt after a failure."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def _client(self) -> AIOKafkaConsumer:
        async with self._lock:
            if self._consumer is None:
                consumer = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap,
                                            isolation_level="read_uncommitted",
                                            enable_auto_commit=False, group_id=None)
                try:
                    await consumer.start()
                except BaseException:
                    # Kafka unreachable, or the caller's timeout: a consumer half started
                    # holds its connections until it is stopped.
                    await consumer.stop()
                    raise
                self._consumer = consumer
            return self._consumer

    def partition(self, key: str) -> int:
        """The partition of `key` in a topic of the shop (each has the configured count)."""
        return partition_of(key, list(range(self._settings.kafka_partitions)))

    async def of(self, topic: str, key: str | None = None) -> dict[tuple[str, int], int]:
        """{(topic, partition): end offset} for the partition of `key`, or every partition;
        `DependencyUnavailable` when Kafka does not answer in time.

        A caller that stops waiting (a read whose model caught up first cancels its probe)
        leaves the look-up to finish by itself: aiokafka cancelled while it connects to a
        broker drops the connection unclosed."""
        look_up = asyncio.ensure_future(self._bounded(topic, key))
        look_up.add_done_callback(_retrieved)
        return await asyncio.shield(look_up)

    async def _bounded(self, topic: str, key: str | None) -> dict[tuple[str, int], int]:
        try:
            async with asyncio.timeout(TIMEOUT_S):
                return await self._look_up(topic, key)
        except (KafkaError, TimeoutError) as error:
            await self._discard()
            raise DependencyUnavailable("Kafka", "its partitions' ends cannot be read") from error

    async def _look_up(self, topic: str, key: str | None) -> dict[tuple[str, int], int]:
        consumer = await self._client()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        chosen = [partition_of(key, list(partitions))] if key is not None else partitions
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in chosen])
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def _discard(self) -> None:
        async with self._lock:
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def close(self) -> None:
        await self._discard()
