"""A shopper browses, opens a product, searches with a typo and filters, through HTTP only.

Each run makes its own categories and products, named with a word of its own,
so it depends neither on other tests nor on the demo catalog.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.support import log_in

PRICES = [1500, 2900, 4500, 7900, 12000, 26000, 55000]
NOUNS = ["Headphones", "Speaker", "Earbuds", "Soundbar", "Amplifier", "Turntable", "Radio"]


def made_up_word() -> str:
    """A word no other run uses: letters only, so it is one token that typos can reach."""
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:9])


async def see(gateway: httpx.AsyncClient, tokens: list[str]) -> None:
    """Wait until search shows each of these writes."""
    for token in tokens:
        response = await gateway.get("/v1/search/suggest", params={"q": "x"},
                                     headers={"X-Consistency-Token": token})
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
async def shop(gateway: httpx.AsyncClient, admin_email: str) -> dict:
    """A category with a subcategory, three products in the first and four in the second."""
    admin = await log_in(gateway, admin_email)
    word = made_up_word()
    root = await gateway.post("/v1/admin/categories", headers=admin,
                              json={"name": f"Sound {word}"})
    assert root.status_code == 201, root.text
    sub = await gateway.post("/v1/admin/categories", headers=admin | {
        "X-Consistency-Token": root.headers["X-Consistency-Token"]},
        json={"name": f"Listening {word}", "parent_id": root.json()["id"]})
    assert sub.status_code == 201, sub.text
    tokens = [root.headers["X-Consistency-Token"], sub.headers["X-Consistency-Token"]]
    await see(gateway, tokens)

    async def create(n: int) -> httpx.Response:
        home = root if n < 3 else sub
        return await gateway.post("/v1/admin/products", headers=admin, json={
            "sku": f"SHOP-{word}-{n}", "name": f"Studio {word.title()} {NOUNS[n]}",
            "description": f"A calm {NOUNS[n].lower()} for long evenings of music.",
            "category_id": home.json()["id"],
            "price": {"amount": PRICES[n], "currency": "EUR"},
            "images": [{"url": f"https://img.example/{word}/{n}.jpg", "alt": "Front"}],
            "specifications": {"Colour": "Walnut", "Weight": f"{n + 1}00 g"}, "stock": n})

    products = await asyncio.gather(*(create(n) for n in range(len(PRICES))))
    assert all(p.status_code == 201 for p in products), [p.text for p in products]
    await see(gateway, [p.headers["X-Consistency-Token"] for p in products])
    return {"word": word, "root": root.json(), "sub": sub.json(),
            "products": [p.json() for p in products]}


async def pages(gateway: httpx.AsyncClient, path: str, **params) -> list[dict]:
    """Every item of a listing, following `next_cursor` to the end."""
    items: list[dict] = []
    cursor = None
    for _ in range(20):
        response = await gateway.get(path, params=params | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the listing never ended")


async def test_a_shopper_browses_a_category_with_its_subcategory_page_by_page(
        gateway: httpx.AsyncClient, shop: dict) -> None:
    tree = (await gateway.get("/v1/categories")).json()
    root = next(c for c in tree if c["id"] == shop["root"]["id"])
    assert [c["id"] for c in root["children"]] == [shop["sub"]["id"]]

    cheapest_first = await pages(gateway, f"/v1/categories/{shop['root']['slug']}/products",
                                 sort="price_asc", limit=3)
    dearest_first = await pages(gateway, f"/v1/categories/{shop['root']['slug']}/products",
                                sort="price_desc", limit=2)
    by_name = await pages(gateway, f"/v1/categories/{shop['root']['slug']}/products",
                          sort="name", limit=100)
    only_sub = await pages(gateway, f"/v1/categories/{shop['sub']['slug']}/products")

    assert [p["price"]["amount"] for p in cheapest_first] == PRICES
    assert len({p["id"] for p in cheapest_first}) == len(PRICES)  # no duplicates, no gaps
    assert [p["price"]["amount"] for p in dearest_first] == PRICES[::-1]
    assert [p["name"] for p in by_name] == sorted((p["name"] for p in by_name), key=str.lower)
    assert {p["id"] for p in only_sub} == {p["id"] for p in shop["products"][3:]}
    summary = next(p for p in cheapest_first if p["id"] == shop["products"][4]["id"])
    assert summary == {
        "id": shop["products"][4]["id"], "name": shop["products"][4]["name"],
        "slug": shop["products"][4]["slug"], "price": {"amount": 12000, "currency": "EUR"},
        "image": {"url": f"https://img.example/{shop['word']}/4.jpg", "alt": "Front"},
        "category": {"id": shop["sub"]["id"], "slug": shop["sub"]["slug"],
                     "name": shop["sub"]["name"]}}


async def test_a_shopper_opens_a_product_page(gateway: httpx.AsyncClient, shop: dict) -> None:
    product = shop["products"][2]

    page = await gateway.get(f"/v1/products/{product['id']}")

    assert page.status_code == 200
    body = page.json()
    assert body["name"] == product["name"]
    assert body["description"].startswith("A calm earbuds")
    assert body["images"] == [{"url": f"https://img.example/{shop['word']}/2.jpg",
                               "alt": "Front"}]
    assert body["specifications"] == {"Colour": "Walnut", "Weight": "300 g"}
    assert body["price"] == {"amount": 4500, "currency": "EUR"}
    assert body["stock"] == {"available": 2}
    assert body["category"]["slug"] == shop["root"]["slug"]


async def test_a_misspelt_word_still_finds_the_products_and_suggests_the_spelling(
        gateway: httpx.AsyncClient, shop: dict) -> None:
    word = shop["word"]
    misspelt = word[:4] + word[5:]  # one letter left out

    found = await gateway.get("/v1/search", params={"q": f"{misspelt} headphnes"})

    assert found.status_code == 200, found.text
    body = found.json()
    assert body["items"][0]["id"] == shop["products"][0]["id"]  # the headphones come first
    assert body["suggestion"] == f"{word} headphones"
    alone = (await gateway.get("/v1/search", params={"q": misspelt})).json()
    assert {p["id"] for p in alone["items"]} == {p["id"] for p in shop["products"]}
    assert alone["total"] == len(PRICES)
    assert alone["suggestion"] == word
    assert (await gateway.get("/v1/search", params={"q": word})).json()["suggestion"] is None


async def test_a_shopper_filters_by_price_and_the_facets_add_up(
        gateway: httpx.AsyncClient, shop: dict) -> None:
    everything = (await gateway.get("/v1/search", params={"q": shop["word"]})).json()
    filtered = await gateway.get("/v1/search", params={
        "q": shop["word"], "min_price": 2900, "max_price": 12000, "sort": "price_asc"})

    assert filtered.status_code == 200, filtered.text
    body = filtered.json()
    assert [p["price"]["amount"] for p in body["items"]] == [2900, 4500, 7900, 12000]
    assert body["total"] == 4
    assert sum(b["count"] for b in body["facets"]["price"]) == body["total"]
    assert {c["slug"]: c["count"] for c in body["facets"]["category"]} == {
        shop["root"]["slug"]: 2, shop["sub"]["slug"]: 2}
    assert sum(b["count"] for b in everything["facets"]["price"]) == len(PRICES)
    in_sub = (await gateway.get("/v1/search", params={
        "q": shop["word"], "category": shop["sub"]["slug"], "max_price": 20000})).json()
    assert {p["price"]["amount"] for p in in_sub["items"]} == {7900, 12000}


async def test_search_pages_with_a_cursor_without_repeats(
        gateway: httpx.AsyncClient, shop: dict) -> None:
    items = await pages(gateway, "/v1/search", q=shop["word"], limit=2)

    assert sorted(p["id"] for p in items) == sorted(p["id"] for p in shop["products"])


async def test_autocomplete_completes_a_few_typed_letters(
        gateway: httpx.AsyncClient, shop: dict) -> None:
    names = {p["name"] for p in shop["products"]}

    first_word = await gateway.get("/v1/search/suggest", params={
        "q": f"studio {shop['word'][:4]}"})
    second_word = await gateway.get("/v1/search/suggest", params={"q": shop["word"][:6]})
    misspelt = await gateway.get("/v1/search/suggest", params={
        "q": shop["word"][0] + shop["word"][2:8]})

    assert first_word.status_code == second_word.status_code == 200
    assert set(first_word.json()["suggestions"]) == names
    assert set(second_word.json()["suggestions"]) == names
    assert set(misspelt.json()["suggestions"]) == names


@pytest.mark.parametrize("params", [
    {"sort": "cheapest"}, {"limit": 0}, {"limit": 101}, {"cursor": "bm90IGEgY3Vyc29y"},
    {"min_price": 500, "max_price": 100}, {"min_price": -1}])
async def test_bad_search_parameters_are_422(gateway: httpx.AsyncClient, params: dict) -> None:
    response = await gateway.get("/v1/search", params={"q": "tea"} | params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


async def test_an_unknown_category_is_404_and_a_cursor_of_another_query_422(
        gateway: httpx.AsyncClient, shop: dict) -> None:
    listing = await gateway.get(f"/v1/categories/{shop['root']['slug']}/products",
                                params={"limit": 1})
    cursor = listing.json()["next_cursor"]

    assert (await gateway.get("/v1/categories/no-such-category-anywhere/products")
            ).status_code == 404
    assert (await gateway.get(f"/v1/categories/{shop['root']['slug']}/products",
                              params={"limit": 1, "sort": "name", "cursor": cursor})
            ).status_code == 422
