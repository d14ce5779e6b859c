"""On the three-broker cluster: MySQL, Redis, Elasticsearch and MongoDB, each stopped for
20 s under load (`tests/outages.py`'s `Crowd`: reads, sign-ups, new products, through the
gateway with no consistency token).

Reads that need the stopped store answer 503 naming it (problem+json, Retry-After), the
rest 200; the writes that need only Kafka (and the stores still up) are all accepted;
within 30 s of the return every read answers 200 again; and the read models the store
holds, once caught up, equal their replay from offset 0 (`streams.replay`).
"""

from __future__ import annotations

import httpx
import pytest

from infra.clients import Clients
from tests.cluster.support import ClusterStack
from tests.e2e.test_checkout import fill_cart
from tests.outages import (STORES, Crowd, findable_product, models_equal_a_replay,
                           outage_faults, outage_figures, return_faults, store_outage)
from tests.support import shopper

WARM_UP_S = 5
OUTAGE_S = 20
RECOVERY_S = 30
STEADY_S = 5


@pytest.mark.timeout(900)
@pytest.mark.parametrize("part", list(STORES))
async def test_a_stopped_store_is_a_503_naming_it_writes_go_on_and_its_models_equal_a_replay(
        cluster: ClusterStack, cluster_gateway: httpx.AsyncClient, cluster_admin: dict,
        cluster_category: dict, cluster_clients: Clients, part: str) -> None:
    store = STORES[part]
    product = await findable_product(cluster_gateway, cluster_admin, cluster_category)
    _, customer = await shopper(cluster_gateway, "outage")
    # A cart that exists, so that the carts model has something to compare with its replay.
    _, buyer = await shopper(cluster_gateway, "cart")
    await fill_cart(cluster_gateway, buyer, (product, 1))
    crowd = Crowd(cluster_gateway, product, customer, cluster_admin, cluster_category["id"])

    back_at = await store_outage(cluster.stack, crowd, store, warm_up_s=WARM_UP_S,
                                 outage_s=OUTAGE_S, after_s=RECOVERY_S + STEADY_S)

    cluster.write_figures(f"test_store_outage_{part}",
                          outage_figures(crowd.answers, store, back_at))
    faults = (outage_faults(crowd.answers, store, back_at, RECOVERY_S)
              + return_faults(crowd.answers, back_at, RECOVERY_S))
    assert not faults, "\n".join(faults)
    await models_equal_a_replay(cluster_clients, store)
