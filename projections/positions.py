"""How far each read model has got: its topics, the offsets they hold, the model's
position in them and its lag. The one reckoning behind `shopstream projections` and
`GET /v1/admin/projections`.

The position is the model's checkpoint (`projection_checkpoints`); the ends are the
topics' last stable offsets now, read without a consumer group. Both count offsets, so
transaction markers count too: an idle model's lag is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from infra.settings import Settings
from infra.topic_reader import TopicReader
from projections import checkpoints
from projections.registry import TYPES


@dataclass(frozen=True)
class Position:
    name: str
    topics: tuple[str, ...]
    offsets: int  # the offsets its topics hold, summed over their partitions
    position: int  # the offsets it has applied, summed likewise
    lag: int  # offsets still to apply


async def positions(settings: Settings, mysql: AsyncEngine) -> list[Position]:
    """Every replayable read model's position and lag, in the registry's order."""
    topics = tuple(dict.fromkeys(topic for projection in TYPES for topic in projection.topics))
    async with TopicReader(settings, topics) as reader:
        ends = {(tp.topic, tp.partition): end for tp, end in (await reader.range()).end.items()}
    found = []
    for projection in TYPES:
        reached = await checkpoints.load(mysql, projection.name)
        mine = {tp: end for tp, end in ends.items() if tp[0] in projection.topics}
        applied = sum(min(reached.get(tp, 0), end) for tp, end in mine.items())
        found.append(Position(projection.name, tuple(projection.topics), sum(mine.values()),
                              applied, sum(mine.values()) - applied))
    return found
