"""Each server of the stack answers its real client library, and readiness tells the truth."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from infra.clients import Clients
from infra.settings import Settings
from ops.stack.manager import Stack


async def test_kafka_round_trip(clients: Clients, settings: Settings) -> None:
    topic = f"test.roundtrip.{uuid.uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = await clients.producer()
        sent = await producer.send_and_wait(topic, b"hello", key=b"k1")
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout=20)
        finally:
            await consumer.stop()
        assert (record.key, record.value, record.offset) == (b"k1", b"hello", sent.offset)
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def test_mariadb_query_through_sqlalchemy(clients: Clients) -> None:
    table = f"test_{uuid.uuid4().hex[:12]}"
    async with clients.mysql.begin() as connection:
        await connection.execute(text(f"CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(50))"))
    try:
        async with clients.mysql.begin() as connection:
            await connection.execute(text(f"INSERT INTO {table} VALUES (1, 'ä-ok'), (2, 'two')"))
        async with clients.mysql.connect() as connection:
            rows = (await connection.execute(text(f"SELECT name FROM {table} ORDER BY id"))).all()
        assert [r.name for r in rows] == ["ä-ok", "two"]
    finally:
        async with clients.mysql.begin() as connection:
            await connection.execute(text(f"DROP TABLE {table}"))


async def test_ferretdb_insert_and_find_with_pymongo(clients: Clients, settings: Settings) -> None:
    collection = clients.mongo[settings.mongodb_database][f"test_{uuid.uuid4().hex[:12]}"]
    try:
        await collection.insert_many([{"_id": "a", "qty": 2}, {"_id": "b", "qty": 5}])
        found = await collection.find({"qty": {"$gt": 3}}).to_list()
        assert found == [{"_id": "b", "qty": 5}]
    finally:
        await collection.drop()


async def test_redis_set_and_get(clients: Clients) -> None:
    key = f"test:{uuid.uuid4().hex}"
    await clients.redis.set(key, "value", ex=60)
    assert await clients.redis.get(key) == "value"
    await clients.redis.delete(key)


async def test_elasticsearch_index_and_search(clients: Clients) -> None:
    index = f"test-{uuid.uuid4().hex[:12]}"
    es = clients.elasticsearch
    try:
        await es.indices.create(index=index, mappings={"properties": {"name": {"type": "text"}}})
        await es.index(index=index, id="1", document={"name": "Blue suede shoes"})
        await es.index(index=index, id="2", document={"name": "Red wool scarf"})
        await es.indices.refresh(index=index)
        result = await es.search(index=index, query={"match": {"name": "shoes"}})
        assert [hit["_id"] for hit in result["hits"]["hits"]] == ["1"]
        info = await es.info()
        assert info["version"]["number"].startswith("8.14.")
    finally:
        await es.indices.delete(index=index, ignore_unavailable=True)


async def test_readyz_through_the_gateway_names_a_stopped_redis(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {name: "ok" for name in
                                      ("kafka", "mysql", "mongodb", "redis", "elasticsearch")}

    redis_part = stack.select(["redis"])
    stack.down(redis_part)
    try:
        not_ready = await gateway.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.headers["content-type"] == "application/problem+json"
        body = not_ready.json()
        assert body["failing"] == ["redis"]
        assert "redis" in body["detail"]
    finally:
        await asyncio.to_thread(stack.up, redis_part)

    assert (await gateway.get("/readyz")).status_code == 200
