"""Login sessions in Redis: created at login, checked on every authenticated request.

A session holds its user and the hash of its current refresh token. Refreshing
rotates the token; presenting a rotated one again means it was stolen, so the
session ends. Deleting a session ends its access and refresh tokens at once.
A session also remembers where its writes landed in Kafka, so that its reads,
on any API replica, show them (read-your-writes without a token).
Refresh tokens are `<session id>.<secret>`; only the secret's hash is stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from schemas.replies import Position


@dataclass(frozen=True)
class NewSession:
    session_id: str
    refresh_token: str


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    created_at: int
    last_used_at: int
    expires_at: int
    user_agent: str
    ip: str


@dataclass(frozen=True)
class SessionLookup:
    """What an authenticated request needs of its session: whether it is still the
    user's, and where the session's writes landed."""

    active: bool
    writes: list[Position]


@dataclass(frozen=True)
class Rotated:
    user_id: str
    session_id: str
    refresh_token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Atomically: the current secret rotates; a rotated one ends the session; else nothing.
_ROTATE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {'unknown'} end
local session = cjson.decode(raw)
if session['refresh_hash'] == ARGV[1] then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], redis.call('TTL', KEYS[1]))
  session['refresh_hash'] = ARGV[2]
  session['last_used_at'] = tonumber(ARGV[3])
  redis.call('SET', KEYS[1], cjson.encode(session), 'KEEPTTL')
  return {'rotated', session['user_id']}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SREM', 'user-sessions:' .. session['user_id'], ARGV[4])
  return {'reused', session['user_id']}
end
return {'unknown'}
"""

# Keep the larger offset of each partition; the positions live as long as their session.
_REMEMBER = """
local ttl = redis.call('TTL', KEYS[2])
if ttl < 0 then return 0 end
for i = 1, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > current then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""


def _positions(stored: dict[str, str]) -> list[Position]:
    """The latest write position of a session in each partition it wrote to."""
    positions = []
    for field, offset in stored.items():
        topic, _, partition = field.rpartition("/")
        positions.append(Position(topic=topic, partition=int(partition), offset=int(offset)))
    return positions


class SessionStore:
    def __init__(self, redis: aioredis.Redis, lifetime_s: int, remembered_lifetime_s: int) -> None:
        self._redis = redis
        self._lifetime_s = lifetime_s
        self._remembered_lifetime_s = remembered_lifetime_s
        self._rotate = redis.register_script(_ROTATE)
        self._remember = redis.register_script(_REMEMBER)

    async def create(self, user_id: str, *, remember: bool = False, user_agent: str = "",
                     ip: str = "") -> NewSession:
        session_id = str(uuid.uuid4())
        secret = secrets.token_urlsafe(32)
        now = int(time.time())
        lifetime = self._remembered_lifetime_s if remember else self._lifetime_s
        record = {"user_id": user_id, "refresh_hash": _hash(secret), "created_at": now,
                  "last_used_at": now, "expires_at": now + lifetime,
                  "user_agent": user_agent[:200], "ip": ip}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"session:{session_id}", json.dumps(record), ex=lifetime)
            pipe.sadd(f"user-sessions:{user_id}", session_id)
            await pipe.execute()
        return NewSession(session_id, f"{session_id}.{secret}")

    async def is_active(self, session_id: str, user_id: str) -> bool:
        raw = await self._redis.get(f"session:{session_id}")
        return raw is not None and json.loads(raw)["user_id"] == user_id

    async def look_up(self, session_id: str, user_id: str) -> SessionLookup:
        """The session and its writes, in one round trip: a request needs both."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(f"session:{session_id}")
            pipe.hgetall(f"session-writes:{session_id}")
            raw, stored = await pipe.execute()
        active = raw is not None and json.loads(raw)["user_id"] == user_id
        return SessionLookup(active, _positions(stored) if active else [])

    async def rotate(self, refresh_token: str) -> Rotated | None:
        """A new refresh token for the session, or None (unknown, expired or reused)."""
        session_id, _, secret = refresh_token.partition(".")
        try:
            uuid.UUID(session_id)
        except ValueError:
            return None
        new_secret = secrets.token_urlsafe(32)
        outcome = await self._rotate(
            keys=[f"session:{session_id}", f"session-rotated:{session_id}"],
            args=[_hash(secret), _hash(new_secret), int(time.time()), session_id])
        if outcome[0] != "rotated":
            return None
        return Rotated(outcome[1], session_id, f"{session_id}.{new_secret}")

    async def list(self, user_id: str) -> list[SessionInfo]:
        ids = sorted(await self._redis.smembers(f"user-sessions:{user_id}"))
        sessions = []
        for session_id, raw in zip(ids, await self._redis.mget([f"session:{i}" for i in ids])
                                   if ids else [], strict=True):
            if raw is None:
                await self._redis.srem(f"user-sessions:{user_id}", session_id)
                continue
            record = json.loads(raw)
            sessions.append(SessionInfo(session_id, record["created_at"], record["last_used_at"],
                                        record["expires_at"], record["user_agent"], record["ip"]))
        return sorted(sessions, key=lambda s: s.created_at, reverse=True)

    async def end(self, user_id: str, session_id: str) -> bool:
        """End one of the user's sessions; False if it is not theirs or already over."""
        if not await self.is_active(session_id, user_id):
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"session:{session_id}", f"session-rotated:{session_id}",
                        f"session-writes:{session_id}")
            pipe.srem(f"user-sessions:{user_id}", session_id)
            await pipe.execute()
        return True

    async def remember_writes(self, session_id: str, positions: list[Position]) -> None:
        """Note where the session's write landed, so its later reads wait for it."""
        if positions:
            await self._remember(
                keys=[f"session-writes:{session_id}", f"session:{session_id}"],
                args=[v for p in positions for v in (f"{p.topic}/{p.partition}", p.offset)])

    async def end_all(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of the user, but `keep`; returns how many ended."""
        ended = 0
        for session_id in await self._redis.smembers(f"user-sessions:{user_id}"):
            if session_id != keep and await self.end(user_id, session_id):
                ended += 1
        return ended
