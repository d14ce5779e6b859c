"""A client that carries no consistency token sees its own writes, and everyone sees an
acknowledged write by key: each step below runs at once after the one before, through
the gateway, with plain requests that know only the REST contract."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx

from tests.support import PASSWORD, sign_up, unique_email

ADDRESS = {"full_name": "Ada Shopper", "line1": "1 Market Street", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}


async def _signed_up_and_in(http: httpx.AsyncClient) -> int:
    """Sign up, then log in at once; the login's status."""
    email = unique_email("ryw")
    created = await sign_up(http, email)
    assert created.status_code == 201, created.text
    login = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    return login.status_code


async def test_every_login_right_after_sign_up_succeeds(gateway: httpx.AsyncClient) -> None:
    limit = asyncio.Semaphore(16)

    async def one() -> int:
        async with limit:
            return await _signed_up_and_in(gateway)

    statuses = Counter(await asyncio.gather(*(one() for _ in range(200))))
    assert statuses == Counter({200: 200})


async def _journey(http: httpx.AsyncClient, admin: dict) -> list[str]:
    """Category, product, a new shopper's cart, checkout, the order: what went wrong."""
    failures: list[str] = []

    def expect(response: httpx.Response, status: int, step: str) -> dict:
        if response.status_code != status:
            failures.append(f"{step}: {response.status_code} {response.text[:200]}")
            raise _Stop
        return response.json()

    try:
        category = expect(await http.post(
            "/v1/admin/categories", headers=admin,
            json={"name": f"Fresh {uuid.uuid4().hex[:8]}"}), 201, "category")
        product = expect(await http.post("/v1/admin/products", headers=admin, json={
            "sku": f"RYW-{uuid.uuid4().hex[:12]}", "name": "Fresh tea", "stock": 5,
            "category_id": category["id"], "price": {"amount": 1250, "currency": "EUR"}}),
            201, "product")
        seen_by_anyone = expect(await http.get(f"/v1/products/{product['id']}"), 200,
                                "product page")
        assert seen_by_anyone["category"]["id"] == category["id"]
        email = unique_email("journey")
        expect(await sign_up(http, email), 201, "sign-up")
        tokens = expect(await http.post("/v1/auth/login", json={
            "email": email, "password": PASSWORD}), 200, "login")
        shopper = {"Authorization": f"Bearer {tokens['access_token']}"}
        cart = expect(await http.post("/v1/cart/items", headers=shopper, json={
            "product_id": product["id"], "quantity": 2}), 200, "add to cart")
        if [(i["product_id"], i["quantity"]) for i in cart["items"]] != [(product["id"], 2)]:
            failures.append(f"cart: {cart['items']}")
        shown = expect(await http.get("/v1/cart", headers=shopper), 200, "cart")
        if shown["item_count"] != 2:
            failures.append(f"cart read: {shown}")
        accepted = expect(await http.post("/v1/checkout", headers=shopper | {
            "Idempotency-Key": str(uuid.uuid4())}, json={
            "shipping_address": ADDRESS, "payment_method": {"type": "card", "token": "tok_visa"}}),
            202, "checkout")
        order = expect(await http.get(f"/v1/orders/{accepted['order_id']}", headers=shopper),
                       200, "order")
        if [line["quantity"] for line in order["items"]] != [2]:
            failures.append(f"order lines: {order['items']}")
        listed = expect(await http.get("/v1/orders", headers=shopper), 200, "orders")
        if [o["id"] for o in listed["items"]] != [accepted["order_id"]]:
            failures.append(f"order history: {listed['items']}")
    except _Stop:
        pass
    return failures


class _Stop(Exception):
    pass


async def test_a_whole_journey_at_once_fifty_times(gateway: httpx.AsyncClient,
                                                   admin: dict) -> None:
    failures = [f for _ in range(50) for f in await _journey(gateway, admin)]
    assert failures == []


async def test_fifty_journeys_by_32_clients_at_once(gateway: httpx.AsyncClient,
                                                    admin: dict) -> None:
    limit = asyncio.Semaphore(32)

    async def one() -> list[str]:
        async with limit:
            return await _journey(gateway, admin)

    failures = [f for fs in await asyncio.gather(*(one() for _ in range(50))) for f in fs]
    assert failures == []


async def test_a_session_sees_its_profile_change_on_another_replica(settings) -> None:
    """The write goes through one API replica, the read through the other."""
    first, second = (f"http://127.0.0.1:{port}" for port in settings.api_replica_ports[:2])
    async with httpx.AsyncClient(base_url=first, timeout=30) as one, \
            httpx.AsyncClient(base_url=second, timeout=30) as other:
        email = unique_email("replicas")
        assert (await sign_up(one, email)).status_code == 201
        login = await other.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for n in range(20):
            name = f"Renamed {n}"
            changed = await one.patch("/v1/users/me", headers=headers, json={"full_name": name})
            assert changed.status_code == 200, changed.text
            shown = await other.get("/v1/users/me", headers=headers)
            assert shown.json()["full_name"] == name


async def test_an_unknown_product_is_still_not_found(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(f"/v1/products/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
