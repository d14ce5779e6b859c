"""The cart's rules, given events, when a command, then events; no I/O."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.cart import MAX_LINES, MAX_QUANTITY, Cart, decide, evolve
from commands.decisions import Rejected
from schemas.commands.cart import (
    AddCartItem,
    ClearCart,
    RemoveCartItem,
    RemoveOrderedItems,
    SetCartItemQuantity,
)
from schemas.events.cart import OrderedItemsRemoved

CART = uuid.UUID("00000000-0000-4000-8000-00000000c001")
PRODUCTS = [uuid.UUID(int=n) for n in range(1, 6)]


def run(commands, state=None):
    """Apply commands in turn; rejected ones change nothing. Returns state and all events."""
    events = []
    for command in commands:
        try:
            new = decide(state, command)
        except Rejected:
            continue
        for event in new:
            state = evolve(state, event)
        events += new
    return state, events


def test_adding_a_product_twice_adds_up_the_quantity():
    state, events = run([AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=2),
                         AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=3)])
    assert [(e.added, e.quantity) for e in events] == [(2, 2), (3, 5)]
    assert dict(state.lines) == {PRODUCTS[0]: 5}


def test_quantity_zero_removes_a_line_and_setting_the_same_quantity_changes_nothing():
    state, _ = run([AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=2)])
    assert decide(state, SetCartItemQuantity(cart_id=CART, product_id=PRODUCTS[0],
                                             quantity=2)) == []
    removed = decide(state, SetCartItemQuantity(cart_id=CART, product_id=PRODUCTS[0], quantity=0))
    assert type(removed[0]).__name__ == "CartItemRemoved"


def test_lines_not_in_the_cart_cannot_be_changed_or_removed():
    for command in (SetCartItemQuantity(cart_id=CART, product_id=PRODUCTS[1], quantity=3),
                    RemoveCartItem(cart_id=CART, product_id=PRODUCTS[1])):
        with pytest.raises(Rejected) as refused:
            decide(Cart(), command)
        assert refused.value.kind == "not_found"


def test_a_line_is_bounded_and_so_is_the_number_of_lines():
    state, _ = run([AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=MAX_QUANTITY)])
    with pytest.raises(Rejected):
        decide(state, AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=1))
    full, _ = run([AddCartItem(cart_id=CART, product_id=uuid.UUID(int=100 + n), quantity=1)
                   for n in range(MAX_LINES)])
    with pytest.raises(Rejected) as refused:
        decide(full, AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=1))
    assert refused.value.reason == "cart_full"


def test_clearing_empties_the_cart_and_clearing_an_empty_cart_changes_nothing():
    state, _ = run([AddCartItem(cart_id=CART, product_id=p, quantity=1) for p in PRODUCTS])
    state, events = run([ClearCart(cart_id=CART)], state)
    assert dict(state.lines) == {} and len(events) == 1
    assert decide(state, ClearCart(cart_id=CART)) == []


commands = st.one_of(
    st.builds(AddCartItem, cart_id=st.just(CART), product_id=st.sampled_from(PRODUCTS),
              quantity=st.integers(1, 40)),
    st.builds(SetCartItemQuantity, cart_id=st.just(CART), product_id=st.sampled_from(PRODUCTS),
              quantity=st.integers(0, 99)),
    st.builds(RemoveCartItem, cart_id=st.just(CART), product_id=st.sampled_from(PRODUCTS)),
    st.builds(ClearCart, cart_id=st.just(CART)),
)


@given(st.lists(commands, max_size=40))
def test_every_line_stays_within_bounds_and_events_alone_rebuild_the_cart(sequence):
    state, events = run(sequence)
    lines = dict((state or Cart()).lines)
    assert all(1 <= q <= MAX_QUANTITY for q in lines.values())
    rebuilt = None
    for event in events:
        rebuilt = evolve(rebuilt, event)
    assert dict((rebuilt or Cart()).lines) == lines


# RemoveOrderedItems: a confirmed order takes what it bought out of the cart

ORDER = uuid.UUID("00000000-0000-4000-8000-00000000d001")


def ordered(bought: dict[uuid.UUID, int]) -> RemoveOrderedItems:
    return RemoveOrderedItems(cart_id=CART, order_id=ORDER, quantities=bought)


def test_only_the_ordered_quantities_leave_the_cart_and_what_was_added_since_stays():
    state, _ = run([AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=2),
                    AddCartItem(cart_id=CART, product_id=PRODUCTS[1], quantity=1),
                    # added while the order was being placed:
                    AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=1),
                    AddCartItem(cart_id=CART, product_id=PRODUCTS[2], quantity=4)])

    state, events = run([ordered({PRODUCTS[0]: 2, PRODUCTS[1]: 1})], state)

    assert events == [OrderedItemsRemoved(cart_id=CART, order_id=ORDER,
                                          quantities={PRODUCTS[0]: 1, PRODUCTS[1]: 0})]
    assert dict(state.lines) == {PRODUCTS[0]: 1, PRODUCTS[2]: 4}


def test_a_line_lowered_below_what_was_ordered_leaves_entirely():
    state, _ = run([AddCartItem(cart_id=CART, product_id=PRODUCTS[0], quantity=1)])

    state, _ = run([ordered({PRODUCTS[0]: 3})], state)

    assert dict(state.lines) == {}


def test_products_already_gone_from_the_cart_are_left_alone():
    state, _ = run([AddCartItem(cart_id=CART, product_id=PRODUCTS[2], quantity=2)])

    assert decide(state, ordered({PRODUCTS[0]: 1, PRODUCTS[1]: 1})) == []
    assert decide(Cart(), ordered({PRODUCTS[0]: 1})) == []
    assert decide(None, ordered({PRODUCTS[0]: 1})) == []


@given(cart=st.dictionaries(st.sampled_from(PRODUCTS), st.integers(1, MAX_QUANTITY)),
       bought=st.dictionaries(st.sampled_from(PRODUCTS), st.integers(1, 99), min_size=1))
def test_each_line_keeps_what_is_left_after_the_order_and_no_other_line_moves(cart, bought):
    state, _ = run([AddCartItem(cart_id=CART, product_id=p, quantity=q) for p, q in cart.items()])

    state, _ = run([ordered(bought)], state)

    expected = {p: q - bought.get(p, 0) for p, q in cart.items() if q > bought.get(p, 0)}
    assert dict((state or Cart()).lines) == expected
