"""The users read model in MySQL: accounts with their profile, roles and password hash,
and the accounts at identity providers linked to them (by a keyed hash of the subject).

Personal data arrives sealed and is unsealed here with the user's key; once a
user is forgotten it can no longer be, and the row keeps no personal data.
"""

from __future__ import annotations

import json

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    update,
)
from sqlalchemy.dialects.mysql import DATETIME
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.crypto import KeyStore
from schemas.records import Record
from projections.mysql import Fact, MySQLProjection, Write, insert_row, update_row
from schemas.events.users import (
    EmailVerified,
    PasswordChanged,
    ProfileChanged,
    SocialIdentityLinked,
    UserRegistered,
)
from schemas.topics import USERS


def users_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("email_key", String(64), nullable=False, unique=True),
        Column("email", String(320)),
        Column("full_name", String(200)),
        Column("phone", String(32)),
        Column("addresses", JSON, nullable=False),
        Column("password_hash", String(255)),
        Column("roles", JSON, nullable=False),
        Column("email_verified", Boolean, nullable=False),
        Column("created_at", DATETIME(fsp=6), nullable=False),
        Column("updated_at", DATETIME(fsp=6), nullable=False),
        Column("version", Integer, nullable=False),
    )


def user_identities_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("provider", String(64), primary_key=True),
        Column("subject_key", String(64), primary_key=True),
        Column("user_id", String(36), nullable=False, index=True),
        Column("linked_at", DATETIME(fsp=6), nullable=False),
    )


class UsersProjection(MySQLProjection):
    name = "users"
    topics = (USERS.events.name,)
    table_factories = {"users": users_table, "user_identities": user_identities_table}

    def __init__(self, engine: AsyncEngine, keys: KeyStore, suffix: str = "") -> None:
        super().__init__(engine, suffix)
        self.keys = keys

    async def writes_for(self, record: Record) -> list[Write]:
        event, at, version = Fact.of(record)
        users = self.tables["users"]
        subject = str(getattr(event, "user_id", ""))
        match event:
            case UserRegistered():
                return [insert_row(
                    users, id=subject, email_key=event.email_key,
                    email=await self.keys.unseal(subject, event.email),
                    full_name=await self.keys.unseal(subject, event.full_name),
                    password_hash=(await self.keys.unseal(subject, event.password_hash)
                                   if event.password_hash is not None else None),
                    phone=None, addresses=[], roles=list(event.roles),
                    email_verified=event.email_verified, created_at=at, updated_at=at,
                    version=version)]
            case SocialIdentityLinked():
                return [insert_row(self.tables["user_identities"], provider=event.provider,
                                   subject_key=event.subject_key, user_id=subject,
                                   linked_at=at),
                        update_row(users, subject, version, updated_at=at)]
            case EmailVerified():
                return [update_row(users, subject, version, email_verified=True, updated_at=at)]
            case ProfileChanged():
                changes = {}
                for name in ("full_name", "phone"):
                    if (sealed := getattr(event, name)) is not None:
                        changes[name] = await self.keys.unseal(subject, sealed)
                if event.addresses is not None:
                    addresses = await self.keys.unseal(subject, event.addresses)
                    changes["addresses"] = json.loads(addresses) if addresses else []
                return [update_row(users, subject, version, updated_at=at, **changes)]
            case PasswordChanged():
                return [update_row(users, subject, version, updated_at=at,
                                   password_hash=await self.keys.unseal(subject,
                                                                        event.password_hash))]
        return []

    async def forget(self, user_id: str) -> bool:
        """Remove the user's personal data from this model; returns whether the user exists."""
        table, identities = self.tables["users"], self.tables["user_identities"]
        async with self.engine.begin() as connection:
            result = await connection.execute(update(table).where(table.c.id == user_id).values(
                email=None, full_name=None, phone=None, addresses=[], password_hash=None))
            await connection.execute(delete(identities).where(identities.c.user_id == user_id))
        return result.rowcount > 0
