"""Corrections to faust-streaming 0.15.3, applied when a worker's app is built.

Gaps. On a topic written in transactions, a `read_committed` consumer never sees
the transaction markers between records, so offsets jump. Faust notes each jump
as a gap and later counts the gap's offsets as handled, so the committed offset
can move past them. But it records the gap up to and including the offset of
the record that revealed it, which is then acknowledged a second time when
handled. The duplicate splits Faust's run of consecutive offsets, and each
commit then advances only to the first duplicate: on a busy partition the
committed offset falls further and further behind (faust-streaming issues #606
and #625). Here the gap ends just before that record.

Committed events only. Faust reads with `read_committed` only under
`exactly_once`; the saga and notification workers (`at_least_once`) read
uncommitted, so they acted on events of transactions that were then aborted: an
email for a sign-up, or a checkout step after a reservation, that a crashed command
processor never committed and decides again, possibly otherwise. Here every
worker's consumer reads committed records only.
"""

from __future__ import annotations

from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_record_gap = Consumer._add_gap
_worker_consumer = AIOKafkaConsumerThread._create_worker_consumer


async def _add_gap(self: Consumer, tp, offset_from: int, offset_to: int) -> None:
    # `offset_to` is the record that revealed the gap: it is not part of the gap.
    await _record_gap(self, tp, offset_from, offset_to - 1)


def _create_worker_consumer(self: AIOKafkaConsumerThread, transport):
    consumer = _worker_consumer(self, transport)
    consumer._isolation_level = "read_committed"  # read when it starts its fetcher
    return consumer


def apply() -> None:
    """Install the corrections (once; applying them again changes nothing)."""
    if Consumer._add_gap is not _add_gap:
        Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    if AIOKafkaConsumerThread._create_worker_consumer is not _create_worker_consumer:
        AIOKafkaConsumerThread._create_worker_consumer = (  # type: ignore[method-assign]
            _create_worker_consumer)
