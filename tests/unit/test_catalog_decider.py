"""The catalog decider: given events, when a command, then events (or a rejection)."""

from __future__ import annotations

from functools import reduce
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import catalog
from commands.decisions import Rejected
from schemas.commands.catalog import (
    ChangeProduct,
    CreateCategory,
    CreateProduct,
    ReleaseStock,
    ReserveStock,
    SetStock,
)
from schemas.commands.users import ClaimEmail
from schemas.events.catalog import (
    CategoryCreated,
    Image,
    ProductChanged,
    ProductCreated,
    StockAdjusted,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from schemas.money import Money

CATEGORY_ID = UUID("00000000-0000-4000-8000-00000000c001")
OTHER_CATEGORY_ID = UUID("00000000-0000-4000-8000-00000000c002")
PRODUCT_ID = UUID("00000000-0000-4000-8000-00000000b001")

CATEGORY = dict(category_id=CATEGORY_ID, slug="tea", name="Tea")
PRODUCT = dict(
    product_id=PRODUCT_ID,
    sku="TEA-001",
    name="Green tea",
    slug="green-tea",
    description="Loose leaf.",
    category_id=CATEGORY_ID,
    price=Money(amount=450, currency="EUR"),
    images=[Image(url="https://img.example/tea.jpg", alt="A cup")],
    specifications={"origin": "Japan", "weight": "100 g"},
    stock=10,
)


def given_events(*events):
    return reduce(catalog.evolve, events, None)


def product_created(**overrides) -> ProductCreated:
    return ProductCreated(**{**PRODUCT, **overrides})


def rejection(state, command) -> Rejected:
    with pytest.raises(Rejected) as caught:
        catalog.decide(state, command)
    return caught.value


# CreateCategory

def test_create_category_on_a_new_id_emits_category_created_with_its_fields():
    events = catalog.decide(given_events(), CreateCategory(**CATEGORY))

    assert events == [CategoryCreated(**CATEGORY)]


def test_category_created_becomes_a_category_state():
    state = given_events(CategoryCreated(**CATEGORY, parent_id=OTHER_CATEGORY_ID))

    assert state == catalog.Category(CATEGORY_ID, "tea", "Tea", OTHER_CATEGORY_ID)


def test_create_category_that_exists_is_rejected_as_category_exists():
    state = given_events(CategoryCreated(**CATEGORY))

    rejected = rejection(state, CreateCategory(**CATEGORY))

    assert rejected.reason == "category_exists"
    assert rejected.kind == "conflict"
    assert str(CATEGORY_ID) in rejected.detail


# CreateProduct

def test_create_product_on_a_new_id_emits_product_created_with_its_fields():
    events = catalog.decide(given_events(), CreateProduct(**PRODUCT))

    assert events == [ProductCreated(**PRODUCT)]


def test_product_created_becomes_a_product_with_its_stock_and_sorted_specifications():
    state = given_events(product_created(specifications={"b": "2", "a": "1"}, stock=3))

    assert isinstance(state, catalog.Product)
    assert state.stock == 3
    assert state.specifications == (("a", "1"), ("b", "2"))
    assert state.images == (Image(url="https://img.example/tea.jpg", alt="A cup"),)


def test_create_product_that_exists_is_rejected_as_product_exists():
    state = given_events(product_created())

    rejected = rejection(state, CreateProduct(**PRODUCT))

    assert rejected.reason == "product_exists"
    assert rejected.kind == "conflict"


# ChangeProduct

def test_change_product_of_an_unknown_product_is_rejected_as_not_found():
    rejected = rejection(given_events(), ChangeProduct(product_id=PRODUCT_ID, name="Black tea"))

    assert rejected.reason == "product_not_found"
    assert rejected.kind == "not_found"


def test_change_product_on_a_category_key_is_rejected_as_not_found():
    state = given_events(CategoryCreated(**CATEGORY))

    rejected = rejection(state, ChangeProduct(product_id=PRODUCT_ID, name="Black tea"))

    assert rejected.kind == "not_found"


def test_change_product_emits_only_the_fields_that_changed():
    state = given_events(product_created())

    events = catalog.decide(state, ChangeProduct(
        product_id=PRODUCT_ID,
        name="Black tea",                      # changed
        price=Money(amount=450),               # same as before
        category_id=OTHER_CATEGORY_ID,         # changed
        description="Loose leaf.",             # same as before
    ))

    assert events == [ProductChanged(product_id=PRODUCT_ID, name="Black tea",
                                     category_id=OTHER_CATEGORY_ID)]
    assert events[0].model_dump(exclude_none=True) == {
        "product_id": PRODUCT_ID, "name": "Black tea", "category_id": OTHER_CATEGORY_ID}


def test_change_product_with_the_current_values_emits_nothing():
    state = given_events(product_created())

    events = catalog.decide(state, ChangeProduct(
        product_id=PRODUCT_ID, name="Green tea", slug="green-tea", description="Loose leaf.",
        category_id=CATEGORY_ID, price=Money(amount=450, currency="EUR"),
        images=[Image(url="https://img.example/tea.jpg", alt="A cup")],
        specifications={"origin": "Japan", "weight": "100 g"},
    ))

    assert events == []


def test_change_product_with_no_fields_emits_nothing():
    state = given_events(product_created())

    assert catalog.decide(state, ChangeProduct(product_id=PRODUCT_ID)) == []


def test_repeating_a_change_after_it_was_applied_emits_nothing():
    state = given_events(product_created())
    change = ChangeProduct(product_id=PRODUCT_ID, name="Black tea", specifications={"x": "y"})
    state = reduce(catalog.evolve, catalog.decide(state, change), state)

    assert catalog.decide(state, change) == []


def test_change_product_ignores_the_order_of_specifications():
    state = given_events(product_created(specifications={"origin": "Japan", "weight": "100 g"}))

    events = catalog.decide(state, ChangeProduct(
        product_id=PRODUCT_ID, specifications={"weight": "100 g", "origin": "Japan"}))

    assert events == []


def test_change_product_emits_new_specifications_in_full():
    state = given_events(product_created(specifications={"origin": "Japan"}))

    events = catalog.decide(state, ChangeProduct(
        product_id=PRODUCT_ID, specifications={"origin": "Japan", "weight": "50 g"}))

    assert events == [ProductChanged(product_id=PRODUCT_ID,
                                     specifications={"origin": "Japan", "weight": "50 g"})]


def test_change_product_can_empty_the_images():
    state = given_events(product_created())

    events = catalog.decide(state, ChangeProduct(product_id=PRODUCT_ID, images=[]))

    assert events == [ProductChanged(product_id=PRODUCT_ID, images=[])]
    assert catalog.evolve(state, events[0]).images == ()


def test_product_changed_updates_only_its_fields_and_keeps_the_stock():
    state = given_events(
        product_created(stock=4),
        ProductChanged(product_id=PRODUCT_ID, name="Black tea",
                       specifications={"b": "2", "a": "1"}),
    )

    assert state == catalog.Product(
        product_id=PRODUCT_ID, sku="TEA-001", name="Black tea", slug="green-tea",
        description="Loose leaf.", category_id=CATEGORY_ID, price=Money(amount=450),
        images=(Image(url="https://img.example/tea.jpg", alt="A cup"),),
        specifications=(("a", "1"), ("b", "2")), stock=4,
    )


# SetStock

@pytest.mark.parametrize(("before", "after", "delta"), [(10, 13, 3), (10, 0, -10), (0, 7, 7)])
def test_set_stock_emits_stock_adjusted_with_the_delta_and_the_new_available(before, after,
                                                                             delta):
    state = given_events(product_created(stock=before))

    events = catalog.decide(state, SetStock(product_id=PRODUCT_ID, available=after))

    assert events == [StockAdjusted(product_id=PRODUCT_ID, delta=delta, available=after)]
    assert catalog.evolve(state, events[0]).stock == after


def test_set_stock_to_the_current_value_emits_nothing():
    state = given_events(product_created(stock=10))

    assert catalog.decide(state, SetStock(product_id=PRODUCT_ID, available=10)) == []


def test_set_stock_of_an_unknown_product_is_rejected_as_not_found():
    rejected = rejection(given_events(), SetStock(product_id=PRODUCT_ID, available=1))

    assert rejected.reason == "product_not_found"
    assert rejected.kind == "not_found"


def test_the_catalog_does_not_decide_commands_of_other_services():
    claim = ClaimEmail(email_key="k", user_id=PRODUCT_ID, email="v1.a", full_name="v1.b",
                       password_hash="v1.c", roles=["customer"])

    with pytest.raises(TypeError):
        catalog.decide(None, claim)


@given(initial=st.integers(0, 10_000_000),
       values=st.lists(st.integers(0, 10_000_000) | st.integers(0, 5), min_size=1,
                       max_size=30))
def test_setting_stock_repeatedly_leaves_the_last_value_and_deltas_sum_to_the_change(initial,
                                                                                      values):
    state = given_events(product_created(stock=initial))
    emitted = []
    for value in values:
        events = catalog.decide(state, SetStock(product_id=PRODUCT_ID, available=value))
        emitted += events
        state = reduce(catalog.evolve, events, state)

    assert state.stock == values[-1]
    assert sum(event.delta for event in emitted) == values[-1] - initial
    assert all(event.delta != 0 for event in emitted)


# ReserveStock and ReleaseStock: checkout sets stock aside per order

ORDER_A = UUID("00000000-0000-4000-8000-00000000d001")
ORDER_B = UUID("00000000-0000-4000-8000-00000000d002")


def reserve(order_id: UUID, quantity: int = 1) -> ReserveStock:
    return ReserveStock(product_id=PRODUCT_ID, order_id=order_id, quantity=quantity)


def release(order_id: UUID) -> ReleaseStock:
    return ReleaseStock(product_id=PRODUCT_ID, order_id=order_id)


def decided(state, command):
    """The events of `command` and the state they lead to."""
    events = catalog.decide(state, command)
    return events, reduce(catalog.evolve, events, state)


def test_reserving_stock_sets_it_aside_for_the_order():
    events, state = decided(given_events(product_created(stock=10)), reserve(ORDER_A, 3))

    assert events == [StockReserved(product_id=PRODUCT_ID, order_id=ORDER_A, quantity=3,
                                    available=7)]
    assert state.stock == 7
    assert dict(state.reservations) == {ORDER_A: {PRODUCT_ID: 3}} and state.held(ORDER_A) == 3


def test_the_last_unit_cannot_be_reserved_by_two_orders():
    _, state = decided(given_events(product_created(stock=1)), reserve(ORDER_A))

    events, after = decided(state, reserve(ORDER_B))

    assert events == [StockReservationRejected(
        product_id=PRODUCT_ID, order_id=ORDER_B, requested=1, available=0,
        reason="Green tea: sold out.")]
    assert after.stock == 0
    assert dict(after.reservations) == {ORDER_A: {PRODUCT_ID: 1}}


def test_asking_for_more_than_is_left_is_refused_with_what_is_left():
    events, state = decided(given_events(product_created(stock=2)), reserve(ORDER_A, 3))

    assert events == [StockReservationRejected(
        product_id=PRODUCT_ID, order_id=ORDER_A, requested=3, available=2,
        reason="Green tea: only 2 left.")]
    assert state.stock == 2


def test_a_reservation_repeated_for_the_same_order_takes_nothing_more():
    _, state = decided(given_events(product_created(stock=5)), reserve(ORDER_A, 2))

    assert catalog.decide(state, reserve(ORDER_A, 2)) == []


def test_a_product_that_does_not_exist_refuses_the_reservation_with_an_event():
    assert catalog.decide(given_events(), reserve(ORDER_A, 2)) == [StockReservationRejected(
        product_id=PRODUCT_ID, order_id=ORDER_A, requested=2, available=0,
        reason="That product is no longer sold.")]


def test_releasing_puts_the_orders_stock_back_on_sale_once():
    _, state = decided(given_events(product_created(stock=5)), reserve(ORDER_A, 2))

    events, state = decided(state, release(ORDER_A))

    assert events == [StockReleased(product_id=PRODUCT_ID, order_id=ORDER_A, quantity=2,
                                    available=5)]
    assert (state.stock, dict(state.reservations)) == (5, {})
    assert catalog.decide(state, release(ORDER_A)) == []


def test_releasing_an_order_that_holds_nothing_still_remembers_it():
    events, state = decided(given_events(product_created(stock=5)), release(ORDER_A))

    assert events == [StockReleased(product_id=PRODUCT_ID, order_id=ORDER_A, quantity=0,
                                    available=5)]
    assert state.stock == 5
    assert ORDER_A in state.released


def test_a_reservation_arriving_after_its_release_is_refused():
    _, state = decided(given_events(product_created(stock=5)), reserve(ORDER_A, 2))
    _, state = decided(state, release(ORDER_A))

    events, after = decided(state, reserve(ORDER_A, 2))

    assert events == [StockReservationRejected(
        product_id=PRODUCT_ID, order_id=ORDER_A, requested=2, available=5,
        reason="The order was cancelled.")]
    assert after.stock == 5
    assert dict(after.reservations) == {}


def test_a_reservation_overtaken_by_its_release_is_refused():
    _, state = decided(given_events(product_created(stock=5)), release(ORDER_A))

    events, after = decided(state, reserve(ORDER_A, 2))

    assert [type(e).__name__ for e in events] == ["StockReservationRejected"]
    assert after.stock == 5


def test_releasing_stock_of_a_product_that_does_not_exist_changes_nothing():
    assert catalog.decide(given_events(), release(ORDER_A)) == []


ORDERS = [UUID(int=0xD000 + n) for n in range(6)]


@given(initial=st.integers(0, 12),
       steps=st.lists(st.tuples(st.booleans(), st.sampled_from(ORDERS), st.integers(1, 5)),
                      max_size=50))
def test_stock_and_reservations_always_add_up_to_the_stock_there_was(initial, steps):
    state = given_events(product_created(stock=initial))
    reserved_by = []
    for is_reserve, order_id, quantity in steps:
        command = reserve(order_id, quantity) if is_reserve else release(order_id)
        events, state = decided(state, command)
        reserved_by += [e.order_id for e in events if isinstance(e, StockReserved)]

        assert state.stock >= 0
        assert state.stock + sum(map(state.held, state.reservations)) == initial
        assert set(state.reservations).isdisjoint(state.released)

    assert len(reserved_by) == len(set(reserved_by))     # each order reserves at most once
