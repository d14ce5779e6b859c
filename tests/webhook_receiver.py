"""A scripted webhook receiver for tests: the outside party, an aiohttp server on a
free local port that records what it is sent and answers as the test says."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    event_id: str
    signature: str
    body: bytes
    status: int

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def signature_valid(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """What a receiver checks: the HMAC of "<t>.<body>" and that t is recent."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return (hmac.compare_digest(expected, parts["v1"])
            and abs(time.time() - int(parts["t"])) <= tolerance_s)


@dataclass
class Receiver:
    """`answer(n)` gives the status of the n-th request (from 1); 200 by default."""

    answer: Callable[[int], int] = lambda n: 200
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._take)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        """Close the port: connections are refused until `start` again."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.answer(len(self.requests) + 1)
        self.requests.append(Received(request.headers.get("Shopstream-Event-Id", ""),
                                      request.headers.get("Shopstream-Signature", ""),
                                      body, status))
        return web.Response(status=status)

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def accepted_for(self, key: str, value: str) -> list[Received]:
        """Accepted deliveries whose data[key] is `value`, in arrival order."""
        return [r for r in self.accepted() if r.payload["data"].get(key) == value]
