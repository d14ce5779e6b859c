"""The load generator's HTTP client: aiohttp, round robin over one or more base URLs.

httpx's `AsyncClient` tops out near 250 requests/s at 64 in flight on this machine,
even against a bare endpoint; aiohttp's client reaches thousands, so a benchmark
with it measures the server, not itself. Its own CPU is reported with the rest.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from infra.settings import Settings


class Api:
    def __init__(self, urls: list[str], concurrency: int) -> None:
        timeout = aiohttp.ClientTimeout(total=60)
        self._sessions = [aiohttp.ClientSession(
            base_url=url, timeout=timeout,
            connector=aiohttp.TCPConnector(limit=max(concurrency, 1) + 8))
            for url in urls]

    @classmethod
    def replicas(cls, settings: Settings, concurrency: int) -> Api:
        """Round robin over the stack's API replicas, straight (the gateway would
        rate-limit one client address)."""
        return cls([f"http://127.0.0.1:{port}" for port in settings.api_replica_ports],
                   concurrency)

    async def request(self, i: int, method: str, path: str, *, json: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """Send through the `i`-th URL (round robin): the status and the JSON body (or None)."""
        session = self._sessions[i % len(self._sessions)]
        async with session.request(method, path, json=json, headers=headers) as response:
            body = (await response.json() if response.content_type.endswith("json")
                    else await response.read())
            return response.status, body

    async def close(self) -> None:
        for session in self._sessions:
            await session.close()
