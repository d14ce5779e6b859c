"""A message repeated many times a second is logged once per interval, saying how many
like it were held back; other messages pass as they come. Another library's line shows
its level."""

from __future__ import annotations

import logging

from infra.logging import Repeats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_retry_storm_is_one_line_per_interval_with_the_count_held_back() -> None:
    clock = Clock()
    repeats = Repeats(every_s=10, clock=clock)
    passed = []
    for attempt in range(250):  # one attempt every 0.1 s for 25 s
        clock.now = 100 + attempt / 10
        line = record("Unable connect to node with id %s: %s", 1, f"refused {attempt}")
        if repeats.filter(line):
            passed.append(line.getMessage())
    assert len(passed) == 3
    assert passed[0] == "Unable connect to node with id 1: refused 0"
    assert passed[1] == ("Unable connect to node with id 1: refused 100 "
                         "(99 more like this in the last 10 s)")
    assert passed[2].endswith("(99 more like this in the last 10 s)")


def test_other_messages_and_loggers_are_not_held_back_by_a_storm() -> None:
    repeats = Repeats(every_s=10, clock=Clock())
    assert repeats.filter(record("Unable to update metadata from %s", [1]))
    assert not repeats.filter(record("Unable to update metadata from %s", [1]))
    assert repeats.filter(record("Failed fetch messages from %s: %s", 1, "not ready"))
    assert repeats.filter(record("Unable to update metadata from %s", [1],
                                 name="aiokafka.consumer.fetcher"))


def test_another_librarys_record_shows_its_level_and_ours_stays_a_json_line() -> None:
    from infra.logging import OtherLibrariesLevelled

    formatter = OtherLibrariesLevelled("%(message)s")
    ours = record('{"event": "command_processor.recovered", "level": "info"}', name="streams")

    assert formatter.format(record("Unable connect to node with id %s", 1)) == \
        "[ERROR] aiokafka: Unable connect to node with id 1"
    assert formatter.format(ours) == '{"event": "command_processor.recovered", "level": "info"}'
