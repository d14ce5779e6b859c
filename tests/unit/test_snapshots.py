"""The snapshot format (`commands/snapshots.py`): an aggregate comes back equal, and a
record this code cannot read is refused, never half-read."""

from __future__ import annotations

import json
from dataclasses import field, fields, make_dataclass
from uuid import UUID

import pytest

from commands import catalog, snapshots
from commands.handling import Aggregate, Outcome, Rejection, fold
from commands.registry import DECIDERS
from commands.snapshots import UnknownSnapshot, decode_aggregate, encode_aggregate
from schemas.envelope import EventEnvelope
from schemas.events.catalog import StockReleased, StockReserved
from schemas.replies import Position
from tests.unit.test_catalog_decider import PRODUCT_ID, product_created


def _product(orders: int) -> Aggregate:
    aggregate = Aggregate()
    stock = 100
    events = [product_created(stock=stock)]
    for n in range(orders):
        stock -= 1
        events.append(StockReserved(product_id=PRODUCT_ID, order_id=UUID(int=n + 1),
                                    quantity=1, available=stock))
        if n % 3 == 2:
            stock += 1
            events.append(StockReleased(product_id=PRODUCT_ID, order_id=UUID(int=n + 1),
                                        quantity=1, available=stock))
    for version, event in enumerate(events, start=1):
        envelope = EventEnvelope(
            event_id=UUID(int=version), type=event.type_name(),
            schema_version=event.schema_version, aggregate_id=str(PRODUCT_ID),
            aggregate_version=version, occurred_at="2024-05-01T12:00:00Z",
            correlation_id=UUID(int=10_000 + version), causation_id=UUID(int=10_000 + version),
            actor=None, payload=event.model_dump(mode="json"))
        aggregate = fold(aggregate, envelope, Position(topic="t", partition=0, offset=version),
                         DECIDERS["catalog"])
    return aggregate


def test_a_product_with_its_history_and_remembered_answers_comes_back_equal():
    aggregate = _product(orders=30).remember(UUID(int=99), Outcome(
        41, (), rejection=Rejection("product_exists", "It exists already.", "conflict")))
    assert len(aggregate.state.reservations) == 20 and len(aggregate.state.released) == 10

    assert decode_aggregate(encode_aggregate(aggregate)) == aggregate


def test_a_record_of_another_shape_is_refused():
    raw = json.loads(encode_aggregate(_product(orders=2)))
    raw["state"]["v"]["colour"] = "red"  # a field the product no longer has

    with pytest.raises(UnknownSnapshot):
        decode_aggregate(json.dumps(raw).encode())


def test_a_record_naming_a_class_outside_the_shops_state_is_refused():
    raw = json.loads(encode_aggregate(_product(orders=1)))
    raw["state"]["t"] = "subprocess.Popen"

    with pytest.raises(UnknownSnapshot, match="not a class of shopstream"):
        decode_aggregate(json.dumps(raw).encode())


def test_the_fingerprint_changes_with_the_shape_of_a_state(monkeypatch):
    reshaped = make_dataclass("Product", [(f.name, f.type) for f in fields(catalog.Product)]
                              + [("colour", "str", field(default="red"))], frozen=True)
    reshaped.__module__ = catalog.__name__
    assert snapshots._fingerprint() == snapshots.FINGERPRINT

    monkeypatch.setattr(catalog, "Product", reshaped)

    assert snapshots._fingerprint() != snapshots.FINGERPRINT
