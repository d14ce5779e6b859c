"""Schemathesis over the admin catalog routes, in a real category: no 5xx, nothing
stored that a client may not send, and every product it made leaves a cart working."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from infra.settings import Settings
from schemas.money import CURRENCY, MAX_PRICE
from schemas.topics import CATALOG
from schemas.values import unprintable
from tests.support import make_product, read_events, shopper

HOOKS = Path(__file__).with_name("catalog_fuzz_hooks.py")


async def fuzz(settings: Settings, admin: dict, category_id: str, product_id: str
               ) -> subprocess.CompletedProcess:
    # From an address of its own, so its requests count against no other test's limit.
    address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    environment = os.environ | {"SCHEMATHESIS_HOOKS": str(HOOKS),
                                "SHOPSTREAM_FUZZ_CATEGORY_ID": category_id,
                                "SHOPSTREAM_FUZZ_PRODUCT_ID": product_id}
    return await asyncio.to_thread(subprocess.run, [
        str(Path(sys.executable).with_name("schemathesis")), "run",
        f"http://127.0.0.1:{settings.api_replica_ports[0]}/openapi.json",
        "--include-path-regex", r"^/v1/admin/(categories|products)",
        "--checks", "not_a_server_error", "--max-examples", "25",
        "--phases", "examples,coverage,fuzzing",
        "--header", f"X-Forwarded-For: {address}",
        "--header", f"Authorization: {admin['Authorization']}", "--no-color"],
        capture_output=True, text=True, timeout=900, env=environment)


def problems(payload: dict) -> list[str]:
    """What a stored product's fields hold that no client may send today."""
    found = []
    price = payload.get("price")
    if price and (price["currency"] != CURRENCY or price["amount"] > MAX_PRICE):
        found.append(f"price {price}")
    images = payload.get("images") or []
    lines = [payload.get("sku") or "", payload.get("name") or "",
             *(image["alt"] for image in images),
             *(text for pair in (payload.get("specifications") or {}).items() for text in pair),
             *(text for option in payload.get("options") or []
               for text in (option["name"], *option["values"])),
             *(text for variant in payload.get("variants") or []
               for text in (variant["sku"], *variant["options"], *variant["options"].values()))]
    found += [f"variant price {v['price']}" for v in payload.get("variants") or []
              if v["price"]["currency"] != CURRENCY or v["price"]["amount"] > MAX_PRICE]
    found += [f"text {text!r}" for text in lines if unprintable(text) or text != text.strip()]
    if unprintable(payload.get("description") or "", allowed="\n"):
        found.append(f"description {payload['description']!r}")
    found += [f"image {image['url']!r}" for image in images
              if not image["url"].startswith(("http://", "https://")) or unprintable(image["url"])]
    return found


async def test_fuzzed_admin_catalog_routes_store_only_what_a_client_may_send(
        settings: Settings, gateway: httpx.AsyncClient, admin: dict) -> None:
    # A category of its own: the products the fuzzer makes land in no other test's lists.
    made = await gateway.post("/v1/admin/categories", headers=admin,
                              json={"name": f"Fuzz {uuid.uuid4().hex[:8]}"})
    assert made.status_code == 201, made.text
    category = made.json() | {"token": made.headers["X-Consistency-Token"]}
    target = await make_product(gateway, admin, category, "Fuzz target", 1000, 5)
    result = await fuzz(settings, admin, category["id"], target["id"])

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested and int(tested.group(1)) >= 3, result.stdout[-3000:]

    stored = [e for _, _, e in await read_events(settings, CATALOG.events.name)
              if e.type in ("ProductCreated", "ProductChanged")
              and (e.payload.get("category_id") == category["id"]
                   or e.aggregate_id == target["id"])]
    assert len(stored) > 1, "the fuzzer stored nothing: it tested no write"
    assert {e.aggregate_id: problems(e.payload) for e in stored if problems(e.payload)} == {}

    _, auth = await shopper(gateway, "fuzz-cart")
    for product_id in sorted({e.aggregate_id for e in stored})[:10]:
        added = await gateway.post("/v1/cart/items", headers=auth,
                                   json={"product_id": product_id, "quantity": 1})
        assert added.status_code < 500, added.text
    cart = await gateway.get("/v1/cart", headers=auth)
    assert cart.status_code == 200, cart.text
