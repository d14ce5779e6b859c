"""The local gateway on the real stack: balancing, failover, limits, per-service routing.

Which process answered shows in its `X-Served-By` header (`host/pid`). Rate-limit
tests send from an address of their own on the loopback network (127.x.y.z), so
the limits they exhaust are not those of the rest of the suite (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from ops.gateway import haproxy_config
from ops.routes import ROUTES
from infra.settings import PROJECT_ROOT, Settings
from ops.stack import installers
from ops.stack.manager import Stack
from tests.support import eventually, unique_email


def served_by(response: httpx.Response) -> int:
    return int(response.headers["X-Served-By"].rsplit("/", 1)[1])


def replica_pids(stack: Stack) -> dict[int, str]:
    return {stack.pid(part): part.name for part in stack.select(["api-1", "api-2"])}


def from_own_address(settings: Settings) -> httpx.AsyncClient:
    """A client whose connections come from a loopback address no other test uses."""
    address = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
    return httpx.AsyncClient(base_url=settings.public_url, timeout=30,
                             transport=httpx.AsyncHTTPTransport(local_address=address))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_requests_go_round_robin_across_the_api_processes(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    pids = replica_pids(stack)
    answers = [served_by(await gateway.get("/healthz")) for _ in range(20)]
    assert set(answers) == set(pids), answers
    # Strictly alternating while nothing else goes through this route's backend; other
    # tests' traffic may shift the turn, never the balance.
    assert all(abs(count - 10) <= 2 for count in Counter(answers).values()), answers


@pytest.mark.destructive
async def test_stopping_a_replica_while_requests_flow_fails_none(
    gateway: httpx.AsyncClient, stack: Stack, settings: Settings
) -> None:
    pids = replica_pids(stack)
    api_2 = stack.select(["api-2"])
    (api_2_pid,) = [pid for pid, name in pids.items() if name == "api-2"]
    failures: list[str] = []
    served: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def client(path: str) -> None:
        # Each client keeps its connection to the gateway, as a browser or app does, and
        # stays well under the gateway's limit (from an address of its own).
        async with from_own_address(settings) as http:
            while not stop.is_set():
                await asyncio.sleep(0.02)
                try:
                    response = await http.get(path)
                except httpx.HTTPError as error:
                    failures.append(f"{path}: {error!r}")
                    continue
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code} {response.text[:200]}")
                else:
                    served.append((time.monotonic(), served_by(response)))

    clients = [asyncio.create_task(client(path))
               for path in ("/healthz", "/v1/categories", "/healthz", "/v1/categories")]
    try:
        await asyncio.sleep(1.5)
        stopped_at = time.monotonic()
        assert await asyncio.to_thread(stack.down, api_2) == ["api-2"]
        stopped_by = time.monotonic()
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*clients)
    finally:
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
        await asyncio.to_thread(stack.up, api_2)

    assert failures == []
    assert len([at for at, _ in served if stopped_at <= at <= stopped_by + 0.5]) > 10
    assert {pid for at, pid in served if at < stopped_at} == set(pids)
    after = [pid for at, pid in served if at > stopped_by]
    assert after and api_2_pid not in after
    # Back in the pool once it is up again (health checks each second, one to rise).
    restarted = stack.pid(api_2[0])

    async def both_serve() -> bool:
        seen = {served_by(await gateway.get("/healthz")) for _ in range(6)}
        return restarted in seen and len(seen) == 2

    await eventually(both_serve, timeout_s=20, interval_s=0.5)


async def test_a_route_limit_answers_429_with_retry_after(settings: Settings) -> None:
    (route,) = [r for r in ROUTES if r.name == "auth-password-reset"]
    async with from_own_address(settings) as http:
        statuses = []
        for _ in range(route.limit.requests):
            response = await http.post("/v1/auth/password-reset", json={"email": unique_email()})
            statuses.append(response.status_code)
        blocked = await http.post("/v1/auth/password-reset", json={"email": unique_email()})
        # Other routes are not limited by this route's limit.
        other = await http.get("/healthz")
    assert statuses == [202] * route.limit.requests
    assert blocked.status_code == 429
    assert blocked.headers["content-type"] == "application/problem+json"
    assert int(blocked.headers["Retry-After"]) == route.limit.window_s
    assert blocked.json()["status"] == 429
    assert other.status_code == 200


async def test_the_gateway_limit_over_all_routes_answers_429(settings: Settings) -> None:
    async with from_own_address(settings) as http:
        # Unknown API paths are answered by the gateway itself (404), and count too.
        statuses: Counter[int] = Counter()
        for batch in range(0, settings.gateway_rate_limit, 100):
            responses = await asyncio.gather(*[http.get(f"/v1/no-such-path/{batch + n}")
                                               for n in range(100)])
            statuses.update(r.status_code for r in responses)
        # The rate is measured over a sliding window, so on a busy machine, where sending
        # the requests above took a good part of the window, more may pass before the
        # limit: keep sending, in batches as fast as above, until it answers.
        blocked = None
        for more in range(settings.gateway_rate_limit // 10):
            answers = await asyncio.gather(*[http.get(f"/v1/no-such-path/more-{more}-{n}")
                                             for n in range(100)])
            blocked = next((a for a in answers if a.status_code == 429), None)
            if blocked is not None:
                break
    assert statuses == {404: settings.gateway_rate_limit}
    assert blocked is not None and blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == settings.gateway_rate_window_s
    assert blocked.headers["content-type"] == "application/problem+json"


async def test_a_body_larger_than_the_route_takes_is_refused_at_the_gateway(
    gateway: httpx.AsyncClient,
) -> None:
    (route,) = [r for r in ROUTES if r.name == "users"]
    response = await gateway.post("/v1/users", content=b"{" + b" " * route.max_body_bytes + b"}",
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-Served-By" not in response.headers  # never reached an API process


async def test_the_gateway_routes_a_service_to_its_own_deployable(
    settings: Settings, stack: Stack, tmp_path: Path
) -> None:
    """`shopstream api --service catalog` serves only the catalog; a gateway whose route
    table sends the catalog there, and the rest to the replicas, reaches both."""
    catalog_port, gateway_port, stats_port = free_port(), free_port(), free_port()
    api_log = (tmp_path / "api.log").open("w")
    catalog_api = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "api", "--service", "catalog",
         "--port", str(catalog_port)],
        cwd=PROJECT_ROOT, stdout=api_log, stderr=subprocess.STDOUT, env=os.environ.copy())
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(settings.model_copy(update={
        "gateway_port": gateway_port, "gateway_stats_port": stats_port,
        "gateway_upstreams": {"catalog": [f"127.0.0.1:{catalog_port}"]}})))
    haproxy = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{catalog_port}") as direct:
            async def catalog_up() -> bool:
                try:
                    return (await direct.get("/healthz")).status_code == 200
                except httpx.HTTPError:
                    assert catalog_api.poll() is None, (tmp_path / "api.log").read_text()
                    return False

            await eventually(catalog_up, timeout_s=60, interval_s=0.25)
            assert (await direct.get("/v1/categories")).status_code == 200
            assert (await direct.post("/v1/users", json={})).status_code == 404
            paths = {path for path in (await direct.get("/openapi.json")).json()["paths"]}
            assert paths and all(p.startswith(("/v1/categories", "/v1/products", "/v1/search",
                                               "/v1/admin/categories", "/v1/admin/products",
                                               "/healthz", "/readyz")) for p in paths), paths

        haproxy = subprocess.Popen([installers.find_executable("haproxy") or "haproxy", "-db",
                                    "-f", str(config)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}",
                                     timeout=30) as http:
            async def catalog_routed() -> bool:
                try:
                    response = await http.get("/v1/categories")
                except httpx.HTTPError:
                    return False
                return response.status_code == 200 and served_by(response) == catalog_api.pid

            await eventually(catalog_routed, timeout_s=20, interval_s=0.25)
            replicas = set(replica_pids(stack))
            for _ in range(4):
                assert served_by(await http.get("/v1/categories")) == catalog_api.pid
                sign_up = await http.post("/v1/users", json={})
                assert sign_up.status_code == 422 and served_by(sign_up) in replicas
    finally:
        for process in (haproxy, catalog_api):
            if process is not None:
                process.terminate()
                process.wait(timeout=20)
        api_log.close()
