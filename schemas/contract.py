"""Committed JSON Schema snapshots of every event and command: the contract on the wire.

A snapshot is written once per `schema_version` and never overwritten; a change
that breaks it needs a new version, and the old version's snapshot stays.
"""

from __future__ import annotations

import json
from pathlib import Path

import schemas.commands  # noqa: F401  (registers the classes)
import schemas.events  # noqa: F401  (registers the classes)
from schemas.compatibility import breaking_changes
from schemas.messages import Command, Event, Message

SNAPSHOTS = Path(__file__).with_name("snapshots")
FIX = "run `shopstream schemas snapshot`"


def messages() -> list[tuple[str, type[Message]]]:
    """Every registered message with the folder of its snapshots: events or commands."""
    return ([("events", cls) for cls in Event.registry.values()]
            + [("commands", cls) for cls in Command.registry.values()])


def snapshot_path(kind: str, cls: type[Message], version: int | None = None,
                  directory: Path = SNAPSHOTS) -> Path:
    return directory / kind / f"{cls.type_name()}.v{version or cls.schema_version}.json"


def write_snapshots(directory: Path = SNAPSHOTS, *, refresh: bool = False) -> list[Path]:
    """Write the current schema of each message that has no snapshot of its version yet.

    With `refresh`, also rewrite a snapshot whose message changed compatibly (an added
    optional field), so a later removal of that field is caught; a breaking change is
    never written over its snapshot.
    """
    written = []
    for kind, cls in messages():
        path = snapshot_path(kind, cls, directory=directory)
        current = cls.model_json_schema()
        if path.exists():
            snapshot = json.loads(path.read_text())
            if not refresh or snapshot == current or breaking_changes(snapshot, current):
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def check_snapshots(directory: Path = SNAPSHOTS) -> list[str]:
    """Each message against its snapshot: missing snapshots, breaking changes, lost history."""
    problems = []
    for kind, cls in messages():
        version = cls.schema_version
        name = f"{kind[:-1]} {cls.type_name()} v{version}"
        path = snapshot_path(kind, cls, directory=directory)
        if not path.exists():
            problems.append(f"{name}: no snapshot {path.name}; {FIX}")
        else:
            snapshot = json.loads(path.read_text())
            problems += [f"{name}: {reason}"
                         for reason in breaking_changes(snapshot, cls.model_json_schema())]
        if version > 1 and not snapshot_path(kind, cls, version - 1, directory).exists():
            problems.append(f"{name}: the snapshot of v{version - 1} is gone; keep every version's")
    return problems + _unregistered(directory)


def _unregistered(directory: Path) -> list[str]:
    """Snapshots of messages no longer defined: their stored messages could not be read."""
    registered = {(kind, cls.type_name()) for kind, cls in messages()}
    return [f"{kind[:-1]} {path.name}: has a snapshot but is no longer defined"
            for kind in ("events", "commands")
            for path in sorted((directory / kind).glob("*.v*.json"))
            if (kind, path.name.split(".v")[0]) not in registered]
