"""A command worker restarts from its snapshots: with 1,000,000 events in its topics, the
first command is answered within seconds, and decides as a full fold would.

The test runs a stack of its own (`<project>/.stack-recovery`, ports shifted by 700
from the calling environment's), fills the catalog's events topic with a year's worth
of stock movements for 60 products, lets the worker fold them once and snapshot every
partition, kills it with SIGKILL, starts it again and times the first command answered
through the API. Its figures go to `<stack>/figures/<test>.json`.

The read side is stopped while the events are filled in: projecting them is not what
is measured, and the sagas are not started, since these stock movements belong to no
real checkout.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from commands.handling import Aggregate, handle
from infra.settings import PROJECT_ROOT, Settings, get_settings
from infra.topics import end_offsets
from ops.stack.manager import Stack, ensure_local_secrets
from schemas.commands.catalog import SetStock
from schemas.envelope import CommandEnvelope, EventEnvelope
from schemas.events.catalog import ProductCreated
from schemas.money import Money
from schemas.topics import CATALOG
from streams import snapshots
from streams.command_processor import recover
from tests.cluster.support import ClusterStack
from tests.support import PASSWORD, eventually, log_in, shopstream, unique_email

EVENTS = 1_000_000
PRODUCTS = 60
RELEASED_EVERY = 6  # one order in six is cancelled and its units put back
INITIAL_STOCK = 1_000_000  # SetStock takes at most 10,000,000
COMMAND_TIMEOUT_SETTING = "SHOPSTREAM_COMMAND_TIMEOUT_S"
COMMAND_TIMEOUT_S = 600
PORT_SHIFT = 700  # none of its ports is one of the cluster stack's (shifted by 500)
# What the test runs: the servers, the command worker, the projections (until the fill),
# and the API.
PARTS = ("kafka", "mysql", "postgresql", "mongodb", "redis", "elasticsearch", "mailsink",
         "stripe-mock", "oidc", "worker-commands", "worker-projections", "api-1", "api-2")


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    """A stack in its own folder and on its own ports, stopped (its data removed, its logs
    and figures kept) when the module ends."""
    stack_dir = PROJECT_ROOT / ".stack-recovery"
    ensure_local_secrets(stack_dir)
    # The projections worker is stopped while the history is folded, so a new product can
    # be answered from its command only: a probe sent again is met as a duplicate, which is
    # shown from the catalog view once the view has it, never here. So the API waits for
    # a command's answer longer than a partition's first fold takes, and the client waits
    # longer than the API.
    env_file = stack_dir / "shopstream.env"
    if f"{COMMAND_TIMEOUT_SETTING}=" not in env_file.read_text():
        with env_file.open("a") as handle:
            handle.write(f"{COMMAND_TIMEOUT_SETTING}={COMMAND_TIMEOUT_S}\n")
    stack = Stack(Settings(_env_file=stack_dir / "shopstream.env", stack_dir=stack_dir,
                           port_offset=get_settings().port_offset + PORT_SHIFT))
    try:
        stack.up(stack.select(list(PARTS)))
        yield stack
    finally:
        stack.down(stack.parts)
        for folder in ("data", "run", "worker"):
            shutil.rmtree(stack_dir / folder, ignore_errors=True)


FILLED_AT = datetime.now(UTC).isoformat()
# Ids are counted up from a random start (a million random ones take a while to draw).
ID_BASE = uuid.uuid4().int & ~(2**40 - 1)


def _id(n: int) -> str:
    return str(uuid.UUID(int=ID_BASE + n))


def _stock_event(n: int, product_id: str, version: int, event_type: str, order: int,
                 quantity: int, available: int) -> bytes:
    """Event `n` of the fill, as the command processor writes it: spelled out, since a
    million are made."""
    return (f'{{"event_id":"{_id(2 * n)}","type":"{event_type}","schema_version":1,'
            f'"aggregate_id":"{product_id}","aggregate_version":{version},'
            f'"occurred_at":"{FILLED_AT}","correlation_id":"{_id(2 * n + 1)}",'
            f'"causation_id":"{_id(2 * n + 1)}","actor":null,"payload":{{'
            f'"product_id":"{product_id}","order_id":"{_id(2 * EVENTS + order)}",'
            f'"quantity":{quantity},"available":{available}}}}}').encode()


async def _fill(settings: Settings, category_id: str) -> dict[str, int]:
    """`EVENTS` catalog events over `PRODUCTS` products: each product is created, then
    reserved for orders one to three units at a time, one order in `RELEASED_EVERY`
    released again. Returns each product's stock left.

    Sent in whole batches per partition, each product to the partition its key hashes to,
    as the shop's own producers place it."""
    products = [str(uuid.uuid4()) for _ in range(PRODUCTS)]
    stock = dict.fromkeys(products, INITIAL_STOCK)
    version = dict.fromkeys(products, 1)
    partition = {p: _partition_of(p, settings.kafka_partitions) for p in products}
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                max_batch_size=512 * 1024)
    await producer.start()
    batches: dict[int, object] = {}
    sent: list[asyncio.Future] = []

    async def send(product: str, value: bytes) -> None:
        batch = batches.get(partition[product]) or producer.create_batch()
        if batch.append(key=product.encode(), value=value, timestamp=None) is None:
            sent.append(await producer.send_batch(batch, CATALOG.events.name,
                                                  partition=partition[product]))
            batch = producer.create_batch()
            batch.append(key=product.encode(), value=value, timestamp=None)
        batches[partition[product]] = batch

    try:
        for product in products:
            await send(product, EventEnvelope(
                event_id=uuid.uuid4(), type="ProductCreated", schema_version=1,
                aggregate_id=product, aggregate_version=1, occurred_at=FILLED_AT,
                correlation_id=uuid.uuid4(), causation_id=uuid.uuid4(), actor=None,
                payload=ProductCreated(
                    product_id=product, sku=f"FILL-{product[:8]}",
                    name=f"Filled product {product[:8]}", slug=f"filled-{product}",
                    category_id=category_id, price=Money(amount=1999, currency="EUR"),
                    stock=INITIAL_STOCK).model_dump(mode="json")).to_bytes())
        for n in range(EVENTS - PRODUCTS):
            product = products[n % PRODUCTS]
            order = n // PRODUCTS
            version[product] += 1
            if order % RELEASED_EVERY == RELEASED_EVERY - 1:
                # The order before this one is cancelled: its units go back.
                order -= 1
                quantity = 1 + order % 3
                stock[product] += quantity
                event_type = "StockReleased"
            else:
                quantity = 1 + order % 3
                stock[product] -= quantity
                event_type = "StockReserved"
            await send(product, _stock_event(n, product, version[product], event_type,
                                             order * PRODUCTS + n % PRODUCTS, quantity,
                                             stock[product]))
            if len(sent) >= 16:
                await asyncio.gather(*sent)
                sent = []
        for number, batch in batches.items():
            sent.append(await producer.send_batch(batch, CATALOG.events.name, partition=number))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return stock


def _partition_of(key: str, partitions: int) -> int:
    return DefaultPartitioner()(key.encode(), list(range(partitions)), list(range(partitions)))


async def _create_product(api: httpx.AsyncClient, email: str, category_id: str,
                          key: str, timeout_s: float) -> dict:
    """POST a product as a new client of the administrator `email` does: signed in afresh,
    and retried with its Idempotency-Key until answered.

    A new session each time: the catalog view is stopped while the history is folded, and a
    session that created a product waits, in each later read of that partition, for the
    view to show it."""
    body = {"sku": f"RESTART-{key[:8]}", "name": f"Restart probe {key[:8]}",
            "category_id": category_id, "price": {"amount": 500, "currency": "EUR"},
            "stock": 3}
    session = {"headers": await log_in(api, email)}

    async def answered():
        try:
            response = await api.post("/v1/admin/products", json=body,
                                      headers=session["headers"] | {"Idempotency-Key": key})
        except httpx.TransportError:
            return None
        if response.status_code == 401:  # a long wait outlives the 15-minute access token
            session["headers"] = await log_in(api, email)
            return None
        assert response.status_code in (201, 502, 503, 504), response.text
        return response.json() if response.status_code == 201 else None

    return await eventually(answered, timeout_s=timeout_s, interval_s=0.05)


@pytest.mark.timeout(5400)
async def test_restart_with_a_million_events_answers_its_first_command_within_10_s(
        own_stack: Stack) -> None:
    settings = own_stack.settings
    partitions = settings.kafka_partitions
    # Straight to an API replica: this is about the command path, not the gateway's limits.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.api_replica_ports[0]}",
                                 timeout=COMMAND_TIMEOUT_S + 60) as api:
        email = unique_email("admin")
        shopstream("admin", "create", "--email", email, "--password", PASSWORD, stack=own_stack)
        created = await api.post("/v1/admin/categories", headers=await log_in(api, email),
                                     json={"name": f"Recovery {uuid.uuid4().hex[:8]}"})
        assert created.status_code == 201, created.text
        category_id = created.json()["id"]
        witness_key = str(uuid.uuid4())
        witness = await _create_product(api, email, category_id, witness_key, 60)

        async def projected() -> bool:
            return (await api.get(f"/v1/products/{witness['id']}")).status_code == 200

        await eventually(projected, timeout_s=60, interval_s=0.5)
        # The history is in the log before the worker starts, as after a long life: only
        # the command worker writes events while it runs.
        worker = own_stack.select(["worker-commands"])
        own_stack.down(own_stack.select(["worker-projections"]) + worker)

        started = time.monotonic()
        stock_left = await _fill(settings, category_id)
        fill_s = time.monotonic() - started
        filled = await end_offsets(settings, [CATALOG.events.name])
        await asyncio.to_thread(own_stack.up, worker)

        # The worker folds each partition once, on its first command, and snapshots it.
        started = time.monotonic()
        warmed: set[int] = set()
        while len(warmed) < partitions:
            probe = await _create_product(api, email, category_id, str(uuid.uuid4()), 3600)
            warmed.add(_partition_of(probe["id"], partitions))
        first_fold_s = time.monotonic() - started
        async def snapshotted() -> bool:
            for p in range(partitions):
                snapshot = await snapshots.read(settings, CATALOG, p)
                if snapshot is None or snapshot.events_from < filled[(CATALOG.events.name, p)]:
                    return False
            return True

        await eventually(snapshotted, timeout_s=600, interval_s=2)

        own_stack.down(worker, kill=True)
        killed = time.monotonic()
        await asyncio.to_thread(own_stack.up, worker)
        restarted = time.monotonic()
        await _create_product(api, email, category_id, str(uuid.uuid4()), 600)
        first_answer = time.monotonic()

        # A command seen before the restart is known after it: the same product, no new one.
        again = await _create_product(api, email, category_id, witness_key, 60)
        assert again["id"] == witness["id"]

    # Every partition's recovery, as a restarted (or newly assigned) worker does it.
    # Each folds the snapshot's tail only, however long the partition: a load-free bound.
    recovery_s, tails = {}, {}
    for p in range(partitions):
        started = time.monotonic()
        recovered = await recover(settings, CATALOG, p)
        recovery_s[p] = round(time.monotonic() - started, 2)
        tails[p] = recovered.unsaved.records
        assert tails[p] <= snapshots.SNAPSHOT_EVERY, (p, tails[p])

    # The snapshot decides as the full history does: the same state, and the same
    # stock adjustment (which depends on every reservation and release before it).
    # (on the smallest partition that holds a filled product: a full fold takes a while)
    product = min(stock_left, key=lambda p: filled[(CATALOG.events.name,
                                                    _partition_of(p, partitions))])
    partition = _partition_of(product, partitions)
    started = time.monotonic()
    full = await recover(settings, CATALOG, partition, from_snapshot=False)
    full_fold_s = time.monotonic() - started
    from_snapshot = await recover(settings, CATALOG, partition)
    assert from_snapshot.aggregates == full.aggregates
    assert full.aggregates[product].state.stock == stock_left[product]
    command = CommandEnvelope.wrap(SetStock(product_id=uuid.UUID(product),
                                            available=stock_left[product] + 7),
                                   command_id=uuid.uuid4(), actor=None)
    decided = [handle(recovered.aggregates.get(product) or Aggregate(), command, product)
               for recovered in (full, from_snapshot)]
    assert decided[0].events == decided[1].events
    assert decided[0].events[0].payload["delta"] == 7

    figures = {
        "events": EVENTS, "products": PRODUCTS, "partitions": partitions,
        "fill_s": round(fill_s, 1),
        "first_fold_and_snapshot_of_every_partition_s": round(first_fold_s, 1),
        "restart_to_first_answered_command_s": round(first_answer - restarted, 2),
        "kill_to_first_answered_command_s": round(first_answer - killed, 2),
        "recovery_from_snapshot_per_partition_s": recovery_s,
        "tail_folded_after_snapshot_per_partition": tails,
        "filled_events_per_partition": {p: filled[(CATALOG.events.name, p)]
                                        for p in range(partitions)},
        "full_fold_of_one_partition_s": round(full_fold_s, 1),
        "events_in_that_partition": full.unsaved.records,
    }
    ClusterStack(settings, own_stack).write_figures("test_restart_with_a_million_events",
                                                    figures)
    assert first_answer - restarted < 10, figures
