"""Corrections to aiokafka 0.14.0.

Finding a coordinator while the broker stops. aiokafka's transactional producer
retries its coordinator lookup when the node is not ready, but a connection the
stopping broker closes mid-request (`KafkaConnectionError`) ends its sender for
good, and the command processor's producer with it (issues #1134 and #1151 fixed
the other cases). Here that lookup is retried like the others.

Seeking back to the committed offsets. `AIOKafkaConsumer.seek_to_committed` moves
only partitions whose committed offset is above 0: one that no member ever committed
stays where the consumer is, so a batch polled from it and then dropped is never read
again (`seek_to_committed` here goes to the start instead).

A partition left out of the fetch in flight. aiokafka keeps one fetch in flight per
broker, and leaves out of it each partition whose records the consumer has not taken
yet (after a 100 ms grace in which it sends nothing). A partition taken just after is
fetched again only once that fetch comes back: when its other partitions are quiet,
after the whole `fetch_max_wait_ms` (500 ms by default, 1500 in Faust). A record
written to it meanwhile waits that long, although the consumer is free. Here a fetch
that leaves out such a partition of its broker waits at most `PARTIAL_FETCH_WAIT_MS`;
any other waits as configured, since a new record answers it at once.

Every process applies the first and the last when it builds its clients (`apply`).
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.producer.sender import Sender
from aiokafka.protocol.fetch import FetchRequest

PARTIAL_FETCH_WAIT_MS = 100

_look_up_coordinator = Sender._find_coordinator
_plan_fetches = Fetcher._get_actions_per_node


async def _find_coordinator(self: Sender, coordinator_type, coordinator_key) -> int:
    while True:
        try:
            return await _look_up_coordinator(self, coordinator_type, coordinator_key)
        except KafkaError as error:
            if not isinstance(error.__cause__, KafkaConnectionError):
                raise
            await self.client.force_metadata_update()
            await asyncio.sleep(self._retry_backoff)


def _get_actions_per_node(self: Fetcher, assignment):
    fetch_requests, *others = _plan_fetches(self, assignment)
    return ([(node_id, _bounded_if_partial(self, assignment, node_id, request))
             for node_id, request in fetch_requests], *others)


def _bounded_if_partial(fetcher: Fetcher, assignment, node_id: int,
                        request: FetchRequest) -> FetchRequest:
    """`request`, waiting at most PARTIAL_FETCH_WAIT_MS if it leaves out a partition of
    its broker for records not yet taken (a paused partition waits as before)."""
    untaken = any(tp in fetcher._records and fetcher._select_read_replica(tp) == node_id
                  for tp in assignment.tps)
    if not untaken or fetcher._fetch_max_wait_ms <= PARTIAL_FETCH_WAIT_MS:
        return request
    return FetchRequest(PARTIAL_FETCH_WAIT_MS, fetcher._fetch_min_bytes,
                        fetcher._fetch_max_bytes, fetcher._isolation_level, request.topics,
                        rack_id=fetcher._client_rack or "")


def apply() -> None:
    """Install the corrections (once; applying them again changes nothing). Every process
    that talks to Kafka applies them when it builds its clients."""
    if Sender._find_coordinator is not _find_coordinator:
        Sender._find_coordinator = _find_coordinator  # type: ignore[method-assign]
    if Fetcher._get_actions_per_node is not _get_actions_per_node:
        Fetcher._get_actions_per_node = _get_actions_per_node  # type: ignore[method-assign]


async def seek_to_committed(consumer: AIOKafkaConsumer, *partitions: TopicPartition) -> None:
    """Move each partition back to its group's committed offset, or to its first record
    when nothing was committed."""
    for tp in partitions:
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
