"""Send a command to its service and wait for the processor's answer.

Commands go to the service's commands topic keyed by the aggregate; answers
come back on the service's replies topic, read by every sender from its end
with `read_committed`, so an answer is seen only once the events it announces
are committed.

A command not appended to Kafka before its deadline (the broker unreachable) is
`DependencyUnavailable`; one appended but not answered in time is `CommandTimeout`.
The producer of a failed append, and a replies reader that stopped, are replaced
by the next command, so a process serves again by itself once Kafka is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from datetime import UTC, datetime
from uuid import UUID

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError, ProducerClosed

from infra.clients import Clients
from infra.dependencies import DependencyUnavailable
from schemas.envelope import CommandEnvelope
from schemas.messages import Command
from schemas.replies import Reply
from schemas.topics import SERVICES

log = structlog.get_logger(__name__)


async def post(clients: Clients, command: Command, *, command_id: UUID, actor: str | None,
               correlation_id: UUID | None = None, issued_at: datetime | None = None
               ) -> CommandEnvelope:
    """Append `command` to its service's commands topic without waiting for its answer."""
    envelope = CommandEnvelope.wrap(command, command_id=command_id,
                                    correlation_id=correlation_id, actor=actor,
                                    issued_at=issued_at or datetime.now(UTC))
    while True:
        producer = await clients.producer()
        try:
            await producer.send_and_wait(SERVICES[command.service].commands.name,
                                         envelope.to_bytes(), key=command.aggregate_key.encode())
            return envelope
        except ProducerClosed:
            # Retired by a concurrent request's failure before it took this record:
            # nothing was appended, so the next producer may send it (the caller's
            # deadline bounds the tries).
            clients.retire_producer(producer)  # a no-op unless it is still the current one
            continue
        except (KafkaError, asyncio.CancelledError):  # cancelled: not acknowledged in time
            clients.retire_producer(producer)
            raise


class CommandTimeout(Exception):
    """No answer in time; the command may still be applied. Retry with the same id."""


class CommandBus:
    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._settings = clients.settings
        # command id -> the futures of the requests waiting for its answer, oldest first
        self._waiting: dict[UUID, deque[asyncio.Future[Reply]]] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None
        self._started = asyncio.Lock()

    async def _start(self) -> None:
        """Start reading replies, or start again if the reader stopped on an error."""
        async with self._started:
            if self._task is not None and not self._task.done():
                return
            await self._stop_reading()
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._settings.kafka_bootstrap,
                isolation_level="read_committed",
                enable_auto_commit=False,
                group_id=None,
            )
            try:
                await consumer.start()
                await self._assign_ends(consumer)
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer
            self._task = asyncio.create_task(self._read_replies(consumer),
                                             name="command-bus-replies")

    async def _assign_ends(self, consumer: AIOKafkaConsumer) -> None:
        partitions = []
        for service in SERVICES.values():
            topic = service.replies.name
            for partition in consumer.partitions_for_topic(topic) or await self._partitions(
                    consumer, topic):
                partitions.append(TopicPartition(topic, partition))
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        # Resolve the end positions now, so no answer sent after this point is missed.
        for tp in partitions:
            await consumer.position(tp)

    async def _stop_reading(self) -> None:
        task, self._task = self._task, None
        if task is not None and task.done():
            if not task.cancelled() and task.exception() is not None:
                log.warning("command_bus.replies_reader_failed", error=repr(task.exception()))
        elif task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer, topic: str) -> set[int]:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise RuntimeError(f"the topic {topic} does not exist; start a worker first")
        return partitions

    async def _read_replies(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    # Replies are keyed by command id: most are for other replicas' requests
                    # (or none), so only those this one waits for are parsed.
                    if record.value is None or not self._awaits(record.key):
                        continue
                    self._answer(Reply.model_validate_json(record.value))

    def _awaits(self, key: bytes | None) -> bool:
        try:
            return key is not None and UUID(key.decode()) in self._waiting
        except ValueError:
            return False

    def _answer(self, reply: Reply) -> None:
        """Hand a reply to the longest-waiting sender of its command id.

        Two requests with one Idempotency-Key can wait in one process at once: each
        appended the command and each gets an answer (the later one as a duplicate).
        """
        waiting = self._waiting.get(reply.command_id)
        while waiting:
            future = waiting.popleft()
            if not future.done():
                future.set_result(reply)
                break
        if not waiting:
            self._waiting.pop(reply.command_id, None)

    def _stop_waiting(self, command_id: UUID, future: asyncio.Future[Reply]) -> None:
        waiting = self._waiting.get(command_id)
        if waiting is not None and future in waiting:
            waiting.remove(future)
        if not waiting:
            self._waiting.pop(command_id, None)

    async def send(self, command: Command, *, actor: str | None, command_id: UUID | None = None,
                   correlation_id: UUID | None = None, issued_at: datetime | None = None,
                   timeout_s: float | None = None) -> Reply:
        """Send `command` and return its answer (accepted, duplicate or rejected).

        `issued_at` becomes the time of the events the command causes. Everything,
        from reaching Kafka to the answer, happens within `timeout_s` (by default
        the setting `command_timeout_s`).
        """
        deadline = asyncio.get_running_loop().time() + (timeout_s or
                                                         self._settings.command_timeout_s)
        command_id = command_id or uuid.uuid4()
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(command_id, deque()).append(future)
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    await self._start()
                    await post(self._clients, command, command_id=command_id, actor=actor,
                               correlation_id=correlation_id, issued_at=issued_at)
            except TimeoutError:
                raise DependencyUnavailable("Kafka", "the command was not appended in time"
                                            ) from None
            try:
                async with asyncio.timeout_at(deadline):
                    return await future
            except TimeoutError:
                raise CommandTimeout(f"no answer to {command.type_name()} {command_id}"
                                     ) from None
        finally:
            self._stop_waiting(command_id, future)

    async def close(self) -> None:
        await self._stop_reading()
