"""Operations on the read models, for admins: each projection's position and lag, and
replays that rebuild one from offset 0.

A replay is never run by an API replica (replicas are stateless and many): the request
is recorded in MySQL (`projections/replays.py`) and a projections worker runs it
(`streams/replay_runner.py`), writing its progress after every batch. One replay per
projection at a time: another request is 409 naming the one under way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from api.deps import Admin, ClientsDep
from projections.positions import positions
from projections.registry import NAMES
from projections.replays import ReplayInProgress, ReplayRequests, ReplayRow

router = APIRouter(tags=["operations"])

ReplayState = Literal["requested", "running", "done", "failed"]


class Replay(BaseModel):
    id: UUID
    projection: str
    state: ReplayState = Field(description="requested (waiting for a worker), running, "
                                           "done (swapped in), failed.")
    done: int = Field(description="Offsets read so far.")
    total: int | None = Field(description="Offsets to read; null until the worker starts.")
    events_per_s: float | None
    caught_up: int | None = Field(description="Events applied again after the swap (those "
                                              "that arrived during the replay).")
    error: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ProjectionState(BaseModel):
    name: str
    topics: list[str]
    offsets: int = Field(description="Offsets its topics hold, over every partition.")
    position: int = Field(description="Offsets it has applied.")
    lag: int = Field(description="Offsets still to apply.")
    replay: Replay | None = Field(description="Its latest replay, if any.")


class ProjectionList(BaseModel):
    items: list[ProjectionState]


def shown(row: ReplayRow) -> Replay:
    return Replay.model_validate({key: row[key] for key in Replay.model_fields})


@router.get("/v1/admin/projections", response_model=ProjectionList,
            responses={503: {"description": "Kafka or MySQL is unavailable"}})
async def list_projections(admin: Admin, clients: ClientsDep) -> ProjectionList:
    """Each read model: the topics it follows, their offsets, its position and lag (as
    `shopstream projections` shows them), and its latest replay."""
    found = await positions(clients.settings, clients.mysql)
    latest = await ReplayRequests(clients.mysql).latest()
    return ProjectionList(items=[ProjectionState(
        name=p.name, topics=list(p.topics), offsets=p.offsets, position=p.position, lag=p.lag,
        replay=shown(latest[p.name]) if p.name in latest else None) for p in found])


@router.post("/v1/admin/projections/{name}/replays", status_code=202, response_model=Replay,
             responses={404: {"description": "No such projection"},
                        409: {"description": "A replay of it is already under way"}})
async def request_replay(name: str, admin: Admin, clients: ClientsDep,
                         response: Response) -> Replay:
    """Rebuild a read model from offset 0 into a fresh one, then swap it in; the live
    model serves meanwhile. A projections worker runs it: follow it at `Location`."""
    if name not in NAMES:
        raise HTTPException(404, f"There is no projection {name[:100]}; the projections "
                                 f"are {', '.join(NAMES)}.")
    try:
        row = await ReplayRequests(clients.mysql).request(name, admin.user_id)
    except ReplayInProgress as busy:
        raise HTTPException(409, f"A replay of {name} is already under way"
                                 f"{f' ({busy.replay_id})' if busy.replay_id else ''}.",
                            headers={"Location": f"/v1/admin/replays/{busy.replay_id}"}
                            if busy.replay_id else None) from busy
    response.headers["Location"] = f"/v1/admin/replays/{row['id']}"
    return shown(row)


@router.get("/v1/admin/replays/{replay_id}", response_model=Replay,
            responses={404: {"description": "No such replay"}})
async def get_replay(replay_id: UUID, admin: Admin, clients: ClientsDep) -> Replay:
    """A replay's state and progress: offsets done of the total, events per second."""
    row = await ReplayRequests(clients.mysql).get(str(replay_id))
    if row is None:
        raise HTTPException(404, f"There is no replay {replay_id}.")
    return shown(row)
