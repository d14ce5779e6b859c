"""Bring the local stack up and down, report its status and show its logs.

`up` installs what is missing, prepares data folders, starts what is not
running and waits until every part is healthy; a part that fails is an error
carrying its log's tail. `up` and `down` are idempotent. The supervisor, a part
started with the shop's processes, restarts any part that dies (`ops.stack.supervisor`).
"""

from __future__ import annotations

import base64
import secrets
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextvars import copy_context
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from infra.settings import PROJECT_ROOT, Settings, default_stack_dir, get_settings
from ops.stack import installers, process, supervisor
from ops.stack.parts import Context, Part, all_parts, tcp_open


# A long install step is reported again after this many seconds.
INSTALL_REPORT_S = 10


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class PartStatus:
    name: str
    group: str
    port: int | None
    pid: int | None
    healthy: bool
    restarts: int = 0  # by the supervisor, in this run of the stack


def ensure_local_secrets(stack_dir: Path) -> None:
    """Generate the local stack's secrets once into `<stack>/shopstream.env`.

    Nothing secret is written in the code; production passes these through the
    environment from its secret store instead.
    """
    env_file = stack_dir / "shopstream.env"
    existing = env_file.read_text() if env_file.exists() else ""
    wanted = {
        "SHOPSTREAM_MYSQL_PASSWORD": lambda: secrets.token_urlsafe(24),
        "SHOPSTREAM_POSTGRESQL_PASSWORD": lambda: secrets.token_urlsafe(24),
        "SHOPSTREAM_MASTER_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "SHOPSTREAM_EMAIL_INDEX_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "SHOPSTREAM_JWT_SIGNING_KEYS": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "SHOPSTREAM_LINK_TOKEN_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "SHOPSTREAM_GUEST_TOKEN_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "SHOPSTREAM_OIDC_CLIENT_SECRET": lambda: secrets.token_urlsafe(32),
        # stripe-mock takes any test-mode key; the webhook secret signs local test events.
        "SHOPSTREAM_STRIPE_API_KEY": lambda: "sk_test_" + secrets.token_hex(12),
        "SHOPSTREAM_STRIPE_WEBHOOK_SECRET": lambda: "whsec_" + secrets.token_hex(24),
    }
    additions = [f"{key}={make()}" for key, make in wanted.items() if f"{key}=" not in existing]
    if additions:
        stack_dir.mkdir(parents=True, exist_ok=True)
        with env_file.open("a") as handle:
            handle.write("".join(line + "\n" for line in additions))
        env_file.chmod(0o600)


def remember_brokers(stack_dir: Path, brokers: int) -> None:
    """Keep the stack's broker count in `<stack>/shopstream.env`, so that every later
    command on that stack (status, down, up, the processes it starts) runs the same.

    A stack whose Kafka data exist keeps the count it was made with: KRaft nodes know
    their quorum from the first start.
    """
    env_file = stack_dir / "shopstream.env"
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    key = "SHOPSTREAM_KAFKA_BROKERS="
    stored = next((int(line.removeprefix(key)) for line in lines if line.startswith(key)), 1)
    if stored == brokers and any(line.startswith(key) for line in lines):
        return
    if stored != brokers and (stack_dir / "data" / "kafka" / "log" / "meta.properties").exists():
        raise StackError(f"the stack in {stack_dir} was made with {stored} Kafka broker(s); "
                         f"stop it and delete {stack_dir / 'data'} to run {brokers}")
    stack_dir.mkdir(parents=True, exist_ok=True)
    env_file.write_text("".join(line + "\n" for line in lines if not line.startswith(key))
                        + f"{key}{brokers}\n")
    env_file.chmod(0o600)


class Stack:
    def __init__(self, settings: Settings | None = None) -> None:
        if settings is None:
            ensure_local_secrets(default_stack_dir())
            get_settings.cache_clear()
            settings = get_settings()
        self.settings = settings
        self.ctx = Context(self.settings)
        self.parts = all_parts(self.settings)
        # What the stack's own processes need to find this stack, whatever this process's
        # environment says: its folder (its shopstream.env), ports and brokers.
        self.child_env = {"SHOPSTREAM_STACK_DIR": str(self.ctx.stack_dir),
                          "SHOPSTREAM_PORT_OFFSET": str(self.settings.port_offset),
                          "SHOPSTREAM_KAFKA_BROKERS": str(self.settings.kafka_brokers)}

    def select(self, names: list[str] | None, *, with_app: bool = True) -> list[Part]:
        if not names:
            return [p for p in self.parts if with_app or p.group == "server"]
        known = {p.name: p for p in self.parts}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise StackError(f"unknown part(s) {', '.join(unknown)}; the parts are "
                             f"{', '.join(known)}")
        return [p for p in self.parts if p.name in names]

    @property
    def log_limits(self) -> process.LogLimits:
        return process.LogLimits(self.settings.stack_log_max_bytes, self.settings.stack_log_backups)

    def files(self, part: Part) -> process.ProcessFiles:
        return process.ProcessFiles(self.ctx.stack_dir, part.name)

    def pid(self, part: Part) -> int | None:
        return process.running_pid(self.files(part))

    def up(self, parts: list[Part], *, on_event=lambda part, what: None,
           record: Path | None = None) -> list[str]:
        """Start every part not running, in order, waiting for health; return those started.

        With `record`, each part's name is appended to that file as it starts, so a
        failure part-way still leaves the list of what to stop.
        """
        self.install(parts, on_event)
        started: list[str] = []
        pending: list[Part] = []
        for part in parts:
            if part.group == "app" and pending:
                # The shop's processes need the servers healthy before they start.
                self._wait(pending, on_event)
                pending = []
            needed = [p for p in pending if p.name in part.needs]
            if needed:
                self._wait(needed, on_event)
                pending = [p for p in pending if p not in needed]
            if not self.start_part(part):
                on_event(part, "already running")
                pending.append(part)
                continue
            on_event(part, "starting")
            started.append(part.name)
            if record is not None:
                record.parent.mkdir(parents=True, exist_ok=True)
                with record.open("a") as handle:
                    handle.write(part.name + "\n")
            pending.append(part)
        self._wait(pending, on_event)
        return started

    def start_part(self, part: Part, *, only_if_died: bool = False) -> bool:
        """Start `part` unless it runs; return whether it was started.

        Under the part's lock, so that `up` and the supervisor never both start it.
        With `only_if_died` (the supervisor), only a part that died is started: its pid
        file is there but its process is not; a part stopped on purpose has no pid file.
        """
        files = self.files(part)
        with process.part_lock(files):
            if self.pid(part) is not None:
                return False
            if only_if_died and not files.pid_file.exists():
                return False
            port = part.port(self.ctx)
            if port is not None and tcp_open(port):
                raise StackError(
                    f"{part.name} cannot start: port {port} is taken by a process this stack "
                    f"did not start (another stack?). Stop it, or give this stack other ports, "
                    f"e.g. SHOPSTREAM_PORT_OFFSET=1000.")
            part.prepare(self.ctx)
            process.start(files, part.command(self.ctx), cwd=PROJECT_ROOT,
                          log=self.log_limits, env=self.child_env | part.env)
            return True

    def install(self, parts: list[Part], on_event) -> None:
        """Install what the parts need, in parallel, saying what each long step is doing."""
        progress = {part.name: installers.InstallProgress() for part in parts}
        # Installs are independent of each other and dominate a first start; those that
        # share a machine-wide tool take turns (installers.machine_lock).
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(copy_context().run, installers.run_install,
                                   partial(part.install, self.ctx), progress[part.name],
                                   self.settings.install_lock_dir)
                       for part in parts]
            reported: dict[str, tuple[str | None, int]] = {}
            pending = futures
            while pending:
                done, pending = wait(futures, timeout=1.0, return_when=FIRST_EXCEPTION)
                for part in parts:
                    self._report_install(part, progress[part.name], reported, on_event)
                for future in done:
                    future.result()  # the first failure ends `up`, once the others finish

    @staticmethod
    def _report_install(part: Part, progress: installers.InstallProgress,
                        reported: dict[str, tuple[str | None, int]], on_event) -> None:
        """Say a step when it starts, then every INSTALL_REPORT_S while it lasts."""
        step = progress.step
        if step is None:
            return
        elapsed = int(time.monotonic() - progress.since)
        last_step, last_elapsed = reported.get(part.name, (None, 0))
        if step != last_step:
            on_event(part, f"installing: {step}")
        elif elapsed >= last_elapsed + INSTALL_REPORT_S:
            on_event(part, f"installing: {step} ({elapsed} s)")
        else:
            return
        reported[part.name] = (step, elapsed)

    def _wait(self, parts: list[Part], on_event) -> None:
        deadlines = {p.name: time.monotonic() + p.startup_timeout_s for p in parts}
        waiting = list(parts)
        while waiting:
            for part in list(waiting):
                if part.healthy(self.ctx):
                    part.after_start(self.ctx)
                    on_event(part, "healthy")
                    waiting.remove(part)
                elif self.pid(part) is None:
                    raise StackError(f"{part.name} exited while starting. The end of "
                                     f"{self.files(part).log_file}:\n"
                                     f"{process.log_tail(self.files(part))}")
                elif time.monotonic() > deadlines[part.name]:
                    raise StackError(f"{part.name} was not healthy after "
                                     f"{part.startup_timeout_s:.0f}s. The end of "
                                     f"{self.files(part).log_file}:\n"
                                     f"{process.log_tail(self.files(part))}")
            if waiting:
                time.sleep(0.25)

    def down(self, parts: list[Part], *, kill: bool = False,
             on_event=lambda part, what: None) -> list[str]:
        """Stop the given parts, the supervisor first, then the shop's processes; return
        those stopped. A part stopped here has no pid file, so no supervisor restarts it."""
        stopped = []
        in_order = sorted(reversed(parts), key=lambda part: part.name != supervisor.NAME)
        for part in in_order:
            files = self.files(part)
            with process.part_lock(files):
                if process.stop(files, kill=kill):
                    stopped.append(part.name)
                    on_event(part, "stopped")
        return stopped

    def status(self, parts: list[Part]) -> list[PartStatus]:
        restarted = supervisor.restarts(self.ctx.stack_dir)
        return [
            PartStatus(p.name, p.group, p.port(self.ctx), pid := self.pid(p),
                       pid is not None and p.healthy(self.ctx), restarted.get(p.name, 0))
            for p in parts
        ]

    def log_file(self, part: Part) -> Path:
        return self.files(part).log_file
