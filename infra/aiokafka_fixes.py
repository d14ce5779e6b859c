"""Corrections to aiokafka 0.14.0.

Finding a coordinator while the broker stops. aiokafka's transactional producer
retries its coordinator lookup when the node is not ready, but a connection the
stopping broker closes mid-request (`KafkaConnectionError`) ends its sender for
good, and the command processor's producer with it (issues #1134 and #1151 fixed
the other cases). Here that lookup is retried like the others; every process that
writes in transactions applies this (`apply`).

Seeking back to the committed offsets. `AIOKafkaConsumer.seek_to_committed` moves
only partitions whose committed offset is above 0: one that no member ever committed
stays where the consumer is, so a batch polled from it and then dropped is never read
again (`seek_to_committed` here goes to the start instead).
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.producer.sender import Sender

_look_up_coordinator = Sender._find_coordinator


async def _find_coordinator(self: Sender, coordinator_type, coordinator_key) -> int:
    while True:
        try:
            return await _look_up_coordinator(self, coordinator_type, coordinator_key)
        except KafkaError as error:
            if not isinstance(error.__cause__, KafkaConnectionError):
                raise
            await self.client.force_metadata_update()
            await asyncio.sleep(self._retry_backoff)


def apply() -> None:
    """Install the correction (once; applying it again changes nothing)."""
    if Sender._find_coordinator is not _find_coordinator:
        Sender._find_coordinator = _find_coordinator  # type: ignore[method-assign]


async def seek_to_committed(consumer: AIOKafkaConsumer, *partitions: TopicPartition) -> None:
    """Move each partition back to its group's committed offset, or to its first record
    when nothing was committed."""
    for tp in partitions:
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
