"""What an order costs: line totals, shipping free from 50 EUR, and the VAT the total
contains (prices include VAT), rounded half up to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import pricing
from commands.pricing import FREE_SHIPPING_FROM, SHIPPING_FEE, totals, vat_contained
from schemas.events.orders import OrderLine

TEA = UUID("00000000-0000-4000-8000-00000000b001")


def item(unit_price: int, quantity: int, n: int = 1) -> OrderLine:
    return OrderLine.priced(product_id=UUID(int=n), sku=f"SKU-{n}", name=f"Product {n}",
                            unit_price=unit_price, quantity=quantity)


def exact_vat(gross: int, rate_bp: int = pricing.VAT_RATE_BP) -> int:
    """gross * rate / (1 + rate), rounded half up by decimal arithmetic."""
    vat = Decimal(gross) * rate_bp / (10_000 + rate_bp)
    return int(vat.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_a_line_costs_its_unit_price_times_its_quantity_in_euros():
    priced = OrderLine.priced(product_id=TEA, sku="TEA-001", name="Green tea", unit_price=450,
                              quantity=3)

    assert priced.line_total.amount == 1350
    assert priced.unit_price.amount == 450
    assert (priced.line_total.currency, priced.unit_price.currency) == ("EUR", "EUR")
    assert (priced.product_id, priced.sku, priced.name, priced.quantity) == (
        TEA, "TEA-001", "Green tea", 3)


@pytest.mark.parametrize(("subtotal", "shipping"), [
    (1, SHIPPING_FEE), (4999, SHIPPING_FEE), (5000, 0), (5001, 0), (123_456, 0)])
def test_shipping_is_free_from_fifty_euros_of_goods(subtotal, shipping):
    assert FREE_SHIPPING_FROM == 5000 and SHIPPING_FEE == 490
    assert totals([item(subtotal, 1)]).shipping.amount == shipping


def test_an_order_just_under_fifty_euros_pays_shipping_and_its_total_includes_it():
    order = totals([item(2000, 2, 1), item(999, 1, 2)])       # 49.99

    assert (order.subtotal.amount, order.shipping.amount, order.total.amount) == (
        4999, 490, 5489)
    assert order.tax.amount == 915                       # 54.89 / 6 = 9.148...


def test_the_vat_is_contained_in_the_total_not_added_to_it():
    order = totals([item(6000, 1)])                # 60.00, free shipping

    assert order.total.amount == 6000
    assert order.tax.amount == 1000                      # 20 % VAT inside 60.00 is 10.00


@pytest.mark.parametrize(("gross", "vat"), [
    (0, 0), (1, 0), (2, 0), (3, 1), (9, 2), (15, 3), (21, 4), (600, 100), (5489, 915)])
def test_the_vat_is_rounded_half_up_to_the_cent(gross, vat):
    # gross / 6 ends in exactly .5 for 3, 9, 15 and 21: those round up.
    assert vat_contained(gross) == vat


def test_another_rate_is_honoured():
    assert vat_contained(1100, rate_bp=1000) == 100      # 10 % inside 11.00
    assert vat_contained(107, rate_bp=700) == 7          # 7 % inside 1.07
    assert vat_contained(1000, rate_bp=0) == 0


priced_lines = st.lists(
    st.tuples(st.integers(0, 1_000_000), st.integers(1, 99)), min_size=1, max_size=50,
).map(lambda pairs: [item(price, quantity, n) for n, (price, quantity)
                     in enumerate(pairs, start=1)])


@given(priced_lines)
def test_the_total_is_the_subtotal_plus_shipping_and_contains_its_vat(order_lines):
    order = totals(order_lines)

    assert order.subtotal.amount == sum(each.unit_price.amount * each.quantity
                                           for each in order_lines)
    assert order.total.amount == order.subtotal.amount + order.shipping.amount
    assert order.shipping.amount == (0 if order.subtotal.amount >= 5000 else 490)
    assert 0 <= order.tax.amount <= order.total.amount
    assert order.tax.amount == exact_vat(order.total.amount)
    assert {m.currency for m in (order.subtotal, order.shipping, order.tax, order.total)} == {
        "EUR"}


@given(gross=st.integers(0, 10**12), rate_bp=st.integers(0, 10_000))
def test_the_vat_is_the_exact_rounding_of_gross_times_rate_over_one_plus_rate(gross, rate_bp):
    vat = vat_contained(gross, rate_bp)

    assert vat == exact_vat(gross, rate_bp)
    assert 0 <= vat <= gross
