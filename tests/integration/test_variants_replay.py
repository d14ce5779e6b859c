"""Variants in the read models: search facets and filters by option value, and a replay
of the catalog and search models rebuilds the same variants, stock and facets."""

from __future__ import annotations

import uuid

import httpx

from infra.clients import Clients
from tests.e2e.test_checkout import placed
from tests.e2e.test_variants import add, make_shirt
from tests.support import eventually, replay_equals_live, shopper


async def facets_for(http: httpx.AsyncClient, word: str, *options: str) -> dict:
    response = await http.get("/v1/search", params={"q": word, "option": list(options)})
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_facets_and_filters_by_option_values_and_a_replay_keeps_them(
        gateway: httpx.AsyncClient, admin: dict, category: dict, clients: Clients) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    tee = await make_shirt(gateway, admin, category, f"Facet {word} tee",
                           {"S": (1500, 2), "M": (1600, 1), "L": (1700, 3)})
    polo = await make_shirt(gateway, admin, category, f"Facet {word} polo",
                            {"M": (2500, 4), "XL": (2900, 1)})
    _, me = await shopper(gateway, "facets")
    assert (await add(gateway, me, tee, 1, "M")).status_code == 200
    assert (await placed(gateway, me, "card", "tok_visa"))["status"] == "confirmed"
    changed = await gateway.patch(
        f"/v1/admin/products/{polo['id']}/variants/{polo['sizes']['XL']}", headers=admin,
        json={"price": {"amount": 3100, "currency": "EUR"}, "stock": 7})
    assert changed.status_code == 200, changed.text

    async def both_found():
        found = await facets_for(gateway, word)
        return found if found["total"] == 2 else None

    found = await eventually(both_found)
    sizes = found["facets"]["options"]["Size"]
    assert sorted((s["value"], s["count"]) for s in sizes) == [
        ("L", 1), ("M", 2), ("S", 1), ("XL", 1)]
    only_xl = await facets_for(gateway, word, "Size:XL")
    assert [item["id"] for item in only_xl["items"]] == [polo["id"]]
    assert (await facets_for(gateway, word, "Size:XL", "Size:S"))["total"] == 0
    assert (await gateway.get("/v1/search", params={"option": "Size"})).status_code == 422

    pages = {p["id"]: (await gateway.get(f"/v1/products/{p['id']}")).json()
             for p in (tee, polo)}
    assert [v["stock"]["available"] for v in pages[tee["id"]]["variants"]] == [2, 0, 3]
    assert [(v["price"]["amount"], v["stock"]["available"])
            for v in pages[polo["id"]]["variants"]] == [(2500, 4), (3100, 7)]
    rebuilt = await replay_equals_live(clients, "catalog")
    assert any(key.startswith("product_variants:") for key in rebuilt)
    await replay_equals_live(clients, "catalog-search")
    assert await facets_for(gateway, word) == found
    assert {p["id"]: (await gateway.get(f"/v1/products/{p['id']}")).json()
            for p in (tee, polo)} == pages
