"""Builds the FastAPI application: routers, error format, metrics, client lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from api import auth, cart, catalog, health, oauth, problems, users
from api.metrics import MetricsMiddleware
from infra.bootstrap import build_clients
from infra.command_bus import CommandBus
from infra.database import create_tables
from infra.oidc import OidcClient, PendingSignIns
from infra.rate_limits import RateLimiter
from infra.security import TokenSigner
from infra.sessions import SessionStore
from infra.settings import get_settings
from infra.topics import ensure_topics
from projections.registry import build_projections


def create_app() -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clients = build_clients(settings)
        app.state.clients = clients
        app.state.bus = CommandBus(clients)
        app.state.signer = TokenSigner(settings)
        app.state.sessions = SessionStore(clients.redis, settings.session_lifetime_s,
                                          settings.remembered_session_lifetime_s)
        app.state.limits = RateLimiter(clients.redis)
        app.state.oidc = OidcClient(settings)
        app.state.sign_ins = PendingSignIns(clients.redis, settings.oauth_state_ttl_s)
        app.state.projections = build_projections(clients)
        await _prepare(clients)
        try:
            yield
        finally:
            await app.state.bus.close()
            await app.state.oidc.close()
            await clients.close()

    async def _prepare(clients) -> None:
        # Best effort: a dependency that is down shows in /readyz, not as a crash.
        try:
            await ensure_topics(settings)
            await create_tables(clients.mysql)
        except Exception as error:  # noqa: BLE001
            structlog.get_logger(__name__).warning("startup.prepare_failed", error=str(error))

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
    app.include_router(users.router)
    app.include_router(auth.router)
    app.include_router(oauth.router)
    app.include_router(catalog.router)
    app.include_router(cart.router)
    return app
