"""Schemathesis over the users and authentication routes: whatever a client sends, no 5xx."""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import sys
from pathlib import Path

import httpx

from infra.settings import Settings
from tests.support import log_in, sign_up, unique_email


async def test_users_and_auth_routes_never_answer_with_a_server_error(
        settings: Settings, gateway: httpx.AsyncClient) -> None:
    email = unique_email("fuzz")
    created = await sign_up(gateway, email)
    auth = await log_in(gateway, email, consistency_token=created.headers["X-Consistency-Token"])
    # From an address of its own, so the failed sign-ins it causes limit no other test.
    address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = await asyncio.to_thread(subprocess.run, [
        str(schemathesis), "run", f"http://127.0.0.1:{settings.api_replica_ports[0]}/openapi.json",
        "--include-path-regex", r"^/v1/(users|auth)", "--checks", "not_a_server_error",
        "--max-examples", "30", "--header", f"X-Forwarded-For: {address}",
        "--header", f"Authorization: {auth['Authorization']}", "--no-color"],
        capture_output=True, text=True, timeout=900)

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested and int(tested.group(1)) >= 12, result.stdout[-3000:]
    assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-3000:]
