"""Raw Kafka producer throughput on the stack's broker, with Kafka's own ProducerPerformance.

Two runs into a scratch topic of the stack's partition count, deleted afterwards:
an idempotent producer with acks=all, then the same in transactions committed
every --transaction-ms (a command processor commits one transaction per batch).
Run: `.venv/bin/python -m bench.kafka_producer`.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench import cpu
from infra.settings import Settings, get_settings

TOPIC = "bench.producer-perf"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--record-size", type=int, default=500)
    parser.add_argument("--transaction-ms", type=int, default=10,
                        help="transaction length in ms")
    return parser.parse_args()


async def topic(settings: Settings, create: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        if create:
            await admin.create_topics([NewTopic(TOPIC, settings.kafka_partitions,
                                                settings.kafka_replication_factor)])
        else:
            await admin.delete_topics([TOPIC])
    finally:
        await admin.close()


def perf_test(settings: Settings, args: argparse.Namespace, *extra: str) -> str:
    """One ProducerPerformance run; returns its summary line."""
    command = ["java", "-cp", str(settings.cache_dir / "kafka-3.9.1" / "*"),
               "org.apache.kafka.tools.ProducerPerformance", "--topic", TOPIC,
               "--num-records", str(args.records), "--record-size", str(args.record_size),
               "--throughput", "-1", "--producer-props",
               f"bootstrap.servers={settings.kafka_bootstrap}", "acks=all",
               "enable.idempotence=true", *extra]
    before, started = cpu.snapshot(), time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    wall = time.monotonic() - started  # includes the JVM's start
    summary = next(line for line in reversed(result.stdout.splitlines())
                   if "records sent" in line)
    return summary + "\n" + cpu.report(before, cpu.snapshot(), wall)


def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    transaction_ms = args.transaction_ms
    asyncio.run(topic(settings, create=True))
    try:
        print(f"idempotent, acks=all: {perf_test(settings, args)}")
        print(f"transactional, commit every {transaction_ms} ms: "
              + perf_test(settings, args, "--transactional-id", "bench-producer-perf",
                          "--transaction-duration-ms", str(transaction_ms)))
    finally:
        asyncio.run(topic(settings, create=False))


if __name__ == "__main__":
    main(parse_args())
