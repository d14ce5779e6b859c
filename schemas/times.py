"""Times are UTC and aware: what a store hands back without its zone gets it here."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(moment: datetime | None) -> datetime | None:
    """A time read back from a store that keeps UTC without its zone (MySQL), as an aware
    one; an aware time or None is returned as it is."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
