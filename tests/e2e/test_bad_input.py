"""Bad input stays out, and what got in before cannot break a shopper's page.

Through the gateway against the running stack: an admin sends what a fuzzer
sent (a foreign currency, control characters, over-long text, javascript:
links, negative or absurd prices) and gets a 422 naming each field, and nothing
is stored. Products written before these rules, straight into the catalog's
events, still show, and a shopper's cart holding one still works.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from infra.settings import Settings
from schemas.events.catalog import ProductCreated
from schemas.money import Money
from schemas.topics import CATALOG
from tests.integration.test_order_notifications import envelope, produce
from tests.support import eventually, shopper

ADDRESS = {"full_name": "Ada Lovelace", "line1": "1 Market St", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}


def product_form(category_id: str, **changes) -> dict:
    return {"sku": f"IN-{uuid.uuid4().hex[:10]}", "name": "Stoneware mug",
            "description": "Glazed.\nDishwasher safe.", "category_id": category_id,
            "price": {"amount": 1250, "currency": "EUR"}, "stock": 5,
            "images": [{"url": "https://img.example/mug.png", "alt": "A mug"}],
            "specifications": {"Material": "Stoneware"}} | changes


# What the fuzzer sent, and the field each 422 must name.
BAD_PRODUCTS = [
    ({"price": {"amount": 1250, "currency": "ZQM"}}, "body.price.currency"),
    ({"price": {"amount": -1, "currency": "EUR"}}, "body.price.amount"),
    ({"price": {"amount": 10**12, "currency": "EUR"}}, "body.price.amount"),
    ({"price": {"amount": 12.5, "currency": "EUR"}}, "body.price.amount"),
    ({"name": "Mug\u0007\u001b[2J"}, "body.name"),
    ({"name": "Mug\u202egnp.exe"}, "body.name"),
    ({"name": "   "}, "body.name"),
    ({"description": "x" * 20_001}, "body.description"),
    ({"description": "Glazed\u0000"}, "body.description"),
    ({"images": [{"url": "javascript:alert(1)", "alt": "A mug"}]}, "body.images.0.url"),
    ({"images": [{"url": "https://img.example/mug.png", "alt": "A\u0008mug"}]},
     "body.images.0.alt"),
    ({"specifications": {"Material": "Stone\u0085ware"}}, "body.specifications.Material"),
    ({"specifications": {"M" * 101: "Stoneware"}}, "body.specifications"),
]


def named_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


async def test_bad_admin_input_is_a_422_naming_the_field_and_a_shopper_still_shops(
        gateway: httpx.AsyncClient, admin: dict) -> None:
    home = await gateway.post("/v1/admin/categories", headers=admin,
                              json={"name": f"Mugs {uuid.uuid4().hex[:8]}"})
    assert home.status_code == 201, home.text
    category = home.json()

    for changes, field in BAD_PRODUCTS:
        refused = await gateway.post("/v1/admin/products", headers=admin,
                                     json=product_form(category["id"], **changes))
        assert any(f.startswith(field) for f in named_fields(refused)), (changes, refused.text)
    bad_category = await gateway.post("/v1/admin/categories", headers=admin,
                                      json={"name": "Mugs\u0000"})
    assert named_fields(bad_category) == ["body.name"]

    mug = await gateway.post("/v1/admin/products", headers=admin,
                             json=product_form(category["id"], name="  Stoneware mug  "))
    assert mug.status_code == 201, mug.text
    mug_id = mug.json()["id"]
    repriced = await gateway.patch(f"/v1/admin/products/{mug_id}", headers=admin,
                                   json={"price": {"amount": 990, "currency": "ZQM"}})
    renamed = await gateway.patch(f"/v1/admin/products/{mug_id}", headers=admin,
                                  json={"name": "Mug\u0007"})
    assert named_fields(repriced) == ["body.price.currency"]
    assert named_fields(renamed) == ["body.name"]

    written = {"X-Consistency-Token": mug.headers["X-Consistency-Token"]}
    listed = await gateway.get(f"/v1/categories/{category['slug']}/products", headers=written)
    page = await gateway.get(f"/v1/products/{mug_id}", headers=written)
    _, auth = await shopper(gateway, "bad-input")
    added = await gateway.post("/v1/cart/items", headers=auth,
                               json={"product_id": mug_id, "quantity": 2})
    cart = await gateway.get("/v1/cart", headers=auth)

    assert [p["name"] for p in listed.json()["items"]] == ["Stoneware mug"]
    assert page.status_code == 200, page.text
    assert (page.json()["name"], page.json()["price"]) == (
        "Stoneware mug", {"amount": 1250, "currency": "EUR"})
    assert added.status_code == 200, added.text
    assert cart.status_code == 200, cart.text
    assert (cart.json()["subtotal"], cart.json()["item_count"]) == (
        {"amount": 2500, "currency": "EUR"}, 2)


async def test_bad_customer_and_fulfilment_input_is_a_422_naming_the_field(
        gateway: httpx.AsyncClient, admin: dict) -> None:
    _, auth = await shopper(gateway, "bad-input")
    profile = await gateway.patch("/v1/users/me", headers=auth, json={
        "full_name": "Ada\u0000", "phone": "+33 1 23\u000b45 67 89",
        "addresses": [ADDRESS | {"line1": "1 Market St\r\nInjected: yes"}]})
    checkout = await gateway.post("/v1/checkout", headers=auth, json={
        "shipping_address": ADDRESS | {"city": "L" * 201},
        "payment_method": {"type": "card", "token": "tok_visa\u0000"}})
    fulfilment = await gateway.post(f"/v1/admin/orders/{uuid.uuid4()}/fulfilment",
                                    headers=admin, json={
        "status": "shipped", "carrier": "DHL\u001b", "tracking_number": "JD" + "0" * 100})

    assert sorted(named_fields(profile)) == ["body.addresses.0.line1", "body.full_name",
                                             "body.phone"]
    assert sorted(named_fields(checkout)) == ["body.payment_method.token",
                                              "body.shipping_address.city"]
    assert sorted(named_fields(fulfilment)) == ["body.carrier", "body.tracking_number"]


@pytest.fixture
async def old_products(settings: Settings, admin: dict, gateway: httpx.AsyncClient) -> dict:
    """Products as a catalog without today's rules stored them: a price in ZQM, the
    dearest price events allowed, a name with control characters."""
    home = await gateway.post("/v1/admin/categories", headers=admin,
                              json={"name": f"Old stock {uuid.uuid4().hex[:8]}"})
    assert home.status_code == 201, home.text
    made = {name: ProductCreated(
        product_id=uuid.uuid4(), sku=f"OLD-{uuid.uuid4().hex[:10]}", name=name,
        slug=f"old-{uuid.uuid4().hex[:10]}", category_id=home.json()["id"], price=price,
        stock=10) for name, price in [("Foreign\u0007 mug", Money(amount=1250, currency="ZQM")),
                                      ("Dear\u001b[2J mug", Money(amount=10**12))]}
    await produce(settings, [(CATALOG.events.name, envelope(event, event.product_id, 1))
                             for event in made.values()])
    return {name: str(event.product_id) for name, event in made.items()}


async def test_products_stored_before_the_rules_show_and_leave_the_cart_working(
        gateway: httpx.AsyncClient, old_products: dict) -> None:
    foreign, dear = old_products["Foreign\u0007 mug"], old_products["Dear\u001b[2J mug"]

    async def shown(product_id: str) -> httpx.Response | None:
        page = await gateway.get(f"/v1/products/{product_id}")
        return page if page.status_code == 200 else None

    pages = [await eventually(lambda: shown(foreign)), await eventually(lambda: shown(dear))]
    _, auth = await shopper(gateway, "old-stock")
    refused = await gateway.post("/v1/cart/items", headers=auth,
                                 json={"product_id": foreign, "quantity": 1})
    added = await gateway.post("/v1/cart/items", headers=auth,
                               json={"product_id": dear, "quantity": 2})
    cart = await gateway.get("/v1/cart", headers=auth)

    assert [p.json()["name"] for p in pages] == ["Foreign\u0007 mug", "Dear\u001b[2J mug"]
    assert refused.status_code == 409, refused.text
    assert added.status_code == 200, added.text
    assert cart.status_code == 200, cart.text
    assert cart.json()["subtotal"]["amount"] == 2 * 10**12
