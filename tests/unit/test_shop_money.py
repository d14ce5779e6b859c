"""The shop's money: one currency, which the deciders hold to, and totals that never overflow.

The API's request models refuse another currency first; these rules hold whoever
sends the command. Products written before the rules, in another currency or at
a price no client may set today, still load and still add up.
"""

from __future__ import annotations

from functools import reduce
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import catalog, orders, pricing
from commands.cart import MAX_LINES, MAX_QUANTITY
from commands.decisions import Rejected
from schemas.commands.catalog import ChangeProduct, CreateProduct
from schemas.events.catalog import ProductCreated
from schemas.events.orders import OrderLine
from schemas.money import CURRENCY, MAX_AMOUNT, MAX_PRICE, Money
from tests.unit.checkout import place_order
from tests.unit.test_catalog_decider import PRODUCT, PRODUCT_ID

FOREIGN = st.from_regex(r"^[A-Z]{3}$", fullmatch=True).filter(lambda code: code != CURRENCY)


@given(FOREIGN)
def test_a_product_priced_in_another_currency_is_refused(currency: str) -> None:
    command = CreateProduct(**{**PRODUCT, "price": Money(amount=450, currency=currency)})

    with pytest.raises(Rejected) as refused:
        catalog.decide(None, command)

    assert (refused.value.reason, refused.value.kind) == ("foreign_currency", "invalid")


@given(FOREIGN)
def test_a_price_change_to_another_currency_is_refused(currency: str) -> None:
    product = catalog.evolve(None, ProductCreated(**PRODUCT))

    with pytest.raises(Rejected) as refused:
        catalog.decide(product, ChangeProduct(product_id=PRODUCT_ID,
                                              price=Money(amount=450, currency=currency)))

    assert refused.value.reason == "foreign_currency"


def test_a_product_written_in_another_currency_before_the_rule_still_loads_and_changes() -> None:
    old = ProductCreated(**{**PRODUCT, "price": Money(amount=450, currency="ZQM")})
    product = reduce(catalog.evolve, [old], None)

    renamed = catalog.decide(product, ChangeProduct(product_id=PRODUCT_ID, name="Sencha"))
    repriced = catalog.decide(product, ChangeProduct(product_id=PRODUCT_ID,
                                                     price=Money(amount=450)))

    assert [e.name for e in renamed] == ["Sencha"]
    assert [e.price for e in repriced] == [Money(amount=450, currency=CURRENCY)]


def test_an_order_with_a_line_in_another_currency_is_refused() -> None:
    command = place_order()
    foreign = command.lines[0].model_copy(update={
        "unit_price": Money(amount=450, currency="ZQM"),
        "line_total": Money(amount=900, currency="ZQM")})

    with pytest.raises(Rejected) as refused:
        orders.decide(None, command.model_copy(update={"lines": [foreign, *command.lines[1:]]}))

    assert refused.value.reason == "foreign_currency"



# The dearest unit price events carried before MAX_PRICE bounded what clients set.
OLD_MAX_PRICE = 10**12


@pytest.mark.parametrize("unit_price", [MAX_PRICE, OLD_MAX_PRICE])
def test_a_full_cart_at_the_dearest_price_ever_stored_adds_up(unit_price: int) -> None:
    lines = [OrderLine.priced(product_id=uuid4(), sku=f"DEAR-{n}", name="Dear",
                              unit_price=unit_price, quantity=MAX_QUANTITY)
             for n in range(MAX_LINES)]

    assert pricing.totals(lines).total.amount <= MAX_AMOUNT
