"""A return's units back in the catalog: each to its variant, once per return."""

from __future__ import annotations

import uuid

from pyrsistent import pmap

from commands import catalog
from schemas.commands.catalog import RestockReturn
from schemas.events.catalog import StockReturned, Variant, VariantStock
from schemas.money import Money

ORDER, RETURN, PRODUCT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
M, L = uuid.uuid4(), uuid.uuid4()


def product(variants: dict | None = None, stock: int = 4) -> catalog.Product:
    return catalog.Product(
        product_id=PRODUCT, sku="TEE", name="Tee", slug="tee", description="",
        category_id=uuid.uuid4(), price=Money(amount=1500), images=(), specifications=(),
        stock=stock, variants=pmap({v: Variant(id=v, sku=f"TEE-{n}", options={"Size": n},
                                               price=Money(amount=1500), stock=s)
                                    for v, (n, s) in (variants or {}).items()}))


def test_each_variant_gets_its_units_back_and_a_repeat_adds_nothing():
    state = product({M: ("M", 1), L: ("L", 3)})
    restock = RestockReturn(product_id=PRODUCT, order_id=ORDER, return_id=RETURN, quantity=3,
                            variants={M: 1, L: 2})
    (event,) = catalog.decide(state, restock)
    assert event == StockReturned(product_id=PRODUCT, order_id=ORDER, return_id=RETURN,
                                  quantity=3, available=7,
                                  variants=[VariantStock(variant_id=M, quantity=1, available=2),
                                            VariantStock(variant_id=L, quantity=2, available=5)])
    after = catalog.evolve(state, event)
    assert (after.stock, after.variants[M].stock, after.variants[L].stock) == (7, 2, 5)
    assert catalog.decide(after, restock) == []


def test_a_product_without_variants_takes_the_quantity_and_one_gone_takes_nothing():
    restock = RestockReturn(product_id=PRODUCT, order_id=ORDER, return_id=RETURN, quantity=2)
    (event,) = catalog.decide(product(stock=0), restock)
    assert (event.quantity, event.available) == (2, 2)
    assert catalog.decide(None, restock) == []
