"""Checkouts with a voucher through the topology of `streams/system.py` in one process:
the order waits for its voucher's use, a refused use cancels it and gives the stock
back, and a cancelled order gives its use back. No server."""

from __future__ import annotations

from uuid import UUID

from schemas.commands.cart import ApplyCartVoucher
from schemas.commands.orders import CancelOrder
from schemas.commands.vouchers import CreateVoucher, voucher_key
from schemas.events.orders import ShippingMethod, VoucherTerms
from schemas.money import Money
from tests.inprocess.shop import a_shop, scripted, stock
from tests.unit.checkout import CUPS, ORDER, PAYMENT, TEA, USER, place_order

CODE = "ONCE"
VOUCHER = VoucherTerms(code=CODE, kind="fixed", value=500)
STANDARD = ShippingMethod(code="standard", name="Standard", price=Money(amount=490),
                          free_over=Money(amount=5000))
SECOND = UUID("00000000-0000-4000-8000-00000000d002")


def with_voucher(order_id: UUID = ORDER):
    return place_order((TEA, 2), (CUPS, 1), order_id=order_id).model_copy(
        update={"voucher": VOUCHER, "shipping_method": STANDARD})


async def test_an_order_with_a_voucher_is_paid_its_discounted_total():
    shop = await a_shop(payments=scripted())
    await shop.send(CreateVoucher(code=CODE, kind="fixed", value=500, usage_limit=1))
    await shop.send(ApplyCartVoucher(cart_id=USER, code=CODE))

    await shop.send(with_voucher())

    order, payment = shop.state("orders", ORDER), shop.state("payments", PAYMENT)
    assert (order.status, order.voucher_reserved) == ("confirmed", True)
    assert payment.amount == Money(amount=2100 - 500 + 490)
    assert set(shop.state("orders", voucher_key(CODE)).held) == {ORDER}
    assert shop.state("cart", USER).voucher is None  # used: taken out with the lines


async def test_a_refused_use_cancels_the_second_order_and_a_cancelled_order_frees_its_use():
    shop = await a_shop(payments=scripted())
    await shop.send(CreateVoucher(code=CODE, kind="fixed", value=500, usage_limit=1))
    await shop.send(with_voucher())

    await shop.send(with_voucher(SECOND))

    second = shop.state("orders", SECOND)
    assert (second.status, second.voucher_reserved) == ("cancelled", False)
    assert stock(shop) == {TEA: 8, CUPS: 4}  # the first order's only
    await shop.send(CancelOrder(order_id=ORDER, reason="Changed my mind.",
                                cancelled_by="customer"))
    assert dict(shop.state("orders", voucher_key(CODE)).held) == {}
