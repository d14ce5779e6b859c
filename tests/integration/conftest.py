"""Fixtures of the integration tests beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

import httpx
import pytest

from tests import outages
from tests.support import log_in


@pytest.fixture(scope="session")
async def findable_product(gateway: httpx.AsyncClient, admin_email: str, category: dict
                           ) -> dict:
    """A product a shopper can open and find by a word of its name."""
    return await outages.findable_product(gateway, await log_in(gateway, admin_email), category)
