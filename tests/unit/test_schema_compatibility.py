"""The committed schema snapshots hold, and `breaking_changes` tells breaking from compatible."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional
from uuid import UUID

import pytest
from hypothesis import given, strategies as st
from pydantic import BaseModel, Field, create_model

from schemas.compatibility import breaking_changes
from schemas.messages import Event
from schemas.contract import check_snapshots, messages


def test_every_message_matches_its_committed_snapshot() -> None:
    assert check_snapshots() == []


def test_a_message_without_a_snapshot_is_reported() -> None:
    problems = check_snapshots(Path(__file__).parent / "no-such-directory")
    assert len(problems) == len(messages())
    assert all("run `shopstream schemas snapshot`" in problem for problem in problems)


def test_a_new_version_needs_its_own_snapshot_and_keeps_the_last(monkeypatch) -> None:
    product_created = Event.registry["ProductCreated"]
    monkeypatch.setattr(product_created, "schema_version", 2)
    assert [p for p in check_snapshots() if "ProductCreated" in p] == [
        "event ProductCreated v2: no snapshot ProductCreated.v2.json; "
        "run `shopstream schemas snapshot`"]
    monkeypatch.setattr(product_created, "schema_version", 3)
    assert "event ProductCreated v3: the snapshot of v2 is gone; keep every version's" \
        in check_snapshots()


def test_a_removed_message_whose_snapshot_remains_is_reported(monkeypatch) -> None:
    monkeypatch.delitem(Event.registry, "StockAdjusted")
    assert check_snapshots() == [
        "event StockAdjusted.v1.json: has a snapshot but is no longer defined"]


# Synthetic messages: an `Order` as first written, and each case's change to it.

Address = create_model("Address", street=(str, ...), number=(int, ...))
AddressWithTextNumber = create_model("Address", street=(str, ...), number=(str, ...))
AddressWithFloor = create_model("Address", street=(str, ...), number=(int, ...),
                                floor=(int | None, None))

ORDER: dict[str, Any] = {
    "order_id": (UUID, ...),
    "status": (Literal["open", "paid"], ...),
    "quantity": (int, ...),
    "note": (str | None, None),
    "name": (str, Field(max_length=200)),
    "address": (Address, ...),
    "tags": (list[str], []),
}


def order(**changes: Any) -> dict:
    """The schema of `Order` with fields replaced, added or (given None) removed."""
    fields = {name: spec for name, spec in {**ORDER, **changes}.items() if spec is not None}
    return create_model("Order", **fields).model_json_schema()


BREAKING = {
    "a removed field": ({"note": None}, "note: removed"),
    "a changed type": ({"quantity": (str, ...)}, "quantity: integer is no longer accepted"),
    "a new required field": ({"coupon": (str, ...)}, "coupon: required, and new"),
    "an optional field made required": ({"note": (str | None, ...)},
                                        "note: required, and optional before"),
    "an optional field made non-nullable": ({"note": (str, "")},
                                            "note: null is no longer accepted"),
    "a narrowed Literal": ({"status": (Literal["open"], ...)},
                           'status: value "paid" is no longer accepted'),
    "a nested model's field type": ({"address": (AddressWithTextNumber, ...)},
                                    "address.number: integer is no longer accepted"),
    "an array's item type": ({"tags": (list[int], [])}, "tags[]: string is no longer accepted"),
    "a tightened limit": ({"name": (str, Field(max_length=100))},
                          "name: maxLength is now 100 (was 200)"),
}

COMPATIBLE = {
    "a new optional field": {"coupon": (str | None, None)},
    "a field widened to Optional": {"quantity": (int | None, ...)},
    "an integer widened to a number": {"quantity": (float, ...)},
    "a Literal value added": {"status": (Literal["open", "paid", "shipped"], ...)},
    "a nested model's new optional field": {"address": (AddressWithFloor, ...)},
    "a loosened limit": {"name": (str, Field(max_length=300))},
    "a description": {"quantity": (int, Field(description="How many.", title="Count"))},
}


@pytest.mark.parametrize(("changes", "reason"), BREAKING.values(), ids=BREAKING.keys())
def test_a_breaking_change_is_reported(changes: dict, reason: str) -> None:
    reasons = breaking_changes(order(), order(**changes))
    assert any(r.startswith(reason) for r in reasons), reasons


@pytest.mark.parametrize("changes", COMPATIBLE.values(), ids=COMPATIBLE.keys())
def test_a_compatible_change_is_not_reported(changes: dict) -> None:
    assert breaking_changes(order(), order(**changes)) == []


def test_a_recursive_model_is_compared_to_the_end() -> None:
    def tree(value_type: type) -> dict:
        node = create_model("Node", value=(value_type, ...), children=(list["Node"], []))
        node.model_rebuild(_types_namespace={"Node": node})
        return node.model_json_schema()

    assert breaking_changes(tree(int), tree(int)) == []
    assert breaking_changes(tree(int), tree(str)) == [
        "value: integer is no longer accepted (now: string)"]


# Properties over generated models.

names = st.sampled_from(["a", "b", "c", "d", "e"])
scalars = st.sampled_from([int, float, str, bool, UUID])
literals = st.lists(st.sampled_from(["x", "y", "z", 1]), min_size=1, max_size=3,
                    unique=True).map(lambda values: Literal[tuple(values)])


def _model(fields: dict[str, Any]) -> type[BaseModel]:
    return create_model("Generated", **{name: (t, ...) for name, t in fields.items()})


field_types = st.recursive(
    scalars | literals,
    lambda inner: (inner.map(lambda t: list[t]) | inner.map(lambda t: Optional[t])
                   | inner.map(lambda t: dict[str, t])
                   | st.dictionaries(names, inner, min_size=1, max_size=3).map(_model)),
    max_leaves=6,
)
models = st.dictionaries(names, field_types, min_size=1, max_size=4)


@given(models)
def test_a_schema_compared_with_itself_has_no_breaking_change(fields: dict) -> None:
    schema = _model(fields).model_json_schema()
    assert breaking_changes(schema, json.loads(json.dumps(schema))) == []


@given(models)
def test_every_field_made_optional_or_an_optional_field_added_is_compatible(fields) -> None:
    old = _model(fields).model_json_schema()
    widened = {name: (Optional[t], None) for name, t in fields.items()}
    new = create_model("Generated", **widened, added=(int | None, None)).model_json_schema()
    assert breaking_changes(old, new) == []


@given(models, st.data())
def test_a_removed_field_is_breaking(fields: dict, data: st.DataObject) -> None:
    removed = data.draw(st.sampled_from(sorted(fields)))
    old = _model(fields).model_json_schema()
    new = _model({n: t for n, t in fields.items() if n != removed}).model_json_schema()
    assert f"{removed}: removed" in breaking_changes(old, new)
