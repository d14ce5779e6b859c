"""Shoppers check out through the gateway: every payment method, to confirmed or cancelled."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from commands.pricing import vat_contained
from infra.settings import Settings
from tests.mail_support import MAIL_WAIT_S, mails_to
from tests.support import eventually, make_product, shopper, shopstream

ADDRESS = {"full_name": "Ada Shopper", "line1": "1 Market Street", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}
ENDED = ("confirmed", "cancelled")


async def fill_cart(http: httpx.AsyncClient, headers: dict, *lines: tuple[dict, int]) -> None:
    for product, quantity in lines:
        response = await http.post("/v1/cart/items", headers=headers | {
            "X-Consistency-Token": product["token"]},
            json={"product_id": product["id"], "quantity": quantity})
        assert response.status_code == 200, response.text


async def check_out(http: httpx.AsyncClient, headers: dict, method: str,
                    token: str | None = None, key: str | None = None) -> httpx.Response:
    payment = {"type": method} | ({"token": token} if token else {})
    return await http.post("/v1/checkout", headers=headers | (
        {"Idempotency-Key": key} if key else {}),
        json={"shipping_address": ADDRESS, "payment_method": payment})


async def order_when(http: httpx.AsyncClient, headers: dict, order_id: str,
                     statuses: tuple[str, ...], timeout_s: float = 30) -> dict:
    """The order once its status is one of `statuses`."""
    async def reached():
        response = await http.get(f"/v1/orders/{order_id}", headers=headers)
        return response.json() if (response.status_code == 200
                                   and response.json()["status"] in statuses) else None

    return await eventually(reached, timeout_s=timeout_s, interval_s=0.2)


async def placed(http: httpx.AsyncClient, headers: dict, method: str, token: str | None,
                 statuses: tuple[str, ...] = ENDED) -> dict:
    response = await check_out(http, headers, method, token)
    assert response.status_code == 202, response.text
    return await order_when(http, headers, response.json()["order_id"], statuses)


async def payment_when(http: httpx.AsyncClient, headers: dict, order: dict,
                       status: str) -> dict:
    """The order's payment once its status is `status`."""
    async def reached():
        response = await http.get(f"/v1/payments/{order['payment']['id']}", headers=headers)
        return response.json() if (response.status_code == 200
                                   and response.json()["status"] == status) else None

    return await eventually(reached)


async def receipt_of(http: httpx.AsyncClient, headers: dict, order_id: str) -> dict:
    """The order's receipt, once issued."""
    async def issued():
        response = await http.get(f"/v1/orders/{order_id}/receipt", headers=headers)
        return response.json() if response.status_code == 200 else None

    return await eventually(issued)


async def subjects_to(settings: Settings, address: str, *starts: str) -> list[str]:
    """The subjects of `address`'s mail, once one starting with each of `starts` is there."""
    async def arrived():
        subjects = [str(m["Subject"]) for m in await mails_to(settings, address)]
        return subjects if all(any(s.startswith(start) for s in subjects)
                               for start in starts) else None

    return await eventually(arrived, timeout_s=MAIL_WAIT_S, interval_s=0.25)


async def stock_of(http: httpx.AsyncClient, product: dict) -> int:
    return (await http.get(f"/v1/products/{product['id']}")).json()["stock"]["available"]


async def stock_reaches(http: httpx.AsyncClient, product: dict, available: int) -> None:
    async def reached():
        return await stock_of(http, product) == available

    await eventually(reached)


async def test_a_card_order_is_confirmed_receipted_emailed_and_tracked_to_delivery(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    mug = await make_product(gateway, admin, category, "Checkout mug", 1250, 5)
    teapot = await make_product(gateway, admin, category, "Checkout teapot", 3999, 2)
    email, me = await shopper(gateway, "card")
    await fill_cart(gateway, me, (mug, 2), (teapot, 1))

    key = str(uuid.uuid4())
    first = await check_out(gateway, me, "card", "tok_visa", key)
    again = await check_out(gateway, me, "card", "tok_visa", key)
    assert first.status_code == 202, first.text
    order_id = first.json()["order_id"]
    assert first.headers["Location"].endswith(f"/v1/orders/{order_id}")
    assert (again.status_code, again.json()["order_id"]) == (202, order_id)

    order = await order_when(gateway, me, order_id, ENDED)
    assert order["status"] == "confirmed", order
    subtotal = 2 * 1250 + 3999                        # free shipping from 50.00
    assert (order["subtotal"]["amount"], order["shipping"]["amount"],
            order["total"]["amount"], order["tax"]["amount"]) == (
        subtotal, 0, subtotal, vat_contained(subtotal))
    assert order["payment"]["method"] == "card" and order["confirmed_at"]

    issued = await receipt_of(gateway, me, order_id)
    assert issued["receipt_number"].startswith(order["created_at"][:4] + "-")
    assert (issued["order_id"], issued["payment_id"]) == (order_id, order["payment"]["id"])
    assert (issued["total"]["amount"], issued["tax"]["amount"], issued["shipping"]["amount"],
            issued["subtotal"]["amount"]) == (6499, 1083, 0, 6499)
    assert (issued["payment_method"], issued["card_last4"]) == ("card", "4242")
    assert sorted((i["name"], i["quantity"], i["line_total"]["amount"])
                  for i in issued["items"]) == [("Checkout mug", 2, 2500),
                                                ("Checkout teapot", 1, 3999)]
    payment = (await gateway.get(f"/v1/payments/{order['payment']['id']}", headers=me)).json()
    assert (payment["status"], payment["amount"]["amount"]) == ("captured", 6499)

    async def cart_emptied():
        return (await gateway.get("/v1/cart", headers=me)).json()["items"] == []

    await eventually(cart_emptied)
    assert await stock_of(gateway, mug) == 3 and await stock_of(gateway, teapot) == 1
    history = (await gateway.get("/v1/orders", headers=me)).json()
    assert [o["id"] for o in history["items"]] == [order_id]

    steps = [{"status": "packed"},
             {"status": "shipped", "carrier": "DHL", "tracking_number": "JD014600006101"},
             {"status": "out_for_delivery"}, {"status": "delivered"}]
    for step in steps:
        response = await gateway.post(f"/v1/admin/orders/{order_id}/fulfilment",
                                      headers=admin, json=step)
        assert response.status_code == 202, response.text
        if step["status"] == "shipped":
            late = await gateway.post(f"/v1/orders/{order_id}/cancel", headers=me)
            assert late.status_code == 409, late.text

    async def delivered():
        tracking = (await gateway.get(f"/v1/orders/{order_id}/tracking", headers=me)).json()
        return tracking if tracking["status"] == "delivered" else None

    tracking = await eventually(delivered)
    assert (tracking["carrier"], tracking["tracking_number"]) == ("DHL", "JD014600006101")
    assert [h["status"] for h in tracking["history"]][-4:] == [
        "packed", "shipped", "out_for_delivery", "delivered"]

    subjects = await subjects_to(settings, email, "Your order is confirmed", "Your receipt",
                                 "Your order is on its way", "Your order is out for delivery",
                                 "Your order was delivered")
    await asyncio.sleep(1)
    subjects = [str(m["Subject"]) for m in await mails_to(settings, email)]
    assert len(set(subjects)) == len(subjects), subjects  # each sent once

    audit = (await gateway.get(f"/v1/audit/orders/{order_id}", headers=me)).json()
    types = [e["type"] for e in audit["events"]]
    for expected in ("OrderPlaced", "StockReserved", "OrderAwaitingPayment", "PaymentRequested",
                     "PaymentCaptured", "OrderConfirmed", "OrderPaid", "ReceiptIssued",
                     "FulfilmentRecorded"):
        assert expected in types, (expected, types)
    assert "PaymentAuthorized" not in types  # a card is charged in one call
    assert types.index("OrderPlaced") < types.index("PaymentCaptured") < types.index(
        "OrderConfirmed")
    assert all({"topic", "partition", "offset", "event_id"} <= set(e) for e in audit["events"])
    timeline = shopstream("audit", "order", order_id).stdout
    assert "OrderPlaced" in timeline and "OrderConfirmed" in timeline


async def test_a_declined_card_cancels_with_the_reason_puts_stock_back_and_keeps_the_cart(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    lamp = await make_product(gateway, admin, category, "Declined lamp", 4500, 3)
    email, me = await shopper(gateway, "declined")
    await fill_cart(gateway, me, (lamp, 2))

    order = await placed(gateway, me, "card", "tok_chargeDeclined")

    assert order["status"] == "cancelled"
    assert "declined" in order["cancel_reason"]
    assert (await gateway.get(f"/v1/orders/{order['id']}/receipt", headers=me)).status_code == 404
    payment = (await gateway.get(f"/v1/payments/{order['payment']['id']}", headers=me)).json()
    assert payment["status"] == "failed" and "declined" in payment["failure_reason"]
    await stock_reaches(gateway, lamp, 3)
    cart = (await gateway.get("/v1/cart", headers=me)).json()
    assert [(i["product_id"], i["quantity"]) for i in cart["items"]] == [(lamp["id"], 2)]
    await subjects_to(settings, email, "Your order was cancelled")


async def test_a_bank_transfer_waits_then_settles_and_confirms(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    chair = await make_product(gateway, admin, category, "Transfer chair", 8900, 2)
    _, me = await shopper(gateway, "transfer")
    await fill_cart(gateway, me, (chair, 1))

    waiting = await placed(gateway, me, "bank_transfer", None, ("awaiting_payment",))
    await payment_when(gateway, me, waiting, "pending")

    order = await order_when(gateway, me, waiting["id"], ENDED)
    assert order["status"] == "confirmed"
    payment = await gateway.get(f"/v1/payments/{waiting['payment']['id']}", headers=me)
    assert payment.json()["status"] == "captured"


async def test_a_declined_wallet_cancels_and_an_accepted_one_confirms(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    book = await make_product(gateway, admin, category, "Wallet book", 1500, 5)
    _, me = await shopper(gateway, "wallet")
    await fill_cart(gateway, me, (book, 1))

    declined = await placed(gateway, me, "wallet", "wallet_declined")
    accepted = await placed(gateway, me, "wallet", "wallet_ok")

    assert declined["status"] == "cancelled" and "wallet" in declined["cancel_reason"]
    assert accepted["status"] == "confirmed"
    assert (accepted["total"]["amount"], accepted["shipping"]["amount"]) == (1990, 490)


async def test_cash_on_delivery_confirms_at_once_and_is_captured_on_delivery(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    rug = await make_product(gateway, admin, category, "Cash rug", 12000, 1)
    _, me = await shopper(gateway, "cash")
    await fill_cart(gateway, me, (rug, 1))

    order = await placed(gateway, me, "cash_on_delivery", None)
    assert order["status"] == "confirmed"
    payment_path = f"/v1/payments/{order['payment']['id']}"
    assert (await gateway.get(payment_path, headers=me)).json()["status"] == "authorized"
    assert (await gateway.get(f"/v1/orders/{order['id']}/receipt", headers=me)).status_code == 404

    for step in ({"status": "shipped", "carrier": "UPS", "tracking_number": "1Z999AA1"},
                 {"status": "delivered"}):
        response = await gateway.post(f"/v1/admin/orders/{order['id']}/fulfilment",
                                      headers=admin, json=step)
        assert response.status_code == 202, response.text
    await payment_when(gateway, me, order, "captured")

    issued = await receipt_of(gateway, me, order["id"])
    assert (issued["payment_method"], issued["total"]["amount"]) == ("cash_on_delivery", 12000)


async def test_a_customer_cancels_a_paid_order_and_is_refunded(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    vase = await make_product(gateway, admin, category, "Refund vase", 2500, 4)
    _, me = await shopper(gateway, "refund")
    await fill_cart(gateway, me, (vase, 2))
    order = await placed(gateway, me, "card", "tok_visa")
    assert order["status"] == "confirmed"

    cancelled = await gateway.post(f"/v1/orders/{order['id']}/cancel", headers=me)
    assert cancelled.status_code == 202, cancelled.text
    await payment_when(gateway, me, order, "refunded")
    assert (await order_when(gateway, me, order["id"], ("cancelled",)))["cancelled_by"] == \
        "customer"
    await stock_reaches(gateway, vase, 4)


async def test_an_empty_cart_or_missing_stock_is_refused_with_409(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    _, me = await shopper(gateway, "empty")
    assert (await check_out(gateway, me, "card", "tok_visa")).status_code == 409
    card_without_token = await check_out(gateway, me, "card")
    assert card_without_token.status_code == 422
    card_number = await check_out(gateway, me, "card", "4242 4242 4242 4242")
    assert card_number.status_code == 422
    assert "4242" not in card_number.text  # not even echoed back


async def test_ten_shoppers_race_for_the_last_unit_and_exactly_one_order_confirms(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    last = await make_product(gateway, admin, category, "The last clock", 9900, 1)
    shoppers = [(await shopper(gateway, "race"))[1] for _ in range(10)]
    for headers in shoppers:
        await fill_cart(gateway, headers, (last, 1))

    responses = await asyncio.gather(*(check_out(gateway, headers, "card", "tok_visa")
                                       for headers in shoppers))
    accepted = [(headers, r.json()["order_id"]) for headers, r in zip(shoppers, responses)
                if r.status_code == 202]
    # Some may be refused at once (the stock already shows 0); none may be confirmed twice.
    assert all(r.status_code in (202, 409) for r in responses)
    orders = [await order_when(gateway, headers, order_id, ENDED)
              for headers, order_id in accepted]

    assert [o["status"] for o in orders].count("confirmed") == 1
    assert all("last clock" in o["cancel_reason"].lower() for o in orders
               if o["status"] == "cancelled")
    assert await stock_of(gateway, last) == 0


async def test_no_one_sees_another_shoppers_order_receipt_payment_or_audit(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    pen = await make_product(gateway, admin, category, "Private pen", 800, 5)
    _, owner = await shopper(gateway, "owner")
    _, stranger = await shopper(gateway, "stranger")
    await fill_cart(gateway, owner, (pen, 1))
    order = await placed(gateway, owner, "card", "tok_visa")
    assert order["status"] == "confirmed"

    await receipt_of(gateway, owner, order["id"])
    paths = [f"/v1/orders/{order['id']}", f"/v1/orders/{order['id']}/tracking",
             f"/v1/orders/{order['id']}/receipt", f"/v1/payments/{order['payment']['id']}",
             f"/v1/audit/orders/{order['id']}", f"/v1/audit/payments/{order['payment']['id']}"]
    for path in paths:
        assert (await gateway.get(path, headers=owner)).status_code == 200, path
        assert (await gateway.get(path, headers=stranger)).status_code == 404, path
        assert (await gateway.get(path)).status_code == 401, path
    assert (await gateway.post(f"/v1/orders/{order['id']}/cancel",
                               headers=stranger)).status_code == 404
    assert (await gateway.get("/v1/orders", headers=stranger)).json()["items"] == []


async def test_a_forgotten_customer_s_orders_keep_no_address(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    soap = await make_product(gateway, admin, category, "Forgotten soap", 600, 5)
    _, me = await shopper(gateway, "forgotten")
    await fill_cart(gateway, me, (soap, 1))
    order = await placed(gateway, me, "cash_on_delivery", None)
    assert order["shipping_address"]["line1"] == ADDRESS["line1"]
    user_id = (await gateway.get("/v1/users/me", headers=me)).json()["id"]

    shopstream("forget", user_id)

    kept = (await gateway.get(f"/v1/orders/{order['id']}", headers=me)).json()
    assert kept["shipping_address"] is None
    assert (kept["status"], kept["total"]) == (order["status"], order["total"])
