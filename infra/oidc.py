"""Signing in with an OpenID Connect provider: the authorization code flow with PKCE.

`OidcClient` speaks to the providers named in settings: it makes the
authorization request (state, nonce and an S256 code challenge), exchanges the
code at the token endpoint and checks the ID token (signature against the
provider's keys, issuer, audience, expiry, nonce). Discovery documents and key
sets are cached in the process; an unknown key id fetches the keys again, as
a provider rotating its keys needs.

`PendingSignIns` keeps what a started sign-in must remember until the provider
sends the user back: in Redis under its `state`, for a few minutes, usable once.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from urllib.parse import quote

import httpx
import redis.asyncio as aioredis
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from infra.settings import OidcProvider, Settings

# Discovery documents and key sets are fetched again after this long.
_CACHE_S = 3600.0
# Clock difference allowed between the provider and this server.
_LEEWAY_S = 60


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with an error of its own."""


class SignInRefused(Exception):
    """The provider refused the code, or its answer did not prove who signed in."""


@dataclass(frozen=True)
class PendingSignIn:
    provider: str
    nonce: str
    code_verifier: str
    # Where the provider sends the browser back, when not the provider's own `redirect_uri`
    # (the storefront's sign-in page); the code exchange must name the same.
    redirect_uri: str | None = None


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: its subject and the claims shopstream uses."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


class PendingSignIns:
    """Started sign-ins by their `state`, each taken at most once before it expires."""

    def __init__(self, redis: aioredis.Redis, ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s

    @staticmethod
    def _key(state: str) -> str:
        return f"oauth:state:{state}"

    async def save(self, state: str, pending: PendingSignIn) -> None:
        await self._redis.set(self._key(state), json.dumps(asdict(pending)), ex=self._ttl_s,
                              nx=True)

    async def take(self, state: str) -> PendingSignIn | None:
        """The sign-in started with `state`, removed so that it cannot be used again."""
        raw = await self._redis.getdel(self._key(state))
        return PendingSignIn(**json.loads(raw)) if raw else None


class OidcClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self._providers = settings.oidc_providers
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._metadata: dict[str, tuple[float, dict]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    async def close(self) -> None:
        await self._http.aclose()

    def provider(self, name: str) -> OidcProvider | None:
        return self._providers.get(name)

    async def authorization(self, name: str, login_hint: str | None = None,
                            redirect_uri: str | None = None) -> tuple[str, str, PendingSignIn]:
        """The provider's authorization URL, its `state` and what the callback will need."""
        provider = self._provider(name)
        metadata = await self._discovery(name)
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        params = {"response_type": "code", "client_id": provider.client_id,
                  "redirect_uri": redirect_uri or provider.redirect_uri, "scope": provider.scope,
                  "state": state, "nonce": nonce,
                  "code_challenge": create_s256_code_challenge(verifier),
                  "code_challenge_method": "S256"}
        if login_hint:
            params["login_hint"] = login_hint
        url = httpx.URL(metadata["authorization_endpoint"]).copy_merge_params(params)
        return str(url), state, PendingSignIn(provider=name, nonce=nonce, code_verifier=verifier,
                                              redirect_uri=redirect_uri)

    async def identity(self, code: str, pending: PendingSignIn) -> Identity:
        """Exchange the code for tokens and return who the verified ID token names."""
        provider = self._provider(pending.provider)
        metadata = await self._discovery(pending.provider)
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": pending.redirect_uri or provider.redirect_uri,
                "code_verifier": pending.code_verifier}
        secret = provider.client_secret.get_secret_value()
        auth = None
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" in methods:  # the default; its parts are form-encoded first
            auth = (quote(provider.client_id, safe=""), quote(secret, safe=""))
        else:
            form |= {"client_id": provider.client_id, "client_secret": secret}
        try:
            response = await self._http.post(metadata["token_endpoint"], data=form, auth=auth,
                                             headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"the token endpoint is unreachable: {error}") from error
        if response.status_code >= 500:
            raise ProviderUnavailable(f"the token endpoint answered {response.status_code}")
        if response.status_code != 200:
            raise SignInRefused(f"the provider refused the code ({response.status_code})")
        try:
            tokens = response.json()
        except ValueError as error:
            raise ProviderUnavailable("the token endpoint answered no JSON") from error
        id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
        if not isinstance(id_token, str):
            raise SignInRefused("the provider sent no ID token")
        claims = await self._verified_claims(pending.provider, id_token, pending.nonce,
                                             tokens.get("access_token"))
        email, name = claims.get("email"), claims.get("name")
        # Some providers send the boolean as a string.
        verified = claims.get("email_verified") in (True, "true")
        return Identity(provider=pending.provider, subject=str(claims["sub"]),
                        email=email if isinstance(email, str) and email else None,
                        email_verified=verified,
                        name=name if isinstance(name, str) and name.strip() else None)

    async def _verified_claims(self, name: str, id_token: str, nonce: str,
                               access_token: str | None) -> CodeIDToken:
        provider = self._provider(name)
        metadata = await self._discovery(name)
        registry = JWSRegistry(
            algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"],
            strict_check_header=False)
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(name), registry=registry)
            except InvalidKeyIdError:  # the provider may have rotated its keys
                token = jwt.decode(id_token, await self._key_set(name, refresh=True),
                                   registry=registry)
            claims = CodeIDToken(
                token.claims, token.header,
                options={"iss": {"essential": True, "value": metadata["issuer"]},
                         "aud": {"essential": True, "value": provider.client_id},
                         "sub": {"essential": True}},
                params={"nonce": nonce, "client_id": provider.client_id,
                        "access_token": access_token})
            claims.validate(now=int(time.time()), leeway=_LEEWAY_S)
        except (JoseError, ValueError) as error:
            raise SignInRefused(f"the ID token is not valid: {error}") from error
        return claims

    def _provider(self, name: str) -> OidcProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise KeyError(name)
        return provider

    async def _discovery(self, name: str) -> dict:
        cached = self._metadata.get(name)
        if cached is not None and time.monotonic() - cached[0] < _CACHE_S:
            return cached[1]
        issuer = self._provider(name).issuer.rstrip("/")
        metadata = await self._get_json(f"{issuer}/.well-known/openid-configuration")
        if metadata.get("issuer") != issuer:
            raise ProviderUnavailable(f"the discovery document names the issuer "
                                      f"{metadata.get('issuer')!r}, not {issuer!r}")
        self._metadata[name] = (time.monotonic(), metadata)
        return metadata

    async def _key_set(self, name: str, *, refresh: bool = False) -> KeySet:
        cached = self._keys.get(name)
        if cached is not None and not refresh and time.monotonic() - cached[0] < _CACHE_S:
            return cached[1]
        metadata = await self._discovery(name)
        keys = KeySet.import_key_set(await self._get_json(metadata["jwks_uri"]))
        self._keys[name] = (time.monotonic(), keys)
        return keys

    async def _get_json(self, url: str) -> dict:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{url}: {error}") from error
