"""Corrections to faust-streaming and aiokafka, applied when a worker's app is built.

Offset bookkeeping. On a topic written in transactions, a `read_committed`
consumer never sees the transaction markers between records, so offsets jump.
Faust notes each jump as a gap and later counts the gap's offsets as handled, so
the committed offset can move past them. But it records the gap up to and
including the offset of the record that revealed it, which is then acknowledged
a second time when handled. The duplicate splits Faust's run of consecutive
offsets, and each commit then advances only to the first duplicate: on a busy
partition the committed offset falls further and further behind (faust-streaming
issues #606 and #625). Here the gap ends just before that record.

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

Finding a coordinator while the broker stops. aiokafka's transactional producer
retries its coordinator lookup when the node is not ready, but a connection the
stopping broker closes mid-request (`KafkaConnectionError`) ends its sender for
good, and the commands worker with it (aiokafka 0.14.0; issues #1134 and #1151
fixed the other cases). Here that lookup is retried like the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.producer.sender import Sender
from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import Producer

TRANSACTION_TIMEOUT_MS = 10 * 60 * 1000

_record_gap = Consumer._add_gap
_producer_settings = Producer._settings_extra
_look_up_coordinator = Sender._find_coordinator


async def _add_gap(self: Consumer, tp, offset_from: int, offset_to: int) -> None:
    # `offset_to` is the record that revealed the gap: it is not part of the gap.
    await _record_gap(self, tp, offset_from, offset_to - 1)


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


def apply() -> None:
    """Install the corrections (once; applying them again changes nothing)."""
    if Consumer._add_gap is not _add_gap:
        Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    if Producer._settings_extra is not _settings_extra:
        Producer._settings_extra = _settings_extra  # type: ignore[method-assign]
    if Sender._find_coordinator is not _find_coordinator:
        Sender._find_coordinator = _find_coordinator  # type: ignore[method-assign]
