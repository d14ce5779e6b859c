"""The local stack's cluster mode as settings and parts: three KRaft nodes, RF 3, min ISR 2,
two workers a role; one broker by default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.settings import Settings
from ops.stack.parts import Context, Kafka, Worker, all_parts
from streams.system import ROLES


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_one_broker_is_the_default_and_runs_one_worker_a_role() -> None:
    s = settings()
    assert (s.kafka_brokers, s.kafka_bootstrap) == (1, "127.0.0.1:9092")
    assert (s.kafka_replication_factor, s.kafka_min_insync_replicas, s.workers_per_role) == (1, 1, 1)
    names = [part.name for part in all_parts(s)]
    assert [n for n in names if n.startswith("kafka")] == ["kafka"]
    assert [n for n in names if n.startswith("worker-")] == [f"worker-{role}" for role in ROLES]


def test_a_cluster_replicates_three_times_with_two_in_sync_and_runs_two_workers_a_role() -> None:
    s = settings(kafka_brokers=3, port_offset=1500)
    assert s.kafka_bootstrap == "127.0.0.1:10592,127.0.0.1:10594,127.0.0.1:10596"
    assert s.kafka_controller_ports == [10593, 10595, 10597]
    assert (s.kafka_replication_factor, s.kafka_min_insync_replicas, s.workers_per_role) == (3, 2, 2)
    parts = all_parts(s)
    names = [part.name for part in parts]
    assert [n for n in names if n.startswith("kafka")] == ["kafka", "kafka-2", "kafka-3"]
    assert sorted(n for n in names if n.startswith("worker-")) == sorted(
        [f"worker-{role}" for role in ROLES] + [f"worker-{role}-2" for role in ROLES])
    ports = [part.port(Context(s)) for part in parts if isinstance(part, Kafka | Worker)]
    assert len(set(ports)) == len(ports), "two parts on one port"


def test_explicit_replication_settings_win_over_the_cluster_defaults() -> None:
    s = settings(kafka_brokers=3, kafka_min_insync_replicas=3)
    assert (s.kafka_replication_factor, s.kafka_min_insync_replicas) == (3, 3)


@pytest.mark.parametrize("brokers", [0, 2, 5])
def test_a_broker_count_other_than_one_or_three_is_refused(brokers: int) -> None:
    with pytest.raises(ValidationError):
        settings(kafka_brokers=brokers)

