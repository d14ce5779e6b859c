"""The one place that builds clients for Kafka and the databases, from settings.

Nothing connects at import time: `Clients` is built by the process that needs it
(the API's lifespan, the worker, the CLI) and closed by it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog
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

log = structlog.get_logger(__name__)


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
    _retired: set[asyncio.Task] = field(default_factory=set)

    async def producer(self) -> AIOKafkaProducer:
        """The idempotent Kafka producer, started on first use and after `retire_producer`.

        Lazily started so that a process still starts (and reports not ready)
        while Kafka is unreachable; concurrent callers wait for one start.
        """
        async with self._producer_lock:
            if self._producer is None:
                self._producer = await _started(AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    request_timeout_ms=10_000,
                ))
            return self._producer

    def retire_producer(self, producer: AIOKafkaProducer) -> None:
        """Replace `producer` after a send through it failed or was not acknowledged in time.

        An idempotent producer retries a batch forever while the broker is down, and
        one whose sequence numbers the broker refused (OutOfOrderSequenceNumber, after
        a broker restart) refuses every later send. The next caller starts a new one,
        which fails at once while Kafka is unreachable and works when it is back. The
        old one stops in the background: it first delivers what it holds, if it can.
        """
        if self._producer is not producer:
            return  # already replaced after a concurrent caller's failure
        self._producer = None
        task = asyncio.create_task(producer.stop(), name="kafka-producer-retired")
        self._retired.add(task)
        task.add_done_callback(self._forget_retired)

    def _forget_retired(self, task: asyncio.Task) -> None:
        self._retired.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("kafka.retired_producer_stop_failed", error=repr(task.exception()))

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        for task in list(self._retired):
            task.cancel()
        await self.mysql.dispose()
        await self.mongo.close()
        await self.redis.aclose()
        await self.elasticsearch.close()


async def _started(producer: AIOKafkaProducer) -> AIOKafkaProducer:
    """`producer`, started; stopped again (its connections closed) if it cannot start."""
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    return producer


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
