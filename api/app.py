"""Builds the FastAPI application: routers, error format, metrics, client lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import health, problems
from api.metrics import MetricsMiddleware
from infra.bootstrap import build_clients
from infra.settings import get_settings


def create_app() -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = build_clients(settings)
        try:
            yield
        finally:
            await app.state.clients.close()

    app = FastAPI(
        title="shopstream",
        version="1.0.0",
        description="The REST API of shopstream, an event-sourced shop back end.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    problems.install(app)
    app.add_middleware(MetricsMiddleware)
    app.include_router(health.router)
    return app
