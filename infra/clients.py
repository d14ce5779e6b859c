"""The clients of Kafka and the stores one process uses, closed together.

Built by the composition root (`ops/bootstrap.py`); nothing connects when they are
built, only on first use, so a process starts (and reports not ready) while a
dependency is down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient
from sqlalchemy.ext.asyncio import AsyncEngine

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
