"""The broker stopped for 15 s while 8 clients create products, then started again.

While it is down every write answers 503 with Retry-After, naming Kafka (a write
sent as it stops or starts may be appended but not answered in time: 503 too, retried
with its Idempotency-Key to learn its outcome); within 15 s of its return every
API replica writes again, on every partition, without a restart; every write that
was acknowledged (201) is readable afterwards; and a product page and a search,
which need no Kafka, answer 200 throughout. The clients go through the gateway, as
a shop's clients do, and one more writes to each replica directly; none sends a
consistency token.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from infra.settings import Settings
from ops.stack.manager import Stack
from tests.outages import (Answer, Shopper, call, every_product_readable, recovered_at,
                           statuses, stopped)
from tests.support import eventually

CLIENTS = 8
WARM_UP_S = 3
OUTAGE_S = 15
RECOVERY_S = 15
# After recovery every write must succeed for this long: a replica that is broken on
# some partitions only shows it over many writes.
STEADY_S = 10
# A client's pause between writes, which keeps 8 clients under the gateway's rate limit.
PAUSE_S = 0.2


class Writers:
    """Clients that create products until told to stop, retrying a refused one with its
    Idempotency-Key, as a careful client does; every answer is kept."""

    def __init__(self, admin: dict, category: dict) -> None:
        self.admin, self.category = admin, category
        self.answers: list[Answer] = []
        self.created: set[str] = set()
        self.stop = asyncio.Event()

    async def run(self, target: str, http: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            key = str(uuid.uuid4())
            body = {"sku": f"OUT-{key[:12]}", "name": f"Outage kettle {key[:8]}",
                    "category_id": self.category["id"],
                    "price": {"amount": 1999, "currency": "EUR"}, "stock": 3}
            while not self.stop.is_set():
                answer = await call(target, lambda: http.post(
                    "/v1/admin/products", json=body,
                    headers=self.admin | {"Idempotency-Key": key}))
                self.answers.append(answer)
                await asyncio.sleep(PAUSE_S)
                if answer.status == 201:
                    self.created.add(answer.body["id"])
                    break


async def writing_through(writers: Writers, targets: dict[str, str]) -> bool:
    return all(recovered_at(writers.answers, target, 0.0, 201) is not None
               for target in targets)


@pytest.mark.destructive
@pytest.mark.timeout(300)
async def test_a_broker_outage_answers_503_and_every_replica_writes_again_within_15_s(
        stack: Stack, settings: Settings, admin: dict, category: dict,
        findable_product: dict) -> None:
    targets = {"gateway": settings.public_url} | {
        f"api-{n}": f"http://127.0.0.1:{port}"
        for n, port in enumerate(settings.api_replica_ports, start=1)}
    https = {name: httpx.AsyncClient(base_url=url, timeout=60) for name, url in targets.items()}
    writers = Writers(admin, category)
    clients = [asyncio.create_task(writers.run("gateway", https["gateway"]))
               for _ in range(CLIENTS)]
    clients += [asyncio.create_task(writers.run(name, http))
                for name, http in https.items() if name != "gateway"]
    shopper = Shopper(https["gateway"], findable_product)
    clients.append(asyncio.create_task(shopper.run()))
    try:
        # A commands worker that an earlier test restarted loads each partition's state
        # on its first command: the outage starts once every target has written.
        await eventually(lambda: writing_through(writers, targets), timeout_s=60)
        writing_at = time.monotonic()
        await asyncio.sleep(WARM_UP_S)
        # A broker shutting down refuses writes for some seconds before it has stopped.
        stopping_at = time.monotonic()
        async with stopped(stack, "kafka"):
            down_at = time.monotonic()
            await asyncio.sleep(OUTAGE_S)
            starting_at = time.monotonic()
        up_at = time.monotonic()
        await asyncio.sleep(RECOVERY_S + STEADY_S)
    finally:
        writers.stop.set()
        shopper.stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
        for http in https.values():
            await http.aclose()

    answers = writers.answers
    before = [a for a in answers if writing_at <= a.sent_at and a.done_at < stopping_at]
    assert statuses(before) == {201: len(before)}, (
        f"the stack was not writing before the outage: {statuses(before)}; "
        f"e.g. {[a for a in before if a.status != 201][:3]}")

    while_down = [a for a in answers if down_at <= a.sent_at < starting_at]
    recovery = {t: recovered_at(answers, t, starting_at, 201) for t in targets}
    print(f"\nbroker outage: {statuses(answers)}; while down {statuses(while_down)}; "
          f"writing again after (s): "
          f"{ {t: None if r is None else round(r - up_at, 1) for t, r in recovery.items()} }")

    slow = [a for a in answers if a.took_s > settings.command_timeout_s + 2]
    assert not slow, f"{len(slow)} answers took longer than the API's own timeout: {slow[:3]}"
    assert len(while_down) >= CLIENTS, "the outage was not seen by the clients"
    wrong = [a for a in while_down if not a.is_unavailable("Kafka")]
    assert not wrong, (f"while Kafka was down: {statuses(while_down)}; e.g. {wrong[:3]}")
    # A command appended as the broker stops, or before the workers are back, may get no
    # answer in time: 503 too, retried with its key.
    never = [a for a in answers if a.status not in (201, 503)]
    assert not never, f"answers other than 201 and 503: {statuses(never)}; e.g. {never[:3]}"

    late = {t: r for t, r in recovery.items() if r is None or r > up_at + RECOVERY_S}
    assert not late, f"not writing again within {RECOVERY_S}s of Kafka's return: {late}"
    after = [a for a in answers if a.sent_at >= up_at + RECOVERY_S]
    assert after and statuses(after) == {201: len(after)}, (
        f"writes failing after recovery: {statuses(after)}; "
        f"e.g. {[a for a in after if a.status != 201][:3]}")

    assert statuses(shopper.answers) == {200: len(shopper.answers)}, (
        f"reads that need no Kafka failed: {statuses(shopper.answers)}")
    await every_product_readable(targets["api-1"], writers.created)
