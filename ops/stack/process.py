"""Start, find and stop the local stack's processes, each in its own session.

A process is known by a pid file under `<stack>/run/`; its output goes through a
pipe to a log writer (`ops.stack.logwriter`) that keeps `<stack>/logs/<name>.log`
capped and rotated. Processes outlive the command that started them. A lock file
per part (`part_lock`) lets whoever starts or stops a part do so alone.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.settings import PROJECT_ROOT


@dataclass(frozen=True)
class LogLimits:
    """How large a part's log grows before it rolls over, and how many old ones are kept."""

    max_bytes: int
    backups: int


@dataclass(frozen=True)
class ProcessFiles:
    stack_dir: Path
    name: str

    @property
    def pid_file(self) -> Path:
        return self.stack_dir / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.stack_dir / "logs" / f"{self.name}.log"

    @property
    def lock_file(self) -> Path:
        return self.stack_dir / "run" / f"{self.name}.lock"


@contextmanager
def part_lock(files: ProcessFiles) -> Iterator[None]:
    """Hold the part's lock (a file lock, so across processes) while checking and starting
    or stopping it: `stack up`, `stack down` and the supervisor take turns on one part."""
    files.lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(files.lock_file, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def start(
    files: ProcessFiles, command: list[str], *, cwd: Path, log: LogLimits,
    env: dict[str, str] | None = None,
) -> int:
    """Start `command` detached from this process, its output into its capped log; record its pid."""
    files.pid_file.parent.mkdir(parents=True, exist_ok=True)
    files.log_file.parent.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    try:
        _start_log_writer(files.log_file, log, read_end)
        os.write(write_end, f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} start: "
                            f"{' '.join(command)}\n".encode())
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        os.close(read_end)
        os.close(write_end)
    files.pid_file.write_text(str(process.pid))
    return process.pid


def _start_log_writer(log_file: Path, log: LogLimits, pipe: int) -> None:
    """The reader of `pipe` that writes the log; in its own session, so it outlives us."""
    subprocess.Popen(
        [sys.executable, "-m", "ops.stack.logwriter", str(log_file),
         "--max-bytes", str(log.max_bytes), "--backups", str(log.backups)],
        cwd=PROJECT_ROOT,
        stdin=pipe,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def running_pid(files: ProcessFiles) -> int | None:
    """The recorded pid if that process is still alive (and not a zombie).

    Every thread counts: after a SIGKILL the main thread can be a zombie while others
    are still exiting, and the process's sockets (its port) are closed only after the
    last one has.
    """
    try:
        pid = int(files.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    threads = list(Path(f"/proc/{pid}/task").glob("*/stat")) or [Path(f"/proc/{pid}/stat")]
    for stat_file in threads:
        try:
            stat = stat_file.read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # The state is the field after the parenthesised command name.
        if stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
            return pid
    return None


def stop(files: ProcessFiles, *, timeout_s: float = 20.0, kill: bool = False) -> bool:
    """Stop the process group; SIGKILL at once with `kill`, or after `timeout_s`.

    Returns whether a running process was stopped.
    """
    pid = running_pid(files)
    if pid is None:
        files.pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while running_pid(files) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if running_pid(files) is not None:
        _signal_group(pid, signal.SIGKILL)
        while running_pid(files) is not None:
            time.sleep(0.1)
    files.pid_file.unlink(missing_ok=True)
    return True


def crash(files: ProcessFiles) -> int | None:
    """SIGKILL the process group and wait until it is gone, leaving its pid file, as a
    crash would (`stop` removes it: a stop on purpose). Returns the pid killed."""
    pid = running_pid(files)
    if pid is None:
        return None
    _signal_group(pid, signal.SIGKILL)
    while running_pid(files) == pid:
        time.sleep(0.05)
    return pid


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def log_tail(files: ProcessFiles, lines: int = 40) -> str:
    """The last `lines` lines of the log, reaching into the rotated one when the log is short."""
    tail: deque[str] = deque(maxlen=lines)
    for path in (files.log_file.with_name(files.log_file.name + ".1"), files.log_file):
        try:
            with path.open(errors="replace") as log:
                tail.extend(log)
        except FileNotFoundError:
            continue
    return "".join(tail) if tail or files.log_file.exists() else "(no log yet)"
