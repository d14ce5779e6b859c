"""The composition root: the one place that builds clients and adapters from settings.

`bootstrap` builds a process's `Container`; the API (`api.app.create_app`) and each
worker role get it from here. Nothing connects while it is built. Tests and tools
may pass their own mailer or payment providers (outside parties we do not run).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI
import redis.asyncio as aioredis
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import create_async_engine

import infra.mail  # noqa: F401  (declares the notifications table)
import projections.registry  # noqa: F401  (declares the read models' tables)
from infra.clients import Clients
from infra.command_bus import CommandBus
from infra.container import Container
from infra.crypto import KeyStore
from infra.mail import Mailer, build_mailer
from infra.payments import build_providers
from infra.payments.provider import PaymentProvider
from infra.security import TokenSigner
from infra.sessions import SessionStore
from infra.settings import Settings, get_settings


def build_clients(settings: Settings) -> Clients:
    mysql = create_async_engine(settings.mysql_url, pool_size=10, max_overflow=20,
                                pool_pre_ping=True, pool_recycle=3600)
    return Clients(
        settings=settings,
        mysql=mysql,
        # The read views' single statements run in autocommit, a connection goes back to
        # its pool without a ROLLBACK and is not pinged before use (a read that meets a dead
        # one is tried again, `infra.database.rows`): one round trip per query.
        mysql_reads=create_async_engine(settings.mysql_url, pool_size=10, max_overflow=20,
                                        pool_recycle=3600, isolation_level="AUTOCOMMIT",
                                        skip_autocommit_rollback=True),
        keys=KeyStore(mysql, settings.master_key.get_secret_value()),
        mongo=AsyncMongoClient(settings.mongodb_url, serverSelectionTimeoutMS=2000,
                               tz_aware=True),
        # Pooled connections go stale when Redis restarts; retry once on a fresh one.
        redis=aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=2, socket_connect_timeout=2,
            decode_responses=True, health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        ),
        elasticsearch=AsyncElasticsearch(settings.elasticsearch_url, request_timeout=10),
    )


def bootstrap(settings: Settings | None = None, *, mailer: Mailer | None = None,
              payments: Mapping[str, PaymentProvider] | None = None) -> Container:
    """Every client and adapter of one process."""
    settings = settings or get_settings()
    clients = build_clients(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0))
    return Container(
        clients=clients,
        bus=CommandBus(clients),
        signer=TokenSigner(settings),
        sessions=SessionStore(clients.redis, settings.session_lifetime_s,
                              settings.remembered_session_lifetime_s),
        mailer=mailer or build_mailer(settings),
        payments=payments or build_providers(settings, http),
        http=http,
    )


def api() -> FastAPI:
    """The API application with this process's container (uvicorn's factory)."""
    from api.app import create_app

    return create_app(bootstrap)
