"""The command path on the real stack: one event per command, one winner per email."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from infra.settings import Settings
from schemas.topics import CATALOG, USERS
from tests.support import PASSWORD, log_in, read_events, shopstream, sign_up, unique_email


def new_product(category: dict, **overrides) -> dict:
    return {"sku": f"SKU-{uuid.uuid4().hex[:10]}", "name": "Trail running shoe",
            "description": "Light and grippy.", "category_id": category["id"],
            "price": {"amount": 12999, "currency": "EUR"}, "specifications": {"weight": "240 g"},
            "stock": 7, **overrides}


async def test_two_requests_with_one_idempotency_key_append_one_event(
        gateway: httpx.AsyncClient, admin: dict, category: dict, settings: Settings) -> None:
    headers = admin | {"Idempotency-Key": str(uuid.uuid4()),
                       "X-Consistency-Token": category["token"]}
    body = new_product(category)

    first = await gateway.post("/v1/admin/products", json=body, headers=headers)
    second = await gateway.post("/v1/admin/products", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    product_id = first.json()["id"]
    created = [e for _, _, e in await read_events(settings, CATALOG.events.name)
               if e.aggregate_id == product_id]
    assert [e.type for e in created] == ["ProductCreated"]


async def test_a_retry_while_the_first_request_waits_gets_its_answer_too(
        admin: dict, category: dict, settings: Settings) -> None:
    """A client that retries before its first request was answered, on the same API
    replica: both are answered with the one product, and one event is appended."""
    headers = admin | {"Idempotency-Key": str(uuid.uuid4()),
                       "X-Consistency-Token": category["token"]}
    body = new_product(category)
    replica = f"http://127.0.0.1:{settings.api_replica_ports[0]}"
    async with httpx.AsyncClient(base_url=replica, timeout=30) as http:
        answers = await asyncio.gather(*(http.post("/v1/admin/products", json=body,
                                                   headers=headers) for _ in range(3)))

    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    product_id = answers[0].json()["id"]
    created = [e for _, _, e in await read_events(settings, CATALOG.events.name)
               if e.aggregate_id == product_id]
    assert [e.type for e in created] == ["ProductCreated"]


async def test_twenty_concurrent_sign_ups_with_one_email_give_one_account(
        gateway: httpx.AsyncClient, settings: Settings) -> None:
    email = unique_email("race")

    responses = await asyncio.gather(*(sign_up(gateway, email, f"Racer {n}") for n in range(20)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    winner = next(r for r in responses if r.status_code == 201).json()
    registered = [e for _, _, e in await read_events(settings, USERS.events.name)
                  if e.type == "UserRegistered" and e.aggregate_id == winner["id"]]
    assert len(registered) == 1


async def test_a_write_then_a_read_with_its_token_sees_the_write(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    created = await gateway.post("/v1/admin/products", json=new_product(category),
                                 headers=admin | {"X-Consistency-Token": category["token"]})
    product_id = created.json()["id"]

    changed = await gateway.patch(f"/v1/admin/products/{product_id}", headers=admin,
                                  json={"name": "Trail running shoe, second edition",
                                        "price": {"amount": 9999, "currency": "EUR"},
                                        "stock": 2})
    assert changed.status_code == 200, changed.text
    token = changed.headers["X-Consistency-Token"]
    page = await gateway.get(f"/v1/products/{product_id}", headers={"X-Consistency-Token": token})

    assert page.status_code == 200
    assert (page.json()["name"], page.json()["price"], page.json()["stock"]) == (
        "Trail running shoe, second edition", {"amount": 9999, "currency": "EUR"},
        {"available": 2})


async def test_rejected_and_invalid_commands_answer_with_a_problem(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    unknown = await gateway.patch(f"/v1/admin/products/{uuid.uuid4()}", headers=admin,
                                  json={"stock": 3})
    no_category = await gateway.post("/v1/admin/products", headers=admin,
                                     json=new_product(category, category_id=str(uuid.uuid4())))
    negative = await gateway.post("/v1/admin/products", headers=admin,
                                  json=new_product(category, price={"amount": -1,
                                                                    "currency": "EUR"}))
    not_admin = await gateway.post("/v1/admin/categories", json={"name": "Nope"})

    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert no_category.status_code == 422
    assert negative.status_code == 422
    assert any(e["field"].endswith("amount") for e in negative.json()["errors"])
    assert not_admin.status_code == 401


async def test_personal_data_in_user_events_is_unreadable_and_forget_shreds_it(
        gateway: httpx.AsyncClient, settings: Settings) -> None:
    email = unique_email("private")
    created = await sign_up(gateway, email, "Perdita Private")
    assert created.status_code == 201
    user_id = created.json()["id"]
    headers = await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])

    events = [e for _, _, e in await read_events(settings, USERS.events.name)
              if user_id in (e.aggregate_id, e.payload.get("user_id"))]
    raw = "".join(e.model_dump_json() for e in events)
    assert {e.type for e in events} == {"EmailClaimed", "UserRegistered",
                                        "EmailVerificationRequested"}
    assert email.split("@")[0] not in raw and "Perdita" not in raw and PASSWORD not in raw

    shopstream("forget", user_id)

    profile = await gateway.get("/v1/users/me", headers=headers)
    assert profile.status_code == 200
    assert (profile.json()["email"], profile.json()["full_name"]) == ("", "")
    assert (await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            ).status_code == 401
