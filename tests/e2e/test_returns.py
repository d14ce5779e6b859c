"""Returns through the gateway: one of two lines of a delivered order bought with a
voucher goes back, its stock returns and its paid share is refunded to the cent; the
refusals (before delivery, more than bought, a stranger) and a rejection with its reason."""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

import httpx

from infra.settings import Settings
from tests.e2e.test_checkout import ENDED, order_when, payment_when
from tests.e2e.test_variants import add, make_shirt, stocks, stocks_reach
from tests.e2e.test_vouchers_shipping import (
    apply,
    check_out,
    create_voucher,
    euros,
    half_up,
    text_of_mail,
    unique_code,
)
from tests.support import eventually, make_product, shopper

DELIVERY = [{"status": "packed"},
            {"status": "shipped", "carrier": "DHL", "tracking_number": "JD014600006101"},
            {"status": "delivered"}]


def paid_shares(totals: list[int], discount: int) -> list[int]:
    """Each line's total less its share of the discount: exact shares rounded down, the
    cents left to the largest remainders."""
    subtotal = sum(totals)
    exact = [Fraction(total * discount, subtotal) for total in totals]
    shares = [int(share) for share in exact]
    for index in sorted(range(len(exact)), key=lambda i: -(exact[i] - shares[i]))[
            :discount - sum(shares)]:
        shares[index] += 1
    return [total - share for total, share in zip(totals, shares)]


async def deliver(http: httpx.AsyncClient, admin: dict, order_id: str) -> None:
    for step in DELIVERY:
        response = await http.post(f"/v1/admin/orders/{order_id}/fulfilment", headers=admin,
                                   json=step)
        assert response.status_code == 202, response.text


async def ask_return(http: httpx.AsyncClient, headers: dict, order_id: str,
                     lines: list[tuple[str, int]], reason: str = "Too small") -> httpx.Response:
    return await http.post(f"/v1/orders/{order_id}/returns", headers=headers, json={
        "lines": [{"item_id": item, "quantity": n} for item, n in lines], "reason": reason})


async def return_when(http: httpx.AsyncClient, headers: dict, order_id: str, return_id: str,
                      status: str) -> dict:
    async def reached():
        response = await http.get(f"/v1/orders/{order_id}/returns", headers=headers)
        found = [r for r in response.json()["items"] if r["id"] == return_id]
        return found[0] if found and found[0]["status"] == status else None

    return await eventually(reached)


async def bought(http: httpx.AsyncClient, admin: dict, category: dict, prefix: str
                 ) -> tuple[str, dict, dict, dict, dict]:
    """A delivered card order of a shirt in M and two mugs with a 10 % voucher:
    (email, headers, order, shirt, mug)."""
    shirt = await make_shirt(http, admin, category, f"{prefix} shirt", {"M": (1799, 3)})
    mug = await make_product(http, admin, category, f"{prefix} mug", 1333, 5)
    code = unique_code("back")
    await create_voucher(http, admin, code=code, kind="percentage", value=10)
    email, me = await shopper(http, prefix.lower())
    assert (await add(http, me, shirt, 1, "M")).status_code == 200
    assert (await add(http, me, mug, 2)).status_code == 200
    assert (await apply(http, me, code)).status_code == 200
    placed = await check_out(http, me)
    assert placed.status_code == 202, placed.text
    order = await order_when(http, me, placed.json()["order_id"], ENDED)
    assert order["status"] == "confirmed", order
    return email, me, order, shirt, mug


async def test_one_of_two_lines_goes_back_and_its_paid_share_is_refunded_to_the_cent(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    email, me, order, shirt, mug = await bought(gateway, admin, category, "Return")
    shirt_id, mug_id = shirt["sizes"]["M"], mug["id"]
    discount = half_up(Decimal(1799 + 2 * 1333) * 10 / 100)       # 446.5 -> 447
    shirt_paid, mug_paid = paid_shares([1799, 2 * 1333], discount)
    assert (order["discount"]["amount"], shirt_paid, mug_paid) == (447, 1619, 2399)
    too_early = await ask_return(gateway, me, order["id"], [(shirt_id, 1)])
    assert too_early.status_code == 409, too_early.text
    await deliver(gateway, admin, order["id"])
    await stocks_reach(gateway, shirt, {"M": 2})

    asked = await ask_return(gateway, me, order["id"], [(shirt_id, 1)])
    assert asked.status_code == 201, asked.text
    the_return = asked.json()
    assert the_return["status"] == "requested"
    assert the_return["refund"] == {"amount": shirt_paid, "currency": "EUR"}
    assert [(line["item_id"], line["quantity"]) for line in the_return["lines"]] == [
        (shirt_id, 1)]
    again = await ask_return(gateway, me, order["id"], [(shirt_id, 1)])
    assert again.status_code == 422, again.text
    assert (await ask_return(gateway, me, order["id"], [(mug_id, 3)])).status_code == 422

    for step in ("approve", "receive"):
        response = await gateway.post(f"/v1/admin/returns/{the_return['id']}/{step}",
                                      headers=admin)
        assert response.status_code == 202, response.text
    refunded = await return_when(gateway, me, order["id"], the_return["id"], "refunded")
    assert refunded["refunded"] == {"amount": shirt_paid, "currency": "EUR"}
    payment = await payment_when(gateway, me, order, "partially_refunded")
    assert payment["refunded_amount"] == {"amount": shirt_paid, "currency": "EUR"}
    await stocks_reach(gateway, shirt, {"M": 3})
    assert await stocks(gateway, shirt) == {"M": 3}
    shown = (await gateway.get(f"/v1/orders/{order['id']}", headers=me)).json()
    assert [(r["id"], r["status"]) for r in shown["returns"]] == [
        (the_return["id"], "refunded")]
    beyond = await ask_return(gateway, me, order["id"], [(shirt_id, 1)])
    assert beyond.status_code == 422, beyond.text

    assert "Refund once we receive them: " + euros(shirt_paid) in await text_of_mail(
        settings, email, "We have your return request")
    assert order["id"] in await text_of_mail(settings, email, "Your return is approved")
    assert f"refunded {euros(shirt_paid)}" in await text_of_mail(
        settings, email, "Your return was received and refunded")
    audit = (await gateway.get(f"/v1/audit/orders/{order['id']}", headers=me)).json()
    types = [event["type"] for event in audit["events"]]
    for expected in ("ReturnRequested", "ReturnApproved", "ReturnReceived", "StockReturned",
                     "PaymentRefundRequested", "PaymentRefunded", "ReturnRefunded"):
        assert expected in types, (expected, types)
    assert types.index("ReturnRequested") < types.index("ReturnReceived") < types.index(
        "ReturnRefunded")


async def test_a_rejected_return_ends_with_its_reason_and_strangers_see_nothing(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    email, me, order, shirt, mug = await bought(gateway, admin, category, "Rejected")
    await deliver(gateway, admin, order["id"])
    for bad in ([(mug["id"], 0)], [(str(uuid.uuid4()), 1)], [(mug["id"], 3)]):
        response = await ask_return(gateway, me, order["id"], bad)
        assert response.status_code == 422, (bad, response.text)
    unprintable = await ask_return(gateway, me, order["id"], [(mug["id"], 1)], "Bad\u0000")
    assert unprintable.status_code == 422, unprintable.text

    asked = await ask_return(gateway, me, order["id"], [(mug["id"], 2)], "Chipped")
    assert asked.status_code == 201, asked.text
    return_id = asked.json()["id"]
    early = await gateway.post(f"/v1/admin/returns/{return_id}/receive", headers=admin)
    assert early.status_code == 409, early.text
    rejected = await gateway.post(f"/v1/admin/returns/{return_id}/reject", headers=admin,
                                  json={"reason": "The mugs were used"})
    assert rejected.status_code == 202, rejected.text
    ended = await return_when(gateway, me, order["id"], return_id, "rejected")
    assert ended["reject_reason"] == "The mugs were used"
    late = await gateway.post(f"/v1/admin/returns/{return_id}/approve", headers=admin)
    assert late.status_code == 409, late.text
    assert "Why: The mugs were used" in await text_of_mail(
        settings, email, "Your return was not accepted")

    _, stranger = await shopper(gateway, "return-stranger")
    assert (await gateway.get(f"/v1/orders/{order['id']}/returns",
                              headers=stranger)).status_code == 404
    assert (await ask_return(gateway, stranger, order["id"], [(mug["id"], 1)])
            ).status_code == 404
    # A rejected return's units may be asked back again; a retry with the same
    # Idempotency-Key is the same return, not a second one.
    retried = [await ask_return(gateway, me | {"Idempotency-Key": "mugs-again"}, order["id"],
                                [(mug["id"], 2)]) for _ in range(2)]
    assert [r.status_code for r in retried] == [201, 201], retried[1].text
    assert retried[0].json()["id"] == retried[1].json()["id"]
    listed = (await gateway.get(f"/v1/orders/{order['id']}/returns", headers=me)).json()
    assert sorted(r["status"] for r in listed["items"]) == ["rejected", "requested"]
