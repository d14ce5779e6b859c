"""Signing in through an identity provider (OpenID Connect): social login.

`authorize` sends the browser to the provider with a fresh `state`, `nonce` and
PKCE challenge; the provider sends it back to `callback` with a code and that
state, which works once and for 10 minutes. The code is exchanged, the ID token
checked, and the person is signed in:
- to the account already linked to their account at the provider; else
- to the account with the same email address, which is linked now, if the
  provider verified the address (409 if not: an address the provider did not
  verify proves nothing about who owns the account); else
- to a new account without a password, its address verified if the provider
  verified it.
The answer is the token pair a password login gives.

The storefront starts a sign-in with `redirect_uri` set to its own sign-in page
(`<frontend_url>/login/oauth/<provider>/callback`, the only other address allowed,
which a real provider must have registered too): the browser comes back to the
storefront, which hands the code and state to `callback` and keeps the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import EmailStr, TypeAdapter, ValidationError

from api import reads
from api.auth import Tokens, start_session
from api.consistency import ReadYourWrites
from api.commands import command_id, execute
from api.deps import (
    BusDep,
    ClientsDep,
    OidcDep,
    PendingSignInsDep,
    Seen,
    SessionsDep,
    SettingsDep,
    SignerDep,
    UsersViewDep,
)
from api.registration import register
from infra.oidc import Identity, ProviderUnavailable, SignInRefused
from infra.security import email_key, identity_key
from projections.users_views import UsersView
from schemas.commands.users import LinkSocialIdentity

router = APIRouter(tags=["authentication"])

_EMAIL = TypeAdapter(EmailStr)
_UNAVAILABLE = "The identity provider cannot be reached; try again later."


@dataclass(frozen=True)
class ProviderApplicant:
    """A new account as the identity provider describes its owner: no password."""

    email: str
    full_name: str
    password: None = None


def storefront_callback(settings, provider: str) -> str:
    """The storefront's page that finishes a sign-in with `provider`."""
    return f"{settings.frontend_url.rstrip('/')}/login/oauth/{provider}/callback"


def _known(oidc, provider: str) -> None:
    if oidc.provider(provider) is None:
        raise HTTPException(404, "There is no such identity provider.")


@router.get("/v1/auth/oauth/{provider}/authorize", status_code=302,
            response_class=RedirectResponse,
            responses={302: {"description": "To the identity provider's sign-in"},
                       404: {"description": "Unknown identity provider"},
                       502: {"description": "The identity provider cannot be reached"}})
async def authorize(provider: str, oidc: OidcDep, sign_ins: PendingSignInsDep,
                    settings: SettingsDep,
                    login_hint: Annotated[str | None, Query(
                        max_length=320,
                        description="Passed to the provider: who is expected to sign in.")]
                    = None,
                    redirect_uri: Annotated[str | None, Query(
                        max_length=2000,
                        description="Where the provider sends the browser back: only the "
                                    "storefront's sign-in page, "
                                    "`<frontend_url>/login/oauth/<provider>/callback`.")]
                    = None) -> RedirectResponse:
    """Start signing in with an identity provider (OpenID Connect, state + nonce + PKCE)."""
    _known(oidc, provider)
    if redirect_uri is not None and redirect_uri != storefront_callback(settings, provider):
        raise HTTPException(422, "redirect_uri may only be the storefront's sign-in page.")
    try:
        url, state, pending = await oidc.authorization(provider, login_hint, redirect_uri)
    except ProviderUnavailable:
        raise HTTPException(502, _UNAVAILABLE) from None
    await sign_ins.save(state, pending)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@router.get("/v1/auth/oauth/{provider}/callback", response_model=Tokens,
            responses={400: {"description": "Unknown, used or expired state, or a refused "
                                            "or unverifiable sign-in"},
                       404: {"description": "Unknown identity provider"},
                       409: {"description": "An account has this email address, and the "
                                            "provider did not verify it"},
                       502: {"description": "The identity provider cannot be reached"}})
async def callback(provider: str, request: Request, response: Response, settings: SettingsDep,
                   oidc: OidcDep, sign_ins: PendingSignInsDep, bus: BusDep,
                   clients: ClientsDep, users: UsersViewDep, sessions: SessionsDep,
                   signer: SignerDep, seen: Seen,
                   state: Annotated[str | None, Query(max_length=200)] = None,
                   code: Annotated[str | None, Query(max_length=2048)] = None,
                   error: Annotated[str | None, Query(max_length=200)] = None) -> Tokens:
    """Finish signing in with an identity provider: 200 tokens, as a password login."""
    _known(oidc, provider)
    pending = await sign_ins.take(state) if state else None
    if pending is None or pending.provider != provider:
        raise HTTPException(400, "This sign-in is unknown, expired or was used already; "
                                 "start again.")
    if error is not None or not code:
        raise HTTPException(400, "The identity provider did not sign you in.")
    try:
        identity = await oidc.identity(code, pending)
    except ProviderUnavailable:
        raise HTTPException(502, _UNAVAILABLE) from None
    except SignInRefused:
        raise HTTPException(400, "The identity provider's answer could not be verified; "
                                 "start again.") from None
    user_id, roles = await _account(identity, seen, settings, bus, clients, users)
    response.headers["Cache-Control"] = "no-store"
    return await start_session(request, sessions, signer, seen, user_id, roles)


async def _account(identity: Identity, seen: ReadYourWrites, settings, bus, clients,
                   users: UsersView) -> tuple[str, list[str]]:
    """The account this identity signs in to, linked (and made) if need be: (id, roles)."""
    subject_key = identity_key(settings, identity.provider, identity.subject)
    user = await users.find_by_identity(identity.provider, subject_key)
    if user is not None:
        return user["id"], user["roles"]
    if identity.email is None:
        raise HTTPException(400, "The identity provider did not share an email address; "
                                 "an account needs one.")
    try:
        email = _EMAIL.validate_python(identity.email)
    except ValidationError:
        raise HTTPException(400, "The identity provider's email address is not valid.") from None
    user = await reads.account_by_email(users, seen, email_key(settings, email))
    if user is not None:
        if not identity.email_verified:
            raise HTTPException(409, "An account with this email address exists, and the "
                                     "identity provider has not verified the address. Sign in "
                                     "with your password instead.")
        user_id, roles = user["id"], user["roles"]
    else:
        name = " ".join((identity.name or email.split("@")[0]).split())[:200]
        # The key makes a retry after a partial failure finish the same account.
        user_id = str(await register(
            bus, clients.keys, settings, ProviderApplicant(email=email, full_name=name),
            roles=["customer"], idempotency_key=f"{identity.provider}:{subject_key}",
            actor=None, seen=seen, email_verified=identity.email_verified))
        roles = ["customer"]
    await execute(bus, LinkSocialIdentity(user_id=UUID(user_id), provider=identity.provider,
                                          subject_key=subject_key),
                  actor=user_id, seen=seen,
                  command_id=command_id(f"link\n{user_id}", f"{identity.provider}:{subject_key}"))
    return user_id, roles
