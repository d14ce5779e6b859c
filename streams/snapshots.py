"""A command partition's snapshot: its aggregates, and the offsets of the events and
replies they include, in the service's compacted snapshots topic.

Partition p of `shopstream.<service>.snapshots` holds the snapshot of command
partition p: one record per aggregate (key `aggregate:<aggregate key>`) and one
`position` record naming the first offset of the events partition, and of the
replies partition, that the aggregates do not include. A snapshot writes the
aggregates that changed since the previous one and then its position, all in one
transaction of the partition's own producer, so a reader of committed records sees
every aggregate as of its latest position: an aggregate not rewritten by the latest
snapshot did not change since the one that wrote it. Compaction keeps the newest
record of each key.

"Not included" is measured in offsets, not in records: the offset after the last
event folded (the snapshot's transaction marker and those of aborted transactions
fill the offsets between), and a committed-only read from there sees exactly the
events decided after the snapshot.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaProducer

from commands.handling import Aggregate
from commands.snapshots import FINGERPRINT, UnknownSnapshot, decode_aggregate, encode_aggregate
from infra.settings import Settings
from infra.topic_reader import TopicReader
from schemas.topics import ServiceTopics

log = structlog.get_logger(__name__)

POSITION_KEY = b"position"
AGGREGATE_PREFIX = "aggregate:"
# A snapshot is written after a batch once this many events and answers were folded
# since the last one, or once SNAPSHOT_INTERVAL_S passed with anything changed; a restart
# then folds at most about this many, or that long's worth, of a partition's records.
SNAPSHOT_EVERY = 10_000
SNAPSHOT_INTERVAL_S = 60.0


@dataclass(frozen=True)
class Snapshot:
    """A partition's aggregates, and the first events and replies offsets they lack."""

    aggregates: dict[str, Aggregate]
    events_from: int
    replies_from: int


@dataclass
class Unsaved:
    """What changed in a partition since its last snapshot."""

    keys: set[str] = field(default_factory=set)
    records: int = 0  # events and answers folded or decided

    def changed(self, key: str, records: int = 1) -> None:
        """Aggregate `key` took `records` more events and answers."""
        self.keys.add(key)
        self.records += records


async def read(settings: Settings, topics: ServiceTopics, partition: int) -> Snapshot | None:
    """The partition's latest snapshot, or None when there is none this code can read."""
    values: dict[bytes, bytes] = {}
    async with TopicReader(settings, (topics.snapshots.name,)) as reader:
        async for messages in reader.read_messages(await reader.range(partitions={partition})):
            for message in messages:
                if message.key is not None and message.value is not None:
                    values[message.key] = message.value
    position = values.pop(POSITION_KEY, None)
    if position is None:
        return None
    written = json.loads(position)
    if written.get("fingerprint") != FINGERPRINT:
        log.warning("command_processor.snapshot_ignored", service=topics.service,
                    partition=partition, reason="written by another version of the state")
        return None
    aggregates = {}
    try:
        for key, value in values.items():
            aggregates[key.decode().removeprefix(AGGREGATE_PREFIX)] = decode_aggregate(value)
            await asyncio.sleep(0)  # the group's heartbeats go on meanwhile
    except UnknownSnapshot as error:
        log.warning("command_processor.snapshot_ignored", service=topics.service,
                    partition=partition, reason=str(error))
        return None
    return Snapshot(aggregates, written["events"], written["replies"])


async def write(producer: AIOKafkaProducer, topics: ServiceTopics, partition: int,
                aggregates: dict[str, Aggregate], unsaved: Unsaved, events_from: int,
                replies_from: int) -> None:
    """Send the changed aggregates and the position, in the producer's open transaction."""
    sent = []
    for key in unsaved.keys & aggregates.keys():
        sent.append(await producer.send(topics.snapshots.name, encode_aggregate(aggregates[key]),
                                        key=(AGGREGATE_PREFIX + key).encode(),
                                        partition=partition))
        await asyncio.sleep(0)  # the group's heartbeats go on meanwhile
    sent.append(await producer.send(topics.snapshots.name, json.dumps(
        {"fingerprint": FINGERPRINT, "events": events_from, "replies": replies_from}).encode(),
        key=POSITION_KEY, partition=partition))
    for future in sent:
        await future


def is_due(unsaved: Unsaved, seconds_since_last: float) -> bool:
    return unsaved.records >= SNAPSHOT_EVERY or (
        bool(unsaved.keys) and seconds_since_last >= SNAPSHOT_INTERVAL_S)
