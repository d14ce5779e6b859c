"""Read-your-writes: the `X-Consistency-Token` a write returns and a read waits on.

The token lists where the write's events landed (topic, partition, offset). A
read that sends it back waits, briefly, until the projection it reads from has
applied those positions.
"""

from __future__ import annotations

import base64
import json

from fastapi import HTTPException

from infra.bootstrap import Clients
from projections import checkpoints
from projections.base import Projection
from schemas.replies import Position

HEADER = "X-Consistency-Token"


def encode(positions: list[Position]) -> str:
    data = json.dumps([[p.topic, p.partition, p.offset] for p in positions],
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode(token: str) -> list[Position]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return [Position(topic=t, partition=int(p), offset=int(o)) for t, p, o in data]
    except (ValueError, TypeError) as error:
        raise HTTPException(422, f"{HEADER} is not a token this API issued.") from error


async def wait_for(clients: Clients, projection: Projection, token: str | None) -> None:
    """Wait until `projection` has applied the token's positions; 503 if it lags too long."""
    if not token:
        return
    positions = decode(token)
    reached = await checkpoints.wait_until_reached(
        clients.mysql, projection.name, projection.topics, positions,
        clients.settings.consistency_wait_s)
    if not reached:
        raise HTTPException(503, f"The {projection.name} view has not caught up with that "
                                 "write yet; retry shortly.", headers={"Retry-After": "1"})
