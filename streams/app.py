"""Builds the Faust application a worker process runs, for one role, from the role's
subscriptions in `streams/system.py` (which topics go to which handler):

- `projections`: the projection runners that build the read models.
- `notifications`: the sender of emails that events call for.
- `sagas`: the checkout saga, turning events into the commands that follow them,
  and its clock (payments that settle or time out).
- `webhooks`: the webhook dispatcher (a projection of its own) and the sender of
  the deliveries it records.

The `commands` role, the command processors, is a plain aiokafka loop of its own
(`streams/command_processor.py`). Each role is its own consumer group and process,
so each scales on its own. Nothing is created at import time.
"""

from __future__ import annotations

from collections.abc import Callable

import faust
from aiohttp.web import Response

from infra.container import Container
from infra.settings import Settings
from streams import faust_fixes
from streams.system import ROLES, SYSTEM, Deliver, Mail, Project, React, Role, Subscription

__all__ = ["ROLES", "Role", "create_app"]


def create_app(settings: Settings, role: Role, build: Callable[[], Container],
               instance: int = 1) -> faust.App:
    """The app for `role` (any but `commands`); `build` makes the clients and adapters of
    a runner (from the composition root, `ops.bootstrap`). `instance` tells apart the
    workers of one role on one machine (their web ports and data folders)."""
    assert role != "commands", "the command processors run streams.command_processor"
    faust_fixes.apply()
    datadir = settings.stack_dir / "worker" / (role if instance == 1 else f"{role}-{instance}")
    datadir.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    app = faust.App(
        f"shopstream-{role}",
        broker=";".join(f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")),
        # Tables live in memory and are rebuilt from their changelog topics on start.
        store="memory://",
        processing_guarantee=SYSTEM[role].guarantee,
        broker_commit_interval=2.8,
        topic_replication_factor=settings.kafka_replication_factor,
        topic_partitions=settings.kafka_partitions,
        topic_allow_declare=True,
        web_enabled=True,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        web_port=settings.worker_web_port(ROLES.index(role), instance),
        datadir=str(datadir),
        autodiscover=False,
        producer_acks=-1,
        # A worker that dies (kill -9, lost host) holds its partitions until its session
        # expires: keep that short, so another worker takes over within seconds.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        stream_processing_timeout=settings.worker_stall_timeout_s,
        broker_commit_livelock_soft_timeout=settings.worker_stall_timeout_s,
    )

    @app.page("/healthz")
    async def healthz(web, request) -> Response:
        return web.json({"status": "ok", "role": role})

    for kind, register in _RUNNERS.items():
        found = [s for s in SYSTEM[role].subscriptions if isinstance(s.handler, kind)]
        if found:
            register(app, found, settings, build)
    return app


# How a worker carries out each kind of handler (imported only by the roles that have it).

def _projections(app: faust.App, found: list[Subscription], settings: Settings,
                 build: Callable[[], Container]) -> None:
    from streams import projection_runner

    projection_runner.register(app, settings, build, found)


def _emails(app: faust.App, found: list[Subscription], settings: Settings,
            build: Callable[[], Container]) -> None:
    from streams import notifications

    notifications.register(app, settings, build, found)


def _reactions(app: faust.App, found: list[Subscription], settings: Settings,
               build: Callable[[], Container]) -> None:
    from streams import sagas

    sagas.register(app, settings, build, found)


def _deliveries(app: faust.App, found: list[Subscription], settings: Settings,
                build: Callable[[], Container]) -> None:
    from streams import webhooks

    webhooks.register(app, settings, build, found)


_RUNNERS = {Project: _projections, Mail: _emails, React: _reactions, Deliver: _deliveries}
