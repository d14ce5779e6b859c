"""Fixtures of the integration tests beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support import eventually, log_in


@pytest.fixture(scope="session")
async def findable_product(gateway: httpx.AsyncClient, admin_email: str, category: dict
                           ) -> dict:
    """A product a shopper can open and find by a word of its name."""
    admin = await log_in(gateway, admin_email)
    word = f"zephyr{uuid.uuid4().hex[:8]}"
    created = await gateway.post("/v1/admin/products", headers=admin, json={
        "sku": f"STORE-{word}", "name": f"Kettle {word}", "category_id": category["id"],
        "price": {"amount": 2500, "currency": "EUR"}, "stock": 5})
    assert created.status_code == 201, created.text
    found = created.json() | {"word": word}

    async def readable() -> bool:
        page = await gateway.get(f"/v1/products/{found['id']}")
        results = await gateway.get("/v1/search", params={"q": word})
        return page.status_code == 200 and results.status_code == 200 and any(
            item["id"] == found["id"] for item in results.json()["items"])

    await eventually(readable, timeout_s=30, interval_s=0.5)
    return found
