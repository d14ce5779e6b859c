"""Signing in and out: tokens, sessions, email verification and password reset links.

Login failures are limited per account and per client address (429 with
`Retry-After`); an unknown email and a wrong password get the same answer in
about the same time. Links carry a token that names its user and works once.
Signing in through an identity provider (`api/oauth.py`) ends in the same
`start_session`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response
from pydantic import BaseModel, EmailStr, Field

from api import reads
from api.commands import execute
from api.consistency import ReadYourWrites
from api.users import NewPasswordText
from api.deps import (
    BusDep,
    ClientsDep,
    CurrentUser,
    LimitsDep,
    Seen,
    SessionsDep,
    SettingsDep,
    SignerDep,
    UsersViewDep,
)
from infra.passwords import hash_password, verify_password
from infra.security import (
    TokenSigner,
    email_key,
    link_token,
    token_hash,
    token_user,
)
from infra.sessions import SessionStore
from projections.users_views import UsersView
from schemas.commands.users import RequestPasswordReset, ResetPassword, VerifyEmail
from schemas.values import Token

router = APIRouter(tags=["authentication"])


class Credentials(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    remember_me: bool = False


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    session_id: str


class RefreshRequest(BaseModel):
    refresh_token: Token


class LinkToken(BaseModel):
    token: Token


class ResetRequest(BaseModel):
    email: EmailStr


class NewPassword(LinkToken):
    new_password: NewPasswordText


class Session(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    ip: str
    current: bool


_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/v1/auth/login", response_model=Tokens,
             responses={401: {"description": "Wrong email or password"},
                        429: {"description": "Too many failed attempts"}})
async def login(credentials: Credentials, request: Request, settings: SettingsDep,
                users: UsersViewDep, signer: SignerDep, sessions: SessionsDep,
                limits: LimitsDep, seen: Seen) -> Tokens:
    """Sign in. An unknown email and a wrong password get the same answer, in the same time."""
    key = email_key(settings, credentials.email)
    account, address = f"login:account:{key}", f"login:address:{_client_ip(request)}"
    for limit_key, limit in ((account, settings.login_failures_per_account),
                             (address, settings.login_failures_per_address)):
        if (wait := await limits.blocked_for(limit_key, limit)) is not None:
            raise HTTPException(429, "Too many failed sign-in attempts; try again later.",
                                headers={"Retry-After": str(wait)})
    user = await reads.account_by_email(users, seen, key)
    if not verify_password(user["password_hash"] if user else None, credentials.password):
        for limit_key in (account, address):
            await limits.hit(limit_key, settings.login_failure_window_s)
        raise HTTPException(401, "The email or password is wrong.", headers=_UNAUTHORIZED)
    assert user is not None
    await limits.clear(account)
    return await start_session(request, sessions, signer, seen, user["id"], user["roles"],
                               remember=credentials.remember_me)


async def start_session(request: Request, sessions: SessionStore, signer: TokenSigner,
                        seen: ReadYourWrites, user_id: str, roles: list[str], *,
                        remember: bool = False) -> Tokens:
    """Open a session for a user who proved who they are, and issue its token pair.

    Every way of signing in (password, identity provider) ends here.
    """
    session = await sessions.create(user_id, remember=remember,
                                    user_agent=request.headers.get("user-agent", ""),
                                    ip=_client_ip(request))
    await seen.began_session(session.session_id)
    return Tokens(access_token=signer.issue(user_id, roles, session.session_id),
                  refresh_token=session.refresh_token, expires_in=signer.ttl_s,
                  session_id=session.session_id)


@router.post("/v1/auth/refresh", response_model=Tokens,
             responses={401: {"description": "Unknown, expired or reused refresh token"}})
async def refresh(body: RefreshRequest, sessions: SessionsDep, signer: SignerDep,
                  users: UsersViewDep) -> Tokens:
    """A new token pair. The old refresh token stops working; using it again ends the session."""
    rotated = await sessions.rotate(body.refresh_token)
    if rotated is None:
        raise HTTPException(401, "The refresh token is not valid.", headers=_UNAUTHORIZED)
    user = await users.find(rotated.user_id)
    if user is None:
        raise HTTPException(401, "The account does not exist.", headers=_UNAUTHORIZED)
    return Tokens(access_token=signer.issue(rotated.user_id, user["roles"], rotated.session_id),
                  refresh_token=rotated.refresh_token, expires_in=signer.ttl_s,
                  session_id=rotated.session_id)


@router.post("/v1/auth/logout", status_code=204)
async def logout(user: CurrentUser, sessions: SessionsDep) -> Response:
    """End this session: its access and refresh tokens stop working at once."""
    assert user.session_id is not None
    await sessions.end(user.user_id, user.session_id)
    return Response(status_code=204)


@router.get("/v1/auth/sessions", response_model=list[Session])
async def list_sessions(user: CurrentUser, sessions: SessionsDep) -> list[Session]:
    """The signed-in user's active sessions, newest first."""
    return [Session(id=s.session_id, created_at=datetime.fromtimestamp(s.created_at, UTC),
                    last_used_at=datetime.fromtimestamp(s.last_used_at, UTC),
                    expires_at=datetime.fromtimestamp(s.expires_at, UTC),
                    user_agent=s.user_agent, ip=s.ip, current=s.session_id == user.session_id)
            for s in await sessions.list(user.user_id)]


@router.delete("/v1/auth/sessions/{session_id}", status_code=204,
               responses={404: {"description": "No such session of this user"}})
async def end_session(session_id: str, user: CurrentUser, sessions: SessionsDep) -> Response:
    """End one of the user's sessions."""
    if not await sessions.end(user.user_id, session_id):
        raise HTTPException(404, "There is no such session.")
    return Response(status_code=204)


def _link_user(token: str) -> uuid.UUID:
    user_id = token_user(token)
    if user_id is None:
        raise HTTPException(400, "This link is not valid.")
    return user_id


@router.post("/v1/auth/verify-email", status_code=204,
             responses={400: {"description": "Used, expired or unknown link"}})
async def verify_email(body: LinkToken, bus: BusDep) -> Response:
    """Confirm the email address with the token from the verification email."""
    user_id = _link_user(body.token)
    await execute(bus, VerifyEmail(user_id=user_id, token_hash=token_hash(body.token),
                                   at=datetime.now(UTC)),
                  actor=str(user_id), command_id=uuid.uuid4())
    return Response(status_code=204)


@router.post("/v1/auth/password-reset", status_code=202, response_class=Response)
async def request_password_reset(body: ResetRequest, settings: SettingsDep, bus: BusDep,
                                 users: UsersViewDep, limits: LimitsDep, seen: Seen,
                                 background: BackgroundTasks) -> Response:
    """Email a reset link valid 30 minutes. The answer is the same whether the account exists."""
    # After the answer: an existing account must not answer slower than a missing one.
    background.add_task(_send_reset_link, email_key(settings, body.email), settings, bus,
                        users, limits, seen)
    return Response(status_code=202)


async def _send_reset_link(key: str, settings, bus, users: UsersView, limits,
                           seen: ReadYourWrites) -> None:
    user = await reads.account_by_email(users, seen, key)
    limit_key = f"reset:{key}"
    if user is not None and await limits.blocked_for(
            limit_key, settings.resets_per_account_per_hour) is None:
        await limits.hit(limit_key, 3600)
        user_id = uuid.UUID(user["id"])
        request_id = uuid.uuid4()
        token = link_token(settings, "reset", user_id, request_id)
        command = RequestPasswordReset(
            user_id=user_id, request_id=request_id, token_hash=token_hash(token),
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.reset_link_ttl_s))
        await bus.send(command, actor=None, command_id=request_id)


@router.post("/v1/auth/password-reset/confirm", status_code=204,
             responses={400: {"description": "Used, expired or unknown link"},
                        422: {"description": "Weak password"}})
async def confirm_password_reset(body: NewPassword, bus: BusDep, clients: ClientsDep,
                                 sessions: SessionsDep) -> Response:
    """Set a new password with the emailed token; every session of the account ends."""
    user_id = _link_user(body.token)
    sealed = await clients.keys.seal(str(user_id), hash_password(body.new_password))
    await execute(bus, ResetPassword(user_id=user_id, token_hash=token_hash(body.token),
                                     password_hash=sealed, at=datetime.now(UTC)),
                  actor=str(user_id), command_id=uuid.uuid4())
    await sessions.end_all(str(user_id))
    return Response(status_code=204)
