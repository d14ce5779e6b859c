"""The one place that builds clients for Kafka and the databases, from settings.

Nothing connects at import time: `Clients` is built by the process that needs it
(the API's lifespan, the worker, the CLI) and closed by it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from infra.crypto import KeyStore
from infra.settings import Settings


@dataclass
class Clients:
    settings: Settings
    mysql: AsyncEngine
    mongo: AsyncMongoClient
    redis: aioredis.Redis
    elasticsearch: AsyncElasticsearch
    keys: KeyStore
    _producer: AIOKafkaProducer | None = None
    _producer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def producer(self) -> AIOKafkaProducer:
        """The idempotent Kafka producer, started on first use.

        Lazily started so that a process still starts (and reports not ready)
        while Kafka is unreachable.
        """
        async with self._producer_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    request_timeout_ms=10_000,
                )
                await producer.start()
                self._producer = producer
            return self._producer

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        await self.mysql.dispose()
        await self.mongo.close()
        await self.redis.aclose()
        await self.elasticsearch.close()


def build_clients(settings: Settings) -> Clients:
    mysql = create_async_engine(settings.mysql_url, pool_size=10, max_overflow=20,
                                pool_pre_ping=True, pool_recycle=3600)
    return Clients(
        settings=settings,
        mysql=mysql,
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
