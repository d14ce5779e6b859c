"""Corrections to faust-streaming 0.15.3 and aiokafka 0.14.0, applied when a worker's app is
built.

Gaps. On a topic written in transactions, a `read_committed` consumer never sees
the transaction markers between records, so offsets jump. Faust notes each jump
as a gap and later counts the gap's offsets as handled, so the committed offset
can move past them. But it records the gap up to and including the offset of
the record that revealed it, which is then acknowledged a second time when
handled. The duplicate splits Faust's run of consecutive offsets, and each
commit then advances only to the first duplicate: on a busy partition the
committed offset falls further and further behind (faust-streaming issues #606
and #625). Here the gap ends just before that record.

The stall check. Faust looks for partitions that stopped moving (its
`stream_processing_timeout`, five minutes) every 2.5 commit intervals, over every
assigned partition. The command processors commit every 10 ms, so it ran 40
times a second over a hundred partitions, took longer than its own interval
and kept a core a quarter busy while the shop was idle (each run also logged
that its timer overlapped). Here it runs no more often than at Faust's default
commit interval, which is plenty for a check against minutes.

Idle commits. Faust commits on a timer, every commit interval, whether or not
a record was acknowledged since the last commit (it then commits nothing). At
the command processors' 10 ms that timer alone kept an idle worker near 3 % of
a core, and under load every commit that took longer than 10 ms logged that the
timer overlapped. Here the committer sleeps until Faust's `ack()` wakes it, then
commits at most once per interval while acknowledgements keep coming: the same
commits, none of the idle ticks.

Transactional commits. The stall check also reports a partition whose offset was
never committed since the worker started, but Faust notes a commit only when the
consumer itself commits. Under `exactly_once` the offsets are committed by the
transaction's producer, so the command processor, five minutes after start,
reported every partition with records to read as never committed. Here a
transaction's commit is noted too.

Transactions across a broker restart. A command processor's transaction that
is open when the broker stops stays open until the broker is back and its
transaction coordinator has reloaded its state, which took over a minute on a
busy machine after a 15 s outage. With aiokafka's default timeout (60 s) the
coordinator then aborts it and fences the producer, and Faust treats
`ProducerFenced` as fatal: the commands worker exits. Faust gives no setting for
this timeout; its transactional producers get `TRANSACTION_TIMEOUT_MS`, well
below the brokers' default ceiling (`transaction.max.timeout.ms`, 15 minutes).
The cost is small: a worker that dies mid-transaction is replaced by one with
the same transactional ids, whose start aborts the open transaction at once.

Committed events only. Faust reads with `read_committed` only under
`exactly_once`; the saga and notification workers (`at_least_once`) read
uncommitted, so they acted on events of transactions that were then aborted: an
email for a sign-up, or a checkout step after a reservation, that a crashed command
processor never committed and decides again, possibly otherwise. Here every
worker's consumer reads committed records only.

Finding a coordinator while the broker stops. aiokafka's transactional producer
retries its coordinator lookup when the node is not ready, but a connection the
stopping broker closes mid-request (`KafkaConnectionError`) ends its sender for
good, and the commands worker with it (aiokafka 0.14.0; issues #1134 and #1151
fixed the other cases). Here that lookup is retried like the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from time import monotonic
from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.producer.sender import Sender
from faust.transport.consumer import Consumer, TransactionManager
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Producer
from mode.services import ServiceTask

TRANSACTION_TIMEOUT_MS = 10 * 60 * 1000
# 2.5 times Faust's default commit interval (2.8 s): its own period for this check.
STALL_CHECK_INTERVAL_S = 7.0

_record_gap = Consumer._add_gap
_commit_transactions = TransactionManager.commit
_producer_settings = Producer._settings_extra
_look_up_coordinator = Sender._find_coordinator
_worker_consumer = AIOKafkaConsumerThread._create_worker_consumer


async def _add_gap(self: Consumer, tp, offset_from: int, offset_to: int) -> None:
    # `offset_to` is the record that revealed the gap: it is not part of the gap.
    await _record_gap(self, tp, offset_from, offset_to - 1)


def _create_worker_consumer(self: AIOKafkaConsumerThread, transport):
    consumer = _worker_consumer(self, transport)
    consumer._isolation_level = "read_committed"  # read when it starts its fetcher
    return consumer


def _settings_extra(self: Producer) -> Mapping[str, Any]:
    settings = dict(_producer_settings(self))
    if self.app.in_transaction:
        settings["transaction_timeout_ms"] = TRANSACTION_TIMEOUT_MS
    return settings


async def _find_coordinator(self: Sender, coordinator_type, coordinator_key) -> int:
    while True:
        try:
            return await _look_up_coordinator(self, coordinator_type, coordinator_key)
        except KafkaError as error:
            if not isinstance(error.__cause__, KafkaConnectionError):
                raise
            await self.client.force_metadata_update()
            await asyncio.sleep(self._retry_backoff)


async def _check_stalls(self: Consumer) -> None:
    interval = max(self.commit_interval * 2.5, STALL_CHECK_INTERVAL_S)
    await self.sleep(interval)
    async for _ in self.itertimer(interval, name="livelock"):
        if not self.app.rebalancing:
            await self.verify_all_partitions_active()


async def _commit_when_acknowledged(self: Consumer) -> None:
    interval = self.commit_interval
    await self.sleep(interval)
    while not self.should_stop:
        # Faust commits only offsets acknowledged since its last commit (`_new_offset`).
        if any(self._acked.values()):
            await self.commit()
            await self.sleep(interval)
        else:
            await self._wait_for_ack(timeout=1.0)  # `ack()` ends the wait


async def _commit_and_note(self: TransactionManager, offsets, start_new_transaction: bool = True
                           ) -> bool:
    committed = await _commit_transactions(self, offsets,
                                           start_new_transaction=start_new_transaction)
    if committed:
        # Where the aiokafka consumer notes its own commits for the stall check.
        self.consumer._thread.tp_last_committed_at.update(dict.fromkeys(offsets, monotonic()))
    return committed


def apply() -> None:
    """Install the corrections (once; applying them again changes nothing)."""
    if Consumer._add_gap is not _add_gap:
        Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    if Producer._settings_extra is not _settings_extra:
        Producer._settings_extra = _settings_extra  # type: ignore[method-assign]
    if Sender._find_coordinator is not _find_coordinator:
        Sender._find_coordinator = _find_coordinator  # type: ignore[method-assign]
    if AIOKafkaConsumerThread._create_worker_consumer is not _create_worker_consumer:
        AIOKafkaConsumerThread._create_worker_consumer = (  # type: ignore[method-assign]
            _create_worker_consumer)
    if TransactionManager.commit is not _commit_and_note:
        TransactionManager.commit = _commit_and_note  # type: ignore[method-assign]
    # A Service starts the tasks it finds by name, so the replacement must stay a task.
    for name, task in (("_commit_livelock_detector", _check_stalls),
                       ("_commit_handler", _commit_when_acknowledged)):
        if getattr(Consumer, name).fun is not task:
            setattr(Consumer, name, ServiceTask(task))
