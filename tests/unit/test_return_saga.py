"""The saga's steps for a return: a received return restocks each product (all its
variants at once) and asks the payment for the refund, with ids derived from the event;
the provider is asked for the amount; the payment's answer comes back to the return."""

from __future__ import annotations

import uuid
from uuid import UUID

from schemas.commands.catalog import RestockReturn
from schemas.commands.payments import RecordRefund, RefundPayment
from schemas.commands.returns import RecordReturnRefund
from schemas.events.payments import PaymentRefundDeclined, PaymentRefunded, PaymentRefundRequested
from schemas.events.returns import ReturnLine, ReturnReceived
from schemas.money import Money
from schemas.payments import PaymentResult
from streams.checkout_saga import answer, react
from tests.unit.checkout import CUPS, ORDER, PAYMENT, TEA, USER
from tests.unit.test_checkout_saga import POLICY, REFERENCE, commands, recorded

RETURN = UUID("00000000-0000-4000-8000-0000000e7001")
SMALL, LARGE = uuid.uuid4(), uuid.uuid4()


def line(product: UUID, quantity: int, refund: int, variant: UUID | None = None) -> ReturnLine:
    return ReturnLine(item_id=variant or product, product_id=product, variant_id=variant,
                      sku="SKU-1", name="Thing", quantity=quantity, refund=Money(amount=refund))


def received(refund: int = 1500) -> ReturnReceived:
    return ReturnReceived(order_id=ORDER, user_id=USER, return_id=RETURN, payment_id=PAYMENT,
                          lines=[line(TEA, 1, 500, SMALL), line(TEA, 2, 900, LARGE),
                                 line(CUPS, 1, 100)], refund=Money(amount=refund))


def test_a_received_return_restocks_each_product_once_and_asks_for_its_refund():
    steps = react(recorded(received()), POLICY)

    assert commands(steps) == [
        RestockReturn(product_id=TEA, order_id=ORDER, return_id=RETURN, quantity=3,
                      variants={SMALL: 1, LARGE: 2}),
        RestockReturn(product_id=CUPS, order_id=ORDER, return_id=RETURN, quantity=1),
        RefundPayment(payment_id=PAYMENT, return_id=RETURN, amount=Money(amount=1500))]
    assert [s.command_id for s in steps] == [s.command_id
                                             for s in react(recorded(received()), POLICY)]
    assert len({s.command_id for s in steps}) == 3


def test_a_return_refunding_nothing_is_recorded_refunded_at_once():
    steps = commands(react(recorded(received(refund=0)), POLICY))
    assert steps[-1] == RecordReturnRefund(order_id=ORDER, return_id=RETURN,
                                           amount=Money(amount=0))


def test_the_provider_refunds_the_return_s_amount_and_its_answer_names_the_return():
    event = PaymentRefundRequested(payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                                   method="card", amount=Money(amount=1500),
                                   provider_reference=REFERENCE, return_id=RETURN)
    (ask,) = react(recorded(event), POLICY)
    assert (ask.call, ask.amount.amount, ask.return_id) == ("refund", 1500, RETURN)
    assert answer(ask, PaymentResult("refunded", "re_9")) == RecordRefund(
        payment_id=PAYMENT, status="refunded", refund_reference="re_9", return_id=RETURN)


def test_the_payment_s_answer_comes_back_to_the_return():
    done = PaymentRefunded(payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                           amount=Money(amount=1200), refund_reference="re_9",
                           return_id=RETURN, refunded_amount=Money(amount=1200),
                           status="partially_refunded")
    declined = PaymentRefundDeclined(payment_id=PAYMENT, order_id=ORDER, user_id=USER,
                                     return_id=RETURN, requested=Money(amount=1500),
                                     reason="Nothing of the payment is left to refund.")
    assert commands(react(recorded(done), POLICY)) == [RecordReturnRefund(
        order_id=ORDER, return_id=RETURN, amount=Money(amount=1200), refund_reference="re_9")]
    assert commands(react(recorded(declined), POLICY)) == [RecordReturnRefund(
        order_id=ORDER, return_id=RETURN, amount=Money(amount=0),
        note="Nothing of the payment is left to refund.")]
    # A cancelled order's refund concerns no return.
    whole = done.model_copy(update={"return_id": None})
    assert react(recorded(whole), POLICY) == []
