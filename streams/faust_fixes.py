"""A correction to faust-streaming's offset bookkeeping, applied when a worker's app is built.

On a topic written in transactions, a `read_committed` consumer never sees the
transaction markers between records, so offsets jump. Faust notes each jump as a
gap and later counts the gap's offsets as handled, so the committed offset can
move past them. But it records the gap up to and including the offset of the
record that revealed it, which is then acknowledged a second time when handled.
The duplicate splits Faust's run of consecutive offsets, and each commit then
advances only to the first duplicate: on a busy partition the committed offset
falls further and further behind (faust-streaming issues #606 and #625). Here
the gap ends just before that record.
"""

from __future__ import annotations

from faust.transport.consumer import Consumer

_record_gap = Consumer._add_gap


async def _add_gap(self: Consumer, tp, offset_from: int, offset_to: int) -> None:
    # `offset_to` is the record that revealed the gap: it is not part of the gap.
    await _record_gap(self, tp, offset_from, offset_to - 1)


def apply() -> None:
    """Install the correction (once; applying it again changes nothing)."""
    if Consumer._add_gap is not _add_gap:
        Consumer._add_gap = _add_gap  # type: ignore[method-assign]
