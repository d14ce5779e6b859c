"""A new customer's account, from sign-up to sign-out, through the gateway and the mailbox."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlparse

import httpx

from infra.settings import Settings
from tests.support import PASSWORD, log_in, sign_up, unique_email


async def emails_to(settings: Settings, address: str, subject_word: str, count: int = 1,
                    timeout_s: float = 60.0) -> list[dict]:
    """Wait until the mail sink holds `count` emails to `address` whose subject has the word."""
    url = f"http://127.0.0.1:{settings.mail_api_port}/api/v2/search"
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(int(timeout_s / 0.25)):
            found = (await http.get(url, params={"kind": "to", "query": address})).json()["items"]
            matching = [m for m in found if subject_word.lower() in
                        m["Content"]["Headers"]["Subject"][0].lower()]
            if len(matching) >= count:
                return matching
            await asyncio.sleep(0.25)
    raise AssertionError(f"no {subject_word!r} email to {address} within {timeout_s}s")


def link_token(message: dict) -> str:
    text = next(p["Body"] for p in message["MIME"]["Parts"]
                if p["Headers"]["Content-Type"][0] == "text/plain")
    link = re.search(r"https?://\S+token=\S+", text).group(0)
    return parse_qs(urlparse(link).query)["token"][0]


async def test_sign_up_verify_use_the_profile_and_sign_out(gateway: httpx.AsyncClient,
                                                           settings: Settings) -> None:
    email = unique_email("journey")
    created = await sign_up(gateway, email, "Jo Journey")
    assert created.status_code == 201
    assert created.json()["email_verified"] is False

    verification = (await emails_to(settings, email, "confirm your email"))[0]
    verified = await gateway.post("/v1/auth/verify-email", json={"token": link_token(verification)})
    assert verified.status_code == 204

    auth = await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])
    for _ in range(50):  # the users view shows the verification shortly
        profile = (await gateway.get("/v1/users/me", headers=auth)).json()
        if profile["email_verified"]:
            break
        await asyncio.sleep(0.1)
    assert (profile["email"], profile["full_name"], profile["email_verified"]) == (
        email, "Jo Journey", True)

    changed = await gateway.patch("/v1/users/me", headers=auth, json={"phone": "+33 1 23 45 67 89"})
    assert changed.json()["phone"] == "+33 1 23 45 67 89"

    assert (await gateway.post("/v1/auth/logout", headers=auth)).status_code == 204
    assert (await gateway.get("/v1/users/me", headers=auth)).status_code == 401


async def test_a_reset_link_works_once_and_ends_every_session(gateway: httpx.AsyncClient,
                                                              settings: Settings) -> None:
    email = unique_email("reset")
    created = await sign_up(gateway, email)
    old_session = await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])

    assert (await gateway.post("/v1/auth/password-reset", json={"email": email})).status_code == 202
    token = link_token((await emails_to(settings, email, "reset"))[0])
    new_password = "the new and much longer passphrase"

    first = await gateway.post("/v1/auth/password-reset/confirm",
                               json={"token": token, "new_password": new_password})
    second = await gateway.post("/v1/auth/password-reset/confirm",
                                json={"token": token, "new_password": "yet another long phrase"})

    assert first.status_code == 204
    assert second.status_code == 400
    assert (await gateway.get("/v1/users/me", headers=old_session)).status_code == 401
    for _ in range(50):  # the new password works once the users view has it
        login = await gateway.post("/v1/auth/login", json={"email": email, "password": new_password})
        if login.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert login.status_code == 200
    assert (await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            ).status_code == 401
