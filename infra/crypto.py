"""Personal data sealed with a key per subject, and the store of those keys.

Each subject (a user) gets a random 256-bit data key, kept in MySQL wrapped by
the master key. `seal` encrypts with AES-256-GCM, binding the ciphertext to its
subject; `unseal` returns None once the key is deleted (`forget`), which makes
every copy in the immutable log unreadable.
"""

from __future__ import annotations

import base64
import os
import time
from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, LargeBinary, String, Table, delete, select
from sqlalchemy.dialects.mysql import DATETIME, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from infra.database import metadata

subject_keys = Table(
    "subject_keys",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("wrapped_key", LargeBinary(128), nullable=False),
    Column("created_at", DATETIME(fsp=6), nullable=False),
)

_PREFIX = "v1."
CACHE_TTL_S = 30.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyStore:
    def __init__(self, engine: AsyncEngine, master_key_b64: str) -> None:
        master = base64.b64decode(master_key_b64) if master_key_b64 else b""
        if len(master) != 32:
            raise ValueError("SHOPSTREAM_MASTER_KEY must be base64 of 32 bytes")
        self._engine = engine
        self._master = AESGCM(master)
        # subject -> (key, when cached). Short-lived, so a key deleted by `forget` in
        # another process stops working here within CACHE_TTL_S too.
        self._cache: dict[str, tuple[bytes, float]] = {}

    async def key_for(self, subject: str, *, create: bool = False) -> bytes | None:
        """The subject's data key; with `create`, made if it does not exist yet."""
        cached = self._cache.get(subject)
        if cached is not None and time.monotonic() - cached[1] < CACHE_TTL_S:
            return cached[0]
        async with self._engine.connect() as connection:
            row = (await connection.execute(
                select(subject_keys.c.wrapped_key).where(subject_keys.c.subject == subject)
            )).first()
        if row is None:
            if not create:
                return None
            key = AESGCM.generate_key(256)
            nonce = os.urandom(12)
            wrapped = nonce + self._master.encrypt(nonce, key, subject.encode())
            async with self._engine.begin() as connection:
                # Two writers racing on one subject: the first key wins, both use it.
                await connection.execute(insert(subject_keys).prefix_with("IGNORE").values(
                    subject=subject, wrapped_key=wrapped,
                    created_at=datetime.now(UTC).replace(tzinfo=None)))
            self._cache.pop(subject, None)
            return await self.key_for(subject)
        wrapped = row.wrapped_key
        key = self._master.decrypt(wrapped[:12], wrapped[12:], subject.encode())
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[subject] = (key, time.monotonic())
        return key

    async def forget(self, subject: str) -> bool:
        """Delete the subject's key for good; returns whether there was one."""
        self._cache.pop(subject, None)
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(subject_keys).where(subject_keys.c.subject == subject))
        return result.rowcount > 0

    async def seal(self, subject: str, plaintext: str) -> str:
        key = await self.key_for(subject, create=True)
        assert key is not None
        nonce = os.urandom(12)
        return _PREFIX + _b64(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(),
                                                          subject.encode()))

    async def unseal(self, subject: str, sealed: str) -> str | None:
        """The plaintext, or None when the subject has been forgotten."""
        key = await self.key_for(subject)
        if key is None:
            return None
        data = _unb64(sealed.removeprefix(_PREFIX))
        return AESGCM(key).decrypt(data[:12], data[12:], subject.encode()).decode()
