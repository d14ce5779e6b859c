"""Social login against the stack's real OpenID Connect provider, through the gateway.

The provider (mock-oauth2-server) signs in whoever its sign-in form names: the
test submits that form over HTTP, as a person would in a browser, with the
subject and the claims (email, email_verified, name) the ID token is to carry.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from infra.clients import Clients
from infra.oidc import OidcClient, PendingSignIns, SignInRefused
from infra.settings import Settings
from schemas.topics import USERS
from tests.support import PASSWORD, log_in, read_events, sign_up, unique_email

AUTHORIZE = "/v1/auth/oauth/local/authorize"


async def provider_redirect(gateway: httpx.AsyncClient, *, subject: str, email: str,
                            email_verified: bool = True, name: str = "Sol Social") -> str:
    """Start at our authorize route, sign in at the provider; the callback URL it sends back."""
    start = await gateway.get(AUTHORIZE, params={"login_hint": email})
    assert start.status_code == 302, start.text
    sign_in = start.headers["location"]
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(sign_in)).status_code == 200  # the provider's sign-in form
        back = await browser.post(sign_in, data={
            "username": subject,
            "claims": json.dumps({"email": email, "email_verified": email_verified,
                                  "name": name})})
    assert back.status_code == 302, back.text
    return back.headers["location"]


async def social_login(gateway: httpx.AsyncClient, **identity) -> httpx.Response:
    return await gateway.get(await provider_redirect(gateway, **identity))


async def profile(gateway: httpx.AsyncClient, login: httpx.Response) -> dict:
    """The signed-in user's profile; a login that wrote (made or linked) carries its token."""
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    if token := login.headers.get("X-Consistency-Token"):
        headers["X-Consistency-Token"] = token
    response = await gateway.get("/v1/users/me", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": state}
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_authorize_redirects_to_the_provider_with_state_nonce_pkce_and_the_hint(
        gateway: httpx.AsyncClient, settings: Settings) -> None:
    response = await gateway.get(AUTHORIZE, params={"login_hint": "hint@example.com"})

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"http://127.0.0.1:{settings.oidc_port}/local/authorize")
    assert query["response_type"] == "code" and query["client_id"] == "shopstream"
    assert query["redirect_uri"] == f"{settings.public_url}/v1/auth/oauth/local/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["login_hint"] == "hint@example.com"
    assert "openid" in query["scope"].split()


async def test_only_the_storefront_s_sign_in_page_may_be_where_the_provider_sends_back(
        gateway: httpx.AsyncClient, settings: Settings) -> None:
    storefront = f"{settings.frontend_url}/login/oauth/local/callback"
    elsewhere = await gateway.get(AUTHORIZE, params={"redirect_uri": "https://evil.example/cb"})
    assert elsewhere.status_code == 422
    started = await gateway.get(AUTHORIZE, params={"redirect_uri": storefront})
    assert started.status_code == 302
    sign_in = started.headers["location"]
    assert parse_qs(urlsplit(sign_in).query)["redirect_uri"] == [storefront]
    async with httpx.AsyncClient(timeout=30) as browser:
        back = await browser.post(sign_in, data={"username": f"sub-{uuid.uuid4()}", "claims": (
            json.dumps({"email": unique_email("social"), "email_verified": True}))})
    callback = urlsplit(back.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == storefront
    # The storefront hands code and state to the API, whose code exchange names its page.
    tokens = await gateway.get(f"/v1/auth/oauth/local/callback?{callback.query}")
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["access_token"]


async def test_first_social_login_creates_a_verified_account_without_a_password(
        gateway: httpx.AsyncClient, settings: Settings) -> None:
    email, subject = unique_email("social"), f"sub-{uuid.uuid4()}"

    login = await social_login(gateway, subject=subject, email=email)

    assert login.status_code == 200, login.text
    assert "X-Consistency-Token" in login.headers  # it made and linked the account
    assert set(login.json()) == {"access_token", "refresh_token", "token_type", "expires_in",
                                 "session_id"}
    assert login.json()["token_type"] == "bearer"
    me = await profile(gateway, login)
    assert (me["email"], me["email_verified"], me["full_name"]) == (email, True, "Sol Social")
    events = [e for _, _, e in await read_events(settings, USERS.events.name)
              if e.aggregate_id == me["id"]]
    assert [e.type for e in events] == ["UserRegistered", "SocialIdentityLinked"]
    assert events[0].payload["password_hash"] is None
    assert subject not in "".join(e.model_dump_json() for e in events)
    # The password login knows no password for it.
    assert (await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
            ).status_code == 401

    again = await social_login(gateway, subject=subject, email=email)

    assert again.status_code == 200, again.text
    assert (await profile(gateway, again))["id"] == me["id"]


async def test_social_login_with_a_verified_email_links_the_existing_password_account(
        gateway: httpx.AsyncClient) -> None:
    email = unique_email("linked")
    created = await sign_up(gateway, email, "Pat Password")
    assert created.status_code == 201, created.text
    # Seen by the read model (the login waits for the sign-up's consistency token).
    await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])

    login = await social_login(gateway, subject=f"sub-{uuid.uuid4()}", email=email)

    assert login.status_code == 200, login.text
    me = await profile(gateway, login)
    assert (me["id"], me["email"], me["full_name"]) == (created.json()["id"], email,
                                                          "Pat Password")
    assert await log_in(gateway, email)  # the password still works


async def test_social_login_with_an_unverified_email_of_an_existing_account_is_409(
        gateway: httpx.AsyncClient) -> None:
    email = unique_email("unverified")
    created = await sign_up(gateway, email)
    await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])

    login = await social_login(gateway, subject=f"sub-{uuid.uuid4()}", email=email,
                               email_verified=False)

    assert login.status_code == 409, login.text
    assert login.headers["content-type"] == "application/problem+json"


async def test_a_used_state_is_400(gateway: httpx.AsyncClient) -> None:
    callback = await provider_redirect(gateway, subject=f"sub-{uuid.uuid4()}",
                                       email=unique_email("reuse"))
    assert (await gateway.get(callback)).status_code == 200

    reused = await gateway.get(callback)

    assert reused.status_code == 400
    assert reused.headers["content-type"] == "application/problem+json"


async def test_a_tampered_or_missing_state_is_400_and_leaves_the_real_one_usable(
        gateway: httpx.AsyncClient) -> None:
    callback = await provider_redirect(gateway, subject=f"sub-{uuid.uuid4()}",
                                       email=unique_email("tamper"))
    state = parse_qs(urlsplit(callback).query)["state"][0]

    tampered = await gateway.get(with_state(callback, state[:-1] + ("A" if state[-1] != "A"
                                                                    else "B")))
    missing = await gateway.get(callback.split("?")[0], params={"code": "x"})

    assert (tampered.status_code, missing.status_code) == (400, 400)
    assert (await gateway.get(callback)).status_code == 200


async def test_an_id_token_for_another_nonce_is_refused(
        gateway: httpx.AsyncClient, settings: Settings, clients: Clients) -> None:
    callback = parse_qs(urlsplit(await provider_redirect(
        gateway, subject=f"sub-{uuid.uuid4()}", email=unique_email("nonce"))).query)
    pending = await PendingSignIns(clients.redis, settings.oauth_state_ttl_s).take(
        callback["state"][0])
    assert pending is not None
    oidc = OidcClient(settings)
    try:
        with pytest.raises(SignInRefused, match="nonce"):
            await oidc.identity(callback["code"][0],
                                dataclasses.replace(pending, nonce="another-nonce"))
    finally:
        await oidc.close()


async def test_an_unknown_provider_is_404(gateway: httpx.AsyncClient) -> None:
    authorize = await gateway.get("/v1/auth/oauth/nowhere/authorize")
    callback = await gateway.get("/v1/auth/oauth/nowhere/callback",
                                 params={"code": "x", "state": "y"})

    assert (authorize.status_code, callback.status_code) == (404, 404)
