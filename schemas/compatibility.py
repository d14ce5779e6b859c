"""Whether a message's new JSON Schema still accepts everything its old one did.

Events are kept forever, so new code must read what old code wrote: any change
that would reject old data is breaking and needs a new `schema_version`.
"""

from __future__ import annotations

import json
from typing import Any

Schema = dict[str, Any]

_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_EXACT = ("pattern", "format", "multipleOf")
_JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string"}


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Why data valid under `old` may be invalid under `new`; empty if it never is.

    Breaking: a removed property, a new or newly required property, a type, enum
    value or null no longer accepted (also inside arrays, maps and nested models),
    a tightened limit or pattern. Not breaking: a new optional property, a wider
    type, a new enum value, another title or description.
    """
    return _Comparison(old, new).schema(old, new, "")


class _Comparison:
    """One comparison of two root schemas, each with its own `$defs`."""

    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._roots = old_root, new_root
        self._open: set[tuple[int, int]] = set()  # object pairs being compared: ends recursion

    def schema(self, old: Schema, new: Schema, at: str) -> list[str]:
        """Each alternative the old schema accepted must be accepted by one of the new."""
        new_alternatives = self._alternatives(new, side=1)
        reasons: list[str] = []
        for alternative in self._alternatives(old, side=0):
            candidates = [n for n in new_alternatives if _same_kind(alternative, n)]
            if not candidates:
                now = ", ".join(sorted({_describe(n) for n in new_alternatives}))
                reasons.append(f"{_where(at)}: {_describe(alternative)} is no longer accepted"
                               f" (now: {now})")
                continue
            attempts = [self._alternative(alternative, n, at) for n in candidates]
            if all(attempts):  # no candidate takes it unchanged: report the closest
                reasons += min(attempts, key=len)
        return reasons

    def _alternative(self, old: Schema, new: Schema, at: str) -> list[str]:
        if "const" in old or new.get("type") is None:
            return []  # already matched by value, or the new one accepts anything
        reasons = _tightened(old, new, at)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            reasons += self.schema(old["items"], new["items"], f"{at}[]")
        for i, (o, n) in enumerate(zip(old.get("prefixItems", ()), new.get("prefixItems", ()))):
            reasons += self.schema(o, n, f"{at}[{i}]")
        if new["type"] == "object":
            reasons += self._object(old, new, at)
        return reasons

    def _object(self, old: Schema, new: Schema, at: str) -> list[str]:
        pair = id(old), id(new)
        if pair in self._open:  # a recursive model, already being compared further up
            return []
        self._open.add(pair)
        try:
            return self._properties(old, new, at) + self._other_keys(old, new, at)
        finally:
            self._open.discard(pair)

    def _properties(self, old: Schema, new: Schema, at: str) -> list[str]:
        old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
        reasons: list[str] = []
        for name, schema in old_properties.items():
            if name in new_properties:
                reasons += self.schema(schema, new_properties[name], _join(at, name))
            else:
                reasons.append(f"{_join(at, name)}: removed")
        newly_required = set(new.get("required", ())) - set(old.get("required", ()))
        for name in sorted(newly_required):
            was = "optional before" if name in old_properties else "new"
            reasons.append(f"{_join(at, name)}: required, and {was}")
        return reasons

    def _other_keys(self, old: Schema, new: Schema, at: str) -> list[str]:
        """A map's values (`dict[str, X]`), as `additionalProperties`."""
        old_values, new_values = old.get("additionalProperties"), new.get("additionalProperties")
        if not isinstance(old_values, dict):
            return []
        if isinstance(new_values, dict):
            return self.schema(old_values, new_values, _join(at, "*"))
        if new_values is False:
            return [f"{_where(at)}: keys other than its properties are no longer accepted"]
        return []

    def _alternatives(self, schema: Schema, side: int) -> list[Schema]:
        """The schema as a flat union; an enum or const as one alternative per value."""
        schema = self._resolve(schema, side)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return [a for member in schema[key] for a in self._alternatives(member, side)]
        if isinstance(schema.get("type"), list):
            return [{**schema, "type": t} for t in schema["type"]]
        if "enum" in schema or "const" in schema:
            values = schema.get("enum", [schema.get("const")])
            return [{"type": _JSON_TYPES.get(type(v), schema.get("type")), "const": v}
                    for v in values]
        return [schema]

    def _resolve(self, schema: Schema, side: int) -> Schema:
        while True:
            if "$ref" in schema:
                node = self._roots[side]
                for part in schema["$ref"].removeprefix("#/").split("/"):
                    node = node[part]
                schema = node
            elif len(schema.get("allOf", ())) == 1:
                schema = schema["allOf"][0]
            else:
                return schema


def _same_kind(old: Schema, new: Schema) -> bool:
    if "const" in new and ("const" not in old or old["const"] != new["const"]):
        return False
    old_type, new_type = old.get("type"), new.get("type")
    return new_type in (None, old_type) or (old_type, new_type) == ("integer", "number")


def _tightened(old: Schema, new: Schema, at: str) -> list[str]:
    reasons = []
    for key in _UPPER_BOUNDS + _LOWER_BOUNDS + _EXACT:
        if key not in new or new[key] == old.get(key):
            continue
        before = old.get(key)
        looser = before is not None and (key in _UPPER_BOUNDS and new[key] > before
                                         or key in _LOWER_BOUNDS and new[key] < before)
        if not looser:
            was = "none" if before is None else before
            reasons.append(f"{_where(at)}: {key} is now {new[key]} (was {was})")
    return reasons


def _describe(alternative: Schema) -> str:
    if "const" in alternative:
        return f"value {json.dumps(alternative['const'])}"
    return alternative.get("type") or "any value"


def _join(at: str, name: str) -> str:
    return f"{at}.{name}" if at else name


def _where(at: str) -> str:
    return at or "the message"
