"""Guest checkout through the gateway: a cart held by its token, an order read with its
token from the confirmation email, merging a guest cart on signing in, and the tokens
kept out of every answer but the one that issues them and out of the events."""

from __future__ import annotations

import secrets
from uuid import UUID
from urllib.parse import quote

import httpx

from infra.guest_tokens import guest_id
from infra.settings import Settings
from schemas.topics import CART, ORDERS
from tests.e2e.test_checkout import ENDED, order_when, receipt_of
from tests.e2e.test_variants import add, make_shirt
from tests.e2e.test_vouchers_shipping import (
    BERLIN,
    CARD,
    apply,
    create_voucher,
    text_of_mail,
    unique_code,
)
from tests.support import (
    eventually,
    make_product,
    read_events,
    shopper,
    shopstream,
    unique_email,
)


async def open_cart(http: httpx.AsyncClient, product: dict, quantity: int) -> dict:
    """A guest's first cart write: the cart token it answers, as the header to send back."""
    response = await http.post("/v1/cart/items", headers={"X-Consistency-Token": product["token"]},
                               json={"product_id": product["id"], "quantity": quantity})
    assert response.status_code == 200, response.text
    token = response.headers["X-Cart-Token"]
    assert len(token) >= 43  # at least 256 bits, base64url
    return {"X-Cart-Token": token}


async def guest_checkout(http: httpx.AsyncClient, guest: dict, email: str) -> dict:
    response = await http.post("/v1/checkout", headers=guest, json={
        "shipping_address": BERLIN, "payment_method": CARD, "email": email})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert len(accepted["order_token"]) >= 22  # at least 128 bits, base64url
    return accepted


async def cart_of(http: httpx.AsyncClient, headers: dict) -> dict:
    response = await http.get("/v1/cart", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def lines(cart: dict) -> dict[str, int]:
    return {line["id"]: line["quantity"] for line in cart["items"]}


async def test_a_guest_buys_by_card_and_follows_the_order_with_its_token(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    mug = await make_product(gateway, admin, category, "Guest mug", 1250, 5)
    shirt = await make_shirt(gateway, admin, category, "Guest shirt")
    code = unique_code("guest")
    await create_voucher(gateway, admin, code=code, kind="percentage", value=10)

    guest = await open_cart(gateway, mug, 2)
    added = await add(gateway, guest, shirt, 1, size="M")
    assert added.status_code == 200, added.text
    assert "X-Cart-Token" not in added.headers  # told once
    assert (await apply(gateway, guest, code)).status_code == 200
    cart = await cart_of(gateway, guest)
    assert lines(cart) == {mug["id"]: 2, shirt["sizes"]["M"]: 1}
    assert cart["subtotal"]["amount"] == 2 * 1250 + 1700
    assert cart["discount"]["amount"] == 420

    email = unique_email("guest")
    accepted = await guest_checkout(gateway, guest, email)
    order_id, mine = accepted["order_id"], {"X-Order-Token": accepted["order_token"]}
    order = await order_when(gateway, mine, order_id, ENDED)
    assert order["status"] == "confirmed"
    assert order["total"]["amount"] == 4200 - 420 + order["shipping"]["amount"]
    assert order["shipping_address"]["city"] == "Berlin"
    tracking = await gateway.get(f"/v1/orders/{order_id}/tracking", headers=mine)
    assert tracking.status_code == 200 and tracking.json()["status"] == "confirmed"
    receipt = await receipt_of(gateway, mine, order_id)
    assert receipt["total"] == order["total"] and receipt["card_last4"] == "4242"

    text = await text_of_mail(settings, email, "Your order is confirmed")
    assert f"/orders/{order_id}?token={quote(accepted['order_token'])}" in text

    _, stranger = await shopper(gateway, "stranger")
    wrong = {"X-Order-Token": secrets.token_urlsafe(32)}
    for path in (f"/v1/orders/{order_id}", f"/v1/orders/{order_id}/tracking",
                 f"/v1/orders/{order_id}/receipt"):
        assert (await gateway.get(path, headers=mine)).status_code == 200, path
        assert (await gateway.get(path, headers=wrong)).status_code == 404, path
        assert (await gateway.get(path, headers=stranger)).status_code == 404, path
        assert (await gateway.get(path, headers=stranger | wrong)).status_code == 404, path
        # Neither a sign-in nor a token: 401, as on every route that needs one.
        assert (await gateway.get(path)).status_code == 401, path

    async def emptied():  # the saga takes the ordered lines and the voucher off the cart
        cart = await cart_of(gateway, guest)
        return cart["items"] == [] and cart["voucher"] is None

    await eventually(emptied)


async def test_signing_in_merges_a_guest_cart_into_the_account_s_once(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    mug = await make_product(gateway, admin, category, "Merged mug", 900, 10)
    shirt = await make_shirt(gateway, admin, category, "Merged shirt")
    code = unique_code("merge")
    await create_voucher(gateway, admin, code=code, kind="fixed", value=100)
    guest = await open_cart(gateway, mug, 2)
    assert (await add(gateway, guest, shirt, 1, size="S")).status_code == 200
    assert (await apply(gateway, guest, code)).status_code == 200

    _, me = await shopper(gateway, "merger")
    assert (await add(gateway, me, mug, 1)).status_code == 200
    merged = await gateway.post("/v1/cart/merge", headers=me | guest)
    assert merged.status_code == 200, merged.text
    expected = {mug["id"]: 3, shirt["sizes"]["S"]: 1}
    assert lines(merged.json()) == expected
    assert merged.json()["voucher"]["code"] == code.upper()
    assert lines(await cart_of(gateway, me)) == expected

    emptied = await cart_of(gateway, guest)
    assert emptied["items"] == [] and emptied["voucher"] is None

    again = await gateway.post("/v1/cart/merge", headers=me | guest)
    assert again.status_code == 200, again.text
    assert lines(again.json()) == expected
    assert (await gateway.post("/v1/cart/merge", headers=guest)).status_code == 401


async def test_a_wrong_cart_token_shows_nothing_and_no_token_is_in_answers_or_events(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    lamp = await make_product(gateway, admin, category, "Secret lamp", 3000, 5)
    guest = await open_cart(gateway, lamp, 1)
    cart_token = guest["X-Cart-Token"]
    real = await cart_of(gateway, guest)
    assert lines(real) == {lamp["id"]: 1}

    for headers in ({"X-Cart-Token": secrets.token_urlsafe(32)}, {"X-Cart-Token": cart_token[:-1]},
                    {}):
        other = await cart_of(gateway, headers)
        assert other["items"] == [] and other["id"] != real["id"]

    email = unique_email("sealed")
    accepted = await guest_checkout(gateway, guest, email)
    order_token = accepted["order_token"]
    mine = {"X-Order-Token": order_token}
    await order_when(gateway, mine, accepted["order_id"], ENDED)
    answers = [await gateway.get("/v1/cart", headers=guest),
               await gateway.get(f"/v1/orders/{accepted['order_id']}", headers=mine),
               await gateway.get(f"/v1/orders/{accepted['order_id']}/tracking", headers=mine)]
    for answer in answers:
        assert cart_token not in answer.text and order_token not in answer.text
        assert cart_token not in str(answer.headers) and order_token not in str(answer.headers)

    for topic in (CART.events.name, ORDERS.events.name):
        raw = "\n".join(envelope.model_dump_json()
                        for _, _, envelope in await read_events(settings, topic))
        assert cart_token not in raw and order_token not in raw and email not in raw


async def test_forgetting_a_guest_shreds_the_guest_order_s_personal_data(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    soap = await make_product(gateway, admin, category, "Guest soap", 600, 5)
    guest = await open_cart(gateway, soap, 1)
    accepted = await guest_checkout(gateway, guest, unique_email("forget"))
    mine = {"X-Order-Token": accepted["order_token"]}
    order = await order_when(gateway, mine, accepted["order_id"], ENDED)
    assert order["shipping_address"]["city"] == "Berlin"

    shopstream("forget", str(guest_id(UUID(accepted["order_id"]))))

    kept = (await gateway.get(f"/v1/orders/{order['id']}", headers=mine)).json()
    assert kept["shipping_address"] is None
    assert (kept["status"], kept["total"]) == (order["status"], order["total"])


async def test_a_guest_s_retried_writes_count_once(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    cup = await make_product(gateway, admin, category, "Guest cup", 500, 9)
    guest = await open_cart(gateway, cup, 1)
    for _ in range(2):
        again = await add(gateway, guest | {"Idempotency-Key": "one-more-cup"}, cup, 2)
        assert again.status_code == 200, again.text
    assert lines(await cart_of(gateway, guest)) == {cup["id"]: 3}

    body = {"shipping_address": BERLIN, "payment_method": CARD,
            "email": unique_email("retry")}
    answers = [await gateway.post("/v1/checkout", json=body,
                                  headers=guest | {"Idempotency-Key": "pay-once"})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json()["order_id"] == answers[1].json()["order_id"]
    assert answers[0].json()["order_token"] == answers[1].json()["order_token"]
