"""kill -9 of one of two command workers under load.

Clients create products through the gateway, each with an Idempotency-Key, sent again
while it answers 502, 503 or 504. One command worker is killed: its partitions move to
the other once its group session (10 s) has expired; the commands it held are answered
by the other, or time out (504) and are answered when sent again; none is applied twice
(one event per command in the topics, no event id twice).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from schemas.topics import CATALOG
from streams.command_processor import GROUP_ID
from tests.cluster.support import ClusterStack
from tests.outages import RETRIED, Answer, new_product, statuses
from tests.support import read_events

CLIENTS = 12
WARM_UP_S = 8
AFTER_KILL_S = 30
SESSION_S = 10  # the command workers' session timeout
# Above the session: the group coordinator's check, the rebalance, and the survivor
# starting a transactional producer per partition it takes, on a busy machine.
MOVE_WITHIN_S = SESSION_S + 10


async def assignment(cluster: ClusterStack) -> dict[str, set[tuple[str, int]]]:
    """The command workers' group: each member's client host and id with its partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.settings.kafka_bootstrap,
                                request_timeout_ms=5000)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([GROUP_ID])
    finally:
        await admin.close()
    (group,) = response.groups
    members = {}
    for member in group[5]:
        member_id, client_id, _host, _metadata, assigned = member
        decoded = ConsumerProtocolMemberAssignment.decode(assigned) if assigned else None
        members[member_id] = {(topic, partition) for topic, partitions in
                              (decoded.assignment if decoded else []) for partition in partitions}
    return members


@pytest.mark.timeout(1800)
async def test_kill_9_of_a_command_worker_moves_its_partitions_and_applies_nothing_twice(
        cluster: ClusterStack, cluster_gateway: httpx.AsyncClient, cluster_admin: dict,
        cluster_category: dict) -> None:
    http = cluster_gateway
    answers: list[Answer] = []
    created: dict[str, str] = {}  # Idempotency-Key -> product id
    stop = asyncio.Event()

    async def client() -> None:
        while not stop.is_set():
            key = str(uuid.uuid4())
            answer = await new_product(http, cluster_admin, cluster_category, answers,
                                       target="command", sku=f"FO-{key[:12]}",
                                       name=f"Failover kettle {key[:8]}", price=1999, stock=3,
                                       key=key)
            assert answer.status == 201, answer
            created[key] = answer.body["id"]

    before = await assignment(cluster)
    assert len(before) == 2 and all(before.values()), f"two command workers expected: {before}"
    victim = "worker-commands-2"
    clients = [asyncio.create_task(client()) for _ in range(CLIENTS)]
    try:
        await asyncio.sleep(WARM_UP_S)
        killed_at = time.monotonic()
        await asyncio.to_thread(cluster.kill, victim)
        moved_at = None
        while time.monotonic() < killed_at + AFTER_KILL_S or moved_at is None:
            members = await assignment(cluster)
            if moved_at is None and len(members) == 1 and \
                    set().union(*members.values()) == set().union(*before.values()):
                moved_at = time.monotonic()
            if time.monotonic() > killed_at + 120:
                break
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
        await asyncio.to_thread(cluster.start, victim)
    outcomes = [task.exception() for task in clients if task.exception()]
    assert not outcomes, f"a client failed: {outcomes[:3]}"

    in_flight = [a for a in answers if a.sent_at < killed_at < a.done_at]
    after = [a for a in answers if a.sent_at >= killed_at]
    ids = set(created.values())
    events = [e for _, _, e in await read_events(cluster.settings, CATALOG.events.name)]
    ours = [e for e in events if e.aggregate_id in ids]
    per_command = Counter(e.causation_id for e in ours)
    figures = {
        "clients": CLIENTS, "worker_killed": victim,
        "partitions_moved_after_s": None if moved_at is None else round(moved_at - killed_at, 1),
        "session_s": SESSION_S, "commands_acknowledged": len(created),
        "answers": {str(k): v for k, v in statuses(answers).items()},
        "in_flight_at_kill": {str(k): v for k, v in statuses(in_flight).items()},
        "answers_after_kill": {str(k): v for k, v in statuses(after).items()},
        "slowest_answer_s": round(max(a.took_s for a in answers), 1),
        "commands_applied_twice": sum(1 for n in per_command.values() if n > 1),
        "duplicated_events": len(events) - len({e.event_id for e in events}),
    }
    cluster.write_figures("test_command_worker_failover", figures)

    assert moved_at is not None and moved_at - killed_at <= MOVE_WITHIN_S, (
        f"the killed worker's partitions did not move within {MOVE_WITHIN_S} s")
    wrong = [a for a in answers if a.status not in (201, *RETRIED)]
    assert not wrong, f"answers a client cannot retry: {statuses(wrong)}; e.g. {wrong[:3]}"
    # The commands in flight got an answer: none waited past the API's own timeout.
    slow = [a for a in in_flight if a.took_s > cluster.settings.command_timeout_s + 5]
    assert not slow, f"in-flight commands answered late: {slow[:3]}"
    assert after and any(a.status == 201 for a in after)
    # Every acknowledged command applied once: one ProductCreated each, none twice.
    assert sorted(e.aggregate_id for e in ours) == sorted(ids)
    assert figures["commands_applied_twice"] == 0 and figures["duplicated_events"] == 0
