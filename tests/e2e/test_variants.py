"""Products in sizes through the gateway: chosen in the cart, priced, reserved and sold per
variant, the last unit of a size once, the other sizes untouched."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from infra.settings import Settings
from tests.e2e.test_checkout import (
    ENDED,
    check_out,
    order_when,
    placed,
    receipt_of,
    subjects_to,
)
from tests.mail_support import mails_to
from tests.support import eventually, make_product, shopper

SIZES = {"S": (1500, 5), "M": (1700, 3), "L": (1900, 4)}


async def make_shirt(http: httpx.AsyncClient, admin: dict, category: dict, name: str,
                     sizes: dict[str, tuple[int, int]] = SIZES) -> dict:
    """A product in sizes, each (price, stock); its dict maps `sizes` to variant ids."""
    sku = f"TEE-{uuid.uuid4().hex[:10]}"
    response = await http.post(
        "/v1/admin/products", headers=admin | {"X-Consistency-Token": category["token"]},
        json={"sku": sku, "name": name, "category_id": category["id"],
              "price": {"amount": 1500, "currency": "EUR"},
              "options": [{"name": "Size", "values": list(sizes)}],
              "variants": [{"sku": f"{sku}-{size}", "options": {"Size": size},
                            "price": {"amount": price, "currency": "EUR"}, "stock": stock}
                           for size, (price, stock) in sizes.items()]})
    assert response.status_code == 201, response.text
    product = response.json()
    return product | {"token": response.headers["X-Consistency-Token"],
                      "sizes": {v["options"]["Size"]: v["id"] for v in product["variants"]}}


async def add(http: httpx.AsyncClient, headers: dict, product: dict, quantity: int = 1,
              size: str | None = None, **extra) -> httpx.Response:
    body = {"product_id": product["id"], "quantity": quantity} | extra
    if size is not None:
        body["variant_id"] = product["sizes"][size]
    return await http.post("/v1/cart/items", json=body,
                           headers=headers | {"X-Consistency-Token": product["token"]})


async def stocks(http: httpx.AsyncClient, product: dict) -> dict[str, int]:
    page = (await http.get(f"/v1/products/{product['id']}")).json()
    return {v["options"]["Size"]: v["stock"]["available"] for v in page["variants"]}


async def stocks_reach(http: httpx.AsyncClient, product: dict, expected: dict[str, int]
                       ) -> None:
    async def reached():
        return await stocks(http, product) == expected

    await eventually(reached)


async def test_a_shopper_buys_size_m_at_its_price_and_only_m_s_stock_goes_down(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    shirt = await make_shirt(gateway, admin, category, "Variant T-shirt")
    page = (await gateway.get(f"/v1/products/{shirt['id']}",
                              headers={"X-Consistency-Token": shirt["token"]})).json()
    assert page["options"] == [{"name": "Size", "values": ["S", "M", "L"]}]
    assert [(v["sku"].rsplit("-", 1)[1], v["options"], v["price"]["amount"],
             v["stock"]["available"]) for v in page["variants"]] == [
        ("S", {"Size": "S"}, 1500, 5), ("M", {"Size": "M"}, 1700, 3),
        ("L", {"Size": "L"}, 1900, 4)]
    assert page["stock"]["available"] == 12
    email, me = await shopper(gateway, "variant")

    added = await add(gateway, me, shirt, 1, "M")

    assert added.status_code == 200, added.text
    [line] = added.json()["items"]
    assert (line["id"], line["variant_id"], line["product_id"]) == (
        shirt["sizes"]["M"], shirt["sizes"]["M"], shirt["id"])
    assert (line["options"], line["unit_price"]["amount"], line["available"]) == (
        {"Size": "M"}, 1700, 3)

    order = await placed(gateway, me, "card", "tok_visa")

    assert order["status"] == "confirmed", order
    [item] = order["items"]
    assert (item["variant_id"], item["options"], item["sku"], item["unit_price"]["amount"],
            item["quantity"]) == (shirt["sizes"]["M"], {"Size": "M"}, f"{shirt['sku']}-M",
                                  1700, 1)
    assert (order["subtotal"]["amount"], order["shipping"]["amount"]) == (1700, 490)
    receipt = await receipt_of(gateway, me, order["id"])
    assert [(i["options"], i["unit_price"]["amount"]) for i in receipt["items"]] == [
        ({"Size": "M"}, 1700)]
    assert receipt["total"]["amount"] == 2190
    await stocks_reach(gateway, shirt, {"S": 5, "M": 2, "L": 4})

    await subjects_to(settings, email, "Your order is confirmed", "Your receipt")
    for mail in await mails_to(settings, email):
        if str(mail["Subject"]).startswith(("Your order is confirmed", "Your receipt")):
            assert "Variant T-shirt (Size: M)" in mail.get_body(("plain",)).get_content()
            assert "Variant T-shirt (Size: M)" in mail.get_body(("html",)).get_content()

    audit = (await gateway.get(f"/v1/audit/orders/{order['id']}", headers=me)).json()
    [reserved] = [e for e in audit["events"] if e["type"] == "StockReserved"]
    assert reserved["payload"]["variants"] == [
        {"variant_id": shirt["sizes"]["M"], "quantity": 1, "available": 2}]


async def test_ten_shoppers_race_for_the_last_m_one_confirms_and_l_is_untouched(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    shirt = await make_shirt(gateway, admin, category, "Race T-shirt",
                             {"S": (1500, 2), "M": (1700, 1), "L": (1900, 6)})
    shoppers = [(await shopper(gateway, "race-m"))[1] for _ in range(10)]
    for headers in shoppers:
        assert (await add(gateway, headers, shirt, 1, "M")).status_code == 200

    responses = await asyncio.gather(*(check_out(gateway, headers, "card", "tok_visa")
                                       for headers in shoppers))

    # Most find the size gone when the product decides; one that checks out after the
    # catalog already shows 0 of M is refused at once, with the same reason.
    refused = [r for r in responses if r.status_code == 409]
    assert all("Race T-shirt (Size: M)" in r.json()["detail"] for r in refused), refused
    accepted = [(headers, r.json()["order_id"]) for headers, r in zip(shoppers, responses)
                if r.status_code == 202]
    assert len(accepted) + len(refused) == 10
    orders = [await order_when(gateway, headers, order_id, ENDED)
              for headers, order_id in accepted]
    assert [o["status"] for o in orders].count("confirmed") == 1
    cancelled = [o for o in orders if o["status"] == "cancelled"]
    assert len(cancelled) == len(accepted) - 1
    assert all(o["cancelled_by"] == "stock" and
               o["cancel_reason"] == "Race T-shirt (Size: M): sold out." for o in cancelled)
    await stocks_reach(gateway, shirt, {"S": 2, "M": 0, "L": 6})


async def test_the_variant_is_required_known_and_in_stock_and_lines_are_kept_per_variant(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    shirt = await make_shirt(gateway, admin, category, "Checked T-shirt")
    mug = await make_product(gateway, admin, category, "Plain mug", 900, 5)
    _, me = await shopper(gateway, "variant-422")

    no_variant = await add(gateway, me, shirt, 1)
    on_a_plain_product = await add(gateway, me, mug, 1, variant_id=shirt["sizes"]["S"])
    unknown = await add(gateway, me, shirt, 1, variant_id=str(uuid.uuid4()))
    of_another_product = await add(gateway, me, mug | {"sizes": shirt["sizes"]}, 1, "S")
    beyond_m = await add(gateway, me, shirt, 4, "M")

    for response, says in ((no_variant, "comes in variants"),
                           (on_a_plain_product, "has no variants"),
                           (unknown, "has no variant"), (of_another_product, "has no variants")):
        assert response.status_code == 422, response.text
        assert says in response.json()["errors"][0]["message"]
        assert response.json()["errors"][0]["field"] == "body.variant_id"
    assert beyond_m.status_code == 409
    assert "Only 3 of Checked T-shirt (Size: M) in stock" in beyond_m.json()["detail"]

    await add(gateway, me, shirt, 2, "S")
    await add(gateway, me, shirt, 3, "M")
    cart = (await add(gateway, me, mug, 1)).json()
    assert sorted((i["options"].get("Size", "-"), i["quantity"], i["line_total"]["amount"])
                  for i in cart["items"]) == [("-", 1, 900), ("M", 3, 5100), ("S", 2, 3000)]
    assert next(i for i in cart["items"] if i["product_id"] == mug["id"])["id"] == mug["id"]

    too_many_m = await gateway.patch(f"/v1/cart/items/{shirt['sizes']['M']}", headers=me,
                                     json={"quantity": 4})
    one_m = await gateway.patch(f"/v1/cart/items/{shirt['sizes']['M']}", headers=me,
                                json={"quantity": 1})
    no_s = await gateway.delete(f"/v1/cart/items/{shirt['sizes']['S']}", headers=me)
    assert too_many_m.status_code == 409
    assert one_m.status_code == 200 and no_s.status_code == 200, (one_m.text, no_s.text)
    assert sorted((i["id"], i["quantity"]) for i in no_s.json()["items"]) == sorted(
        [(shirt["sizes"]["M"], 1), (mug["id"], 1)])
    assert (await gateway.delete(f"/v1/cart/items/{shirt['sizes']['L']}",
                                 headers=me)).status_code == 404


async def test_an_admin_is_told_what_is_wrong_with_variants_and_sets_one_s_price_and_stock(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    base = {"sku": f"BAD-{uuid.uuid4().hex[:8]}", "name": "Bad shirt",
            "category_id": category["id"], "price": {"amount": 1000, "currency": "EUR"}}
    sizes = [{"name": "Size", "values": ["S", "M"]}]
    cases = {
        "repeats another variant's options": {"options": sizes, "variants": [
            {"sku": "A", "options": {"Size": "S"}}, {"sku": "B", "options": {"Size": "S"}}]},
        "given to two variants": {"options": sizes, "variants": [
            {"sku": "A", "options": {"Size": "S"}}, {"sku": "A", "options": {"Size": "M"}}]},
        "is not a value of": {"options": sizes, "variants": [
            {"sku": "A", "options": {"Size": "XL"}}]},
        "one value of each option": {"options": sizes + [{"name": "Colour",
                                                          "values": ["Red"]}],
                                     "variants": [{"sku": "A", "options": {"Size": "S"}}]},
        "come together": {"options": sizes},
        'must not hold ":"': {"options": [{"name": "Size:EU", "values": ["42"]}],
                              "variants": [{"sku": "A", "options": {"Size:EU": "42"}}]},
        "at most 20 items": {"options": [{"name": "Size", "values": [str(n) for n in
                                                                      range(21)]}],
                             "variants": [{"sku": "A", "options": {"Size": "1"}}]},
        "must be printable text": {"options": [{"name": "Size", "values": ["S\u202e"]}],
                                   "variants": [{"sku": "A", "options": {"Size": "S\u202e"}}]},
    }
    for says, fields in cases.items():
        response = await gateway.post("/v1/admin/products", headers=admin,
                                      json=base | fields)
        assert response.status_code == 422, (says, response.text)
        assert any(says in e["message"] for e in response.json()["errors"]), (
            says, response.text)

    shirt = await make_shirt(gateway, admin, category, "Repriced T-shirt")
    changed = await gateway.patch(
        f"/v1/admin/products/{shirt['id']}/variants/{shirt['sizes']['L']}", headers=admin,
        json={"price": {"amount": 2100, "currency": "EUR"}, "stock": 9})
    assert changed.status_code == 200, changed.text
    assert [(v["options"]["Size"], v["price"]["amount"], v["stock"]["available"])
            for v in changed.json()["variants"]] == [("S", 1500, 5), ("M", 1700, 3),
                                                     ("L", 2100, 9)]
    assert changed.json()["stock"]["available"] == 17
    unknown = await gateway.patch(f"/v1/admin/products/{shirt['id']}/variants/{uuid.uuid4()}",
                                  headers=admin, json={"stock": 1})
    whole_stock = await gateway.patch(f"/v1/admin/products/{shirt['id']}", headers=admin,
                                      json={"stock": 1})
    assert unknown.status_code == 404
    assert whole_stock.status_code == 422 and "stock of each" in whole_stock.text
