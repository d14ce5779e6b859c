"""The clients of Kafka and the stores one process uses, closed together.

Built by the composition root (`ops/bootstrap.py`); nothing connects when they are
built, only on first use, so a process starts (and reports not ready) while a
dependency is down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog
from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.crypto import KeyStore
from infra.settings import Settings

log = structlog.get_logger(__name__)


@dataclass
class Clients:
    settings: Settings
    mysql: AsyncEngine
    mysql_reads: AsyncEngine  # the same server, for the read views (`projections/views.py`)
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
        await self.mysql_reads.dispose()
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
