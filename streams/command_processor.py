"""The command processors: the single writers of every service's aggregates.

One consumer group reads the commands topics; each partition has one owner. A
poll brings each owned partition's waiting commands as one batch, and each batch
is one Kafka transaction: the processor decides the commands in order
(`commands.handling`), appends their events to the events topic, answers each on
the replies topic and commits the batch's offset, all or nothing. Under load a
batch holds many commands, so the transaction's round trips to the broker are
shared by all of them; alone, a command costs one transaction.

Each partition has its own transactional producer, whose id names the partition.
Taking a partition starts that producer, and starting it fences the previous
owner's: a worker thought dead that wakes up can no longer commit, and its open
transaction is aborted before the new owner reads anything.

The aggregates of a partition are rebuilt by the processor itself before it
handles that partition's first command: it reads the partition's latest snapshot
(`streams/snapshots.py`), then the partition of the events topic from the
snapshot's offset (or from 0 without one) to its end (committed events only) and
folds them, then the replies partition after the snapshot for the commands that
appended nothing. Once enough has changed, a committed batch is followed by a new
snapshot, written in a transaction of the partition's producer. Events
carry their command id, so a command seen again after a crash is answered as a
duplicate and appends nothing. A read that fails is an error, never an empty
state. When a partition is revoked its state is dropped, and rebuilt if it comes
back; when a batch fails (the broker unreachable, the producer fenced) its
transaction is aborted, the partition's state is dropped with its producer, and
the batch is read again.

This loop is plain aiokafka rather than a Faust agent: a Faust agent acknowledges
one record at a time and waits for each send, so a command cost two broker round
trips of its own plus a share of a transaction every commit interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from aiohttp import web

from commands.handling import Aggregate, fold, handle, recall, with_positions
from commands.registry import DECIDERS
from infra import aiokafka_fixes
from infra.settings import Settings
from infra.topic_reader import TopicRange, TopicReader
from schemas.envelope import CommandEnvelope
from schemas.replies import Position, Reply
from schemas.topics import SERVICES, SNAPSHOT_MAX_BYTES, ServiceTopics
from streams import snapshots
from streams.system import SYSTEM, Decide

log = structlog.get_logger(__name__)

GROUP_ID = "shopstream-commands"
# A transaction left open by a worker that died stays open until its successor starts;
# one held open by a broker restart must outlast the coordinator's reload (over a
# minute on a busy machine), within the brokers' ceiling (15 minutes by default).
TRANSACTION_TIMEOUT_MS = 10 * 60 * 1000
MAX_BATCH = 500  # commands per poll, over all partitions
RETRY_AFTER_S = 1.0  # after a failed batch, before the partition is read again
YIELD_EVERY = 200  # events folded between two chances for the event loop's other tasks


@dataclass
class Recovered:
    """A partition's aggregates, where its events and replies end, and what of them is
    not in its snapshot yet."""

    aggregates: dict[str, Aggregate]
    events_from: int
    replies_from: int
    unsaved: snapshots.Unsaved


async def recover(settings: Settings, topics: ServiceTopics, partition: int, *,
                  from_snapshot: bool = True) -> Recovered:
    """Every aggregate of one partition: from its latest snapshot, if there is one this code
    can read, and the events and replies after it; otherwise from all of them."""
    decider = DECIDERS[topics.service]
    snapshot = await snapshots.read(settings, topics, partition) if from_snapshot else None
    aggregates = dict(snapshot.aggregates) if snapshot else {}
    unsaved = snapshots.Unsaved()
    async with TopicReader(settings, (topics.events.name,)) as reader:
        events = await reader.range(partitions={partition})
        if snapshot:
            events = _after(events, snapshot.events_from)
        async for records in reader.read(events):
            for count, record in enumerate(records, start=1):
                if count % YIELD_EVERY == 0:
                    # A long fold must not starve the group's heartbeats: the worker
                    # would be taken for dead and lose the partition it is recovering.
                    await asyncio.sleep(0)
                key = record.envelope.aggregate_id
                position = Position(topic=record.topic, partition=record.partition,
                                    offset=record.offset)
                aggregates[key] = fold(aggregates.get(key) or Aggregate(), record.envelope,
                                       position, decider)
                unsaved.changed(key)
    folded = unsaved.records
    async with TopicReader(settings, (topics.replies.name,)) as reader:
        replies = await reader.range(partitions={partition})
        if snapshot:
            replies = _after(replies, snapshot.replies_from)
        async for messages in reader.read_messages(replies):
            for message in messages:
                if message.value is None:
                    continue
                reply = Reply.model_validate_json(message.value)
                # The events told the rest; these commands appended nothing.
                if reply.status == "rejected" or not reply.event_types:
                    key = reply.aggregate_id
                    aggregates[key] = recall(aggregates.get(key) or Aggregate(), reply)
                    unsaved.changed(key)
    log.info("command_processor.recovered", service=topics.service, partition=partition,
             from_snapshot=snapshot is not None,
             snapshot_aggregates=len(snapshot.aggregates) if snapshot else 0,
             events=folded, aggregates=len(aggregates))
    return Recovered(aggregates, _end(events), _end(replies), unsaved)


def _after(topic_range: TopicRange, offset: int) -> TopicRange:
    """The range from `offset` on, in its only partition."""
    (tp,) = topic_range.end
    return TopicRange(start={tp: max(offset, topic_range.start[tp])}, end=topic_range.end)


def _end(topic_range: TopicRange) -> int:
    (end,) = topic_range.end.values()
    return end


@dataclass
class Owned:
    """One owned partition: its transactional producer and its aggregates."""

    topics: ServiceTopics
    partition: int
    producer: AIOKafkaProducer
    recovered: Recovered | None = None  # on the first command
    snapshot_at: float = field(default_factory=time.monotonic)


@dataclass
class Handled:
    """A command decided in the open transaction, its events sent but not yet acknowledged."""

    key: str
    reply: Reply
    sent: list[asyncio.Future]


class CommandProcessor(ConsumerRebalanceListener):
    def __init__(self, settings: Settings, services: list[str], instance: str) -> None:
        self.settings = settings
        self._by_topic = {SERVICES[s].commands.name: SERVICES[s] for s in services}
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, group_id=GROUP_ID,
            enable_auto_commit=False, auto_offset_reset="earliest",
            isolation_level="read_committed",
            # A static member: the same worker started again (after a crash, or in a
            # deploy) takes its partitions back at once, instead of after the dead
            # process's session has expired and the group has rebalanced.
            group_instance_id=instance,
            # A worker that dies and does not come back holds its partitions until its
            # session expires: keep that short, so another worker takes over within seconds.
            session_timeout_ms=10_000, heartbeat_interval_ms=3_000)
        self._owned: dict[TopicPartition, Owned] = {}
        # Held while a batch is handled, so partitions are given up only between batches.
        self._lock = asyncio.Lock()
        self._generation = 0  # counts revocations: a batch polled before one is stale

    async def on_partitions_revoked(self, revoked) -> None:
        async with self._lock:
            self._generation += 1
            for tp in revoked:
                await self._drop(tp)

    async def on_partitions_assigned(self, assigned) -> None:
        async with self._lock:
            taken = [tp for tp in assigned if tp not in self._owned]
            outcomes = await asyncio.gather(*(self._own(tp) for tp in taken),
                                            return_exceptions=True)
            for tp, outcome in zip(taken, outcomes, strict=True):
                if isinstance(outcome, Exception):  # taken again on its first command
                    log.warning("command_processor.take_failed", topic=tp.topic,
                                partition=tp.partition, error=f"{type(outcome).__name__}: "
                                                              f"{outcome}")

    async def run(self, stopping: asyncio.Event) -> None:
        await self._consumer.start()
        self._consumer.subscribe(list(self._by_topic), listener=self)
        try:
            while not stopping.is_set():
                generation = self._generation
                batches = await self._consumer.getmany(timeout_ms=1000, max_records=MAX_BATCH)
                if not batches:
                    continue
                async with self._lock:
                    if generation != self._generation:
                        # Polled before partitions moved: read them again from where the
                        # last owner committed.
                        assigned = self._consumer.assignment()
                        if stale := [tp for tp in batches if tp in assigned]:
                            await aiokafka_fixes.seek_to_committed(self._consumer, *stale)
                        continue
                    await asyncio.gather(*(self._handle_batch(tp, records)
                                           for tp, records in batches.items()))
        finally:
            async with self._lock:
                for tp in list(self._owned):
                    await self._drop(tp)
            await self._consumer.stop()

    async def _own(self, tp: TopicPartition) -> None:
        """Start the partition's producer, which aborts its previous owner's open
        transaction: until then, neither the partition's committed offset nor the events
        and replies written in that transaction can be read."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap, acks="all",
            enable_idempotence=True, linger_ms=0,
            transactional_id=f"{GROUP_ID}-{tp.topic}-{tp.partition}",
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS, max_request_size=SNAPSHOT_MAX_BYTES)
        await producer.start()
        self._owned[tp] = Owned(self._by_topic[tp.topic], tp.partition, producer)

    async def _take(self, tp: TopicPartition) -> Owned:
        """The partition, its aggregates recovered on its first command."""
        if tp not in self._owned:
            await self._own(tp)  # after a failed batch
        owned = self._owned[tp]
        if owned.recovered is None:
            owned.recovered = await recover(self.settings, owned.topics, tp.partition)
            # A long tail is kept at once, so that it is not folded again if the batch
            # that follows fails.
            await self._write_snapshot(tp, owned)
        return owned

    async def _drop(self, tp: TopicPartition) -> None:
        owned = self._owned.pop(tp, None)
        if owned is not None:
            with contextlib.suppress(Exception):
                await owned.producer.stop()

    async def _handle_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        try:
            owned = await self._take(tp)
            async with owned.producer.transaction():
                await self._decide(owned, records)
                await owned.producer.send_offsets_to_transaction(
                    {tp: records[-1].offset + 1}, GROUP_ID)
        except Exception as error:
            await self._failed(tp, records, error)
            return
        await self._snapshot(tp, owned)

    async def _snapshot(self, tp: TopicPartition, owned: Owned) -> None:
        """After a committed batch: write the partition's snapshot if one is due."""
        try:
            await self._write_snapshot(tp, owned)
        except Exception as error:
            # The batches are committed: only the snapshot is lost. The partition is taken
            # again (from the previous snapshot) on its next command.
            log.warning("command_processor.snapshot_failed", topic=tp.topic,
                        partition=tp.partition, error=f"{type(error).__name__}: {error}")
            await self._drop(tp)

    async def _write_snapshot(self, tp: TopicPartition, owned: Owned) -> None:
        """Write the partition's snapshot, in a transaction of its own, when one is due."""
        recovered = owned.recovered
        assert recovered is not None
        if not snapshots.is_due(recovered.unsaved, time.monotonic() - owned.snapshot_at):
            return
        async with owned.producer.transaction():
            await snapshots.write(owned.producer, owned.topics, tp.partition,
                                  recovered.aggregates, recovered.unsaved,
                                  recovered.events_from, recovered.replies_from)
        log.info("command_processor.snapshot_written", topic=tp.topic, partition=tp.partition,
                 aggregates=len(recovered.unsaved.keys), events_from=recovered.events_from)
        recovered.unsaved = snapshots.Unsaved()
        owned.snapshot_at = time.monotonic()

    async def _failed(self, tp: TopicPartition, records: list[ConsumerRecord],
                      error: Exception) -> None:
        # The transaction is aborted (or dies with its producer): the aggregates may
        # hold decisions that were never committed, so they go too, and the batch is
        # read again from its first command.
        if isinstance(error, KafkaError):
            log.warning("command_processor.batch_failed", topic=tp.topic,
                        partition=tp.partition, commands=len(records),
                        error=f"{type(error).__name__}: {error}")
        else:  # a bug: the partition waits for its fix, with the trace in the log
            log.error("command_processor.batch_crashed", topic=tp.topic,
                      partition=tp.partition, commands=len(records), exc_info=error)
        await self._drop(tp)
        self._consumer.seek(tp, records[0].offset)
        await asyncio.sleep(RETRY_AFTER_S)

    async def _decide(self, owned: Owned, records: list[ConsumerRecord]) -> None:
        """Decide `records` in order, sending their events and then their answers."""
        producer, events_topic, recovered = (owned.producer, owned.topics.events.name,
                                             owned.recovered)
        assert recovered is not None
        aggregates, unsaved = recovered.aggregates, recovered.unsaved
        handled: list[Handled] = []
        pending: set = set()  # the command ids in `handled`
        for record in records:
            try:
                envelope = CommandEnvelope.from_bytes(record.value)
            except ValueError as error:
                # A malformed command can never succeed; skip it rather than block the
                # partition.
                log.error("command.unreadable", topic=record.topic, partition=record.partition,
                          offset=record.offset, error=str(error))
                continue
            if envelope.command_id in pending:
                # A repeat within the batch is answered with where the first one's events
                # landed, so those must be known first.
                await self._acknowledged(owned, aggregates, handled)
                handled, pending = [], set()
            key = record.key.decode()
            decision = handle(aggregates.get(key) or Aggregate(), envelope, key)
            aggregates[key] = decision.aggregate
            unsaved.changed(key, records=len(decision.events) + 1)
            sent = [await producer.send(events_topic, event.to_bytes(), key=key.encode(),
                                        partition=owned.partition)
                    for event in decision.events]
            handled.append(Handled(key, decision.reply, sent))
            pending.add(envelope.command_id)
            log.debug("command.handled", type=envelope.type, status=decision.reply.status,
                      key=key)
        await self._acknowledged(owned, aggregates, handled)

    async def _acknowledged(self, owned: Owned, aggregates: dict[str, Aggregate],
                            handled: list[Handled]) -> None:
        """Once the events of `handled` are acknowledged, note where they landed and send
        the answers; the partition's snapshot will include both."""
        recovered = owned.recovered
        assert recovered is not None
        answers: list[Awaitable] = []
        for command in handled:
            reply = command.reply
            if command.sent:
                positions = [Position(topic=m.topic, partition=m.partition, offset=m.offset)
                             for m in await asyncio.gather(*command.sent)]
                aggregates[command.key] = with_positions(aggregates[command.key],
                                                         reply.command_id, positions)
                reply = reply.model_copy(update={"positions": positions})
                recovered.events_from = max(recovered.events_from, positions[-1].offset + 1)
            answers.append(await owned.producer.send(
                owned.topics.replies.name, reply.model_dump_json().encode(),
                key=str(reply.command_id).encode(), partition=owned.partition))
        for answered in await asyncio.gather(*answers):
            recovered.replies_from = max(recovered.replies_from, answered.offset + 1)


def instance_id(services: list[str] | None, instance: int) -> str:
    """The worker's name in the group, the same each time it starts: this machine's, its
    services' and its number's (`instance` is the worker's number on this machine)."""
    return f"{socket.gethostname()}/{'+'.join(sorted(services or ['all']))}/{instance}"


async def serve(settings: Settings, services: list[str] | None, port: int,
                instance: int = 1) -> None:
    """Run the command processors of `services` (default: every `Decide` of the commands
    role in `streams/system.py`) until SIGTERM or SIGINT, with `/healthz` on `port`."""
    name = instance_id(services, instance)
    services = services or [s.handler.service for s in SYSTEM["commands"].subscriptions
                            if isinstance(s.handler, Decide)]
    aiokafka_fixes.apply()

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    health = web.Application()
    health.router.add_get("/healthz", lambda request: web.json_response(
        {"status": "ok", "role": "commands"}))
    runner = web.AppRunner(health, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await CommandProcessor(settings, services, name).run(stopping)
    finally:
        await runner.cleanup()

