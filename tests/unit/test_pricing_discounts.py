"""Discounts and shipping methods in an order's totals: one rounding rule (half up, to
the cent), and the amounts always add up to what is charged."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.pricing import FREE_SHIPPING_FROM, SHIPPING_FEE, totals, vat_contained
from schemas.events.orders import OrderLine, ShippingMethod, VoucherTerms
from schemas.money import Money


def item(unit_price: int, quantity: int, n: int = 1) -> OrderLine:
    return OrderLine.priced(product_id=UUID(int=n), sku=f"SKU-{n}", name=f"Product {n}",
                            unit_price=unit_price, quantity=quantity)


def percent(value: int, minimum: int | None = None) -> VoucherTerms:
    return VoucherTerms(code="P", kind="percentage", value=value,
                        min_subtotal=Money(amount=minimum) if minimum is not None else None)


@pytest.mark.parametrize(("subtotal", "value", "discount"), [
    (6499, 10, 650),     # 6.499 rounds half up to 6.50
    (6494, 10, 649),     # 6.494 rounds down
    (5, 10, 1),          # 0.5 cent rounds up
    (4, 10, 0),
    (999, 100, 999),     # never more than the subtotal
])
def test_a_percentage_discount_is_rounded_half_up_to_the_cent(subtotal, value, discount):
    assert totals([item(subtotal, 1)], voucher=percent(value)).discount.amount == discount


def test_a_fixed_discount_is_capped_by_the_subtotal_and_nothing_below_the_minimum():
    fixed = VoucherTerms(code="F", kind="fixed", value=5000)
    assert totals([item(1200, 1)], voucher=fixed).total.amount == 0 + SHIPPING_FEE
    assert totals([item(1200, 1)], voucher=percent(10, minimum=1201)).discount.amount == 0


def test_free_shipping_compares_the_subtotal_after_the_discount():
    method = ShippingMethod(code="standard", name="Standard", price=Money(amount=490),
                            free_over=Money(amount=5000))
    assert totals([item(5000, 1)], method).shipping.amount == 0
    assert totals([item(5000, 1)], method, percent(10)).shipping.amount == 490


def test_orders_without_a_method_keep_the_flat_rule_and_no_discount_field():
    order = totals([item(FREE_SHIPPING_FROM - 1, 1)])
    assert (order.shipping.amount, order.discount) == (SHIPPING_FEE, None)


methods = st.builds(
    ShippingMethod, code=st.just("m"), name=st.just("Method"),
    price=st.builds(Money, amount=st.integers(0, 10**5)),
    free_over=st.none() | st.builds(Money, amount=st.integers(0, 10**6)))
vouchers = st.none() | st.builds(
    VoucherTerms, code=st.just("V"), kind=st.just("percentage"), value=st.integers(1, 100),
    min_subtotal=st.none() | st.builds(Money, amount=st.integers(0, 10**6))) | st.builds(
    VoucherTerms, code=st.just("V"), kind=st.just("fixed"), value=st.integers(1, 10**7))
carts = st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 99)), min_size=1,
                 max_size=20)


@given(cart=carts, method=st.none() | methods, voucher=vouchers)
def test_lines_discount_shipping_and_tax_add_up_to_the_total_charged(cart, method, voucher):
    lines = [item(price, quantity, n) for n, (price, quantity) in enumerate(cart)]
    order = totals(lines, method, voucher)
    discount = order.discount.amount if order.discount else 0

    assert order.subtotal.amount == sum(line.line_total.amount for line in lines)
    assert order.total.amount == order.subtotal.amount - discount + order.shipping.amount
    assert 0 <= discount <= order.subtotal.amount
    assert 0 <= order.tax.amount <= order.total.amount
    assert order.tax.amount == vat_contained(order.total.amount)
    exact_vat = Decimal(order.total.amount) * 2000 / 12000
    assert order.tax.amount == int(exact_vat.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if voucher is not None and voucher.kind == "percentage" and discount:
        share = Decimal(order.subtotal.amount) * voucher.value / 100
        assert discount == min(int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
                               order.subtotal.amount)
