"""The supervisor's back-off, and its rules on real processes in a stack folder of the
test's own: a part that died is restarted and counted, one stopped on purpose is not,
and a part is never started twice when `stack up` and the supervisor race for it."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from infra.settings import Settings
from ops.stack import process, supervisor
from ops.stack.manager import Stack
from ops.stack.parts import Context, Part
from ops.stack.supervisor import FIRST_DELAY_S, LONGEST_DELAY_S, Supervisor, restart_delay_s
from tests.support import until


@given(st.integers(min_value=1, max_value=10_000))
def test_each_restart_in_a_row_waits_twice_the_last_up_to_the_longest_delay(attempt: int
                                                                            ) -> None:
    delay = restart_delay_s(attempt)
    assert FIRST_DELAY_S <= delay <= LONGEST_DELAY_S
    assert restart_delay_s(attempt + 1) == min(2 * delay, LONGEST_DELAY_S)


def test_the_first_restart_waits_the_first_delay() -> None:
    assert restart_delay_s(1) == FIRST_DELAY_S


class Sleeper(Part):
    """A part that only sleeps: a real process, with no port."""

    name = "sleeper"
    group = "app"

    def command(self, ctx: Context) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(600)"]

    def healthy(self, ctx: Context) -> bool:
        return True


def small_stack(tmp_path: Path) -> Stack:
    stack = Stack(Settings(stack_dir=tmp_path))
    stack.parts = [Sleeper()]
    return stack


def supervise(watcher: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        watcher.check()
        time.sleep(0.05)


def test_a_part_that_died_is_restarted_once_after_the_first_delay_and_counted(
        tmp_path: Path) -> None:
    stack = small_stack(tmp_path)
    (part,) = stack.parts
    try:
        assert stack.start_part(part)
        watcher = Supervisor(stack)
        killed = process.crash(stack.files(part))
        supervise(watcher, FIRST_DELAY_S / 2)
        assert stack.pid(part) is None, "restarted before its delay"
        supervise(watcher, FIRST_DELAY_S + 1)
        restarted = stack.pid(part)
        assert restarted is not None and restarted != killed
        assert watcher.watches[part.name].restarts == 1
        watcher.write_state()
        assert supervisor.restarts(tmp_path) == {"sleeper": 1}
        # The restarted process is the supervisor's child: its death says how it ended.
        process.crash(stack.files(part))
        supervise(watcher, 0.2)
        assert watcher.watches[part.name].found == f"pid {restarted} killed by SIGKILL"
        assert watcher.watches[part.name].attempt == 2
    finally:
        stack.down(stack.parts)


def test_a_part_stopped_on_purpose_stays_stopped(tmp_path: Path) -> None:
    stack = small_stack(tmp_path)
    (part,) = stack.parts
    try:
        assert stack.start_part(part)
        watcher = Supervisor(stack)
        assert stack.down([part]) == ["sleeper"]
        supervise(watcher, FIRST_DELAY_S + 1)
        assert stack.pid(part) is None
        assert watcher.watches[part.name].restarts == 0
    finally:
        stack.down(stack.parts)


def test_up_and_the_supervisor_racing_for_a_dead_part_start_it_once(tmp_path: Path) -> None:
    stack = small_stack(tmp_path)
    (part,) = stack.parts
    try:
        assert stack.start_part(part)
        process.crash(stack.files(part))
        results: list[bool] = []
        racers = [threading.Thread(target=lambda only: results.append(
            stack.start_part(part, only_if_died=only)), args=(only,))
                  for only in (True, False) * 4]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert sorted(results) == [False] * 7 + [True]
        until(lambda: stack.pid(part))
    finally:
        stack.down(stack.parts)
