"""The catalog decider for products with variants: each variant's stock is reserved,
released and counted by the product, all of an order's variants at once or none."""

from __future__ import annotations

from functools import reduce
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from commands import catalog
from commands.decisions import Rejected
from schemas.commands.catalog import (
    ChangeVariant,
    CreateProduct,
    NewVariant,
    ReleaseStock,
    ReserveStock,
    SetStock,
)
from schemas.events.catalog import (
    Option,
    ProductCreated,
    StockAdjusted,
    StockReleased,
    StockReservationRejected,
    StockReserved,
    VariantChanged,
    VariantStock,
    variant_id_for,
)
from schemas.money import Money

CATEGORY_ID = UUID("00000000-0000-4000-8000-00000000c001")
SHIRT_ID = UUID("00000000-0000-4000-8000-00000000b002")
ORDER_A = UUID("00000000-0000-4000-8000-00000000d001")
ORDER_B = UUID("00000000-0000-4000-8000-00000000d002")
SIZES = Option(name="Size", values=["S", "M", "L"])


def eur(amount: int) -> Money:
    return Money(amount=amount, currency="EUR")


def new_variant(size: str, stock: int, price: int | None = None) -> NewVariant:
    return NewVariant(sku=f"TEE-{size}", options={"Size": size},
                      price=eur(price) if price else None, stock=stock)


def create(**overrides) -> CreateProduct:
    fields = dict(product_id=SHIRT_ID, sku="TEE", name="T-shirt", slug="t-shirt",
                  category_id=CATEGORY_ID, price=eur(1500), options=[SIZES],
                  variants=[new_variant("S", 4), new_variant("M", 1, 1700),
                            new_variant("L", 3, 1900)])
    return CreateProduct(**fields | overrides)


S, M, L = (variant_id_for(SHIRT_ID, f"TEE-{size}") for size in "SML")


def created(command: CreateProduct | None = None):
    events = catalog.decide(None, command or create())
    return reduce(catalog.evolve, events, None)


def decided(state, command):
    events = catalog.decide(state, command)
    return events, reduce(catalog.evolve, events, state)


def reserve(order_id: UUID, variants: dict[UUID, int]) -> ReserveStock:
    return ReserveStock(product_id=SHIRT_ID, order_id=order_id,
                        quantity=sum(variants.values()), variants=variants)


def release(order_id: UUID) -> ReleaseStock:
    return ReleaseStock(product_id=SHIRT_ID, order_id=order_id)


def stocks(state) -> dict[UUID, int]:
    return {variant_id: variant.stock for variant_id, variant in state.variants.items()}


def test_a_product_is_created_with_derived_variant_ids_their_prices_and_summed_stock():
    [event] = catalog.decide(None, create())

    assert isinstance(event, ProductCreated)
    assert [(v.id, v.sku, v.options, v.price.amount, v.stock) for v in event.variants] == [
        (S, "TEE-S", {"Size": "S"}, 1500, 4),   # no price of its own: the product's
        (M, "TEE-M", {"Size": "M"}, 1700, 1),
        (L, "TEE-L", {"Size": "L"}, 1900, 3)]
    assert event.stock == 8 and event.options == [SIZES]
    assert catalog.decide(None, create()) == [event]  # a retry makes the very same ids


@pytest.mark.parametrize("changes, reason", [
    ({"variants": [new_variant("S", 1), NewVariant(sku="TEE-X", options={"Size": "S"})]},
     "repeats another variant's options"),
    ({"variants": [new_variant("S", 1), NewVariant(sku="TEE-S", options={"Size": "M"})]},
     "given to two variants"),
    ({"variants": [NewVariant(sku="TEE-XL", options={"Size": "XL"})]},
     "'XL' is not a value of 'Size'"),
    ({"variants": [NewVariant(sku="TEE-S", options={"Colour": "Red"})]},
     "one value of each option"),
    ({"variants": []}, "options and variants come together"),
    ({"options": [SIZES, Option(name="Size", values=["XL"])]}, "named once"),
    ({"options": [Option(name="Size", values=["S", "S"])],
      "variants": [new_variant("S", 1)]}, "names a value twice"),
])
def test_variants_that_do_not_fit_the_options_are_refused(changes, reason):
    with pytest.raises(ValidationError, match=reason):
        create(**changes)


def test_one_reservation_takes_every_variant_the_order_wants_and_leaves_the_others():
    state = created()

    events, after = decided(state, reserve(ORDER_A, {M: 1, L: 2}))

    assert events == [StockReserved(
        product_id=SHIRT_ID, order_id=ORDER_A, quantity=3, available=5,
        variants=[VariantStock(variant_id=M, quantity=1, available=0),
                  VariantStock(variant_id=L, quantity=2, available=1)])]
    assert stocks(after) == {S: 4, M: 0, L: 1} and after.stock == 5
    assert after.held(ORDER_A) == 3
    assert decided(after, reserve(ORDER_A, {M: 1, L: 2}))[0] == []  # a repeat: nothing


def test_the_last_unit_of_a_size_is_sold_once_and_the_refusal_names_the_size():
    state = decided(created(), reserve(ORDER_A, {M: 1}))[1]

    events, after = decided(state, reserve(ORDER_B, {M: 1, S: 1}))

    [refused] = events
    assert isinstance(refused, StockReservationRejected)
    assert refused.reason == "T-shirt (Size: M): sold out."
    assert refused.variants == [VariantStock(variant_id=M, quantity=1, available=0),
                                VariantStock(variant_id=S, quantity=1, available=4)]
    # All or nothing: S, which was there, is not taken either.
    assert stocks(after) == {S: 4, M: 0, L: 3} and after.held(ORDER_B) == 0


def test_a_reservation_without_variants_or_of_an_unknown_one_is_refused():
    state = created()
    unknown = variant_id_for(SHIRT_ID, "TEE-XXL")

    for command in (ReserveStock(product_id=SHIRT_ID, order_id=ORDER_A, quantity=1),
                    reserve(ORDER_A, {unknown: 1})):
        [event] = catalog.decide(state, command)
        assert isinstance(event, StockReservationRejected)
        assert "no longer sold" in event.reason


def test_a_release_returns_each_variant_what_the_order_held():
    state = decided(created(), reserve(ORDER_A, {S: 2, L: 1}))[1]

    events, after = decided(state, release(ORDER_A))

    assert events == [StockReleased(
        product_id=SHIRT_ID, order_id=ORDER_A, quantity=3, available=8,
        variants=[VariantStock(variant_id=S, quantity=2, available=4),
                  VariantStock(variant_id=L, quantity=1, available=3)])]
    assert stocks(after) == {S: 4, M: 1, L: 3} and after.stock == 8
    assert catalog.decide(after, reserve(ORDER_A, {S: 1}))[0].reason == "The order was cancelled."


def test_a_variant_s_stock_and_price_are_set_on_their_own():
    state = created()

    events, after = decided(state, SetStock(product_id=SHIRT_ID, variant_id=M, available=6))
    assert events == [StockAdjusted(product_id=SHIRT_ID, delta=5, available=13, variants=[
        VariantStock(variant_id=M, quantity=5, available=6)])]
    assert stocks(after) == {S: 4, M: 6, L: 3}

    events, after = decided(after, ChangeVariant(product_id=SHIRT_ID, variant_id=L,
                                                 price=eur(2100)))
    assert events == [VariantChanged(product_id=SHIRT_ID, variant_id=L, price=eur(2100))]
    assert after.variants[L].price == eur(2100) and after.variants[S].price == eur(1500)
    assert catalog.decide(after, ChangeVariant(product_id=SHIRT_ID, variant_id=L,
                                               price=eur(2100))) == []


def test_a_product_with_variants_has_no_stock_of_its_own_to_set():
    with pytest.raises(Rejected) as refused:
        catalog.decide(created(), SetStock(product_id=SHIRT_ID, available=3))
    assert refused.value.kind == "invalid"
    with pytest.raises(Rejected):
        catalog.decide(created(), SetStock(product_id=SHIRT_ID, variant_id=ORDER_A,
                                           available=3))


ORDERS = [UUID(int=0xD000 + n) for n in range(6)]
VARIANTS = [S, M, L]


@given(initial=st.lists(st.integers(0, 6), min_size=3, max_size=3),
       steps=st.lists(st.tuples(
           st.booleans(), st.sampled_from(ORDERS),
           st.dictionaries(st.sampled_from(VARIANTS), st.integers(1, 4), min_size=1)),
           max_size=40))
def test_no_variant_goes_below_zero_and_each_one_s_stock_is_conserved(initial, steps):
    state = created(create(variants=[new_variant(size, stock)
                                     for size, stock in zip("SML", initial)]))
    there_was = dict(zip(VARIANTS, initial))
    for is_reserve, order_id, wanted in steps:
        command = reserve(order_id, wanted) if is_reserve else release(order_id)
        _, state = decided(state, command)

        held = {v: sum(state.reservations[o].get(v, 0) for o in state.reservations)
                for v in VARIANTS}
        assert all(stock >= 0 for stock in stocks(state).values())
        assert {v: stocks(state)[v] + held[v] for v in VARIANTS} == there_was
        assert state.stock == sum(stocks(state).values())
        assert set(state.reservations).isdisjoint(state.released)
