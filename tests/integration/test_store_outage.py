"""MySQL, then Elasticsearch, stopped for 20 s while a shopper reads a product page and
searches, through the gateway and with no consistency token.

Every answer is 200, or 503 with Retry-After naming the store that is down; within
30 s of the store's return both reads answer 200 again, with nothing restarted.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from ops.stack.manager import Stack
from tests.outages import Shopper, recovered_at, statuses, stopped

WARM_UP_S = 2
OUTAGE_S = 20
RECOVERY_S = 30
# After recovery every read must succeed for this long.
STEADY_S = 5
READS = ("product", "search")


@pytest.mark.destructive
@pytest.mark.timeout(300)
@pytest.mark.parametrize(("part", "store"), [("mysql", "MySQL"),
                                             ("elasticsearch", "Elasticsearch")])
async def test_reads_answer_503_naming_a_stopped_store_and_200_within_30_s_of_its_return(
        stack: Stack, gateway: httpx.AsyncClient, findable_product: dict, part: str, store: str
) -> None:
    logs = [stack.log_file(p) for p in stack.parts if p.name.startswith("api-")]
    logged_before = {log: log.stat().st_size for log in logs}
    shopper = Shopper(gateway, findable_product)
    reading = asyncio.create_task(shopper.run())
    try:
        await asyncio.sleep(WARM_UP_S)
        async with stopped(stack, part):
            await asyncio.sleep(OUTAGE_S)
        back_at = time.monotonic()
        await asyncio.sleep(RECOVERY_S + STEADY_S)
    finally:
        shopper.stop.set()
        await reading

    answers = shopper.answers
    recovery = {read: recovered_at(answers, read, back_at, 200) for read in READS}
    print(f"\n{store} outage: " + "; ".join(
        f"{read} {dict(statuses([a for a in answers if a.target == read]))}" for read in READS)
          + f"; 200 again after (s): "
          f"{ {r: None if t is None else round(t - back_at, 1) for r, t in recovery.items()} }")

    wrong = [a for a in answers if a.status != 200 and not a.is_unavailable(store)]
    assert not wrong, (f"answers other than 200 and a 503 naming {store}: "
                       f"{statuses(wrong)}; e.g. {wrong[:3]}")
    assert any(a.status == 503 for a in answers), f"no read needed {store}: the test saw nothing"
    late = {read: t for read, t in recovery.items() if t is None or t > back_at + RECOVERY_S}
    assert not late, f"not 200 again within {RECOVERY_S}s of {store}'s return: {late}"
    after = [a for a in answers if a.sent_at >= back_at + RECOVERY_S]
    assert after and statuses(after) == {200: len(after)}, (
        f"reads failing after recovery: {statuses(after)}")
    # One line per failed request is fine; a stack trace per request fills a disk.
    traces = sum(_written_since(log, logged_before[log]).count("Traceback") for log in logs)
    assert traces == 0, f"{traces} stack traces in the API logs during the {store} outage"


def _written_since(log, size: int) -> str:
    """What the API wrote to `log` after it was `size` bytes long (all of it if rotated)."""
    with log.open("rb") as handle:
        if log.stat().st_size >= size:
            handle.seek(size)
        return handle.read().decode(errors="replace")
