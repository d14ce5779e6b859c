"""Variants in the cart, the order and the checkout saga: lines are kept per item (the
variant, or the product without variants), stock is reserved once per product."""

from __future__ import annotations

from datetime import timedelta
from functools import reduce
from uuid import UUID

import pytest

from commands import cart, orders, pricing
from commands.decisions import Rejected
from schemas.commands.cart import AddCartItem, RemoveCartItem, RemoveOrderedItems
from schemas.commands.catalog import ReleaseStock, ReserveStock
from schemas.commands.orders import PlaceOrder, RecordStockReservation
from schemas.envelope import EventEnvelope
from schemas.events.cart import CartItemAdded
from schemas.events.orders import OrderCancelled, OrderConfirmed, OrderLine, OrderPlaced
from streams.checkout_saga import Policy, react
from streams.emails import compose, email_for
from tests.unit.checkout import ISSUED_AT, ORDER, PAYMENT, USER

CART = UUID(int=0xCA)
SHIRT, MUG = UUID(int=0x51), UUID(int=0x52)
SIZE_S, SIZE_M = UUID(int=0x5A), UUID(int=0x5B)


def line(product_id: UUID, quantity: int, variant_id: UUID | None = None,
         size: str | None = None, price: int = 1500) -> OrderLine:
    return OrderLine.priced(product_id=product_id, sku=f"SKU-{size or 'ONE'}", name="Tee",
                            unit_price=price, quantity=quantity, variant_id=variant_id,
                            options={"Size": size} if size else None)


LINES = [line(SHIRT, 2, SIZE_S, "S"), line(SHIRT, 1, SIZE_M, "M", 1700), line(MUG, 3)]


def test_two_sizes_of_one_product_are_two_cart_lines_addressed_by_variant():
    commands = [AddCartItem(cart_id=CART, product_id=SHIRT, variant_id=SIZE_S, quantity=2),
                AddCartItem(cart_id=CART, product_id=SHIRT, variant_id=SIZE_M, quantity=1),
                AddCartItem(cart_id=CART, product_id=MUG, quantity=1),
                RemoveCartItem(cart_id=CART, product_id=SHIRT, variant_id=SIZE_S)]
    state, events = None, []
    for command in commands:
        new = cart.decide(state, command)
        state, events = reduce(cart.evolve, new, state), events + new

    assert dict(state.lines) == {SIZE_M: 1, MUG: 1}
    assert [(e.product_id, e.variant_id) for e in events if isinstance(e, CartItemAdded)] == [
        (SHIRT, SIZE_S), (SHIRT, SIZE_M), (MUG, None)]
    ordered = cart.decide(state, RemoveOrderedItems(cart_id=CART, order_id=ORDER,
                                                    quantities={SIZE_M: 1, MUG: 1}))
    assert reduce(cart.evolve, ordered, state).lines == {}
    with pytest.raises(Rejected):
        cart.decide(state, RemoveCartItem(cart_id=CART, product_id=SHIRT))


def test_a_cart_event_from_before_variants_is_a_line_of_its_product():
    old = CartItemAdded.model_validate({"cart_id": str(CART), "product_id": str(MUG),
                                        "added": 2, "quantity": 2})
    assert cart.evolve(None, old).lines == {MUG: 2}


def place(lines: list[OrderLine]) -> PlaceOrder:
    return PlaceOrder(order_id=ORDER, user_id=USER, lines=lines, shipping_address="v1.sealed",
                      payment_method="cash_on_delivery")


def test_an_order_may_hold_two_sizes_of_a_product_but_not_one_size_twice():
    [placed] = orders.decide(None, place(LINES))
    state = orders.evolve(None, placed)
    assert state.product_ids == [SHIRT, MUG]

    with pytest.raises(Rejected):
        orders.decide(None, place([LINES[0], LINES[0]]))
    reserved = orders.decide(state, RecordStockReservation(order_id=ORDER, product_id=SHIRT,
                                                           reserved=True))
    state = reduce(orders.evolve, reserved, state)
    waiting = orders.decide(state, RecordStockReservation(order_id=ORDER, product_id=MUG,
                                                          reserved=True))
    assert [type(e).__name__ for e in waiting] == ["OrderItemReserved", "OrderAwaitingPayment"]


def recorded(event) -> EventEnvelope:
    return EventEnvelope(event_id=UUID(int=7), type=event.type_name(), schema_version=1,
                         aggregate_id=str(ORDER), aggregate_version=1, occurred_at=ISSUED_AT,
                         correlation_id=ORDER, causation_id=UUID(int=8), actor="user:test",
                         payload=event.model_dump(mode="json"))


POLICY = Policy(payment_timeout=timedelta(minutes=15), bank_transfer_timeout=timedelta(days=3))


def test_the_saga_reserves_each_product_once_with_all_its_variants_and_releases_it_once():
    placed = OrderPlaced(**place(LINES).model_dump(), totals=pricing.totals(LINES),
                         payment_id=PAYMENT)

    reserve = [step.command for step in react(recorded(placed), POLICY)]

    assert reserve == [
        ReserveStock(product_id=SHIRT, order_id=ORDER, quantity=3,
                     variants={SIZE_S: 2, SIZE_M: 1}),
        ReserveStock(product_id=MUG, order_id=ORDER, quantity=3)]
    cancelled = OrderCancelled(order_id=ORDER, user_id=USER, reason="Sold out.",
                               cancelled_by="stock", product_ids=[SHIRT, MUG])
    assert [step.command for step in react(recorded(cancelled), POLICY)] == [
        ReleaseStock(product_id=SHIRT, order_id=ORDER), ReleaseStock(product_id=MUG,
                                                                     order_id=ORDER)]


def test_the_confirmation_email_names_each_line_s_variant():
    event = OrderConfirmed(order_id=ORDER, user_id=USER, payment_id=PAYMENT, lines=LINES,
                           totals=pricing.totals(LINES), payment_method="card")
    email = email_for(event.type_name(), event.model_dump(mode="json"))
    assert email is not None
    message = compose(email, event_id=UUID(int=9), sender="shop <no-reply@shop.example>",
                      to="ada@example.com", name="Ada", frontend_url="https://shop.example",
                      event=event, issued_at=ISSUED_AT)

    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "2 × Tee (Size: S)" in text and "1 × Tee (Size: M)" in text
    assert "3 × Tee:" in text  # a product without variants shows none
    assert "Tee (Size: M)" in html
