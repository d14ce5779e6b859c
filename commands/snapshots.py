"""An aggregate as a snapshot record and back: the pure half of bounded recovery.

A command processor writes its aggregates to the service's snapshots topic so that
a restart folds only the events after them (`streams/snapshots.py` does the I/O).
Here is the format: JSON, each value tagged with its type where JSON has none
(UUIDs, times, tuples, sets, persistent maps, the deciders' frozen dataclasses and
the schemas' pydantic models). Only classes of `commands` and `schemas` are ever
rebuilt from a record, so a record cannot name arbitrary code.

A snapshot is only as good as the shapes it was written with: `FINGERPRINT` sums up
the format and the fields of every state class, and a snapshot written under another
fingerprint is not read at all (the processor folds its events from the beginning,
as without a snapshot). A record that does not decode raises `UnknownSnapshot`,
with the same outcome. What a snapshot holds is what the events held: sealed
personal data stays sealed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from pyrsistent import PDeque, PMap, PSet, pdeque, pmap, pset

from commands import cart, catalog, handling, orders, payments, recent, returns, shipping
from commands import users, vouchers, webhooks
from commands.handling import Aggregate, Outcome, Rejection, Remembered
from schemas.replies import Position

FORMAT = 2
# Whose classes a record may name.
_OURS = ("commands.", "schemas.")
_STATE_MODULES = (cart, catalog, handling, orders, payments, recent, returns, shipping, users,
                  vouchers, webhooks)


class UnknownSnapshot(ValueError):
    """A snapshot record this code cannot read: its format or a shape changed."""


def _fingerprint() -> str:
    shapes = []
    for module in _STATE_MODULES:
        for name, value in sorted(vars(module).items()):
            if (isinstance(value, type) and dataclasses.is_dataclass(value)
                    and value.__module__ == module.__name__):
                shapes.append(f"{module.__name__}.{name}(" + ",".join(
                    f"{f.name}:{f.type}" for f in dataclasses.fields(value)) + ")")
    return hashlib.sha256(f"{FORMAT}\n".encode() + "\n".join(shapes).encode()).hexdigest()[:16]


FINGERPRINT = _fingerprint()


def encode_aggregate(aggregate: Aggregate) -> bytes:
    applied = [[str(command_id), outcome.aggregate_version, list(outcome.event_types),
                [[p.topic, p.partition, p.offset] for p in outcome.positions],
                dataclasses.astuple(outcome.rejection) if outcome.rejection else None]
               for command_id, outcome in aggregate.applied.items()]
    return json.dumps({"state": _encode(aggregate.state), "version": aggregate.version,
                       "applied": applied}, separators=(",", ":")).encode()


def decode_aggregate(data: bytes) -> Aggregate:
    try:
        raw = json.loads(data, object_hook=_decode)
        applied = Remembered.of([
            (UUID(command_id), Outcome(version, tuple(types),
                                       tuple(Position(topic=t, partition=p, offset=o)
                                             for t, p, o in positions),
                                       Rejection(*rejection) if rejection else None))
            for command_id, version, types, positions, rejection in raw["applied"]])
        return Aggregate(raw["state"], raw["version"], applied)
    except UnknownSnapshot:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise UnknownSnapshot(f"an aggregate record does not decode: {error}") from error


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, UUID):
        return {"$": "uuid", "v": str(value)}
    if isinstance(value, datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, BaseModel):
        # As a string: what a client wrote inside it is never taken for a tagged value.
        return {"$": "model", "t": _name(type(value)), "v": value.model_dump_json()}
    if dataclasses.is_dataclass(value):
        return {"$": "dataclass", "t": _name(type(value)),
                "v": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, PMap):
        return {"$": "pmap", "v": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (MappingProxyType, dict)):
        return {"$": "mapping", "v": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, PDeque):
        return {"$": "pdeque", "v": [_encode(v) for v in value]}
    if isinstance(value, PSet):
        return {"$": "pset", "v": [_encode(v) for v in value]}
    if isinstance(value, frozenset):
        return {"$": "frozenset", "v": [_encode(v) for v in value]}
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    raise TypeError(f"a snapshot cannot hold a {type(value).__name__}")


def _decode(value: dict) -> Any:
    """One JSON object back to its value; the parser calls it innermost first, so what a
    tag wraps is decoded already."""
    if "$" not in value:
        return value  # the record's own fields
    tag, inner = value["$"], value["v"]
    match tag:
        case "uuid":
            return UUID(inner)
        case "datetime":
            return datetime.fromisoformat(inner)
        case "model":
            return _class(value["t"], BaseModel).model_validate_json(inner)
        case "dataclass":
            return _class(value["t"], None)(**inner)
        case "pmap":
            return pmap(dict(inner))
        case "mapping":
            return MappingProxyType(dict(inner))
        case "pdeque":
            return pdeque(inner)
        case "pset":
            return pset(inner)
        case "frozenset":
            return frozenset(inner)
        case "tuple":
            return tuple(inner)
    raise UnknownSnapshot(f"unknown tag {tag!r}")


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _class(name: str, base: type | None) -> type:
    module_name, _, class_name = name.rpartition(".")
    if not module_name.startswith(_OURS):
        raise UnknownSnapshot(f"{name} is not a class of shopstream's state")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise UnknownSnapshot(f"{name} no longer exists") from error
    if not isinstance(cls, type) or not (issubclass(cls, base) if base
                                         else dataclasses.is_dataclass(cls)):
        raise UnknownSnapshot(f"{name} is not a state class")
    return cls
