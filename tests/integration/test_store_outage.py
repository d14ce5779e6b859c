"""MySQL, Elasticsearch, MongoDB and Redis, each stopped for 20 s while a shopper reads a
product page, searches, opens their cart and profile, newcomers sign up and an
administrator adds products, through the gateway and with no consistency token.

Every answer is a success, or 503 with Retry-After naming the store that is down; the
writes that need only Kafka (and the stores still up) are all accepted; within 30 s of
the store's return every read answers 200 again, with nothing restarted; and the read
models the store holds, once caught up, equal their replay from offset 0.
"""

from __future__ import annotations

import json

import httpx
import pytest

from infra.clients import Clients
from ops.stack.manager import Stack
from tests.outages import (STORES, Crowd, models_equal_a_replay, outage_faults,
                           outage_figures, return_faults, store_outage)
from tests.e2e.test_checkout import fill_cart
from tests.support import shopper

WARM_UP_S = 2
OUTAGE_S = 20
RECOVERY_S = 30
# After recovery every read must succeed for this long.
STEADY_S = 5


@pytest.mark.destructive
@pytest.mark.timeout(600)
@pytest.mark.parametrize("part", list(STORES))
async def test_a_stopped_store_is_a_503_naming_it_writes_go_on_and_its_models_equal_a_replay(
        stack: Stack, gateway: httpx.AsyncClient, clients: Clients, findable_product: dict,
        admin: dict, category: dict, part: str) -> None:
    store = STORES[part]
    logs = [stack.log_file(p) for p in stack.parts if p.name.startswith("api-")]
    logged_before = {log: log.stat().st_size for log in logs}
    _, customer = await shopper(gateway, "outage")
    # A cart that exists, so that the carts model has something to compare with its replay.
    _, buyer = await shopper(gateway, "cart")
    await fill_cart(gateway, buyer, (findable_product, 1))
    crowd = Crowd(gateway, findable_product, customer, admin, category["id"])

    back_at = await store_outage(stack, crowd, store, warm_up_s=WARM_UP_S, outage_s=OUTAGE_S,
                                 after_s=RECOVERY_S + STEADY_S)

    print(f"\n{store.name} outage: {json.dumps(outage_figures(crowd.answers, store, back_at))}")
    faults = (outage_faults(crowd.answers, store, back_at, RECOVERY_S)
              + return_faults(crowd.answers, back_at, RECOVERY_S))
    assert not faults, "\n".join(faults)
    # One line per failed request is fine; a stack trace per request fills a disk.
    traces = sum(_written_since(log, logged_before[log]).count("Traceback") for log in logs)
    assert traces == 0, f"{traces} stack traces in the API logs during the {store.name} outage"
    await models_equal_a_replay(clients, store)


def _written_since(log, size: int) -> str:
    """What the API wrote to `log` after it was `size` bytes long (all of it if rotated)."""
    with log.open("rb") as handle:
        if log.stat().st_size >= size:
            handle.seek(size)
        return handle.read().decode(errors="replace")
