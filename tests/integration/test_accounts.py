"""Accounts over HTTP: profile, password change, logout, refresh and sign-in limits."""

from __future__ import annotations

import random

import httpx

from infra.settings import Settings
from tests.support import PASSWORD, log_in, sign_up, unique_email


def replica(settings: Settings) -> httpx.AsyncClient:
    """An API replica reached as through the gateway from a client address of its own."""
    address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.api_replica_ports[0]}",
                             headers={"X-Forwarded-For": address}, timeout=30)


async def new_account(http: httpx.AsyncClient) -> tuple[str, dict]:
    email = unique_email()
    created = await sign_up(http, email)
    assert created.status_code == 201, created.text
    return email, await log_in(http, email,
                               consistency_token=created.headers["X-Consistency-Token"])


async def test_profile_changes_and_protected_fields(gateway: httpx.AsyncClient) -> None:
    _, auth = await new_account(gateway)
    address = {"full_name": "Ada L.", "line1": "1 Analytical Way", "city": "London",
               "postal_code": "N1 9GU", "country": "GB"}

    changed = await gateway.patch("/v1/users/me", headers=auth, json={
        "full_name": "  Ada   Lovelace ", "phone": "+44 20 7946 0000", "addresses": [address]})
    email_change = await gateway.patch("/v1/users/me", headers=auth, json={"email": "a@b.cd"})
    roles_change = await gateway.patch("/v1/users/me", headers=auth, json={"roles": ["admin"]})
    bad_country = await gateway.patch("/v1/users/me", headers=auth,
                                      json={"addresses": [address | {"country": "Britain"}]})

    assert changed.status_code == 200, changed.text
    profile = (await gateway.get("/v1/users/me", headers=auth)).json()
    assert (profile["full_name"], profile["phone"], profile["addresses"]) == (
        "Ada Lovelace", "+44 20 7946 0000", [address | {"line2": None}])
    assert profile["roles"] == ["customer"]
    assert email_change.status_code == roles_change.status_code == bad_country.status_code == 422


async def test_logout_ends_access_and_refresh_at_once(gateway: httpx.AsyncClient) -> None:
    email, _ = await new_account(gateway)
    tokens = (await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
              ).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    assert (await gateway.post("/v1/auth/logout", headers=auth)).status_code == 204
    assert (await gateway.get("/v1/users/me", headers=auth)).status_code == 401
    assert (await gateway.post("/v1/auth/refresh",
                               json={"refresh_token": tokens["refresh_token"]})).status_code == 401


async def test_a_reused_refresh_token_ends_the_session(gateway: httpx.AsyncClient) -> None:
    email, _ = await new_account(gateway)
    first = (await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
             ).json()
    second = await gateway.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["session_id"] == first["session_id"]

    stolen = await gateway.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    after = await gateway.post("/v1/auth/refresh",
                               json={"refresh_token": second.json()["refresh_token"]})

    assert stolen.status_code == after.status_code == 401
    assert (await gateway.get("/v1/users/me", headers={
        "Authorization": f"Bearer {second.json()['access_token']}"})).status_code == 401


async def test_sessions_are_listed_and_ended_one_by_one(gateway: httpx.AsyncClient) -> None:
    email, auth = await new_account(gateway)
    other = await log_in(gateway, email)

    sessions = (await gateway.get("/v1/auth/sessions", headers=auth)).json()
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    other_id = next(s["id"] for s in sessions if not s["current"])

    assert (await gateway.delete(f"/v1/auth/sessions/{other_id}", headers=auth)).status_code == 204
    assert (await gateway.get("/v1/users/me", headers=other)).status_code == 401
    assert (await gateway.delete(f"/v1/auth/sessions/{other_id}", headers=auth)).status_code == 404


async def test_changing_the_password_ends_every_other_session(gateway: httpx.AsyncClient) -> None:
    email, auth = await new_account(gateway)
    elsewhere = await log_in(gateway, email)
    new_password = "a brand new and long passphrase"

    wrong = await gateway.post("/v1/users/me/password", headers=auth, json={
        "current_password": "not it at all, sorry", "new_password": new_password})
    changed = await gateway.post("/v1/users/me/password", headers=auth, json={
        "current_password": PASSWORD, "new_password": new_password})

    assert wrong.status_code == 422
    assert changed.status_code == 204
    assert (await gateway.get("/v1/users/me", headers=auth)).status_code == 200
    assert (await gateway.get("/v1/users/me", headers=elsewhere)).status_code == 401
    # The old password stops working once the users view has the change.
    for _ in range(50):
        old = await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
        if old.status_code == 401:
            break
    assert old.status_code == 401
    assert (await gateway.post("/v1/auth/login", json={"email": email, "password": new_password})
            ).status_code == 200


async def test_repeated_failed_sign_ins_are_limited_per_account_and_address(
        settings: Settings) -> None:
    async with replica(settings) as http:
        email, _ = await new_account(http)
        statuses = [(await http.post("/v1/auth/login", json={
            "email": email, "password": "wrong and wrong again"})).status_code for _ in range(6)]
        unknown = await http.post("/v1/auth/login", json={"email": unique_email(),
                                                          "password": "wrong and wrong again"})
        blocked = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})

    assert statuses == [401] * settings.login_failures_per_account + [429]
    assert unknown.status_code == 401        # same answer as a wrong password
    assert blocked.status_code == 429         # even the right password waits out the window
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.headers["content-type"] == "application/problem+json"


async def test_a_reset_request_answers_the_same_for_unknown_addresses(
        gateway: httpx.AsyncClient) -> None:
    email, _ = await new_account(gateway)
    known = await gateway.post("/v1/auth/password-reset", json={"email": email})
    unknown = await gateway.post("/v1/auth/password-reset", json={"email": unique_email()})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
