"""`commands.handling`: deciding one command envelope against one aggregate, and
rebuilding that aggregate from the recorded event envelopes alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from commands import catalog, handling
from commands.handling import Aggregate, Outcome, fold, handle, recall, with_positions
from schemas.commands.catalog import ChangeProduct, CreateProduct, SetStock
from schemas.envelope import CommandEnvelope, EventEnvelope
from schemas.events.catalog import StockAdjusted
from schemas.money import Money
from schemas.replies import Position

CATEGORY_ID = UUID("00000000-0000-4000-8000-00000000c001")
PRODUCT_ID = UUID("00000000-0000-4000-8000-00000000b001")
KEY = str(PRODUCT_ID)
ISSUED_AT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
ACTOR = "user:00000000-0000-4000-8000-0000000a11ce"
TOPIC = "catalog-events"


def command_id(n: int) -> UUID:
    return UUID(int=n)


def envelope(command, n: int, **fields) -> CommandEnvelope:
    return CommandEnvelope.wrap(command, command_id=command_id(n),
                                actor=fields.pop("actor", ACTOR),
                                issued_at=fields.pop("issued_at", ISSUED_AT), **fields)


def create_product(stock: int = 10) -> CreateProduct:
    return CreateProduct(product_id=PRODUCT_ID, sku="TEA-001", name="Green tea",
                         slug="green-tea", category_id=CATEGORY_ID, price=Money(amount=450),
                         stock=stock)


def set_stock(available: int) -> SetStock:
    return SetStock(product_id=PRODUCT_ID, available=available)


def positions_for(events: list[EventEnvelope], first_offset: int) -> list[Position]:
    return [Position(topic=TOPIC, partition=0, offset=first_offset + i)
            for i in range(len(events))]


def rebuild(recorded: list[tuple[EventEnvelope, Position | None]]) -> Aggregate:
    aggregate = Aggregate()
    for event, position in recorded:
        aggregate = fold(aggregate, event, position, catalog)
    return aggregate


def given_product(stock: int = 10) -> handling.Decision:
    return handle(Aggregate(), envelope(create_product(stock), 1), KEY)


# Accepted

def test_an_accepted_command_numbers_its_events_from_the_aggregate_version():
    existing = Aggregate(state=given_product().aggregate.state, version=7)

    decision = handle(existing, envelope(set_stock(3), 2), KEY)

    assert [e.aggregate_version for e in decision.events] == [8]
    assert decision.aggregate.version == 8
    assert decision.reply.status == "accepted"
    assert decision.reply.aggregate_version == 8
    assert decision.reply.event_types == ["StockAdjusted"]


def test_a_new_aggregate_starts_at_version_one():
    decision = given_product()

    assert [e.aggregate_version for e in decision.events] == [1]
    assert decision.reply.event_types == ["ProductCreated"]
    assert decision.reply.aggregate_id == KEY


def test_accepted_event_envelopes_carry_the_command_context():
    correlation = UUID("00000000-0000-4000-8000-0000000c0aa1")
    command = envelope(set_stock(3), 2, correlation_id=correlation)

    (event,) = handle(given_product().aggregate, command, KEY).events

    assert event.type == "StockAdjusted"
    assert event.schema_version == 1
    assert event.aggregate_id == KEY
    assert event.occurred_at == command.issued_at == ISSUED_AT
    assert event.causation_id == command.command_id
    assert event.correlation_id == correlation
    assert event.actor == ACTOR
    assert event.event() == StockAdjusted(product_id=PRODUCT_ID, delta=-7, available=3)


def test_without_a_correlation_id_the_command_id_correlates():
    (event,) = handle(given_product().aggregate, envelope(set_stock(3), 2), KEY).events

    assert event.correlation_id == command_id(2)


def test_occurred_at_is_the_issue_instant_in_utc_whatever_the_offset():
    issued = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))

    (event,) = handle(given_product().aggregate,
                      envelope(set_stock(3), 2, issued_at=issued), KEY).events

    assert event.occurred_at == ISSUED_AT
    assert event.occurred_at.utcoffset() == timedelta(0)


def test_handling_the_same_envelope_twice_over_the_same_aggregate_gives_identical_events():
    aggregate = given_product().aggregate
    command = envelope(set_stock(3), 2)

    first, second = handle(aggregate, command, KEY), handle(aggregate, command, KEY)

    assert first.events == second.events
    assert first.aggregate == second.aggregate
    assert first.reply == second.reply


def test_event_ids_differ_between_commands():
    aggregate = given_product().aggregate

    (a,) = handle(aggregate, envelope(set_stock(3), 2), KEY).events
    (b,) = handle(aggregate, envelope(set_stock(3), 3), KEY).events

    assert a.event_id != b.event_id


def test_one_command_id_on_two_aggregates_gives_events_of_distinct_ids():
    # As when a client reuses its Idempotency-Key for another product or voucher.
    other_id = UUID("00000000-0000-4000-8000-00000000b002")
    same = command_id(7)
    (a,) = handle(Aggregate(), CommandEnvelope.wrap(create_product(), command_id=same,
                                                    actor=ACTOR, issued_at=ISSUED_AT),
                  KEY).events
    (b,) = handle(Aggregate(), CommandEnvelope.wrap(
        create_product().model_copy(update={"product_id": other_id}), command_id=same,
        actor=ACTOR, issued_at=ISSUED_AT), str(other_id)).events

    assert a.event_id != b.event_id


def test_the_new_aggregate_already_includes_the_events():
    decision = handle(given_product().aggregate, envelope(set_stock(3), 2), KEY)

    assert decision.aggregate.state.stock == 3


def test_a_command_with_nothing_to_change_is_accepted_without_events():
    product = given_product(stock=10).aggregate

    decision = handle(product, envelope(set_stock(10), 2), KEY)

    assert decision.events == []
    assert decision.reply.status == "accepted"
    assert decision.reply.aggregate_version == product.version == decision.aggregate.version
    assert decision.reply.event_types == []


# Duplicate

def test_the_same_command_id_again_is_a_duplicate_with_the_first_outcome_and_no_events():
    command = envelope(set_stock(3), 2)
    first = handle(given_product().aggregate, command, KEY)

    again = handle(first.aggregate, command, KEY)

    assert again.events == []
    assert again.aggregate is first.aggregate
    assert again.reply.status == "duplicate"
    assert again.reply.aggregate_version == first.reply.aggregate_version == 2
    assert again.reply.event_types == ["StockAdjusted"]
    assert again.reply.ok


def test_a_duplicate_is_recognised_by_its_id_even_with_another_payload():
    first = handle(given_product().aggregate, envelope(set_stock(3), 2), KEY)

    again = handle(first.aggregate, envelope(set_stock(99), 2), KEY)

    assert again.reply.status == "duplicate"
    assert again.events == []
    assert again.aggregate.state.stock == 3


def test_a_duplicate_answers_with_the_positions_recorded_for_the_first_outcome():
    first = handle(given_product().aggregate, envelope(set_stock(3), 2), KEY)
    landed = positions_for(first.events, first_offset=41)
    acknowledged = with_positions(first.aggregate, command_id(2), landed)

    again = handle(acknowledged, envelope(set_stock(3), 2), KEY)

    assert again.reply.status == "duplicate"
    assert again.reply.positions == landed
    assert acknowledged.state == first.aggregate.state
    assert acknowledged.version == first.aggregate.version


def test_a_no_op_command_sent_again_is_a_duplicate():
    noop = handle(given_product(stock=10).aggregate, envelope(set_stock(10), 2), KEY)
    later = handle(noop.aggregate, envelope(set_stock(4), 3), KEY)

    again = handle(later.aggregate, envelope(set_stock(10), 2), KEY)

    assert again.reply.status == "duplicate"
    assert again.events == []
    assert again.aggregate.state.stock == 4


# Rejected

def test_a_rejected_command_changes_nothing_and_says_why():
    empty = Aggregate()

    decision = handle(empty, envelope(set_stock(3), 2), KEY)

    assert decision.events == []
    assert (decision.aggregate.state, decision.aggregate.version) == (empty.state, empty.version)
    assert decision.reply.status == "rejected"
    assert not decision.reply.ok
    assert decision.reply.reason == "product_not_found"
    assert decision.reply.detail == f"There is no product {PRODUCT_ID}."
    assert decision.reply.aggregate_version == 0
    assert decision.reply.event_types == []


def test_a_rejected_command_is_remembered_and_answered_the_same_when_resent():
    product = given_product().aggregate
    rejected = handle(product, envelope(create_product(), 2), KEY)

    again = handle(rejected.aggregate, envelope(create_product(), 2), KEY)

    assert command_id(2) in rejected.aggregate.applied
    assert again.events == []
    assert again.reply.status == "rejected"
    assert again.reply.reason == "product_exists"
    assert again.reply.aggregate_version == product.version


# Rebuilding from the events topic (crash recovery)

def test_folding_the_accepted_envelopes_rebuilds_the_same_state_and_version():
    created = given_product()
    changed = handle(created.aggregate, envelope(
        ChangeProduct(product_id=PRODUCT_ID, name="Black tea", price=Money(amount=500)), 2), KEY)
    stocked = handle(changed.aggregate, envelope(set_stock(3), 3), KEY)
    recorded = created.events + changed.events + stocked.events

    rebuilt = rebuild([(e, None) for e in recorded])

    assert rebuilt.state == stocked.aggregate.state
    assert rebuilt.version == stocked.aggregate.version == 3


def test_folding_envelopes_read_back_from_bytes_rebuilds_the_same_state():
    created = given_product()
    changed = handle(created.aggregate, envelope(
        ChangeProduct(product_id=PRODUCT_ID, specifications={"b": "2", "a": "1"}), 2), KEY)

    rebuilt = rebuild([(EventEnvelope.from_bytes(e.to_bytes()), None)
                       for e in created.events + changed.events])

    assert rebuilt.state == changed.aggregate.state
    assert rebuilt.version == changed.aggregate.version


def test_a_rebuilt_aggregate_recognises_a_resent_command_as_duplicate_with_its_positions():
    live = Aggregate()
    recorded = []
    for n, command in enumerate([create_product(), set_stock(3), set_stock(8)], start=1):
        decision = handle(live, envelope(command, n), KEY)
        landed = positions_for(decision.events, first_offset=100 + len(recorded))
        live = with_positions(decision.aggregate, command_id(n), landed)
        recorded += zip(decision.events, landed)

    rebuilt = rebuild(recorded)
    again = handle(rebuilt, envelope(set_stock(3), 2), KEY)

    assert rebuilt.state == live.state
    assert rebuilt.version == live.version
    assert dict(rebuilt.applied) == dict(live.applied)
    assert again.reply.status == "duplicate"
    assert again.events == []
    assert again.reply.aggregate_version == 2
    assert again.reply.event_types == ["StockAdjusted"]
    assert again.reply.positions == [Position(topic=TOPIC, partition=0, offset=101)]


def test_fold_collects_every_event_type_and_position_of_one_command():
    (created,) = given_product().events
    second = created.model_copy(update={
        "event_id": UUID(int=99), "aggregate_version": 2, "type": "StockAdjusted",
        "payload": StockAdjusted(product_id=PRODUCT_ID, delta=1, available=11)
        .model_dump(mode="json")})
    first_at, second_at = positions_for([created, second], first_offset=7)

    rebuilt = rebuild([(created, first_at), (second, second_at)])

    assert rebuilt.applied[command_id(1)] == Outcome(
        aggregate_version=2, event_types=("ProductCreated", "StockAdjusted"),
        positions=(first_at, second_at))
    assert rebuilt.state.stock == 11


def test_a_no_op_command_is_still_a_duplicate_after_rebuilding_from_events_and_replies():
    created = given_product(stock=10)
    noop = handle(created.aggregate, envelope(set_stock(10), 2), KEY)   # accepted, no events
    later = handle(noop.aggregate, envelope(set_stock(4), 3), KEY)
    rebuilt = recall(rebuild([(e, None) for e in created.events + later.events]), noop.reply)

    retry = handle(rebuilt, envelope(set_stock(10), 2), KEY)

    assert retry.reply.status == "duplicate"
    assert retry.events == []


def test_a_rejected_command_repeated_gets_its_first_answer_even_after_recovery():
    missing = handle(Aggregate(), envelope(set_stock(3), 1), KEY)
    assert missing.reply.status == "rejected"
    created = handle(missing.aggregate, envelope(create_product(stock=0), 2), KEY)

    live_retry = handle(created.aggregate, envelope(set_stock(3), 1), KEY)
    recovered = recall(rebuild([(e, None) for e in created.events]), missing.reply)
    recovered_retry = handle(recovered, envelope(set_stock(3), 1), KEY)

    for retry in (live_retry, recovered_retry):
        assert retry.reply.status == "rejected"
        assert retry.reply.reason == "product_not_found"
        assert retry.events == []


# The bound on remembered commands

def test_an_aggregate_remembers_at_most_remembered_commands_and_forgets_the_oldest(monkeypatch):
    monkeypatch.setattr(handling, "REMEMBERED_COMMANDS", 3)
    aggregate = given_product(stock=0).aggregate           # command 1
    for n in range(2, 6):                                  # commands 2..5
        aggregate = handle(aggregate, envelope(set_stock(n), n), KEY).aggregate

    assert list(aggregate.applied) == [command_id(3), command_id(4), command_id(5)]
    assert handle(aggregate, envelope(set_stock(5), 5), KEY).reply.status == "duplicate"
    forgotten = handle(aggregate, envelope(set_stock(2), 2), KEY)
    assert forgotten.reply.status == "accepted"
    assert len(forgotten.events) == 1


def test_recording_positions_does_not_make_a_command_count_as_new(monkeypatch):
    monkeypatch.setattr(handling, "REMEMBERED_COMMANDS", 2)
    aggregate = given_product(stock=0).aggregate
    aggregate = handle(aggregate, envelope(set_stock(2), 2), KEY).aggregate

    aggregate = with_positions(aggregate, command_id(1), [Position(topic=TOPIC, partition=0,
                                                                  offset=0)])

    assert list(aggregate.applied) == [command_id(1), command_id(2)]


def test_folding_also_remembers_at_most_remembered_commands(monkeypatch):
    monkeypatch.setattr(handling, "REMEMBERED_COMMANDS", 2)
    live, recorded = given_product(stock=0).aggregate, given_product(stock=0).events
    for n in range(2, 6):
        decision = handle(live, envelope(set_stock(n), n), KEY)
        live, recorded = decision.aggregate, recorded + decision.events

    rebuilt = rebuild([(e, None) for e in recorded])

    assert list(rebuilt.applied) == [command_id(4), command_id(5)]
    assert rebuilt.version == live.version == 5


def test_the_default_bound_holds_over_many_commands():
    aggregate = given_product(stock=0).aggregate
    for n in range(2, handling.REMEMBERED_COMMANDS + 12):
        aggregate = handle(aggregate, envelope(set_stock(n), n), KEY).aggregate

    assert len(aggregate.applied) == handling.REMEMBERED_COMMANDS
    assert command_id(1) not in aggregate.applied
    assert command_id(handling.REMEMBERED_COMMANDS + 11) in aggregate.applied


# Properties

NAMES = ["Green tea", "Black tea", "Oolong"]
PRICES = [Money(amount=450), Money(amount=500)]

catalog_commands = st.one_of(
    st.builds(set_stock, st.integers(0, 4)),
    st.builds(ChangeProduct, product_id=st.just(PRODUCT_ID),
              name=st.none() | st.sampled_from(NAMES),
              price=st.none() | st.sampled_from(PRICES)),
)


@st.composite
def sends_with_retries(draw) -> list[tuple[int, object]]:
    """Distinct commands (ids 2, 3, ...) sent in order, each perhaps retried later."""
    commands = draw(st.lists(catalog_commands, min_size=1, max_size=12))
    picks = draw(st.lists(st.integers(0, len(commands) - 1), min_size=1, max_size=30))
    return [(n + 2, commands[n]) for n in picks]


def first_sends_only(sends):
    seen, first = set(), []
    for n, command in sends:
        if n not in seen:
            seen.add(n)
            first.append((n, command))
    return first


def run(sends) -> tuple[Aggregate, list[EventEnvelope], list[tuple[EventEnvelope, Position]]]:
    created = given_product(stock=2)
    live, emitted = created.aggregate, list(created.events)
    recorded = list(zip(created.events, positions_for(created.events, 0)))
    live = with_positions(live, command_id(1), [p for _, p in recorded])
    for n, command in sends:
        decision = handle(live, envelope(command, n), KEY)
        live = decision.aggregate
        if decision.reply.status == "accepted":
            landed = positions_for(decision.events, len(recorded))
            live = with_positions(live, command_id(n), landed)
            recorded += zip(decision.events, landed)
        emitted += decision.events
    return live, emitted, recorded


@given(sends_with_retries())
def test_rebuilding_from_the_emitted_envelopes_equals_the_live_aggregate(sends):
    live, emitted, recorded = run(sends)

    rebuilt = rebuild(recorded)

    assert rebuilt.state == live.state
    assert rebuilt.version == live.version
    assert [e.aggregate_version for e in emitted] == list(range(1, live.version + 1))
    for n, outcome in live.applied.items():
        if outcome.event_types:           # commands that left events behind
            assert rebuilt.applied[n] == outcome


@given(sends_with_retries())
def test_retrying_a_command_never_changes_what_is_emitted(sends):
    live, emitted, _ = run(sends)
    once, emitted_once, _ = run(first_sends_only(sends))

    assert len(emitted) == len(emitted_once)
    assert emitted == emitted_once
    assert live.state == once.state
    assert live.version == once.version
