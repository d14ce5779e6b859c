"""Fixed-window counters in Redis, for limits such as failed logins per account."""

from __future__ import annotations

import redis.asyncio as aioredis


class RateLimiter:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def blocked_for(self, key: str, limit: int) -> int | None:
        """Seconds until `key` may try again if it reached `limit`, else None."""
        count = await self._redis.get(f"limit:{key}")
        if count is None or int(count) < limit:
            return None
        return max(await self._redis.ttl(f"limit:{key}"), 1)

    async def hit(self, key: str, window_s: int) -> int:
        """Count one more within the window; returns the count."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(f"limit:{key}")
            pipe.expire(f"limit:{key}", window_s, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def clear(self, key: str) -> None:
        await self._redis.delete(f"limit:{key}")
