"""Reads of the users model: an account by id, by email key or by linked identity."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import select

from projections.users import UsersProjection
from projections.views import MySQLView


class UserRow(TypedDict):
    id: str
    email_key: str
    email: str | None
    full_name: str | None
    phone: str | None
    addresses: list[Any]
    password_hash: str | None
    roles: list[str]
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    version: int


class UsersView(MySQLView):
    projection = UsersProjection

    async def find(self, user_id: str) -> UserRow | None:
        return await self._one("users", self.tables["users"].c.id == user_id)

    async def find_by_email_key(self, email_key: str) -> UserRow | None:
        return await self._one("users", self.tables["users"].c.email_key == email_key)

    async def find_by_identity(self, provider: str, subject_key: str) -> UserRow | None:
        """The user an identity provider's account is linked to."""
        identities = self.tables["user_identities"]
        linked = (select(identities.c.user_id)
                  .where(identities.c.provider == provider,
                         identities.c.subject_key == subject_key)
                  .scalar_subquery())
        return await self._one("users", self.tables["users"].c.id == linked)
