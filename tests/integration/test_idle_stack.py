"""A shop left idle after it started stays quiet: no error or warning in any part's log,
and each worker and API process uses under 3 % of a core.

The Faust workers check every partition for progress and log one that made none
for `worker_stall_timeout_s` (five minutes by default) as stalled, on every check.
The workers are restarted with a short timeout, so the idle time after which
such reports would appear fits in the test; a checkout first gives every worker
something to do, so each has partitions it handled and partitions it did not.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

import httpx
import pytest

from ops.stack.manager import Stack
from ops.stack.parts import Worker
from tests.e2e.test_checkout import fill_cart, placed
from tests.support import PASSWORD, eventually, make_product, sign_up, unique_email

STALL_TIMEOUT_S = 15.0
STALL_CHECK_INTERVAL_S = 2.5 * 2.8  # Faust checks every 2.5 commit intervals (2.8 s)
# Long enough for Faust to check each partition twice past the timeout.
IDLE_S = STALL_TIMEOUT_S + 2 * STALL_CHECK_INTERVAL_S
CPU_WINDOW_S = 20.0
MOST_CPU = 0.03

# ERROR, WARN or WARNING as Faust, Kafka, Elasticsearch, FerretDB and HAProxy write them,
# MariaDB's [Warning] and [ERROR], Redis's "#" lines, our JSON events' levels, and tracebacks.
NOISE = re.compile(r"\b(ERROR|WARN|WARNING|FATAL|CRITICAL|SEVERE)\b|\[(Warning|Error)\]"
                   r"|^\d+:[A-Z] .* # |\"level\": \"(warning|error|critical)\"|Traceback")


def log_size(log_file: Path) -> int:
    return log_file.stat().st_size if log_file.exists() else 0


def lines_since(log_file: Path, size: int) -> list[str]:
    """The lines written to a log after it had `size` bytes (across one rotation)."""
    rotated = log_file.with_name(log_file.name + ".1")
    if log_size(log_file) >= size:
        chunks = [log_file.read_bytes()[size:]]
    else:
        chunks = [rotated.read_bytes()[size:], log_file.read_bytes()]
    return b"".join(chunks).decode(errors="replace").splitlines()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_use(stack: Stack, names: list[str], seconds: float) -> dict[str, float]:
    """The share of one core each part used over the next `seconds`."""
    pids = {part.name: stack.pid(part) for part in stack.select(names)}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    return {name: round((cpu_seconds(pid) - before[name]) / elapsed, 4)
            for name, pid in pids.items()}


def restart(stack: Stack, workers: list[Worker]) -> None:
    stack.down(workers)
    stack.up(workers)


async def serving(gateway: httpx.AsyncClient, admin: dict, category: dict
                  ) -> tuple[dict, dict]:
    """A new product and a signed-in shopper, once the just restarted workers serve both.

    Each step waits until what it reads is there, so that the time the read models take
    to catch up after a restart fails neither this test nor the ones after it.
    """
    product = await make_product(gateway, admin, category, "Idle test lamp", 2500, 5)
    await eventually(lambda: visible(gateway, f"/v1/products/{product['id']}"), timeout_s=60)
    email = unique_email("idle")
    assert (await sign_up(gateway, email)).status_code == 201
    return product, await eventually(lambda: signed_in(gateway, email), timeout_s=60)


async def checkout(gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    """Work for every worker: commands, read models, the saga and its emails."""
    product, headers = await serving(gateway, admin, category)
    await fill_cart(gateway, headers, (product, 1))
    order = await placed(gateway, headers, "card", "tok_visa")
    assert order["status"] == "confirmed", order


async def visible(gateway: httpx.AsyncClient, path: str) -> bool:
    return (await gateway.get(path)).status_code == 200


async def signed_in(gateway: httpx.AsyncClient, email: str) -> dict | None:
    response = await gateway.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    return ({"Authorization": f"Bearer {response.json()['access_token']}"}
            if response.status_code == 200 else None)


@pytest.mark.destructive
@pytest.mark.timeout(600)  # two restarts of the four workers and a minute of idling
async def test_an_idle_shop_logs_no_error_or_warning_and_uses_little_cpu(
        stack: Stack, gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    workers = [part for part in stack.parts if isinstance(part, Worker)]
    impatient = [Worker(role=worker.role,
                        env={"SHOPSTREAM_WORKER_STALL_TIMEOUT_S": str(STALL_TIMEOUT_S)})
                 for worker in workers]
    await asyncio.to_thread(restart, stack, impatient)
    try:
        await checkout(gateway, admin, category)
        sizes = {part.name: log_size(stack.log_file(part)) for part in stack.parts}
        await asyncio.sleep(IDLE_S)
        processes = [part.name for part in stack.parts if part.group == "app"
                     and part.name != "gateway"]
        cpu = await cpu_use(stack, processes, CPU_WINDOW_S)
        noise = {part.name: lines for part in stack.parts
                 if (lines := [line for line in lines_since(stack.log_file(part),
                                                            sizes[part.name])
                               if NOISE.search(line)])}
    finally:
        await asyncio.to_thread(restart, stack, workers)
        await serving(gateway, admin, category)

    assert noise == {}
    assert {name: share for name, share in cpu.items() if share >= MOST_CPU} == {}, cpu
