"""Requests to the users service."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from schemas.events.users import Role
from schemas.messages import Command
from schemas.personal import Sealed


class ClaimEmail(Command):
    """Take an email address for a new account; addressed by the email key."""

    service: ClassVar[str] = "users"
    email_key: str
    user_id: UUID
    email: Sealed
    full_name: Sealed
    password_hash: Sealed
    roles: list[Role]

    @property
    def aggregate_key(self) -> str:
        return self.email_key


class RegisterUser(Command):
    """Create the account that a claim made room for; addressed by the user id."""

    service: ClassVar[str] = "users"
    user_id: UUID
    email_key: str
    email: Sealed
    full_name: Sealed
    password_hash: Sealed
    roles: list[Role]

    @property
    def aggregate_key(self) -> str:
        return str(self.user_id)
