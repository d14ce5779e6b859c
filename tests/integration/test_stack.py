"""Each server of the stack answers its real client library, and readiness tells the truth."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from infra.clients import Clients
from infra.database import rows
from infra.settings import Settings
from ops.bootstrap import build_clients
from ops.stack import installers
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


async def test_a_read_after_mariadb_dropped_its_pooled_connection_succeeds(
        clients: Clients, settings: Settings) -> None:
    # The read views' engine does not ping before each use: the connection MariaDB
    # closed (as a restart does) fails its read, which is made again on a new one.
    reader = build_clients(settings)
    try:
        query = text("SELECT CONNECTION_ID()")
        ((pooled,),) = await rows(reader.mysql_reads, query)
        async with clients.mysql.connect() as connection:
            await connection.execute(text(f"KILL CONNECTION {int(pooled)}"))
        ((fresh,),) = await rows(reader.mysql_reads, query)
        assert fresh != pooled
    finally:
        await reader.close()


async def test_ferretdb_insert_and_find_with_pymongo(clients: Clients, settings: Settings) -> None:
    collection = clients.mongo[settings.mongodb_database][f"test_{uuid.uuid4().hex[:12]}"]
    try:
        await collection.insert_many([{"_id": "a", "qty": 2}, {"_id": "b", "qty": 5}])
        found = await collection.find({"qty": {"$gt": 3}}).to_list()
        assert found == [{"_id": "b", "qty": 5}]
    finally:
        await collection.drop()


def psql(settings: Settings, *commands: str) -> str:
    """`commands` run by psql in one session as FerretDB's own role; their unaligned output."""
    result = subprocess.run(
        [installers.find_executable("psql") or "psql", "--no-psqlrc", "--no-align",
         "--tuples-only", "--set=ON_ERROR_STOP=1", "--host=127.0.0.1",
         f"--port={settings.postgresql_port}", f"--username={settings.postgresql_user}",
         f"--dbname={settings.postgresql_database}", *(f"--command={c}" for c in commands)],
        env={**os.environ, "PGPASSWORD": settings.postgresql_password.get_secret_value()},
        capture_output=True, text=True, timeout=30, check=True,
    )
    return result.stdout.strip()


async def test_ferretdb_finds_by_id_through_a_gin_index_in_postgresql(
    clients: Clients, settings: Settings
) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    database = clients.mongo[settings.mongodb_database]
    try:
        # Enough documents that a scan costs PostgreSQL's planner more than the index.
        await database[name].insert_many([{"_id": f"cart-{n}", "n": n} for n in range(5000)])
        explained = await database.command(
            "explain", {"find": name, "filter": {"_id": "cart-42"}}, verbosity="queryPlanner")
        plan = explained["queryPlanner"]["Plan"]
        # FerretDB keeps a MongoDB database as a schema, a collection as a table of it.
        schema, table = plan["Schema"], plan["Relation Name"]
        assert (schema, psql(settings, f'SELECT count(*) FROM "{schema}"."{table}"')) == (
            settings.mongodb_database, "5000")
        index = plan["Plans"][0]["Index Name"]
        assert "USING gin (((_jsonb -> '_id'::text)) jsonb_path_ops)" in psql(
            settings, f"SELECT indexdef FROM pg_indexes WHERE indexname = '{index}'")
        # The statement FerretDB prepares, past the five runs after which PostgreSQL may
        # plan it for any parameters (and scan), unless told to plan for the values.
        execute = """EXECUTE by_id('_id', '"cart-42"')"""
        planned = psql(settings, "SHOW plan_cache_mode",
                       f'PREPARE by_id(text, jsonb) AS SELECT _jsonb FROM "{schema}"."{table}" '
                       "WHERE _jsonb->$1 @> $2", *[execute] * 6, f"EXPLAIN {execute}")
        assert planned.startswith("force_custom_plan")
        assert f"Bitmap Index Scan on {index}" in planned
        assert await database[name].find_one({"_id": "cart-42"}) == {"_id": "cart-42", "n": 42}
    finally:
        await database[name].drop()


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
