"""Builds the Faust application a worker process runs, for one role, from the role's
subscriptions in `streams/system.py` (which topics go to which handler):

- `commands`: the command processors, the single writers of every aggregate,
  with `exactly_once` transactions (events, replies and offsets commit together).
- `projections`: the projection runners that build the read models.
- `notifications`: the sender of emails that events call for.
- `sagas`: the checkout saga, turning events into the commands that follow them,
  and its clock (payments that settle or time out).

Each role is its own consumer group and process, so each scales on its own.
Nothing is created at import time.
"""

from __future__ import annotations

from collections.abc import Callable

import faust
from aiohttp.web import Response

from infra.container import Container
from infra.settings import Settings
from streams import faust_fixes
from streams.system import ROLES, SYSTEM, Decide, Mail, Project, React, Role, Subscription

__all__ = ["ROLES", "Role", "create_app"]


def create_app(settings: Settings, role: Role, build: Callable[[], Container],
               services: list[str] | None = None,
               ends: dict[tuple[str, int], int] | None = None) -> faust.App:
    """The app for `role`; `build` makes the clients and adapters of a runner (from the
    composition root, `ops.bootstrap`); `ends` are the topics' end offsets at start
    (commands role)."""
    faust_fixes.apply()
    datadir = settings.stack_dir / "worker" / role
    datadir.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    app = faust.App(
        f"shopstream-{role}",
        broker=f"kafka://{settings.kafka_bootstrap}",
        # Tables live in memory and are rebuilt from their changelog topics on start.
        store="memory://",
        processing_guarantee=SYSTEM[role].guarantee,
        # A command's answer is visible only once its transaction commits: commit often.
        # Elsewhere Faust's default is right.
        broker_commit_interval=(settings.command_commit_interval_s if role == "commands"
                                else 2.8),
        topic_replication_factor=settings.kafka_replication_factor,
        topic_partitions=settings.kafka_partitions,
        topic_allow_declare=True,
        # The command processors rebuild their own state (see command_processor); Faust's
        # view of these changelogs' ends has been seen to be wrong (-1), so its check of
        # them is meaningless here and would stop the worker.
        recovery_consistency_check=role != "commands",
        web_enabled=True,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        web_port=settings.worker_web_ports[ROLES.index(role)],
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

    # `services` (none: all) chooses among the command processors only.
    subscriptions = [s for s in SYSTEM[role].subscriptions
                     if not services or not isinstance(s.handler, Decide)
                     or s.handler.service in services]
    for kind, register in _RUNNERS.items():
        found = [s for s in subscriptions if isinstance(s.handler, kind)]
        if found:
            register(app, found, settings, build, ends or {})
    return app


# How a worker carries out each kind of handler (imported only by the roles that have it).

Ends = dict[tuple[str, int], int]


def _processors(app: faust.App, found: list[Subscription], settings: Settings,
                build: Callable[[], Container], ends: Ends) -> None:
    from streams import command_processor

    for subscription in found:
        command_processor.register(app, subscription, settings, ends)


def _projections(app: faust.App, found: list[Subscription], settings: Settings,
                 build: Callable[[], Container], ends: Ends) -> None:
    from streams import projection_runner

    projection_runner.register(app, settings, build, found)


def _emails(app: faust.App, found: list[Subscription], settings: Settings,
            build: Callable[[], Container], ends: Ends) -> None:
    from streams import notifications

    notifications.register(app, settings, build, found)


def _reactions(app: faust.App, found: list[Subscription], settings: Settings,
               build: Callable[[], Container], ends: Ends) -> None:
    from streams import sagas

    sagas.register(app, settings, build, found)


_RUNNERS = {Decide: _processors, Project: _projections, Mail: _emails, React: _reactions}
