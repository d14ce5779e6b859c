"""The cluster tests: marked `cluster`, sharing one stack with a three-broker Kafka cluster.

The `cluster` fixture starts it (`tests/cluster/support.py`) on the ports of the calling
environment shifted by 500, once for the session, and stops it at the end. A test that
changes the cluster (a broker or worker stopped) restores it before it ends. The
fixtures below are the shared ones of `tests/conftest.py`, on the cluster.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from infra.clients import Clients
from ops.bootstrap import build_clients

from tests.cluster.support import ClusterStack, running_cluster
from tests.outages import persist, signed_in
from tests.support import PASSWORD, shopstream, unique_email

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.cluster)


# Package-scoped: the cluster stops when the cluster tests end, not at the end of the
# whole session, so it neither runs beside the rest of the suite nor holds its ports.
@pytest.fixture(scope="package")
def cluster() -> ClusterStack:
    with running_cluster("cluster", 500) as started:
        shopstream("seed", "--shipping-only", stack=started.stack)
        yield started


@pytest.fixture(scope="package")
async def cluster_gateway(cluster: ClusterStack) -> httpx.AsyncClient:
    """An HTTP client for the cluster's shop through its gateway, as a user reaches it."""
    async with httpx.AsyncClient(base_url=cluster.gateway_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="package")
def cluster_admin_email(cluster: ClusterStack) -> str:
    email = unique_email("admin")
    shopstream("admin", "create", "--email", email, "--password", PASSWORD, stack=cluster.stack)
    return email


@pytest.fixture
async def cluster_admin(cluster_gateway: httpx.AsyncClient, cluster_admin_email: str
                        ) -> dict[str, str]:
    """Authorization headers of the cluster's administrator, signed in for this test."""
    return await signed_in(cluster_gateway, cluster_admin_email, [])


@pytest.fixture(scope="package")
async def cluster_category(cluster_gateway: httpx.AsyncClient, cluster_admin_email: str
                           ) -> dict:
    """A category of the cluster's catalog, with its write's consistency token."""
    admin = await signed_in(cluster_gateway, cluster_admin_email, [])
    name = f"Cluster category {uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    created = await persist("category", lambda: cluster_gateway.post(
        "/v1/admin/categories", headers=admin | {"Idempotency-Key": key},
        json={"name": name}), [])
    assert created.status == 201, created
    return created.body | {"token": created.consistency_token}


@pytest.fixture(scope="package")
async def cluster_clients(cluster: ClusterStack) -> Clients:
    """The shop's clients (Kafka, MySQL, MongoDB, Redis, Elasticsearch) on the cluster."""
    clients = build_clients(cluster.settings)
    yield clients
    await clients.close()
