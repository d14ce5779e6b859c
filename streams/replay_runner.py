"""Runs the replays asked for through the API, inside the projections worker.

API replicas are stateless and many, so they only record a request
(`projections/replays.py`). Each projections worker polls for one every second,
claims it (one worker wins), rebuilds the model with `streams/replay.py` while the live
model keeps serving, and writes the progress after every batch, which is also its
heartbeat. One replay runs at a time per worker.

A worker that dies mid-replay leaves the live model untouched (the shadow was never
swapped in); once its heartbeat is `STALE_AFTER` old, any projections worker (each
looks every `SWEEP_S`) marks the replay failed, which frees the projection for a new
request, and drops the half-built shadow. A failed replay is not resumed: asking again
starts from offset 0.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable

import mode
import structlog

from infra.clients import Clients
from infra.container import Container
from infra.database import create_tables
from infra.dependencies import log_failure
from projections.registry import build_projections
from projections.replays import ABANDONED, ReplayRequests, ReplayRow
from streams.replay import ReplayResult, replay, shadow_suffix

log = structlog.get_logger(__name__)

POLL_S = 1.0
# Stale replays are looked for less often than requests: a heartbeat is stale only after
# a minute, and each look is a query every idle worker pays for.
SWEEP_S = 10.0


def worker_name() -> str:
    """This process, as a replay records who runs it."""
    return f"{socket.gethostname()}/{os.getpid()}"


class ReplayRunner(mode.Service):
    def __init__(self, build: Callable[[], Container], **kwargs) -> None:
        super().__init__(**kwargs)
        self.build = build
        self.worker = worker_name()

    @mode.Service.task
    async def _run(self) -> None:
        container = self.build()
        requests = ReplayRequests(container.clients.mysql)
        delay = POLL_S
        swept_at = -SWEEP_S
        try:
            while not self.should_stop:
                try:
                    await create_tables(container.clients.mysql)
                    while not self.should_stop:
                        if time.monotonic() - swept_at >= SWEEP_S:
                            await self.sweep(container.clients, requests)
                            swept_at = time.monotonic()
                        await self.once(container.clients, requests)
                        delay = POLL_S
                        await asyncio.sleep(POLL_S)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # MySQL away, or a bug: try again, less often
                    log_failure(log, "replays.poll_failed", error, retry_in_s=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        finally:
            await container.close()

    @staticmethod
    async def sweep(clients: Clients, requests: ReplayRequests) -> None:
        """Clear up after dead workers: their replays fail and their shadows go."""
        for stale in await requests.stale():
            log.warning("replays.abandoned", replay=stale["id"], projection=stale["projection"])
            if stale["shadow"]:
                live = build_projections(clients)[stale["projection"]]
                await live.shadow(stale["shadow"]).drop()  # type: ignore[attr-defined]
            await requests.fail(stale["id"], ABANDONED)

    async def once(self, clients: Clients, requests: ReplayRequests) -> None:
        """Run the oldest requested replay, if any."""
        claimed = await requests.claim(self.worker, shadow_suffix())
        if claimed is not None:
            await run(clients, requests, claimed)


async def run(clients: Clients, requests: ReplayRequests, claimed: ReplayRow) -> None:
    """Carry out one claimed replay, logging its start and end."""
    log.info("replays.started", replay=claimed["id"], projection=claimed["projection"])
    try:
        result = await carry_out(clients, requests, claimed)
    except asyncio.CancelledError:
        raise  # the worker stops: the replay is left running, and found stale later
    except Exception:
        log.exception("replays.failed", replay=claimed["id"])
        return
    log.info("replays.done", replay=claimed["id"], events=result.events,
             seconds=round(result.seconds, 1))


async def carry_out(clients: Clients, requests: ReplayRequests, row: ReplayRow,
                    shown: Callable[[int, int], None] = lambda done, total: None
                    ) -> ReplayResult:
    """Run the replay `row` records (claimed by a worker, or started by the command line),
    recording its progress after each batch (the heartbeat), passing it to `shown`, and
    recording its end; what it failed with is recorded and raised again."""
    started = time.monotonic()

    async def progress(done: int, total: int) -> None:
        shown(done, total)
        elapsed = time.monotonic() - started
        await requests.progress(row["id"], done, total,
                                round(done / elapsed, 1) if elapsed > 0 else None)

    try:
        result = await replay(clients, row["projection"], progress, row["shadow"])
    except Exception as error:
        await requests.fail(row["id"], f"{type(error).__name__}: {error}")
        raise
    await requests.finish(row["id"], result.caught_up)
    return result
