"""Vouchers and shipping methods through the gateway: a discounted express order to
Germany to the cent, a usage limit raced by twenty checkouts, a per-customer limit,
and every refusal with its reason."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import httpx

from infra.settings import Settings
from tests.e2e.test_checkout import ENDED, fill_cart, order_when, receipt_of
from tests.mail_support import MAIL_WAIT_S, mails_to
from tests.support import eventually, make_product, shopper

BERLIN = {"full_name": "Erika Mustermann", "line1": "Unter den Linden 1", "city": "Berlin",
          "postal_code": "10117", "country": "DE"}
# No zone serves Antarctica.
NOWHERE = BERLIN | {"country": "AQ", "city": "McMurdo", "postal_code": "00000"}
CARD = {"type": "card", "token": "tok_visa"}


def unique_code(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}".lower()  # codes are case-insensitive


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def euros(cents: int) -> str:
    return f"€{cents // 100:,}.{cents % 100:02d}"


async def create_voucher(http: httpx.AsyncClient, admin: dict, **terms) -> dict:
    response = await http.post("/v1/admin/vouchers", headers=admin, json=terms)
    assert response.status_code == 201, response.text
    return response.json()


async def apply(http: httpx.AsyncClient, headers: dict, code: str) -> httpx.Response:
    return await http.post("/v1/cart/voucher", headers=headers, json={"code": code})


async def check_out(http: httpx.AsyncClient, headers: dict, address: dict = BERLIN,
                    method: str | None = None, key: str | None = None) -> httpx.Response:
    body = {"shipping_address": address, "payment_method": CARD} | (
        {"shipping_method": method} if method else {})
    return await http.post("/v1/checkout", json=body, headers=headers | (
        {"Idempotency-Key": key} if key else {}))


async def method_for(http: httpx.AsyncClient, country: str, code: str) -> dict:
    response = await http.get("/v1/shipping-methods", params={"country": country})
    assert response.status_code == 200, response.text
    return next(m for m in response.json()["items"] if m["code"] == code)


async def text_of_mail(settings: Settings, address: str, subject_start: str) -> str:
    async def arrived():
        for mail in await mails_to(settings, address):
            if str(mail["Subject"]).startswith(subject_start):
                return mail.get_body(("plain",)).get_content()
        return None

    return await eventually(arrived, timeout_s=MAIL_WAIT_S, interval_s=0.25)


async def test_a_ten_percent_voucher_and_express_to_germany_are_right_to_the_cent(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    mug = await make_product(gateway, admin, category, "Voucher mug", 1250, 5)
    teapot = await make_product(gateway, admin, category, "Voucher teapot", 3999, 2)
    code = unique_code("ten")
    created = await create_voucher(gateway, admin, code=code, kind="percentage", value=10)
    assert (created["code"], created["used"]) == (code.upper(), 0)
    email, me = await shopper(gateway, "discount")
    await fill_cart(gateway, me, (mug, 2), (teapot, 1))

    subtotal = 2 * 1250 + 3999                                     # 64.99
    discount = half_up(Decimal(subtotal) * 10 / 100)               # 6.499 -> 6.50
    express = await method_for(gateway, "DE", "express")
    after_discount = subtotal - discount
    free = express["free_over"] and after_discount >= express["free_over"]["amount"]
    shipping = 0 if free else express["price"]["amount"]
    total = subtotal - discount + shipping
    tax = half_up(Decimal(total) * 2000 / 12000)                   # VAT 20 %, contained
    assert (discount, shipping, total) == (650, 1290, 7139)

    cart = await apply(gateway, me, code)
    assert cart.status_code == 200, cart.text
    shown = cart.json()
    assert shown["voucher"]["code"] == code.upper() and shown["voucher"]["reason"] is None
    assert (shown["subtotal"]["amount"], shown["discount"]["amount"],
            shown["total"]["amount"]) == (subtotal, discount, subtotal - discount)

    placed = await check_out(gateway, me, method="express")
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["order_id"]
    order = await order_when(gateway, me, order_id, ENDED)
    assert order["status"] == "confirmed", order
    assert (order["subtotal"]["amount"], order["discount"]["amount"],
            order["shipping"]["amount"], order["tax"]["amount"],
            order["total"]["amount"]) == (subtotal, discount, shipping, tax, total)
    assert order["voucher"]["code"] == code.upper()
    assert order["shipping_method"] == {"code": "express", "name": express["name"]}
    payment = (await gateway.get(f"/v1/payments/{order['payment']['id']}", headers=me)).json()
    assert payment["amount"]["amount"] == total

    receipt = await receipt_of(gateway, me, order_id)
    assert (receipt["subtotal"]["amount"], receipt["discount"]["amount"],
            receipt["shipping"]["amount"], receipt["tax"]["amount"],
            receipt["total"]["amount"]) == (subtotal, discount, shipping, tax, total)
    assert receipt["voucher"]["code"] == code.upper()
    assert receipt["shipping_method"]["code"] == "express"
    lines = sum(item["line_total"]["amount"] for item in receipt["items"])
    assert lines - receipt["discount"]["amount"] + receipt["shipping"]["amount"] == total

    for subject in ("Your order is confirmed", "Your receipt"):
        text = await text_of_mail(settings, email, subject)
        assert f"Subtotal: {euros(subtotal)}" in text, text
        assert f"Discount (voucher {code.upper()}): -{euros(discount)}" in text, text
        assert f"Shipping ({express['name']}): {euros(shipping)}" in text, text
        assert f"Total: {euros(total)}" in text and f"VAT included: {euros(tax)}" in text

    async def voucher_gone_from_cart():
        cart = (await gateway.get("/v1/cart", headers=me)).json()
        return cart["items"] == [] and cart["voucher"] is None

    await eventually(voucher_gone_from_cart)


async def test_twenty_checkouts_race_for_a_voucher_of_five_uses(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    lamp = await make_product(gateway, admin, category, "Raced lamp", 2000, 100)
    code = unique_code("five")
    await create_voucher(gateway, admin, code=code, kind="fixed", value=500, usage_limit=5)
    shoppers = await asyncio.gather(*(shopper(gateway, f"race{n}") for n in range(20)))
    for _, headers in shoppers:
        await fill_cart(gateway, headers, (lamp, 1))
        assert (await apply(gateway, headers, code)).status_code == 200

    placed = await asyncio.gather(*(check_out(gateway, headers) for _, headers in shoppers))
    assert all(response.status_code == 202 for response in placed), [
        response.text for response in placed]
    orders = await asyncio.gather(*(
        order_when(gateway, headers, response.json()["order_id"], ENDED, timeout_s=120)
        for (_, headers), response in zip(shoppers, placed)))

    confirmed = [order for order in orders if order["status"] == "confirmed"]
    cancelled = [order for order in orders if order["status"] == "cancelled"]
    assert len(confirmed) == 5 and len(cancelled) == 15
    assert all(order["voucher"]["code"] == code.upper() and order["discount"]["amount"] == 500
               for order in confirmed)
    assert all(order["cancelled_by"] == "voucher" and "used up" in order["cancel_reason"]
               for order in cancelled), cancelled
    for (_, headers), order in zip(shoppers, orders):
        if order["status"] == "cancelled":
            cart = (await gateway.get("/v1/cart", headers=headers)).json()
            assert [(item["product_id"], item["quantity"]) for item in cart["items"]] == [
                (lamp["id"], 1)]

    async def used_five():
        voucher = (await gateway.get(f"/v1/admin/vouchers/{code}", headers=admin)).json()
        return voucher["used"] == 5

    await eventually(used_five)
    # The cart now knows it is used up, and says so.
    late_email, late = await shopper(gateway, "late")
    await fill_cart(gateway, late, (lamp, 1))
    refused = await apply(gateway, late, code)
    assert refused.status_code == 422 and "used up" in refused.json()["detail"]


async def test_a_per_customer_limit_refuses_the_same_customers_second_order(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    kettle = await make_product(gateway, admin, category, "Once kettle", 3000, 10)
    code = unique_code("once")
    await create_voucher(gateway, admin, code=code, kind="percentage", value=20,
                         per_customer_limit=1)
    _, me = await shopper(gateway, "once")
    await fill_cart(gateway, me, (kettle, 1))
    assert (await apply(gateway, me, code)).status_code == 200

    # Two checkouts of the same cart at once: the voucher's writer lets one have it.
    placed = await asyncio.gather(check_out(gateway, me), check_out(gateway, me))
    assert [response.status_code for response in placed] == [202, 202]
    orders = await asyncio.gather(*(order_when(gateway, me, response.json()["order_id"],
                                               ENDED) for response in placed))
    assert sorted(order["status"] for order in orders) == ["cancelled", "confirmed"], orders
    refused = next(order for order in orders if order["status"] == "cancelled")
    assert refused["cancelled_by"] == "voucher"
    assert "used up for this customer" in refused["cancel_reason"]

    # Once the first order is confirmed, the cart already refuses the code (422).
    async def used_once():
        voucher = (await gateway.get(f"/v1/admin/vouchers/{code}", headers=admin)).json()
        return voucher["used"] == 1

    await eventually(used_once)
    await fill_cart(gateway, me, (kettle, 1))
    again = await apply(gateway, me, code)
    assert again.status_code == 422 and "for this customer" in again.json()["detail"]


async def test_refusals_answer_422_with_their_reason(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    now = datetime.now(UTC)
    expired, future, minimum = unique_code("old"), unique_code("soon"), unique_code("big")
    await create_voucher(gateway, admin, code=expired, kind="fixed", value=100,
                         starts_at=(now - timedelta(days=10)).isoformat(),
                         ends_at=(now - timedelta(days=1)).isoformat())
    await create_voucher(gateway, admin, code=future, kind="fixed", value=100,
                         starts_at=(now + timedelta(days=1)).isoformat())
    await create_voucher(gateway, admin, code=minimum, kind="percentage", value=15,
                         min_subtotal={"amount": 100000, "currency": "EUR"})
    taken = await gateway.post("/v1/admin/vouchers", headers=admin,
                               json={"code": expired.upper(), "kind": "fixed", "value": 1})
    assert taken.status_code == 409, taken.text

    book = await make_product(gateway, admin, category, "Refused book", 1500, 10)
    _, me = await shopper(gateway, "refused")
    await fill_cart(gateway, me, (book, 1))
    for code, reason in ((expired, "expired"), (future, "not yet valid"),
                         (minimum, "below the minimum"), (unique_code("nope"), "Unknown")):
        response = await apply(gateway, me, code)
        assert response.status_code == 422, response.text
        assert reason in response.json()["detail"], response.json()
    assert (await gateway.get("/v1/cart", headers=me)).json()["voucher"] is None

    unserved = await gateway.get("/v1/shipping-methods", params={"country": "AQ"})
    assert unserved.status_code == 422 and "AQ" in unserved.json()["detail"]
    to_nowhere = await check_out(gateway, me, address=NOWHERE)
    assert to_nowhere.status_code == 422 and "AQ" in to_nowhere.json()["detail"]
    not_offered = await check_out(gateway, me, method="overnight")
    assert not_offered.status_code == 422, not_offered.text
    assert "not offered for DE" in not_offered.json()["detail"]
    bad_country = await gateway.get("/v1/shipping-methods", params={"country": "Germany"})
    assert bad_country.status_code == 422


async def test_a_zone_is_created_and_a_country_served_twice_is_refused(
        gateway: httpx.AsyncClient, admin: dict) -> None:
    method = {"code": "post", "name": "Post", "price": {"amount": 990, "currency": "EUR"},
              "estimated_days": {"min": 3, "max": 9}}
    served = await gateway.post("/v1/admin/shipping-zones", headers=admin, json={
        "name": "Germany again", "countries": ["DE"], "methods": [method]})
    assert served.status_code == 409 and "DE" in served.json()["detail"], served.text

    # Zones are kept forever: take a country no earlier run of this test took.
    for country in ("IS", "NO", "CH", "LI", "AD", "MC", "SM", "VA", "AL", "BA", "ME", "MK",
                    "RS", "MD", "UA", "GE", "AM", "TR", "JP", "KR", "NZ", "AU", "CA", "MX",
                    "BR", "AR", "CL", "ZA", "IN", "SG"):
        created = await gateway.post("/v1/admin/shipping-zones", headers=admin, json={
            "name": f"Zone {country}", "countries": [country], "methods": [method]})
        if created.status_code != 409:
            break
    assert created.status_code == 201, created.text
    listed = await gateway.get("/v1/shipping-methods", params={"country": country})
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [method | {"free_over": None}]
