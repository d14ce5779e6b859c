"""Fixtures shared by the integration and end-to-end tests: the running stack and its clients.

`make test` starts the stack first. A server that is not there makes these
tests fail with the stack's status, never skip.
"""

from __future__ import annotations

import httpx
import pytest

from infra.clients import Clients
from ops.bootstrap import build_clients
from infra.settings import Settings
from ops.stack.manager import Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    stack = Stack()
    unhealthy = [s.name for s in stack.status(stack.parts) if not s.healthy]
    if unhealthy:
        pytest.fail(f"the local stack is not healthy ({', '.join(unhealthy)}); "
                    "run the suite with `make test`, which starts it")
    return stack


@pytest.fixture(scope="session")
def settings(stack: Stack) -> Settings:
    return stack.settings


@pytest.fixture(scope="session")
async def clients(settings: Settings) -> Clients:
    clients = build_clients(settings)
    yield clients
    await clients.close()


@pytest.fixture(scope="session")
def shipping_zones(stack: Stack) -> None:
    """The zones `make up` seeds (EU, United Kingdom, United States), so checkouts to
    those countries work on a stack started without the demo seed."""
    from tests.support import shopstream

    shopstream("seed", "--shipping-only")


@pytest.fixture(scope="session")
async def gateway(settings: Settings, shipping_zones: None) -> httpx.AsyncClient:
    """An HTTP client for the shop through the gateway, as a user reaches it."""
    async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def admin_email() -> str:
    """A fresh administrator, made once with `shopstream admin create`."""
    from tests.support import PASSWORD, shopstream, unique_email

    email = unique_email("admin")
    shopstream("admin", "create", "--email", email, "--password", PASSWORD)
    return email


@pytest.fixture
async def admin(gateway: httpx.AsyncClient, admin_email: str) -> dict[str, str]:
    """Authorization headers of the administrator, signed in for this test: an access
    token lives 15 minutes, less than a whole run of the suite."""
    from tests.support import log_in

    return await log_in(gateway, admin_email)


@pytest.fixture(scope="session")
async def category(gateway: httpx.AsyncClient, admin_email: str) -> dict:
    """A category to put test products in, already visible in the catalog."""
    import uuid

    from tests.support import log_in

    admin = await log_in(gateway, admin_email)

    response = await gateway.post("/v1/admin/categories", headers=admin,
                                  json={"name": f"Test category {uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, response.text
    token = response.headers["X-Consistency-Token"]
    assert (await gateway.get("/v1/categories",
                              headers={"X-Consistency-Token": token})).status_code == 200
    return response.json() | {"token": token}
