"""Accounts: sign-up and the signed-in user's profile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
import uuid
from typing import Annotated, Protocol
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from api.commands import command_id, derived_id, execute
from api.consistency import ReadYourWrites
from api.deps import (
    BusDep,
    ClientsDep,
    CurrentUser,
    IdempotencyKey,
    ProjectionsDep,
    Seen,
    SessionsDep,
    SettingsDep,
)
from commands.passwords import password_problems
from infra.security import (
    email_key,
    hash_password,
    link_token,
    normalise_email,
    token_hash,
    verify_password,
)
from projections.mysql import utc
from schemas.commands.users import ChangePassword, ChangeProfile, ClaimEmail, RegisterUser
from schemas.topics import USERS
from schemas.values import Country, Line, Name, OptionalLine, Phone, PostalCode

router = APIRouter(tags=["users"])


class SignUp(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    full_name: Name

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return " ".join(value.split())

    @model_validator(mode="after")
    def _password(self) -> SignUp:
        problems = password_problems(self.password, self.email)
        if problems:
            raise ValueError("password " + "; ".join(problems))
        return self


class ShownAddress(BaseModel):
    """An address as it was stored: shown as it is, even if kept before today's rules."""

    full_name: str
    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    country: str


class Address(ShownAddress):
    """An address as a client sends it."""

    model_config = ConfigDict(extra="forbid")

    full_name: Name
    line1: Line
    line2: OptionalLine | None = None
    city: Line
    postal_code: PostalCode
    country: Annotated[Country, Field(description="ISO 3166-1 alpha-2")]


class ProfileChanges(BaseModel):
    """Email and roles are not changed here: naming them is a 422."""

    model_config = ConfigDict(extra="forbid")

    full_name: Name | None = None
    phone: Phone | None = None
    addresses: Annotated[list[Address], Field(max_length=10)] | None = None


def _acceptable(password: str) -> str:
    problems = password_problems(password)
    if problems:
        raise ValueError("the password " + "; ".join(problems))
    return password


# A password being set: it must meet the policy (the sign-up form checks it with the email).
NewPasswordText = Annotated[str, Field(min_length=1, max_length=1024),
                            AfterValidator(_acceptable)]


class PasswordChange(BaseModel):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: NewPasswordText


class NewUser(BaseModel):
    id: UUID
    email: str
    full_name: str
    email_verified: bool


class Profile(NewUser):
    phone: str | None
    addresses: list[ShownAddress]
    roles: list[str]
    created_at: datetime


class Applicant(Protocol):
    """Who an account is made for: a sign-up form, or what an identity provider vouches for."""

    @property
    def email(self) -> str: ...

    @property
    def full_name(self) -> str: ...

    @property
    def password(self) -> str | None:
        """None: the account signs in through an identity provider only."""


async def register(bus, keys, settings, form: Applicant, *, roles: list[str],
                   idempotency_key: str | None, actor: str | None,
                   seen: ReadYourWrites | None = None, email_verified: bool = False) -> UUID:
    """Claim the address, then create the account: two commands, both retry-safe.

    The account comes with an email verification link (sent by the notifications
    worker), unless `email_verified`: an identity provider vouched for the address.
    """
    key = email_key(settings, form.email)
    claim_id = command_id(f"POST /v1/users\n{key}", idempotency_key)
    user_id = derived_id(claim_id, "user")
    subject = str(user_id)
    sealed = {
        "email": await keys.seal(subject, normalise_email(form.email)),
        "full_name": await keys.seal(subject, form.full_name),
        "password_hash": (await keys.seal(subject, hash_password(form.password))
                          if form.password is not None else None),
    }
    await execute(bus, ClaimEmail(email_key=key, user_id=user_id, roles=roles, **sealed),
                  actor=actor, command_id=claim_id, seen=seen)
    verification = {}
    if not email_verified:
        request_id = derived_id(claim_id, "verification")
        verification = dict(
            verification_request_id=request_id,
            verification_token_hash=token_hash(link_token(settings, "verify", user_id,
                                                          request_id)),
            verification_expires_at=datetime.now(UTC) + timedelta(
                seconds=settings.verification_link_ttl_s))
    await execute(bus, RegisterUser(
        user_id=user_id, email_key=key, roles=roles, **sealed, email_verified=email_verified,
        **verification),
        actor=actor, command_id=derived_id(claim_id, "register"), seen=seen)
    return user_id


@router.post("/v1/users", status_code=201, response_model=NewUser,
             responses={409: {"description": "The email address is taken"},
                        422: {"description": "Weak password or invalid email"}})
async def sign_up(form: SignUp, response: Response, bus: BusDep, clients: ClientsDep,
                  settings: SettingsDep, seen: Seen,
                  idempotency_key: IdempotencyKey = None) -> NewUser:
    """Create an account with an email address and a password."""
    user_id = await register(bus, clients.keys, settings, form, roles=["customer"],
                             idempotency_key=idempotency_key, actor=None, seen=seen)
    response.headers["Location"] = "/v1/users/me"
    return NewUser(id=user_id, email=normalise_email(form.email), full_name=form.full_name,
                   email_verified=False)


@router.get("/v1/users/me", response_model=Profile)
async def me(user: CurrentUser, projections: ProjectionsDep, seen: Seen) -> Profile:
    """The signed-in user's profile."""
    return await _profile(projections["users"], seen, user.user_id)


@router.patch("/v1/users/me", response_model=Profile,
              responses={422: {"description": "Invalid, unknown or protected fields"}})
async def change_profile(changes: ProfileChanges, user: CurrentUser, bus: BusDep,
                         clients: ClientsDep, projections: ProjectionsDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> Profile:
    """Change the name, phone or addresses; absent fields stay as they are."""
    subject = user.user_id
    sealed = {}
    if changes.full_name is not None:
        sealed["full_name"] = await clients.keys.seal(subject, " ".join(changes.full_name.split()))
    if changes.phone is not None:
        sealed["phone"] = await clients.keys.seal(subject, changes.phone)
    if changes.addresses is not None:
        sealed["addresses"] = await clients.keys.seal(
            subject, json.dumps([a.model_dump() for a in changes.addresses]))
    await execute(bus, ChangeProfile(user_id=UUID(subject), **sealed), actor=subject,
                  command_id=command_id(f"PATCH /v1/users/me\n{subject}", idempotency_key),
                  seen=seen)
    return await _profile(projections["users"], seen, subject)


@router.post("/v1/users/me/password", status_code=204,
             responses={422: {"description": "Wrong current password or weak new one"}})
async def change_password(body: PasswordChange, user: CurrentUser, bus: BusDep,
                          clients: ClientsDep, projections: ProjectionsDep,
                          sessions: SessionsDep, seen: Seen) -> Response:
    """Change the password; every other session of the account ends."""
    row = await _account(projections["users"], seen, user.user_id)
    if row is None or not verify_password(row["password_hash"], body.current_password):
        raise HTTPException(422, "The current password is wrong.")
    sealed = await clients.keys.seal(user.user_id, hash_password(body.new_password))
    await execute(bus, ChangePassword(user_id=UUID(user.user_id), password_hash=sealed),
                  actor=user.user_id, command_id=uuid.uuid4(), seen=seen)
    await sessions.end_all(user.user_id, keep=user.session_id)
    return Response(status_code=204)


async def _account(users, seen: ReadYourWrites, user_id: str) -> dict | None:
    """The user's row once the model shows the caller's writes; a miss waits for the
    user's partition first."""
    return await seen.found(users, lambda: users.find(user_id), topic=USERS.events.name,
                            key=user_id)


async def _profile(users, seen: ReadYourWrites, user_id: str) -> Profile:
    row = await _account(users, seen, user_id)
    if row is None:
        raise HTTPException(404, "This account does not exist (any more).")
    return Profile(id=row["id"], email=row["email"] or "", full_name=row["full_name"] or "",
                   email_verified=row["email_verified"], phone=row["phone"],
                   addresses=row["addresses"], roles=row["roles"],
                   created_at=utc(row["created_at"]))
