"""Send N requests at a fixed concurrency, bounded in time; record latency and status.

`send(i)` answers an HTTP status, or an httpx response.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx


@dataclass
class Run:
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)  # of 2xx answers only
    statuses: Counter = field(default_factory=Counter)  # HTTP status, or the error's name
    unsent: int = 0  # left when the time limit came

    @property
    def ok(self) -> int:
        return len(self.latencies_s)

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.latencies_s)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def summary(self, label: str, commands_per_request: int = 1) -> str:
        rate = self.ok / self.seconds if self.seconds else 0.0
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items(), key=str))
        return (f"{label}: {self.ok} ok in {self.seconds:.1f} s = {rate:,.0f} req/s "
                f"({rate * commands_per_request:,.0f} commands/s); 2xx latency "
                f"p50 {self.percentile_ms(50):.0f} ms, p99 {self.percentile_ms(99):.0f} ms, "
                f"max {self.percentile_ms(100):.0f} ms; statuses {{{statuses}}}; "
                f"unsent {self.unsent}")


def status_of(answer: Any) -> int:
    return answer if isinstance(answer, int) else answer.status_code


async def run(n: int, concurrency: int, send: Callable[[int], Awaitable[Any]],
              time_limit_s: float) -> Run:
    """Call `send(i)` for i in 0..n-1 from `concurrency` workers until done or out of time."""
    result = Run()
    indexes = iter(range(n))
    started = time.perf_counter()
    deadline = started + time_limit_s

    async def worker() -> None:
        for i in indexes:
            if time.perf_counter() > deadline:
                result.unsent += 1
                continue
            sent = time.perf_counter()
            try:
                status: int | str = status_of(await send(i))
            except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as error:
                status = type(error).__name__
            result.statuses[status] += 1
            if isinstance(status, int) and 200 <= status < 300:
                result.latencies_s.append(time.perf_counter() - sent)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result
