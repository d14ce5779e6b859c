"""Installs that share a machine-wide tool take turns, across processes, and say they wait.

Two real processes hold the same lock in a folder of the test's own; the stack
reports a part's install steps as they happen.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from infra.settings import Settings
from ops.stack import installers
from ops.stack.manager import Stack
from ops.stack.parts import Part

# Takes the apt lock, says so, holds it for argv[2] seconds, then prints when it held it.
HOLDER = """
import sys, time
from pathlib import Path
from ops.stack import installers

def hold():
    with installers.machine_lock("apt"):
        print("held", flush=True)
        start = time.time()
        time.sleep(float(sys.argv[2]))
        print(start, time.time(), flush=True)

installers.run_install(hold, installers.InstallProgress(), Path(sys.argv[1]))
"""


def holder(lock_dir: Path, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_dir), str(seconds)],
                            stdout=subprocess.PIPE, text=True)


def held_from_to(process: subprocess.Popen) -> tuple[float, float]:
    output = process.communicate(timeout=30)[0].split()
    return float(output[1]), float(output[2])


def test_two_processes_hold_the_same_lock_one_after_the_other(tmp_path) -> None:
    first, second = holder(tmp_path, 0.5), holder(tmp_path, 0.5)

    spans = sorted([held_from_to(first), held_from_to(second)])

    assert spans[0][1] <= spans[1][0]


def test_an_install_that_waits_for_the_lock_says_so(tmp_path) -> None:
    other = holder(tmp_path, 2.0)
    assert other.stdout.readline().strip() == "held"
    progress = installers.InstallProgress()

    def take_it() -> None:
        with installers.machine_lock("apt"):
            pass

    waiting = threading.Thread(target=installers.run_install, args=(take_it, progress, tmp_path))
    waiting.start()
    time.sleep(0.5)
    assert progress.step == "waiting for another install to release the apt lock"
    waiting.join(timeout=30)
    other.communicate(timeout=30)
    assert progress.step is None


class SlowDownload(Part):
    """A part whose install has one long step (a real sleep, standing for a download)."""

    name = "slow-download"

    def install(self, ctx) -> None:
        with installers.step("the slow artifact"):
            time.sleep(1.5)


def test_stack_up_says_which_part_installs_what(tmp_path) -> None:
    stack = Stack(Settings(stack_dir=tmp_path / "stack", install_lock_dir=tmp_path / "locks"))
    said: list[tuple[str, str]] = []

    stack.install([SlowDownload()], lambda part, what: said.append((part.name, what)))

    assert said == [("slow-download", "installing: the slow artifact")]
