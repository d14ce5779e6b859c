"""Builds the Faust application that every worker process runs.

Agents register themselves on the app given to them (`register(app)` in each
module), so nothing is created at import time and one worker can run all
services or just one (`shopstream worker --service S`).
"""

from __future__ import annotations

import faust
from aiohttp.web import Response

from infra.settings import Settings


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        "shopstream",
        broker=f"kafka://{settings.kafka_bootstrap}",
        # Tables live in memory and are recovered from their changelog topics on start.
        store="memory://",
        processing_guarantee="exactly_once",
        topic_replication_factor=settings.kafka_replication_factor,
        topic_partitions=settings.kafka_partitions,
        topic_allow_declare=True,
        web_enabled=True,
        web_bind="127.0.0.1",
        web_port=settings.worker_web_port,
        web_host="127.0.0.1",
        datadir=str(settings.stack_dir / "worker"),
        autodiscover=False,
        producer_acks=-1,
        broker_commit_livelock_soft_timeout=30.0,
    )

    @app.page("/healthz")
    async def healthz(web, request) -> Response:
        return web.json({"status": "ok"})

    return app
