"""Create shopstream's topics with their settings, before anything uses them."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from infra.settings import Settings
from schemas.topics import all_topics


async def ensure_topics(settings: Settings) -> list[str]:
    """Create every topic that is missing; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(topic.name, num_partitions=settings.kafka_partitions,
                     replication_factor=settings.kafka_replication_factor,
                     topic_configs=topic.config(settings.kafka_min_insync_replicas))
            for topic in all_topics() if topic.name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them first
        return [t.name for t in missing]
    finally:
        await admin.close()


async def end_offsets(settings: Settings, topics: list[str]) -> dict[tuple[str, int], int]:
    """The current end of every partition of `topics` (committed records only)."""
    from infra.topic_reader import TopicReader

    async with TopicReader(settings, tuple(topics)) as reader:
        ends = (await reader.range()).end
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
