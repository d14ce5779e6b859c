"""Accounts: sign-up and the signed-in user's profile."""

from __future__ import annotations

import json
from datetime import datetime
import uuid
from typing import Annotated
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

from api import reads, registration
from api.commands import command_id, execute
from api.consistency import ReadYourWrites
from api.deps import (
    BusDep,
    ClientsDep,
    CurrentUser,
    IdempotencyKey,
    Seen,
    SessionsDep,
    SettingsDep,
    UsersViewDep,
)
from infra.passwords import hash_password, password_problems, verify_password
from infra.security import normalise_email
from projections.users_views import UsersView
from schemas.commands.users import ChangePassword, ChangeProfile
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


@router.post("/v1/users", status_code=201, response_model=NewUser,
             responses={409: {"description": "The email address is taken"},
                        422: {"description": "Weak password or invalid email"}})
async def sign_up(form: SignUp, response: Response, bus: BusDep, clients: ClientsDep,
                  settings: SettingsDep, seen: Seen,
                  idempotency_key: IdempotencyKey = None) -> NewUser:
    """Create an account with an email address and a password."""
    user_id = await registration.register(bus, clients.keys, settings, form, roles=["customer"],
                             idempotency_key=idempotency_key, actor=None, seen=seen)
    response.headers["Location"] = "/v1/users/me"
    return NewUser(id=user_id, email=normalise_email(form.email), full_name=form.full_name,
                   email_verified=False)


@router.get("/v1/users/me", response_model=Profile)
async def me(user: CurrentUser, users: UsersViewDep, seen: Seen) -> Profile:
    """The signed-in user's profile."""
    return await _profile(users, seen, user.user_id)


@router.patch("/v1/users/me", response_model=Profile,
              responses={422: {"description": "Invalid, unknown or protected fields"}})
async def change_profile(changes: ProfileChanges, user: CurrentUser, bus: BusDep,
                         clients: ClientsDep, users: UsersViewDep, seen: Seen,
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
    return await _profile(users, seen, subject)


@router.post("/v1/users/me/password", status_code=204,
             responses={422: {"description": "Wrong current password or weak new one"}})
async def change_password(body: PasswordChange, user: CurrentUser, bus: BusDep,
                          clients: ClientsDep, users: UsersViewDep,
                          sessions: SessionsDep, seen: Seen) -> Response:
    """Change the password; every other session of the account ends."""
    row = await reads.account(users, seen, user.user_id)
    if row is None or not verify_password(row["password_hash"], body.current_password):
        raise HTTPException(422, "The current password is wrong.")
    sealed = await clients.keys.seal(user.user_id, hash_password(body.new_password))
    await execute(bus, ChangePassword(user_id=UUID(user.user_id), password_hash=sealed),
                  actor=user.user_id, command_id=uuid.uuid4(), seen=seen)
    await sessions.end_all(user.user_id, keep=user.session_id)
    return Response(status_code=204)


async def _profile(users: UsersView, seen: ReadYourWrites, user_id: str) -> Profile:
    row = await reads.account(users, seen, user_id)
    if row is None:
        raise HTTPException(404, "This account does not exist (any more).")
    return Profile(id=row["id"], email=row["email"] or "", full_name=row["full_name"] or "",
                   email_verified=row["email_verified"], phone=row["phone"],
                   addresses=row["addresses"], roles=row["roles"],
                   created_at=row["created_at"])
