"""Faust's committed offset keeps up with a partition written in transactions.

The bookkeeping is driven as Faust's fetcher drives it: records of a
`read_committed` consumer arrive with a transaction marker between each two, each
jump is noted as a gap, each record is acknowledged once handled, and the commit
asks for the next offset to commit.
"""

from __future__ import annotations

from collections import defaultdict

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from streams import faust_fixes

TOPIC = TP("shopstream.payments.events", 0)


class Bookkeeping(Consumer):
    """Faust's consumer without a broker: only its own offset bookkeeping is used."""


Bookkeeping.__abstractmethods__ = frozenset()


def bookkeeping(committed: int) -> Consumer:
    """The part of a Faust consumer that decides what to commit, resumed at `committed`."""
    consumer = object.__new__(Bookkeeping)
    consumer._gap = defaultdict(IntervalTree)
    consumer._acked = defaultdict(list)
    consumer._acked_index = defaultdict(set)
    consumer._committed_offset = defaultdict(lambda: None, {TOPIC: committed})
    return consumer


async def handle(consumer: Consumer, records: list[int], read_from: int) -> None:
    """What the fetcher and the stream do with each record: note a jump, then acknowledge."""
    last_read = read_from
    for offset in records:
        if offset - last_read > 1:
            await consumer._add_gap(TOPIC, last_read + 1, offset)
        consumer._acked[TOPIC].append(offset)
        consumer._acked_index[TOPIC].add(offset)
        last_read = offset


async def test_with_a_marker_after_every_record_the_commit_reaches_the_last_record() -> None:
    faust_fixes.apply()
    consumer = bookkeeping(committed=2942)
    records = list(range(2943, 2960, 2))                 # 2943, 2945, ... 2959: markers between

    await handle(consumer, records, read_from=2942)

    assert consumer._new_offset(TOPIC) == 2960             # one commit covers them all


async def test_the_commit_stops_at_a_record_still_being_handled() -> None:
    faust_fixes.apply()
    consumer = bookkeeping(committed=100)
    await handle(consumer, [101, 103], read_from=100)
    await consumer._add_gap(TOPIC, 104, 105)   # 105 arrived and is still being handled,
    await handle(consumer, [107], read_from=105)  # while 107 after it is done already

    assert consumer._new_offset(TOPIC) == 105  # up to 105, never past it
