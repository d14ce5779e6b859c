"""The command processor of a service: the single writer of its aggregates.

One Faust agent per service consumes the service's commands topic; each
partition has one owner. For each command it loads the aggregate, lets
`commands.handling` decide, appends the events to the events topic and answers
on the replies topic, inside one Kafka transaction with the command's offset.

The aggregates' state is a Faust table whose changelog is the events topic
itself: on start, or when a partition moves here, the state is rebuilt by
folding the events, including which command ids were already applied. So even
if a transaction's guarantee fails (faust-streaming has open reports of
duplicates under `exactly_once`), a command seen again after a crash is
answered as a duplicate and appends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

import faust
import structlog
from faust.types import EventT

from commands.handling import Aggregate, fold, handle, recall, with_positions
from commands.registry import DECIDERS
from schemas.envelope import CommandEnvelope, EventEnvelope
from schemas.replies import Position, Reply
from schemas.topics import ServiceTopics

log = structlog.get_logger(__name__)


class AggregateTable(faust.Table):
    """Aggregates by key, rebuilt from the events topic; writes no changelog of its own."""

    decider: ModuleType

    def on_key_set(self, key, value) -> None:
        # The agent appends the events itself: they are this table's changelog.
        pass

    def apply_changelog_batch(self, batch: Iterable[EventT]) -> None:
        for event in batch:
            message = event.message
            key = message.key.decode()
            envelope = EventEnvelope.from_bytes(message.value)
            position = Position(topic=message.topic, partition=message.partition,
                                offset=message.offset)
            current = self.data.get(key) or Aggregate()
            self.data[key] = fold(current, envelope, position, self.decider)


class ReplyTable(faust.Table):
    """The replies topic as a table changelog, which puts it in the commands' transaction.

    On recovery it keeps only the answers the events topic cannot tell: commands
    that were rejected or appended nothing. `take_recovered` hands them to the
    aggregate they belong to.
    """

    recovered: dict[str, list[Reply]]

    def apply_changelog_batch(self, batch: Iterable[EventT]) -> None:
        for event in batch:
            if event.message.value is None:
                continue
            reply = Reply.model_validate_json(event.message.value)
            if reply.status == "rejected" or not reply.event_types:
                self.recovered.setdefault(reply.aggregate_id, []).append(reply)

    def take_recovered(self, key: str) -> list[Reply]:
        return self.recovered.pop(key, [])


def register(app: faust.App, topics: ServiceTopics, partitions: int) -> None:
    """Add the service's command processor agent and its tables to `app`."""

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=partitions)

    commands = raw_topic(topics.commands.name)
    events = raw_topic(topics.events.name)
    aggregates = AggregateTable(app, name=f"{topics.service}-aggregates", default=None,
                                partitions=partitions, changelog_topic=events)
    aggregates.decider = DECIDERS[topics.service]
    replies_topic = raw_topic(topics.replies.name)
    replies = ReplyTable(app, name=f"{topics.service}-replies", default=None,
                         partitions=partitions, changelog_topic=replies_topic)
    replies.recovered = {}
    app.tables.add(aggregates)
    app.tables.add(replies)

    def load(key: str) -> Aggregate:
        aggregate = aggregates.data.get(key) or Aggregate()
        for reply in replies.take_recovered(key):
            aggregate = recall(aggregate, reply)
        return aggregate

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
            decision = handle(load(key), envelope, key)
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
            aggregates.data[key] = aggregate
            # Sent and acknowledged before this command's offset can be committed, so the
            # answer is in the same transaction (Faust's buffered table writes may not be).
            await (await replies_topic.send(key=str(reply.command_id).encode(),
                                            value=reply.model_dump_json().encode(),
                                            partition=message.partition))
            log.debug("command.handled", type=envelope.type, status=reply.status, key=key)

    app.agent(commands, name=f"{topics.service}-command-processor")(process)
