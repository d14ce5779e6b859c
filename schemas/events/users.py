"""Facts of the users service."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

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
    password_hash: Sealed
    roles: list[Role]


class UserRegistered(Event):
    user_id: UUID
    email_key: str
    email: Sealed
    full_name: Sealed
    password_hash: Sealed
    roles: list[Role]
    email_verified: bool = False
