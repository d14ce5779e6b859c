"""A shopper fills a cart through the gateway; the totals are right at every step."""

from __future__ import annotations

import uuid

import httpx

from infra.clients import Clients
from tests.support import log_in, make_product, shopstream, sign_up, unique_email


def summary(cart: dict) -> tuple:
    return (cart["subtotal"]["amount"], cart["item_count"],
            sorted((line["name"], line["quantity"], line["unit_price"]["amount"],
                    line["line_total"]["amount"]) for line in cart["items"]))


async def test_a_shopper_adds_changes_and_removes_with_right_totals(
        gateway: httpx.AsyncClient, admin: dict, category: dict, clients: Clients) -> None:
    mug = await make_product(gateway, admin, category, "Stoneware mug", 1250, 5)
    teapot = await make_product(gateway, admin, category, "Cast iron teapot", 3999, 2)
    email = unique_email("cart")
    created = await sign_up(gateway, email)
    shopper = await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])
    # The catalog view has both products once it has the teapot's write.
    assert (await gateway.get(f"/v1/products/{teapot['id']}",
                              headers={"X-Consistency-Token": teapot["token"]})).status_code == 200

    empty = (await gateway.get("/v1/cart", headers=shopper)).json()
    two_mugs = await gateway.post("/v1/cart/items", headers=shopper,
                                  json={"product_id": mug["id"], "quantity": 2})
    and_teapot = await gateway.post("/v1/cart/items", headers=shopper,
                                    json={"product_id": teapot["id"], "quantity": 1})
    beyond_stock = await gateway.post("/v1/cart/items", headers=shopper,
                                      json={"product_id": teapot["id"], "quantity": 2})
    unknown = await gateway.post("/v1/cart/items", headers=shopper,
                                 json={"product_id": str(uuid.uuid4()), "quantity": 1})
    four_mugs = await gateway.patch(f"/v1/cart/items/{mug['id']}", headers=shopper,
                                    json={"quantity": 4})
    no_teapot = await gateway.delete(f"/v1/cart/items/{teapot['id']}", headers=shopper)

    assert summary(empty) == (0, 0, [])
    assert summary(two_mugs.json()) == (2500, 2, [("Stoneware mug", 2, 1250, 2500)])
    assert summary(and_teapot.json()) == (6499, 3, [("Cast iron teapot", 1, 3999, 3999),
                                                    ("Stoneware mug", 2, 1250, 2500)])
    assert beyond_stock.status_code == 409
    assert unknown.status_code == 404
    assert summary(four_mugs.json()) == (8999, 5, [("Cast iron teapot", 1, 3999, 3999),
                                                   ("Stoneware mug", 4, 1250, 5000)])
    assert summary(no_teapot.json()) == (5000, 4, [("Stoneware mug", 4, 1250, 5000)])

    # A price change shows in the cart.
    repriced = await gateway.patch(f"/v1/admin/products/{mug['id']}", headers=admin,
                                   json={"price": {"amount": 1100, "currency": "EUR"}})
    assert repriced.status_code == 200
    assert summary((await gateway.get("/v1/cart", headers=shopper)).json()) == (
        4400, 4, [("Stoneware mug", 4, 1100, 4400)])

    # The cart survives losing its Redis cache (rebuilt from MongoDB) and a full replay.
    keys = [key async for key in clients.redis.scan_iter("cart:*")]
    assert keys, "carts are cached in Redis"
    await clients.redis.delete(*keys)
    assert summary((await gateway.get("/v1/cart", headers=shopper)).json()) == (
        4400, 4, [("Stoneware mug", 4, 1100, 4400)])
    shopstream("replay", "carts")
    await clients.redis.delete(*[key async for key in clients.redis.scan_iter("cart:*")] or
                               ["cart:none"])
    assert summary((await gateway.get("/v1/cart", headers=shopper)).json()) == (
        4400, 4, [("Stoneware mug", 4, 1100, 4400)])
