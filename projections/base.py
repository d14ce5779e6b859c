"""What a projection is: a named consumer of event topics that keeps one read model.

`apply` must be idempotent: the runner delivers each record at least once, and
a replay applies records again over a live model. MySQL projections store their
checkpoint in the same transaction as their rows and resume from it; the others
resume from their consumer group's committed offsets and rely on version guards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from schemas.records import Record


class Projection(ABC):
    name: str
    topics: tuple[str, ...]
    # True: `apply` stores the checkpoint with its writes, and the runner resumes from it.
    stores_checkpoint: bool = False

    @abstractmethod
    async def setup(self) -> None:
        """Create the model's tables or index if missing."""

    async def outdated(self) -> bool:
        """True when the live model is of an older shape than this code writes.

        The runner then rebuilds it by a replay before applying anything to it.
        """
        return False

    @abstractmethod
    async def apply(self, records: list[Record]) -> None:
        """Apply a batch of records, in order within each partition."""

    @abstractmethod
    def shadow(self, suffix: str) -> Projection:
        """The same projection writing into a fresh model, for a replay."""

    @abstractmethod
    async def promote(self, shadow: Projection) -> None:
        """Swap a finished replay's model in place of the live one."""

    @abstractmethod
    async def snapshot(self) -> dict[str, dict]:
        """Every row or document of the model by id, for comparisons."""

    async def forget(self, user_id: str) -> bool:
        """Remove a user's personal data from this model (`shopstream forget`); returns
        whether there was any. Models that hold none keep this default."""
        return False
