"""Builds the FastAPI application: routers, error format, metrics, client lifecycle."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import (
    audit,
    auth,
    cart,
    catalog,
    checkout,
    health,
    oauth,
    openapi,
    orders,
    payments,
    problems,
    read_models,
    returns,
    search,
    shipping,
    users,
    vouchers,
    webhooks,
)
from api.metrics import MetricsMiddleware
from infra.container import Container
from infra.database import create_tables
from infra.log_ends import LogEnds
from infra.oidc import OidcClient, PendingSignIns
from infra.rate_limits import RateLimiter
from infra.settings import get_settings
from infra.topics import ensure_topics
from projections.checkpoints import Progress
from projections.registry import build_views

# Each service's routers (`ops/routes.py` names the services). A process serves the
# services of `SHOPSTREAM_API_SERVICES` (all when empty), always with /healthz, /readyz and /metrics.
SERVICE_ROUTERS: dict[str, list[APIRouter]] = {
    "users": [users.router, auth.router, oauth.router],
    "catalog": [catalog.router, search.router],
    "cart": [cart.router],
    "orders": [checkout.router, orders.router, returns.router, vouchers.router,
               shipping.router],
    "payments": [payments.router],
    "audit": [audit.router],
    "webhooks": [webhooks.router],
    # The read models' positions and replays, for admins (beside /healthz, /readyz, /metrics).
    "operations": [read_models.router],
}


def create_app(build: Callable[[], Container], services: list[str] | None = None) -> FastAPI:
    """The API; `build` makes the process's container of clients and adapters (the
    composition root, `ops.bootstrap`, hands it in)."""
    settings = get_settings()
    services = services or settings.api_services or list(SERVICE_ROUTERS)
    unknown = sorted(set(services) - set(SERVICE_ROUTERS))
    if unknown:
        raise ValueError(f"unknown service(s) {', '.join(unknown)}; "
                         f"the services are {', '.join(SERVICE_ROUTERS)}")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = build()
        clients = container.clients
        app.state.clients = clients
        app.state.bus = container.bus
        app.state.signer = container.signer
        app.state.sessions = container.sessions
        app.state.limits = RateLimiter(clients.redis)
        app.state.oidc = OidcClient(settings, container.http)
        app.state.sign_ins = PendingSignIns(clients.redis, settings.oauth_state_ttl_s)
        app.state.views = build_views(clients)
        app.state.progress = Progress(clients.mysql_reads)
        app.state.log_ends = LogEnds(settings)
        await _prepare(clients)
        try:
            yield
        finally:
            await app.state.log_ends.close()
            await container.close()

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
    app.add_middleware(ServedBy)
    routers = [health.router,
               *(router for service in services for router in SERVICE_ROUTERS[service])]
    for router in routers:
        app.include_router(router)
    openapi.install(app, routers)
    return app


class ServedBy:
    """Names the process that answered (`X-Served-By: host/pid`), to see the balancing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (b"x-served-by", f"{socket.gethostname()}/{os.getpid()}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)
