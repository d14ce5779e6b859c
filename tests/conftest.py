"""Fixtures shared by the integration and end-to-end tests: the running stack and its clients.

`make test` starts the stack first. A server that is not there makes these
tests fail with the stack's status, never skip.
"""

from __future__ import annotations

import httpx
import pytest

from infra.bootstrap import Clients, build_clients
from infra.settings import Settings
from infra.stack.manager import Stack


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
async def gateway(settings: Settings) -> httpx.AsyncClient:
    """An HTTP client for the shop through the gateway, as a user reaches it."""
    async with httpx.AsyncClient(base_url=settings.public_url, timeout=30) as client:
        yield client
