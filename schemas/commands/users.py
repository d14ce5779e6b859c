"""Requests to the users service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from schemas.events.users import IdentityKey, Role, TokenHash
from schemas.messages import Command
from schemas.personal import Sealed


class ClaimEmail(Command):
    """Take an email address for a new account; addressed by the email key."""

    service: ClassVar[str] = "users"
    email_key: str
    user_id: UUID
    email: Sealed
    full_name: Sealed
    password_hash: Sealed | None = None  # None: signs in through an identity provider only
    roles: list[Role]

    @property
    def aggregate_key(self) -> str:
        return self.email_key


class _UserCommand(Command):
    service: ClassVar[str] = "users"
    user_id: UUID

    @property
    def aggregate_key(self) -> str:
        return str(self.user_id)


class RegisterUser(_UserCommand):
    """Create the account that a claim made room for, with its email verification link.

    An address an identity provider vouched for comes `email_verified`, without a link.
    """

    email_key: str
    email: Sealed
    full_name: Sealed
    password_hash: Sealed | None = None  # None: signs in through an identity provider only
    roles: list[Role]
    email_verified: bool = False
    verification_request_id: UUID | None = None
    verification_token_hash: TokenHash | None = None
    verification_expires_at: datetime | None = None


class VerifyEmail(_UserCommand):
    token_hash: TokenHash
    at: datetime  # when the link was used: checked against its deadline


class LinkSocialIdentity(_UserCommand):
    """Let an account at an identity provider sign in to this account.

    The caller checked that the provider vouches for the account's email address.
    """

    provider: Annotated[str, Field(min_length=1, max_length=64)]
    subject_key: IdentityKey


class ChangeProfile(_UserCommand):
    full_name: Sealed | None = None
    phone: Sealed | None = None
    addresses: Sealed | None = None


class ChangePassword(_UserCommand):
    """The current password was checked by the caller; this sets the new one."""

    password_hash: Sealed


class RequestPasswordReset(_UserCommand):
    request_id: UUID
    token_hash: TokenHash
    expires_at: datetime


class ResetPassword(_UserCommand):
    token_hash: TokenHash
    password_hash: Sealed
    at: datetime  # when the link was used: checked against its deadline
