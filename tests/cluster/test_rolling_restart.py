"""A rolling restart of the three brokers, one at a time, under steady load.

Clients create products and open product pages through the gateway, steadily; each
write has an Idempotency-Key and is sent again on 503. Each broker in turn is stopped
cleanly, started, and given time to catch up (every partition's replicas in sync)
before the next. The API never answers a 5xx other than 503, and the completed
requests per second return to at least half of what they were before the restarts
within 15 s of each broker's return. Every acknowledged product is readable at the end.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import httpx
import pytest

from tests.cluster.support import ClusterStack
from tests.outages import Answer, call, every_product_readable, new_product, statuses
from tests.support import eventually

WRITERS = 8
READERS = 2
PAUSE_S = 0.1  # between a client's requests
BASELINE_S = 15
RETURN_WITHIN_S = 15
# Throughput is back when a window of this many seconds averages this share of the
# baseline: single seconds are noisy on a shared machine.
WINDOW_S = 3
SHARE = 0.5


def per_second(answers: list[Answer], start: float, end: float) -> list[int]:
    """Requests completed with a 2xx in each second from `start` to `end`."""
    counts = [0] * max(1, int(end - start))
    for answer in answers:
        second = int(answer.done_at - start)
        if answer.status is not None and 200 <= answer.status < 300 and \
                0 <= second < len(counts):
            counts[second] += 1
    return counts


def back_after(answers: list[Answer], since: float, level: float, end: float) -> float | None:
    """Seconds after `since` when a window of WINDOW_S first averaged `level` or more."""
    counts = per_second(answers, since, end)
    for second in range(len(counts) - WINDOW_S + 1):
        if sum(counts[second:second + WINDOW_S]) / WINDOW_S >= level:
            return float(second + WINDOW_S)
    return None


@pytest.mark.timeout(1800)
async def test_a_rolling_restart_of_every_broker_answers_no_5xx_but_503_and_recovers(
        cluster: ClusterStack, cluster_gateway: httpx.AsyncClient, cluster_admin: dict,
        cluster_category: dict) -> None:
    http = cluster_gateway
    answers: list[Answer] = []
    created: set[str] = set()
    stop = asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            key = str(uuid.uuid4())
            answer = await new_product(http, cluster_admin, cluster_category, answers,
                                       target="write", sku=f"RR-{key[:12]}",
                                       name=f"Rolling kettle {key[:8]}", price=2999, stock=2,
                                       key=key)
            if answer.status == 201:
                created.add(answer.body["id"])
            await asyncio.sleep(PAUSE_S)

    async def reader() -> None:
        while not stop.is_set():
            if created:
                product_id = next(iter(created))
                answers.append(await call("read", lambda: http.get(
                    f"/v1/products/{product_id}")))
            await asyncio.sleep(PAUSE_S)

    clients = [asyncio.create_task(writer()) for _ in range(WRITERS)]
    clients += [asyncio.create_task(reader()) for _ in range(READERS)]
    restarts = []
    started_at = time.monotonic()
    try:
        await asyncio.sleep(BASELINE_S)
        for broker in cluster.brokers():
            stopping_at = time.monotonic()
            await asyncio.to_thread(cluster.stop, broker)
            stopped_at = time.monotonic()
            await asyncio.to_thread(cluster.start, broker)
            up_at = time.monotonic()
            await eventually(cluster.in_sync, timeout_s=180, interval_s=1)
            in_sync_at = time.monotonic()
            # Steady load past the window in which throughput must have returned.
            await asyncio.sleep(max(0.0, up_at + RETURN_WITHIN_S + WINDOW_S - time.monotonic()))
            restarts.append({"broker": broker, "stopping_at": stopping_at,
                             "stopped_at": stopped_at, "up_at": up_at,
                             "in_sync_at": in_sync_at})
        await asyncio.sleep(5)
    finally:
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
        for broker in cluster.brokers():
            if not cluster.running(broker):
                await asyncio.to_thread(cluster.start, broker)
    ended_at = time.monotonic()
    failures = [task.exception() for task in clients if task.exception()]
    assert not failures, f"a client failed: {failures[:3]}"

    baseline = statistics.median(per_second(answers, started_at + 3, started_at + BASELINE_S))
    figures = {"writers": WRITERS, "readers": READERS, "baseline_per_s": baseline,
               "answers": {str(k): v for k, v in statuses(answers).items()},
               "writes_acknowledged": len(created), "restarts": []}
    for restart in restarts:
        back = back_after(answers, restart["up_at"], SHARE * baseline, ended_at)
        during = per_second(answers, restart["stopping_at"], restart["in_sync_at"])
        figures["restarts"].append({
            "broker": restart["broker"],
            "stop_took_s": round(restart["stopped_at"] - restart["stopping_at"], 1),
            "start_took_s": round(restart["up_at"] - restart["stopped_at"], 1),
            "in_sync_after_start_s": round(restart["in_sync_at"] - restart["up_at"], 1),
            "lowest_per_s_while_restarting": min(during),
            "throughput_back_after_start_s": back,
            "per_s_from_stop_to_back": per_second(
                answers, restart["stopping_at"],
                restart["up_at"] + (back or RETURN_WITHIN_S)),
        })
    figures["server_errors"] = {str(k): v for k, v in statuses(answers).items()
                                if k is not None and k >= 500}
    cluster.write_figures("test_rolling_restart", figures)

    wrong = [a for a in answers if a.status is None or (a.status >= 500 and a.status != 503)]
    assert not wrong, f"answers other than 503 among the 5xx: {statuses(wrong)}; e.g. {wrong[:3]}"
    unavailable = [a for a in answers if a.status == 503]
    assert all(a.retry_after is not None for a in unavailable), unavailable[:3]
    assert baseline > 0, "no load before the restarts"
    late = [r for r in figures["restarts"] if r["throughput_back_after_start_s"] is None
            or r["throughput_back_after_start_s"] > RETURN_WITHIN_S]
    assert not late, f"throughput not back within {RETURN_WITHIN_S} s: {late}"
    await every_product_readable(f"http://127.0.0.1:{cluster.settings.api_replica_ports[0]}",
                                 created, timeout_s=300)
