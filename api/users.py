"""Accounts: sign-up and the signed-in user's profile."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator

from api import consistency
from api.commands import command_id, derived_id, execute
from api.deps import (
    BusDep,
    ClientsDep,
    ConsistencyToken,
    CurrentUser,
    IdempotencyKey,
    ProjectionsDep,
    SettingsDep,
)
from commands.passwords import password_problems
from infra.security import email_key, hash_password, normalise_email
from schemas.commands.users import ClaimEmail, RegisterUser

router = APIRouter(tags=["users"])


class SignUp(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    full_name: Annotated[str, Field(min_length=1, max_length=200)]

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _password(self) -> SignUp:
        problems = password_problems(self.password, self.email)
        if problems:
            raise ValueError("password " + "; ".join(problems))
        return self


class Address(BaseModel):
    full_name: str
    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    country: str


class NewUser(BaseModel):
    id: UUID
    email: str
    full_name: str
    email_verified: bool


class Profile(NewUser):
    phone: str | None
    addresses: list[Address]
    roles: list[str]
    created_at: datetime


async def register(bus, keys, settings, form: SignUp, *, roles: list[str],
                   idempotency_key: str | None, actor: str | None,
                   response: Response | None = None) -> UUID:
    """Claim the address, then create the account: two commands, both retry-safe."""
    key = email_key(settings, form.email)
    claim_id = command_id(f"POST /v1/users\n{key}", idempotency_key)
    user_id = derived_id(claim_id, "user")
    subject = str(user_id)
    sealed = {
        "email": await keys.seal(subject, normalise_email(form.email)),
        "full_name": await keys.seal(subject, form.full_name),
        "password_hash": await keys.seal(subject, hash_password(form.password)),
    }
    await execute(bus, ClaimEmail(email_key=key, user_id=user_id, roles=roles, **sealed),
                  actor=actor, command_id=claim_id)
    await execute(bus, RegisterUser(user_id=user_id, email_key=key, roles=roles, **sealed),
                  actor=actor, command_id=derived_id(claim_id, "register"), response=response)
    return user_id


@router.post("/v1/users", status_code=201, response_model=NewUser,
             responses={409: {"description": "The email address is taken"},
                        422: {"description": "Weak password or invalid email"}})
async def sign_up(form: SignUp, response: Response, bus: BusDep, clients: ClientsDep,
                  settings: SettingsDep, idempotency_key: IdempotencyKey = None) -> NewUser:
    """Create an account with an email address and a password."""
    user_id = await register(bus, clients.keys, settings, form, roles=["customer"],
                             idempotency_key=idempotency_key, actor=None, response=response)
    response.headers["Location"] = "/v1/users/me"
    return NewUser(id=user_id, email=normalise_email(form.email), full_name=form.full_name,
                   email_verified=False)


@router.get("/v1/users/me", response_model=Profile)
async def me(user: CurrentUser, clients: ClientsDep, projections: ProjectionsDep,
             token: ConsistencyToken = None) -> Profile:
    """The signed-in user's profile."""
    users = projections["users"]
    await consistency.wait_for(clients, users, token)
    row = await users.find(user.user_id)  # type: ignore[attr-defined]
    if row is None:
        raise HTTPException(404, "This account does not exist (any more).")
    return Profile(id=row["id"], email=row["email"] or "", full_name=row["full_name"] or "",
                   email_verified=row["email_verified"], phone=row["phone"],
                   addresses=row["addresses"], roles=row["roles"],
                   created_at=row["created_at"].replace(tzinfo=UTC))
