"""A whole checkout through the topology of `streams/system.py`, in one process: the
deciders, the checkout saga, the sandbox payment provider and the emails. No server."""

from __future__ import annotations

from email.message import EmailMessage

from tests.inprocess.shop import ADA, a_shop, checkout, stock
from tests.unit.checkout import CUPS, ORDER, PAYMENT, TEA, USER


def email(shop, subject: str) -> EmailMessage:
    (found,) = [message for message in shop.emails() if message["Subject"] == subject]
    return found


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


async def test_a_card_checkout_ends_confirmed_with_a_numbered_receipt_and_an_email():
    shop = await a_shop()

    await checkout(shop, "card", token="tok_visa")

    order, payment = shop.state("orders", ORDER), shop.state("payments", PAYMENT)
    assert (order.status, order.paid) == ("confirmed", True)
    assert (payment.status, payment.card_last4) == ("captured", "4242")
    assert dict(shop.state("payments", "receipts-2024").issued) == {PAYMENT: "2024-000001"}
    assert stock(shop) == {TEA: 8, CUPS: 4}
    assert dict(shop.state("cart", USER).lines) == {TEA: 1}
    confirmed = email(shop, "Your order is confirmed")
    assert confirmed["To"].addresses[0].addr_spec == ADA[0]
    assert ADA[1].split()[0] in text(confirmed)
    assert f"/orders/{ORDER}" in text(confirmed)
    assert "2024-000001" in text(email(shop, "Your receipt 2024-000001"))


async def test_a_declined_card_ends_cancelled_with_its_stock_released():
    shop = await a_shop()

    await checkout(shop, "card", token="tok_chargeDeclined")

    order, payment = shop.state("orders", ORDER), shop.state("payments", PAYMENT)
    assert (order.status, order.paid) == ("cancelled", False)
    assert payment.status == "failed"
    assert stock(shop) == {TEA: 10, CUPS: 5}
    assert shop.state("catalog", TEA).held(ORDER) == 0
    assert dict(shop.state("cart", USER).lines) == {TEA: 3, CUPS: 1}
    assert "card_declined" in text(email(shop, "Your order was cancelled"))
    assert not [m for m in shop.emails() if m["Subject"].startswith("Your receipt")]


async def test_every_event_that_calls_for_an_email_gets_exactly_one():
    shop = await a_shop(redeliver=True)

    await checkout(shop, "card", token="tok_visa")

    subjects = [message["Subject"] for message in shop.emails()]
    assert sorted(subjects) == ["Welcome to shopstream", "Your order is confirmed",
                                "Your receipt 2024-000001"]
