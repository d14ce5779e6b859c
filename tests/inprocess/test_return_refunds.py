"""Returns through the topology, with no server: a received return puts its stock back
and is refunded its paid share through the payment network, each step emailed; every
line returned refunds the lines, not the shipping."""

from __future__ import annotations

import uuid
from datetime import timedelta

from schemas.commands.orders import RecordFulfilment
from schemas.commands.returns import ApproveReturn, ReceiveReturn, RequestReturn, ReturnItem
from tests.inprocess.shop import a_shop, checkout, stock
from tests.unit.checkout import CUPS, ISSUED_AT, ORDER, PAYMENT, TEA, USER

DELIVERY = [RecordFulfilment(order_id=ORDER, status="packed"),
            RecordFulfilment(order_id=ORDER, status="shipped", carrier="DHL",
                             tracking_number="JD1"),
            RecordFulfilment(order_id=ORDER, status="delivered", at=ISSUED_AT)]


async def returned(shop, *items: tuple[uuid.UUID, int]) -> uuid.UUID:
    return_id = uuid.uuid4()
    for command in (RequestReturn(order_id=ORDER, user_id=USER, return_id=return_id,
                                  lines=[ReturnItem(item_id=i, quantity=n) for i, n in items],
                                  reason="Not needed", requested_at=ISSUED_AT + timedelta(1)),
                    ApproveReturn(order_id=ORDER, return_id=return_id),
                    ReceiveReturn(order_id=ORDER, return_id=return_id)):
        await shop.send(command)
    return return_id


async def test_a_received_return_restocks_and_refunds_then_all_returned_is_refunded():
    shop = await a_shop()
    await checkout(shop, "card", token="tok_visa")
    for step in DELIVERY:
        await shop.send(step)
    assert stock(shop) == {TEA: 8, CUPS: 4}

    cups = await returned(shop, (CUPS, 1))

    assert stock(shop) == {TEA: 8, CUPS: 5}
    order, payment = shop.state("orders", ORDER), shop.state("payments", PAYMENT)
    assert order.returns[cups].status == "refunded"
    assert (payment.status, payment.refunded) == ("partially_refunded", 1200)
    subjects = [m["Subject"] for m in shop.emails()]
    for subject in ("We have your return request", "Your return is approved",
                    "Your return was received and refunded"):
        assert subject in subjects

    await returned(shop, (TEA, 2))

    payment = shop.state("payments", PAYMENT)
    # The lines are refunded; the shipping (4.90) stays paid.
    assert (payment.status, payment.refunded) == ("partially_refunded", 2100)
    assert stock(shop) == {TEA: 10, CUPS: 5}
    assert [r.status for r in shop.state("orders", ORDER).returns.values()] == ["refunded"] * 2
