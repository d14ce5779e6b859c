"""`Recent`: the newest entries of a map that would otherwise grow with an aggregate's history.

An aggregate that remembers every order it reserved stock for, or every payment it
numbered, grows for as long as the shop sells. What a decision still needs of such a
history is its recent part: commands about an old entry (a retried step, a reservation
that raced a cancellation) come within minutes, long before `limit` later entries. So
the aggregate keeps the newest `limit` entries, and what it needs of the rest as a sum
beside them (a count of receipts, of a voucher's uses).

Persistent, like `commands.handling.Remembered`: adding one entry shares all but a
few nodes with the map before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyrsistent import PDeque, PMap, pdeque, pmap

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Recent(Mapping[K, V]):
    """A map whose entry is forgotten once `limit` entries were added after it. An entry
    set again keeps its place; a discarded one leaves at once (its place in `order` is
    skipped when it reaches the front)."""

    limit: int
    # key -> (the number of the `set` that added it, its value)
    entries: PMap[Any, tuple[int, Any]] = field(default_factory=pmap)
    # (number, key) of every entry added, oldest first; discarded ones too, until they
    # reach the front
    order: PDeque[tuple[int, Any]] = field(default_factory=pdeque)
    added: int = 0

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __getitem__(self, key: K) -> V:
        return self.entries[key][1]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[K]:
        return (key for number, key in self.order
                if key in self.entries and self.entries[key][0] == number)

    def set(self, key: K, value: V) -> Recent[K, V]:
        entry = self.entries.get(key)
        if entry is not None:
            return Recent(self.limit, self.entries.set(key, (entry[0], value)), self.order,
                          self.added)
        number = self.added + 1
        entries, order = self.entries.set(key, (number, value)), self.order.append((number, key))
        while len(order) > self.limit:
            (oldest, old_key), order = order.left, order.popleft()
            if entries.get(old_key, (None,))[0] == oldest:
                entries = entries.discard(old_key)
        return Recent(self.limit, entries, order, number)

    def add(self, key: K) -> Recent[K, V]:
        """As a set: remember `key`."""
        return self.set(key, True)  # type: ignore[arg-type]

    def discard(self, key: K) -> Recent[K, V]:
        if key not in self.entries:
            return self
        return Recent(self.limit, self.entries.discard(key), self.order, self.added)
