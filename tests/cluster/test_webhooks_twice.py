"""Two webhooks workers send each delivery once: they take turns per subscription.

Both workers' senders look for due deliveries every second; without the lease each
would send what it found. A receiver that accepts everything must get every event of
its subscription exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from tests.cluster.support import ClusterStack
from tests.e2e.test_webhooks import subscribe
from tests.outages import Answer, new_product, persist
from tests.support import eventually
from tests.webhook_receiver import Receiver

PRODUCTS = 10
CHANGES = 5  # per product: 50 deliveries over 10 aggregates


@pytest.mark.timeout(900)
async def test_two_webhooks_workers_send_each_delivery_exactly_once(
        cluster: ClusterStack, cluster_gateway: httpx.AsyncClient, cluster_admin: dict,
        cluster_category: dict) -> None:
    http = cluster_gateway
    assert cluster.running("worker-webhooks") and cluster.running("worker-webhooks-2")
    receiver = Receiver()
    await receiver.start()
    answers: list[Answer] = []
    try:
        hook = await subscribe(http, cluster_admin, receiver.url, ["product.changed"])

        async def product_changed_again(n: int) -> str:
            made = await new_product(http, cluster_admin, cluster_category, answers,
                                     target="product", sku=f"WH-{uuid.uuid4().hex[:12]}",
                                     name=f"Hooked kettle {n}", price=1200, stock=1,
                                     after=cluster_category["token"])
            assert made.status == 201, made
            token = made.consistency_token
            for change in range(CHANGES):
                key = str(uuid.uuid4())
                changed = await persist("change", lambda: http.patch(
                    f"/v1/admin/products/{made.body['id']}",
                    json={"name": f"Hooked kettle {n}, take {change}"},
                    headers=cluster_admin | {"Idempotency-Key": key,
                                             "X-Consistency-Token": token}), answers)
                assert changed.status == 200, changed
            return made.body["id"]

        products = set(await asyncio.gather(*(product_changed_again(n)
                                              for n in range(PRODUCTS))))

        def ours() -> list:
            return [r for r in receiver.accepted() if r.payload["data"].get("product_id")
                    in products]

        async def all_arrived() -> bool:
            return len({r.event_id for r in ours()}) >= PRODUCTS * CHANGES

        await eventually(all_arrived, timeout_s=180, interval_s=1)
        await asyncio.sleep(5)  # a second sender, if any, would have sent them again by now
        sent = Counter(r.event_id for r in ours())
        cluster.write_figures("test_webhooks_twice", {
            "subscription": hook["id"], "events": len(sent),
            "requests": sum(sent.values()),
            "sent_more_than_once": sum(1 for n in sent.values() if n > 1)})
        assert len(sent) == PRODUCTS * CHANGES
        assert max(sent.values()) == 1, {e: n for e, n in sent.items() if n > 1}
    finally:
        await receiver.stop()
