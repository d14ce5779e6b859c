"""Facts of the users service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from schemas.messages import Event
from schemas.personal import Sealed

Role = Literal["customer", "admin"]


class EmailClaimed(Event):
    """An email address was taken by a new account (keyed by the email key).

    Carries the sign-up, sealed, so the account can be created from it alone.
    """

    email_key: str
    user_id: UUID
    email: Sealed
    full_name: Sealed
    # None: the account has no password; it signs in through an identity provider.
    password_hash: Sealed | None = None
    roles: list[Role]


class UserRegistered(Event):
    """A new account. `email_verified` is true when an identity provider vouched for it."""

    user_id: UUID
    email_key: str
    email: Sealed
    full_name: Sealed
    # None: the account has no password; it signs in through an identity provider.
    password_hash: Sealed | None = None
    roles: list[Role]
    email_verified: bool = False


TokenHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$",
                                 description="SHA-256 of a link token; the token is never stored.")]


class EmailVerificationRequested(Event):
    """A verification link was made; the email carries it, the event only its hash."""

    user_id: UUID
    request_id: UUID
    token_hash: TokenHash
    expires_at: datetime


class EmailVerified(Event):
    user_id: UUID


IdentityKey = Annotated[str, Field(
    pattern=r"^[0-9a-f]{64}$",
    description="Keyed hash of the provider's subject (`infra.security.identity_key`), "
                "as the email key is of the address: it finds the account, reveals nothing.")]


class SocialIdentityLinked(Event):
    """An account at an identity provider may now sign in to this account."""

    user_id: UUID
    provider: str
    subject_key: IdentityKey


class ProfileChanged(Event):
    """Only the fields that changed are present; `addresses` is a sealed JSON list."""

    user_id: UUID
    full_name: Sealed | None = None
    phone: Sealed | None = None
    addresses: Sealed | None = None


class PasswordResetRequested(Event):
    user_id: UUID
    request_id: UUID
    token_hash: TokenHash
    expires_at: datetime


class PasswordChanged(Event):
    """A new password: by the user (`changed`) or through a reset link (`reset`)."""

    user_id: UUID
    password_hash: Sealed
    reason: Literal["changed", "reset"]
    reset_token_hash: TokenHash | None = None
