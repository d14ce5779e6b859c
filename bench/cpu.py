"""CPU seconds each process used between two snapshots: where a benchmark's time goes."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
CLASSPATH = ("-cp", "-classpath")
CHILDREN = -1  # the pseudo-pid of this process's finished children (e.g. the replay CLI)


def _label(pid: str) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    # Drop JVM flags and class paths, which hide what a java process is.
    words = [w for i, w in enumerate(argv) if w and not w.startswith(("-X", "-D"))
             and w not in CLASSPATH and (i == 0 or argv[i - 1] not in CLASSPATH)]
    return " ".join(words)[:110] or f"[{Path(f'/proc/{pid}/comm').read_text().strip()}]"


def snapshot() -> dict[int, tuple[str, float]]:
    """pid -> (command line, CPU seconds so far) for every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(entry.name)] = (_label(entry.name),
                                      (int(fields[11]) + int(fields[12])) / TICK)
            if int(entry.name) == os.getpid():
                found[CHILDREN] = ("children of this benchmark (finished)",
                                   (int(fields[13]) + int(fields[14])) / TICK)
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return found


def report(before: dict, after: dict, seconds: float, top: int = 8) -> str:
    """The `top` busiest processes, as CPU seconds and % of one core over `seconds`."""
    used = sorted(((cpu - before.get(pid, ("", 0.0))[1], label)
                   for pid, (label, cpu) in after.items()), reverse=True)
    total = sum(u for u, _ in used)
    lines = [f"  CPU over {seconds:.1f} s: {total:.1f} s of {os.cpu_count() * seconds:.1f} s "
             f"available; load average {os.getloadavg()[0]:.2f}"]
    lines += [f"  {u:7.1f} s {100 * u / seconds:5.0f}%  {label}" for u, label in used[:top]]
    return "\n".join(lines)


# What a process's command line says it is: the parts of the stack a run's CPU is split by.
PARTS = (
    ("kafka.Kafka", "Kafka"),
    ("shopstream.es.Runner", "Elasticsearch"),
    ("ops.cli api", "API replicas"),
    ("worker --role commands", "commands worker"),
    ("worker --role projections", "projections worker"),
    ("worker --role sagas", "sagas worker"),
    ("worker --role notifications", "notifications worker"),
    ("worker --role webhooks", "webhooks worker"),
    ("mariadbd", "MariaDB"),
    ("ferretdb", "FerretDB"),
    ("postgres", "PostgreSQL"),
    ("redis-server", "Redis"),
    ("haproxy", "HAProxy"),
    ("bench.bare_api", "bare FastAPI"),
    ("ProducerPerformance", "Kafka producer perf"),
)
LOAD_GENERATOR = "load generator"


def by_part(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds used between two snapshots, summed per part of the stack (the rest as
    "other"; this process as the load generator)."""
    used: dict[str, float] = {}
    for pid, (label, seconds) in after.items():
        if pid == CHILDREN:
            continue
        delta = seconds - before.get(pid, ("", 0.0))[1]
        if delta <= 0:
            continue
        part = LOAD_GENERATOR if pid == os.getpid() else next(
            (name for pattern, name in PARTS if pattern in label), "other")
        used[part] = used.get(part, 0.0) + delta
    return used
