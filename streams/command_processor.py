"""The command processor of a service: the single writer of its aggregates.

One Faust agent per service consumes the service's commands topic; each
partition has one owner. For each command it loads the aggregate, lets
`commands.handling` decide, appends the events to the events topic and answers
on the replies topic, inside one Kafka transaction with the command's offset.

The aggregates of a partition are rebuilt by the processor itself before it
handles that partition's first command: it reads the partition of the events
topic from offset 0 to its end (committed events only) and folds them, then
reads the replies partition for the commands that appended nothing. Events
carry their command id, so a command seen again after a crash is answered as a
duplicate and appends nothing. Faust's own table recovery is not relied upon:
it has been seen to take a changelog for empty and start with no state, and
faust-streaming has open reports of duplicates under `exactly_once`. A read
that fails is an error, never an empty state. When a partition is revoked its
state is dropped, and rebuilt if it comes back.

The two Faust tables stay for one reason: as table changelogs, the events and
replies topics join the commands' partition group, so Faust writes them in the
same transaction as the command's offset.
"""

from __future__ import annotations

from collections.abc import Iterable

import faust
import structlog
from faust.types import EventT

from commands.handling import Aggregate, fold, handle, recall, with_positions
from commands.registry import DECIDERS
from infra.settings import Settings
from infra.topic_reader import TopicReader
from schemas.envelope import CommandEnvelope
from schemas.replies import Position, Reply
from schemas.topics import SERVICES, ServiceTopics
from streams.system import Decide, Subscription

log = structlog.get_logger(__name__)


class _TransactionalTopic(faust.Table):
    """A table that only makes its changelog topic transactional; it keeps nothing.

    It reports the topic's end (looked up before the worker started) as already
    recovered, so Faust does not read the whole topic for nothing on every start.
    """

    ends: dict[tuple[str, int], int]

    def on_key_set(self, key, value) -> None:
        pass

    def apply_changelog_batch(self, batch: Iterable[EventT]) -> None:
        pass

    def persisted_offset(self, tp) -> int | None:
        end = self.ends.get((tp.topic, tp.partition))
        return end - 1 if end else None


async def recover(settings: Settings, topics: ServiceTopics, partition: int
                  ) -> dict[str, Aggregate]:
    """Every aggregate of one partition, from its events and its replies."""
    decider = DECIDERS[topics.service]
    aggregates: dict[str, Aggregate] = {}
    events = 0
    async with TopicReader(settings, (topics.events.name,)) as reader:
        async for records in reader.read(await reader.range(partitions={partition})):
            for record in records:
                key = record.envelope.aggregate_id
                position = Position(topic=record.topic, partition=record.partition,
                                    offset=record.offset)
                aggregates[key] = fold(aggregates.get(key) or Aggregate(), record.envelope,
                                       position, decider)
                events += 1
    async with TopicReader(settings, (topics.replies.name,)) as reader:
        async for messages in reader.read_messages(await reader.range(partitions={partition})):
            for message in messages:
                if message.value is None:
                    continue
                reply = Reply.model_validate_json(message.value)
                # The events told the rest; these commands appended nothing.
                if reply.status == "rejected" or not reply.event_types:
                    key = reply.aggregate_id
                    aggregates[key] = recall(aggregates.get(key) or Aggregate(), reply)
    log.info("command_processor.recovered", service=topics.service, partition=partition,
             events=events, aggregates=len(aggregates))
    return aggregates


def register(app: faust.App, subscription: Subscription, settings: Settings,
             ends: dict[tuple[str, int], int]) -> None:
    """Add the command processor of `subscription` (a `Decide`, `streams/system.py`) to `app`.

    `ends` are the end offsets of the events and replies topics when the worker started.
    """
    assert isinstance(subscription.handler, Decide)
    topics = SERVICES[subscription.handler.service]
    partitions = settings.kafka_partitions

    def raw_topic(*names: str, acks: bool = True) -> faust.TopicT:
        return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=partitions, acks=acks)

    commands = raw_topic(*subscription.topics)
    # No stream consumes these two, so nothing acknowledges their records: declared with
    # acks (Faust's default), Faust's stall check takes them for streams that never start
    # and logs an error for each partition on every check. Its own changelogs have none.
    events = raw_topic(topics.events.name, acks=False)
    replies = raw_topic(topics.replies.name, acks=False)
    for name, topic in (("aggregates", events), ("replies", replies)):
        table = _TransactionalTopic(app, name=f"{topics.service}-{name}", default=None,
                                    partitions=partitions, changelog_topic=topic)
        table.ends = ends
        app.tables.add(table)

    # partition -> aggregate key -> aggregate, for the partitions this worker owns
    owned: dict[int, dict[str, Aggregate]] = {}

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender, revoked, **kwargs) -> None:
        for tp in revoked:
            if tp.topic == topics.commands.name:
                owned.pop(tp.partition, None)

    async def process(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            key = message.key.decode()
            try:
                envelope = CommandEnvelope.from_bytes(message.value)
            except ValueError as error:
                # A malformed command can never succeed; skip it rather than block the partition.
                log.error("command.unreadable", topic=message.topic, partition=message.partition,
                          offset=message.offset, error=str(error))
                continue
            if message.partition not in owned:
                owned[message.partition] = await recover(settings, topics, message.partition)
            aggregates = owned[message.partition]
            decision = handle(aggregates.get(key) or Aggregate(), envelope, key)
            aggregate = decision.aggregate
            reply = decision.reply
            if decision.events:
                positions = []
                for event_envelope in decision.events:
                    sent = await events.send(key=key.encode(), value=event_envelope.to_bytes(),
                                             partition=message.partition)
                    metadata = await sent
                    positions.append(Position(topic=events.get_topic_name(),
                                              partition=metadata.partition,
                                              offset=metadata.offset))
                aggregate = with_positions(aggregate, envelope.command_id, positions)
                reply = reply.model_copy(update={"positions": positions})
            aggregates[key] = aggregate
            # Sent and acknowledged before this command's offset can be committed, so the
            # answer is in the same transaction (Faust's buffered table writes may not be).
            await (await replies.send(key=str(reply.command_id).encode(),
                                      value=reply.model_dump_json().encode(),
                                      partition=message.partition))
            log.debug("command.handled", type=envelope.type, status=reply.status, key=key)

    app.agent(commands, name=subscription.name)(process)
