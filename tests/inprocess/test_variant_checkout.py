"""Checkouts of a product in sizes through the topology in one process: the sizes an
order holds are reserved together or not at all, and what was bought leaves the cart
line by line. No server."""

from __future__ import annotations

from uuid import UUID

from schemas.commands.cart import AddCartItem
from schemas.commands.catalog import CreateProduct, NewVariant
from schemas.commands.orders import PlaceOrder
from schemas.events.catalog import Option, variant_id_for
from schemas.events.orders import OrderLine
from schemas.money import Money
from tests.inprocess.shop import CATEGORY, a_shop, scripted
from tests.unit.checkout import ORDER, USER, sealed

SHIRT = UUID("00000000-0000-4000-8000-00000000e001")
S, M = variant_id_for(SHIRT, "TEE-S"), variant_id_for(SHIRT, "TEE-M")
SECOND_ORDER = UUID("00000000-0000-4000-8000-00000000a002")


async def shop_with_a_shirt():
    shop = await a_shop(payments=scripted())
    await shop.send(CreateProduct(
        product_id=SHIRT, sku="TEE", name="Shirt", slug="shirt", category_id=CATEGORY,
        price=Money(amount=1500), options=[Option(name="Size", values=["S", "M"])],
        variants=[NewVariant(sku="TEE-S", options={"Size": "S"}, stock=2),
                  NewVariant(sku="TEE-M", options={"Size": "M"}, price=Money(amount=1700),
                             stock=1)]))
    for variant in (S, M):
        await shop.send(AddCartItem(cart_id=USER, product_id=SHIRT, variant_id=variant,
                                    quantity=1))
    return shop


def order(order_id: UUID, *sizes: tuple[UUID, str, int]) -> PlaceOrder:
    return PlaceOrder(order_id=order_id, user_id=USER, payment_method="card",
                      payment_token=sealed("tok_visa"), shipping_address=sealed("{}"),
                      lines=[OrderLine.priced(product_id=SHIRT, sku=f"TEE-{size}", name="Shirt",
                                              unit_price=price, quantity=1, variant_id=variant,
                                              options={"Size": size})
                             for variant, size, price in sizes])


def sizes_left(shop) -> dict[UUID, int]:
    return {v: shop.state("catalog", SHIRT).variants[v].stock for v in (S, M)}


async def test_two_sizes_are_reserved_together_and_leave_the_cart_as_two_lines():
    shop = await shop_with_a_shirt()

    await shop.send(order(ORDER, (S, "S", 1500), (M, "M", 1700)))

    assert shop.state("orders", ORDER).status == "confirmed"
    assert sizes_left(shop) == {S: 1, M: 0}
    assert shop.types().count("StockReserved") == 1  # one reservation for the product
    cart = dict(shop.state("cart", USER).lines)
    assert S not in cart and M not in cart


async def test_a_size_sold_out_cancels_the_order_and_takes_none_of_the_other_size():
    shop = await shop_with_a_shirt()
    await shop.send(order(ORDER, (M, "M", 1700)))

    await shop.send(order(SECOND_ORDER, (S, "S", 1500), (M, "M", 1700)))

    assert shop.state("orders", SECOND_ORDER).status == "cancelled"
    [cancelled] = [e.payload for e in shop.recorded if e.type == "OrderCancelled"]
    assert (cancelled["reason"], cancelled["cancelled_by"]) == ("Shirt (Size: M): sold out.",
                                                                "stock")
    assert sizes_left(shop) == {S: 2, M: 0}
    assert shop.state("catalog", SHIRT).held(SECOND_ORDER) == 0
