"""A stack process's log stays capped and rotated, whatever the process writes, and its
writer ends with the process. Real processes and files, in a folder of the test's own."""

from __future__ import annotations

import sys
from pathlib import Path

from ops.stack import process
from tests.support import until

LIMITS = process.LogLimits(max_bytes=100_000, backups=2)
LINES = 20_000


def chatty(tmp_path: Path, script: str) -> process.ProcessFiles:
    files = process.ProcessFiles(tmp_path, "chatty")
    process.start(files, [sys.executable, "-c", script], cwd=tmp_path, log=LIMITS)
    return files


def writer_running(log_file: Path) -> bool:
    """Whether a log writer for `log_file` is still alive."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(log_file).encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False


def numbers(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith("line ")]


def test_a_process_that_writes_much_keeps_a_capped_log_and_two_rotated_ones(tmp_path) -> None:
    files = chatty(tmp_path, f"for i in range({LINES}): print(f'line {{i}} ' + 'x' * 80)")

    until(lambda: not writer_running(files.log_file))

    logs = sorted(path.name for path in files.log_file.parent.iterdir())
    assert logs == ["chatty.log", "chatty.log.1", "chatty.log.2"]
    assert all(path.stat().st_size <= LIMITS.max_bytes
               for path in files.log_file.parent.iterdir())
    # The newest lines are all there, in order, through the rotation.
    tail = numbers(process.log_tail(files, 1500).splitlines())
    assert tail == list(range(LINES - len(tail), LINES)) and len(tail) > 1000
    assert len(numbers(files.log_file.read_text().splitlines())) < len(tail)


def test_the_writer_outlives_a_stop_only_to_write_the_last_lines(tmp_path) -> None:
    files = chatty(tmp_path, "import time\nwhile True:\n    print('line 1', flush=True)\n"
                             "    time.sleep(0.01)")
    until(lambda: files.log_file.exists() and "line 1" in files.log_file.read_text())

    assert process.stop(files)

    until(lambda: not writer_running(files.log_file), timeout_s=10)
    assert process.running_pid(files) is None


def test_a_log_starts_with_the_command_it_runs(tmp_path) -> None:
    files = chatty(tmp_path, "print('hello')")

    until(lambda: not writer_running(files.log_file))

    header, hello = process.log_tail(files).strip().splitlines()
    assert header.startswith("--- ") and header.endswith("print('hello')")
    assert hello == "hello"
