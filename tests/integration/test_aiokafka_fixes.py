"""The corrections to aiokafka (`infra/aiokafka_fixes.py`), on the real broker."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra import aiokafka_fixes
from infra.settings import Settings


async def test_a_batch_dropped_before_anything_was_committed_is_read_again(
        settings: Settings) -> None:
    """How the command processor drops a batch polled before its partitions moved: the
    first command ever sent to a partition is read again, not skipped."""
    topic = f"shopstream.test.rewind-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                group_id=f"rewind-{uuid.uuid4().hex[:8]}",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        await producer.start()
        await producer.send_and_wait(topic, b"the first command", key=b"k")
        await consumer.start()
        consumer.subscribe([topic])
        tp = TopicPartition(topic, 0)
        polled = await consumer.getmany(timeout_ms=10_000)
        assert [r.value for r in polled[tp]] == [b"the first command"]

        await aiokafka_fixes.seek_to_committed(consumer, tp)

        again = await consumer.getmany(timeout_ms=10_000)
        assert [(r.offset, r.value) for r in again.get(tp, [])] == [(0, b"the first command")]
    finally:
        await consumer.stop()
        await producer.stop()
        await admin.delete_topics([topic])
        await admin.close()
