"""The stack's supervisor: restarts a part that died, with back-off, and counts it.

A part that died has its pid file but no process (kill -9, a crash, the OOM killer);
a part stopped on purpose (`stack down <part>`) has no pid file and is left alone.
Each restart takes the part's lock (`ops.stack.process.part_lock`), as `stack up`
and `stack down` do, so the two never both start, or start and stop, the same part.

The n-th restart in a row waits `restart_delay_s(n)` (1 s doubling to 60 s); a part
that has stayed up and healthy for `STABLE_S` starts again from the shortest delay.
Every restart is a line in the supervisor's log (the part, what was found, the attempt
and the delay) and counted in `<stack>/run/supervisor.json`, which `stack status`
shows. A clean stop of the supervisor removes that file, so counts are those of one
run of the stack.

It runs as `shopstream stack supervise`, which the part `supervisor` starts.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

FIRST_DELAY_S = 1.0
LONGEST_DELAY_S = 60.0
# Up and healthy this long after a restart, a part's next restart waits FIRST_DELAY_S again.
STABLE_S = 60.0
CHECK_EVERY_S = 1.0
# The supervisor is healthy while it has written its state this recently.
HEARTBEAT_STALE_S = 10.0

NAME = "supervisor"  # the part that runs it
STATE_FILE = "supervisor.json"


def restart_delay_s(attempt: int) -> float:
    """How long the `attempt`-th restart in a row (1, 2, ...) waits after the death it answers."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return min(FIRST_DELAY_S * 2 ** min(attempt - 1, 32), LONGEST_DELAY_S)


@dataclass
class Watch:
    """What the supervisor knows of one part."""

    restarts: int = 0
    attempt: int = 0  # restarts in a row, since the part last stayed up for STABLE_S
    due_at: float | None = None  # when the pending restart may happen (monotonic)
    found: str = ""  # what the pending restart answers
    started_at: float | None = None  # when the supervisor last started it (monotonic)
    last_restart: str | None = None  # UTC, ISO 8601


def state_file(stack_dir: Path) -> Path:
    return stack_dir / "run" / STATE_FILE


def read_state(stack_dir: Path) -> dict:
    """The supervisor's last written state: `{"heartbeat": epoch s, "parts": {name: {...}}}`,
    or `{}` when there is none."""
    try:
        return json.loads(state_file(stack_dir).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def restarts(stack_dir: Path) -> dict[str, int]:
    """How many times the supervisor restarted each part in this run of the stack."""
    return {name: watch.get("restarts", 0)
            for name, watch in read_state(stack_dir).get("parts", {}).items()}


def heartbeat_fresh(stack_dir: Path) -> bool:
    return time.time() - read_state(stack_dir).get("heartbeat", 0) < HEARTBEAT_STALE_S


class Supervisor:
    def __init__(self, stack) -> None:  # an ops.stack.manager.Stack
        import structlog

        self.stack = stack
        self.watched = [p for p in stack.parts if p.name != NAME]
        previous = read_state(stack.ctx.stack_dir).get("parts", {})
        # A supervisor that was killed and started again keeps the counts of this run.
        self.watches = {p.name: Watch(restarts=previous.get(p.name, {}).get("restarts", 0))
                        for p in self.watched}
        self.exits: dict[int, int] = {}  # pid -> wait status, of the children that ended
        self.stopping = False
        self.log = structlog.get_logger("shopstream.supervisor")

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.log.info("supervisor started", parts=[p.name for p in self.watched],
                 first_delay_s=FIRST_DELAY_S, longest_delay_s=LONGEST_DELAY_S,
                 stable_s=STABLE_S)
        try:
            while not self.stopping:
                self.check()
                self.write_state()
                time.sleep(CHECK_EVERY_S)
        finally:
            state_file(self.stack.ctx.stack_dir).unlink(missing_ok=True)
            self.log.info("supervisor stopped")

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def check(self) -> None:
        self._reap()
        now = time.monotonic()
        for part in self.watched:
            if self.stopping:
                return
            watch = self.watches[part.name]
            files = self.stack.files(part)
            if not files.pid_file.exists():
                watch.due_at = None  # stopped on purpose
                continue
            if self.stack.pid(part) is not None:
                watch.due_at = None
                self._maybe_stable(part, watch, now)
                continue
            if watch.due_at is None:
                watch.attempt += 1
                watch.found = self._what_was_found(files)
                watch.due_at = now + restart_delay_s(watch.attempt)
            elif now >= watch.due_at:
                self._restart(part, watch)

    def _maybe_stable(self, part, watch: Watch, now: float) -> None:
        if (watch.attempt and watch.started_at is not None
                and now - watch.started_at >= STABLE_S and part.healthy(self.stack.ctx)):
            self.log.info("part stable again", part=part.name, after_attempts=watch.attempt)
            watch.attempt = 0

    def _restart(self, part, watch: Watch) -> None:
        delay_s = restart_delay_s(watch.attempt)
        watch.due_at = None
        try:
            started = self.stack.start_part(part, only_if_died=True)
        except Exception as error:  # retried after the next, longer delay
            self.log.warning("part restart failed", part=part.name, found=watch.found,
                        attempt=watch.attempt, delay_s=delay_s, error=str(error))
            return
        if not started:
            return  # `stack up` or `stack down` got there first, under the same lock
        watch.restarts += 1
        watch.started_at = time.monotonic()
        watch.last_restart = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.log.warning("part restarted", part=part.name, found=watch.found,
                    attempt=watch.attempt, delay_s=delay_s, restarts=watch.restarts,
                    pid=self.stack.pid(part))

    def _what_was_found(self, files) -> str:
        try:
            pid = int(files.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return "no process"
        status = self.exits.pop(pid, None)
        if status is None:
            return f"pid {pid} gone, its pid file still there"
        if os.WIFSIGNALED(status):
            return f"pid {pid} killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"pid {pid} exited with code {os.waitstatus_to_exitcode(status)}"

    def _reap(self) -> None:
        """Collect the parts (and log writers) this supervisor started that ended."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.exits[pid] = status

    def write_state(self) -> None:
        path = state_file(self.stack.ctx.stack_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"pid": os.getpid(), "heartbeat": time.time(),
                 "parts": {name: {key: value for key, value in asdict(watch).items()
                                  if key in ("restarts", "attempt", "found", "last_restart")}
                           for name, watch in self.watches.items()}}
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(state))
        partial.replace(path)
