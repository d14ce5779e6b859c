"""kill -9 of a worker and of an API replica: the supervisor brings both back by itself,
`shopstream stack status` counts the restarts, and the supervisor's log says what it
found, which attempt it was and how long it waited. Nothing in the test starts them."""

from __future__ import annotations

import json

import httpx
import pytest

from ops.stack import process
from ops.stack.manager import Stack
from tests.support import eventually, make_product, shopstream

KILLED = ("worker-commands", "api-1")


def stack_status() -> dict[str, dict]:
    """`shopstream stack status --json`, by part."""
    return {part["name"]: part
            for part in json.loads(shopstream("stack", "status", "--json").stdout)}


def restart_lines(log_text: str) -> dict[str, dict]:
    """The supervisor's "part restarted" events in `log_text`, by part."""
    events = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    return {event["part"]: event for event in events if event["event"] == "part restarted"}


@pytest.mark.destructive
@pytest.mark.timeout(300)
async def test_a_worker_and_an_api_replica_killed_with_9_come_back_by_themselves_counted(
        stack: Stack, gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    before = stack_status()
    assert before["supervisor"]["healthy"], before["supervisor"]
    supervisor_log = stack.log_file(stack.select(["supervisor"])[0])
    logged_before = supervisor_log.stat().st_size
    parts = stack.select(list(KILLED))

    killed = {part.name: process.crash(stack.files(part)) for part in parts}
    assert all(killed.values()), killed

    async def back() -> dict[str, dict] | None:
        now = stack_status()
        return now if all(now[name]["healthy"] and now[name]["pid"] != killed[name]
                          for name in KILLED) else None

    after = await eventually(back, timeout_s=180, interval_s=1)
    assert {name: after[name]["restarts"] - before[name]["restarts"] for name in KILLED} == {
        name: 1 for name in KILLED}
    with supervisor_log.open("rb") as log:
        log.seek(logged_before)
        restarted = restart_lines(log.read().decode(errors="replace"))
    assert set(restarted) == set(KILLED), restarted
    for name in KILLED:
        event = restarted[name]
        assert event["found"].startswith(f"pid {killed[name]} "), event
        # The back-off doubles from 1 s; a part killed by an earlier test less than a
        # minute of health ago continues its count.
        assert event["attempt"] >= 1, event
        assert event["delay_s"] == min(2.0 ** (event["attempt"] - 1), 60.0), event
        assert event["pid"] == after[name]["pid"], event
    # The restarted worker answers a command, through the gateway and a replica.
    await make_product(gateway, admin, category, "Supervised lamp", 1900, 3)
