"""Login sessions in Redis: created at login, checked on every authenticated request.

A session holds its user and a hash of its current refresh token; deleting the
session ends its access and refresh tokens at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis


@dataclass(frozen=True)
class NewSession:
    session_id: str
    refresh_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, redis: aioredis.Redis, lifetime_s: int) -> None:
        self._redis = redis
        self._lifetime_s = lifetime_s

    async def create(self, user_id: str, *, user_agent: str = "",
                     ip: str = "") -> NewSession:
        session_id = str(uuid.uuid4())
        refresh = secrets.token_urlsafe(32)
        record = {"user_id": user_id, "refresh_hash": _hash(refresh), "created_at": int(time.time()),
                  "user_agent": user_agent[:200], "ip": ip}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"session:{session_id}", json.dumps(record), ex=self._lifetime_s)
            pipe.sadd(f"user-sessions:{user_id}", session_id)
            await pipe.execute()
        return NewSession(session_id, refresh)

    async def is_active(self, session_id: str, user_id: str) -> bool:
        raw = await self._redis.get(f"session:{session_id}")
        return raw is not None and json.loads(raw)["user_id"] == user_id
