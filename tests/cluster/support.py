"""A stack of its own with a three-broker Kafka cluster, for the fault tests at cluster scale.

`running_cluster` starts a complete stack (`shopstream stack up --brokers 3`: three
combined KRaft nodes, replication factor 3 with min. in-sync replicas 2, two workers of
each role, two API replicas) in `<project>/.stack-<name>`, on the calling environment's
ports shifted by `port_shift`; it stops everything on the way out and removes the
stack's data, keeping its logs and the figures the tests wrote
(`<stack>/figures/<test>.json`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from infra.settings import PROJECT_ROOT, Settings, get_settings
from ops.stack.manager import Stack, ensure_local_secrets, remember_brokers
from ops.stack.parts import Part

BROKERS = 3


@dataclass
class ClusterStack:
    settings: Settings
    stack: Stack

    @property
    def gateway_url(self) -> str:
        return self.settings.public_url

    @property
    def stack_dir(self) -> Path:
        return self.stack.ctx.stack_dir

    def part(self, name: str) -> Part:
        (found,) = self.stack.select([name])
        return found

    def kill(self, name: str) -> None:
        """kill -9 of one part (its whole process group)."""
        self.stack.down([self.part(name)], kill=True)

    def stop(self, name: str) -> None:
        """A clean stop of one part (SIGTERM, then SIGKILL after 20 s)."""
        self.stack.down([self.part(name)])

    def start(self, name: str) -> None:
        """Start one part and wait until it is healthy."""
        self.stack.up([self.part(name)])

    def running(self, name: str) -> bool:
        return self.stack.pid(self.part(name)) is not None

    def brokers(self) -> list[str]:
        """The part names of the Kafka nodes, node 1 first."""
        return [part.name for part in self.stack.parts if part.name.startswith("kafka")]

    def broker_of(self, node_id: int) -> str:
        return self.brokers()[node_id - 1]

    async def under_replicated(self) -> list[tuple[str, int]]:
        """The partitions (of every topic) whose in-sync replicas are fewer than their
        replicas: a restarted broker has caught up once there are none."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap,
                                    request_timeout_ms=10_000)
        await admin.start()
        try:
            topics = await admin.list_topics()
            described = await admin.describe_topics(topics)
        finally:
            await admin.close()
        return [(topic["topic"], partition["partition"])
                for topic in described for partition in topic["partitions"]
                if len(partition["isr"]) < len(partition["replicas"])]

    async def in_sync(self) -> bool:
        """Whether every partition has all its replicas in sync."""
        return not await self.under_replicated()

    async def leaders(self, topic: str) -> dict[int, int]:
        """Each partition of `topic` with the node id of its leader."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap,
                                    request_timeout_ms=10_000)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return {p["partition"]: p["leader"] for p in described["partitions"]}

    def write_figures(self, test: str, figures: dict) -> Path:
        """Print a test's figures and keep them as `<stack>/figures/<test>.json`."""
        path = self.stack_dir / "figures" / f"{test}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(figures, indent=2, sort_keys=True, default=str)
        path.write_text(text + "\n")
        print(f"\n{test}: {text}")
        return path


def cluster_settings(name: str, port_shift: int) -> Settings:
    """The settings of the cluster stack `name`: its own folder, secrets and ports."""
    stack_dir = PROJECT_ROOT / f".stack-{name}"
    remember_brokers(stack_dir, BROKERS)
    ensure_local_secrets(stack_dir)
    return Settings(_env_file=stack_dir / "shopstream.env", stack_dir=stack_dir,
                    port_offset=get_settings().port_offset + port_shift, kafka_brokers=BROKERS)


@contextmanager
def running_cluster(name: str, port_shift: int) -> Iterator[ClusterStack]:
    """A complete stack with three brokers, healthy; stopped, and its data removed, on exit."""
    settings = cluster_settings(name, port_shift)
    stack = Stack(settings)
    started_at = time.monotonic()
    try:
        stack.up(stack.parts, on_event=lambda part, what: print(f"  {part.name:<24} {what}"))
        print(f"cluster {name} up in {time.monotonic() - started_at:.0f} s: gateway "
              f"{settings.public_url}, Kafka {settings.kafka_bootstrap}")
        yield ClusterStack(settings, stack)
    finally:
        stack.down(stack.parts)
        for folder in ("data", "run", "worker"):
            shutil.rmtree(stack.ctx.stack_dir / folder, ignore_errors=True)
