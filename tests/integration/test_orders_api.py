"""The edges of the orders, payments and audit routes over HTTP: what is refused before
any order exists. Whole checkouts are in `tests/e2e/test_checkout.py`."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support import log_in, sign_up, unique_email

ADDRESS = {"full_name": "Ada Shopper", "line1": "1 Market Street", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}


@pytest.fixture
async def me(gateway: httpx.AsyncClient) -> dict[str, str]:
    email = unique_email("orders")
    created = await sign_up(gateway, email)
    return await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])


async def test_nothing_unknown_is_shown_and_a_new_customer_has_no_orders(
        gateway: httpx.AsyncClient, me: dict, admin: dict) -> None:
    unknown = uuid.uuid4()
    for path in (f"/v1/orders/{unknown}", f"/v1/orders/{unknown}/tracking",
                 f"/v1/orders/{unknown}/receipt", f"/v1/payments/{unknown}",
                 f"/v1/audit/orders/{unknown}", f"/v1/audit/payments/{unknown}"):
        for who in (me, admin):
            response = await gateway.get(path, headers=who)
            assert response.status_code == 404, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    assert (await gateway.post(f"/v1/orders/{unknown}/cancel", headers=me)).status_code == 404

    orders = await gateway.get("/v1/orders", headers=me)
    assert orders.status_code == 200
    assert orders.json() == {"items": [], "next_cursor": None}
    assert (await gateway.get("/v1/orders", headers=me,
                              params={"cursor": "bm90IGEgY3Vyc29y"})).status_code == 422
    assert (await gateway.get("/v1/orders")).status_code == 401


async def test_checkout_refuses_an_empty_cart_and_a_bad_form(gateway: httpx.AsyncClient,
                                                            me: dict) -> None:
    def form(**payment) -> dict:
        return {"shipping_address": ADDRESS, "payment_method": payment}

    empty = await gateway.post("/v1/checkout", headers=me, json=form(type="bank_transfer"))
    assert empty.status_code == 409, empty.text
    assert "empty" in empty.json()["detail"]

    invalid = {
        "card without a token": form(type="card"),
        "wallet without a token": form(type="wallet"),
        "unknown method": form(type="cheque"),
        "extra field": form(type="card", token="tok_visa", cvc="123"),
        "country not ISO": {"shipping_address": ADDRESS | {"country": "France"},
                            "payment_method": {"type": "bank_transfer"}},
        "no address": {"payment_method": {"type": "bank_transfer"}},
        "token too long": form(type="card", token="t" * 201),
    }
    for case, body in invalid.items():
        response = await gateway.post("/v1/checkout", headers=me, json=body)
        assert response.status_code == 422, (case, response.text)


async def test_fulfilment_is_for_admins(gateway: httpx.AsyncClient, me: dict,
                                        admin: dict) -> None:
    path = f"/v1/admin/orders/{uuid.uuid4()}/fulfilment"
    assert (await gateway.post(path, headers=me, json={"status": "packed"})).status_code == 403
    assert (await gateway.post(path, headers=admin, json={"status": "lost"})).status_code == 422
    unknown = await gateway.post(path, headers=admin, json={"status": "packed"})
    assert unknown.status_code == 404, unknown.text
