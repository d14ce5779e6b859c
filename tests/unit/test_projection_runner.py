"""What the projection runner commits to Kafka: the partitions it holds that moved."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.util import commit_structure_validate

from streams.projection_runner import to_commit

EVENTS = "shopstream.catalog.events"


def test_only_the_partitions_that_moved_are_committed() -> None:
    committed = {(EVENTS, 0): 10, (EVENTS, 1): 20}
    held = {(EVENTS, 0): 10, (EVENTS, 1): 25}

    assert to_commit(held, committed) == {TopicPartition(EVENTS, 1): 25}


def test_a_partition_newly_assigned_is_committed() -> None:
    assert to_commit({(EVENTS, 2): 7}, {}) == {TopicPartition(EVENTS, 2): 7}


def test_after_a_rebalance_took_partitions_away_nothing_is_committed() -> None:
    committed = {(EVENTS, 0): 10, (EVENTS, 1): 20}
    held = {(EVENTS, 0): 10}  # partition 1 went to another worker; 0 has not moved

    assert held != committed  # the runner sees a change...
    assert to_commit(held, committed) == {}  # ...but there is nothing to commit


def test_what_it_commits_is_what_aiokafka_accepts() -> None:
    changed = to_commit({(EVENTS, 0): 11}, {(EVENTS, 0): 10})

    assert commit_structure_validate(changed) == {TopicPartition(EVENTS, 0): (11, "")}
