"""The notification emails as tests see them: the mail sink's messages (MailHog's API), and
the notifications worker made to read events again (its consumer group rewound)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from infra.settings import Settings
from ops.stack.manager import Stack
from tests.support import eventually

# The notifications worker's consumer group: its Faust app id.
GROUP = "shopstream-notifications"
# The notifications worker takes events in order: after a test that checks out hundreds
# of orders it has a backlog of emails to send first. A wait that succeeds ends early.
MAIL_WAIT_S = 120.0


async def mails_to(settings: Settings, address: str) -> list[EmailMessage]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.mail_api_port}",
                                 timeout=10) as http:
        response = await http.get("/api/v2/search", params={"kind": "to", "query": address,
                                                            "limit": 1000})
    response.raise_for_status()
    return [email.message_from_string(item["Raw"]["Data"], policy=email.policy.default)
            for item in response.json()["items"]]


async def wait_for_mails(settings: Settings, address: str,
                         subjects: list[str]) -> list[EmailMessage]:
    """Wait until a message of each subject arrived; then a moment more for any duplicate."""
    async def arrived():
        mails = await mails_to(settings, address)
        return mails if {m["Subject"] for m in mails} >= set(subjects) else None

    await eventually(arrived, timeout_s=MAIL_WAIT_S, interval_s=0.25)
    await asyncio.sleep(1)
    return await mails_to(settings, address)


def subjects(mails: list[EmailMessage]) -> list[str]:
    return sorted(str(m["Subject"]) for m in mails)


async def committed_offset(settings: Settings, tp: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(GROUP, partitions=[tp])
    finally:
        await admin.close()
    return offsets[tp].offset if tp in offsets else -1


async def rewind(settings: Settings, tp: TopicPartition, offset: int) -> None:
    """Set the (stopped) worker's committed offset back, so it reads those events again."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=GROUP,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        for attempt in range(60):  # the group may take a moment to empty after the stop
            try:
                await consumer.commit({tp: offset})
                return
            except Exception:
                if attempt == 59:
                    raise
                await asyncio.sleep(1)
    finally:
        await consumer.stop()


async def read_again(stack: Stack, settings: Settings,
                     spans: dict[TopicPartition, tuple[int, int]]) -> None:
    """Restart the worker rewound to each span's first offset; wait until it is past the last."""
    worker = stack.select(["worker-notifications"])
    await asyncio.to_thread(stack.down, worker)
    try:
        for tp, (first, _) in spans.items():
            await rewind(settings, tp, first)
            assert await committed_offset(settings, tp) == first
    finally:
        await asyncio.to_thread(stack.up, worker)

    async def past_them():
        return all([await committed_offset(settings, tp) > last
                    for tp, (_, last) in spans.items()])
    await eventually(past_them, timeout_s=MAIL_WAIT_S, interval_s=0.25)
