"""Read topics from a starting point up to where they ended when reading began.

Used by replays and audits: a bounded, committed-only read with no consumer
group, so it never disturbs the running projections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from infra.settings import Settings
from schemas.records import Record


@dataclass
class TopicRange:
    start: dict[TopicPartition, int]
    end: dict[TopicPartition, int]

    @property
    def total(self) -> int:
        return sum(max(self.end[tp] - self.start[tp], 0) for tp in self.end)


class TopicReader:
    def __init__(self, settings: Settings, topics: tuple[str, ...]) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                          group_id=None, enable_auto_commit=False,
                                          isolation_level="read_committed",
                                          max_poll_records=2000)
        self._topics = topics
        self.done = 0  # offsets read so far (records and transaction markers)

    async def __aenter__(self) -> TopicReader:
        try:
            await self._consumer.start()
        except BaseException:
            await self._consumer.stop()  # `__aexit__` is not called when entering fails
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self._consumer.stop()

    async def partitions(self, only: set[int] | None = None) -> list[TopicPartition]:
        tps = []
        for topic in self._topics:
            partitions = self._consumer.partitions_for_topic(topic)
            if partitions is None:
                await self._consumer._client.force_metadata_update()
                partitions = self._consumer.partitions_for_topic(topic)
            if not partitions:
                raise RuntimeError(f"the topic {topic} has no partitions (does it exist?)")
            tps += [TopicPartition(topic, p) for p in sorted(partitions)
                    if only is None or p in only]
        return tps

    async def range(self, start: dict[TopicPartition, int] | None = None, *,
                    partitions: set[int] | None = None) -> TopicRange:
        """From `start` (default: the beginning) to the current end of each partition."""
        tps = await self.partitions(partitions)
        end = await self._consumer.end_offsets(tps)
        begin = await self._consumer.beginning_offsets(tps)
        return TopicRange(start={tp: (start or {}).get(tp, begin[tp]) for tp in tps}, end=end)

    async def read(self, topic_range: TopicRange) -> AsyncIterator[list[Record]]:
        """Batches of events inside the range, in order within each partition."""
        async for messages in self.read_messages(topic_range):
            yield [Record.from_message(m) for m in messages if m.value is not None]

    async def read_messages(self, topic_range: TopicRange) -> AsyncIterator[list]:
        """Batches of raw consumer records inside the range, in order within each partition."""
        pending = {tp for tp in topic_range.end if topic_range.end[tp] > topic_range.start[tp]}
        self._consumer.assign(list(pending))
        for tp in pending:
            self._consumer.seek(tp, topic_range.start[tp])
        while pending:
            batches = await self._consumer.getmany(*pending, timeout_ms=500)
            records = []
            for tp, messages in batches.items():
                records += [m for m in messages if m.offset < topic_range.end[tp]]
            self.done = 0
            for tp in topic_range.end:
                # Transaction markers occupy offsets too, so compare positions, not records.
                position = (await self._consumer.position(tp) if tp in pending
                            else topic_range.end[tp])
                self.done += max(min(position, topic_range.end[tp]) - topic_range.start[tp], 0)
                if position >= topic_range.end[tp]:
                    pending.discard(tp)
            if records:
                yield records
