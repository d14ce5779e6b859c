"""Every way a checkout can end, through the topology of `streams/system.py` in one
process, with the payment network's answers given (it is the one outside party): paid,
sold out, declined, refused at capture, cancelled after payment, paid at the door, every
event read twice, and the processors running in any order. No server."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.handling import Aggregate, fold
from commands.registry import DECIDERS
from schemas.commands.orders import CancelOrder, RecordFulfilment
from schemas.commands.payments import FailPayment, SettlePayment
from schemas.envelope import EventEnvelope
from schemas.money import Money
from schemas.payments import PaymentResult
from schemas.topics import SERVICES
from streams.checkout_saga import TIMED_OUT
from tests.inprocess.shop import (
    AUTHORIZED,
    CHARGED,
    REFERENCE,
    a_shop,
    checkout,
    scripted,
    stock,
)
from tests.unit.checkout import CUPS, ORDER, PAYMENT, TEA, TOTAL, USER, place_order

AMOUNT = Money(amount=TOTAL)
CUSTOMER_CANCELS = CancelOrder(order_id=ORDER, reason="Changed my mind.",
                               cancelled_by="customer")


async def test_a_card_checkout_ends_paid_with_a_receipt_and_the_bought_items_out_of_the_cart():
    shop = await a_shop(payments=scripted())

    await checkout(shop)

    order, payment = shop.state("orders", ORDER), shop.state("payments", PAYMENT)
    assert (order.status, order.paid) == ("confirmed", True)
    assert (payment.status, payment.amount, payment.card_last4) == ("captured", AMOUNT, "4242")
    assert stock(shop) == {TEA: 8, CUPS: 4}
    assert dict(shop.state("cart", USER).lines) == {TEA: 1}
    receipts = shop.state("payments", "receipts-2024").issued
    assert dict(receipts) == {PAYMENT: "2024-000001"}


async def test_an_order_for_a_sold_out_product_is_cancelled_and_every_unit_goes_back():
    shop = await a_shop(payments=scripted(), cups_in_stock=0)

    await checkout(shop)

    assert shop.state("orders", ORDER).status == "cancelled"
    assert stock(shop) == {TEA: 10, CUPS: 0}
    assert "PaymentRequested" not in shop.types()
    assert dict(shop.state("cart", USER).lines) == {TEA: 3, CUPS: 1}


async def test_a_declined_card_cancels_the_order_and_puts_the_stock_back():
    shop = await a_shop(payments=scripted(charge=PaymentResult(
        "failed", REFERENCE, "card_declined: declined", "0002")))

    await checkout(shop)

    order = shop.state("orders", ORDER)
    assert (order.status, order.paid) == ("cancelled", False)
    assert shop.state("payments", PAYMENT).status == "failed"
    assert stock(shop) == {TEA: 10, CUPS: 5}
    assert shop.types().count("OrderCancelled") == 1
    assert "PaymentCaptured" not in shop.types()


async def test_a_card_charge_only_authorized_is_captured_next_and_a_refusal_cancels_it():
    shop = await a_shop(payments=scripted(charge=AUTHORIZED, capture=PaymentResult(
        "failed", REFERENCE, "expired_card")))

    await checkout(shop)

    assert shop.state("orders", ORDER).status == "cancelled"
    assert shop.state("payments", PAYMENT).status == "failed"
    assert stock(shop) == {TEA: 10, CUPS: 5}


async def test_a_customer_cancelling_a_paid_order_gets_the_money_back_and_the_stock_returns():
    shop = await a_shop(payments=scripted())
    await checkout(shop)

    await shop.send(CUSTOMER_CANCELS)

    assert shop.state("orders", ORDER).status == "cancelled"
    assert shop.state("payments", PAYMENT).status == "refunded"
    assert stock(shop) == {TEA: 10, CUPS: 5}
    assert shop.types().count("PaymentRefunded") == 1


async def test_cash_on_delivery_is_confirmed_at_once_and_paid_at_the_door():
    shop = await a_shop(payments=scripted())
    await checkout(shop, method="cash_on_delivery")
    assert (shop.state("orders", ORDER).status, shop.state("orders", ORDER).paid) == (
        "confirmed", False)
    assert dict(shop.state("cart", USER).lines) == {TEA: 1}

    for status in ("packed", "shipped", "out_for_delivery", "delivered"):
        await shop.send(RecordFulfilment(order_id=ORDER, status=status, carrier="DHL",
                                         tracking_number="JD1"))

    assert shop.state("orders", ORDER).paid is True
    assert shop.state("payments", PAYMENT).status == "captured"
    assert dict(shop.state("payments", "receipts-2024").issued) == {PAYMENT: "2024-000001"}


@pytest.mark.parametrize("method", ["card", "cash_on_delivery"])
async def test_every_event_read_twice_moves_nothing_twice(method):
    once = await a_shop(payments=scripted())
    twice = await a_shop(payments=scripted(), redeliver=True)

    for shop in (once, twice):
        await checkout(shop, method)
        await shop.send(CUSTOMER_CANCELS)

    assert twice.types() == once.types()
    assert twice.types().count("PaymentCaptured") <= 1
    assert stock(twice) == stock(once) == {TEA: 10, CUPS: 5}
    assert dict(twice.state("cart", USER).lines) == dict(once.state("cart", USER).lines)
    assert twice.state("payments", PAYMENT) == once.state("payments", PAYMENT)


# Whatever order the processors happen to run in

ANSWERS = {
    "card": [CHARGED, AUTHORIZED, PaymentResult("failed", REFERENCE, "card_declined", "0002")],
    "wallet": [CHARGED, AUTHORIZED, PaymentResult("failed", REFERENCE, "wallet_declined")],
    "bank_transfer": [PaymentResult("pending", REFERENCE)],
    "cash_on_delivery": [PaymentResult("authorized", REFERENCE)],
}
CAPTURES = [PaymentResult("captured", REFERENCE), PaymentResult("failed", REFERENCE, "expired")]
# What may happen from outside while the checkout runs.
OUTSIDE = {
    "the customer cancels": CUSTOMER_CANCELS,
    "the clock expires the payment": FailPayment(payment_id=PAYMENT, reason=TIMED_OUT),
    "the provider notifies success": SettlePayment(payment_id=PAYMENT, source="provider",
                                                   amount=AMOUNT),
    "the bank pays": SettlePayment(payment_id=PAYMENT, source="bank", amount=AMOUNT),
    "the parcel is delivered": RecordFulfilment(order_id=ORDER, status="delivered",
                                                carrier="DHL", tracking_number="JD1"),
}


@settings(deadline=None)
@given(method=st.sampled_from(sorted(ANSWERS)), data=st.data())
async def test_however_the_steps_interleave_a_checkout_ends_consistent(method, data):
    # No account, so no email to compose: this test looks only at the aggregates.
    # The first call (a charge or an authorization, by method) answers what is drawn.
    first = data.draw(st.sampled_from(ANSWERS[method]), "first answer")
    shop = await a_shop(account=False, redeliver=data.draw(st.booleans(), "redeliver"),
                        payments=scripted(
                            charge=first, authorize=first,
                            capture=data.draw(st.sampled_from(CAPTURES), "capture")))
    shop.post(place_order((TEA, 2), (CUPS, 1), method=method))
    for _ in range(data.draw(st.integers(0, 40), "steps")):
        happening = data.draw(st.sampled_from(["a processor runs"] * 4 + sorted(OUTSIDE)))
        if happening in OUTSIDE:
            shop.post(OUTSIDE[happening])
        elif shop.pending:
            await shop.take(data.draw(st.sampled_from(shop.waiting())))
    await shop.settle()
    if shop.state("payments", PAYMENT) and shop.state("payments", PAYMENT).status == "pending":
        await shop.send(OUTSIDE["the clock expires the payment"])    # nobody paid in time

    order, payment = shop.state("orders", ORDER), shop.state("payments", PAYMENT)
    held = {p: shop.state("catalog", p).held(ORDER) for p in (TEA, CUPS)}
    assert stock(shop) == {TEA: 10 - held[TEA], CUPS: 5 - held[CUPS]}
    assert shop.types().count("PaymentCaptured") <= 1
    assert shop.types().count("PaymentRefunded") <= 1
    if order.status == "cancelled":
        assert held == {TEA: 0, CUPS: 0}                           # every unit back on sale
        assert payment is None or payment.status in ("failed", "refunded")   # no money kept
    else:
        assert order.status in ("confirmed", "delivered")         # no checkout left halfway
        assert held == {TEA: 2, CUPS: 1}
        assert payment.status in ("captured", "authorized")
        assert order.paid == (payment.status == "captured")
        if method != "cash_on_delivery" or order.status == "delivered":
            assert order.paid
    # A processor restarted now rebuilds the very same aggregates from the events alone.
    for (service, key), live in shop.aggregates.items():
        rebuilt = Aggregate()
        for envelope in shop.topics.get(SERVICES[service].events.name, []):
            if envelope.aggregate_id == key:
                rebuilt = fold(rebuilt, EventEnvelope.from_bytes(envelope.to_bytes()), None,
                               DECIDERS[service])
        assert (rebuilt.state, rebuilt.version) == (live.state, live.version)
