"""Partial refunds of a payment: returns refund their share, a cancellation what is
left, and whatever the interleaving and the provider's answers, never more is refunded
than was captured; the discount split over lines adds up to the discount exactly."""

from __future__ import annotations

import uuid
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.pricing import discount_shares, units_refund
from schemas.commands.payments import RefundPayment
from schemas.events.payments import PaymentRefundDeclined, PaymentRefunded, PaymentRefundRequested
from schemas.money import Money
from tests.unit.checkout import TOTAL, events
from tests.unit.test_payments_decider import PAYMENT, cancel, payment_at, refund


def give_back(amount: int, return_id: uuid.UUID | None = None) -> RefundPayment:
    return RefundPayment(payment_id=PAYMENT, return_id=return_id or uuid.uuid4(),
                         amount=Money(amount=amount))


def test_a_return_refunds_its_share_and_the_payment_is_partially_refunded():
    payment = payment_at("captured")
    return_id = uuid.uuid4()
    asked = events(payment.send(give_back(1000, return_id)))
    assert [(type(e), e.amount.amount, e.return_id) for e in asked] == [
        (PaymentRefundRequested, 1000, return_id)]
    assert payment.send(give_back(1000, return_id)).events == []  # asked once per return
    done = events(payment.send(refund(return_id=return_id, refund_reference="re_1")))
    assert isinstance(done[0], PaymentRefunded)
    assert (done[0].amount.amount, done[0].refunded_amount.amount, done[0].status) == (
        1000, 1000, "partially_refunded")
    assert (payment.state.status, payment.state.refunded) == ("partially_refunded", 1000)


def test_a_refund_beyond_what_is_left_is_cut_down_then_declined():
    payment = payment_at("captured")
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    payment.send(give_back(TOTAL - 500, first))
    cut = events(payment.send(give_back(900, second)))
    assert cut[0].amount.amount == 500
    declined = events(payment.send(give_back(100, third)))
    assert isinstance(declined[0], PaymentRefundDeclined)
    for return_id in (first, second):
        payment.send(refund(return_id=return_id))
    assert (payment.state.status, payment.state.refunded) == ("refunded", TOTAL)
    # A cancellation's full refund finds nothing left.
    assert payment.send(cancel()).events == []


def test_a_cancellation_refunds_only_what_returns_left_and_a_failed_refund_frees_its_share():
    payment = payment_at("captured")
    return_id = uuid.uuid4()
    payment.send(give_back(600, return_id))
    full = events(payment.send(cancel()))
    assert [e.amount.amount for e in full] == [TOTAL - 600]
    payment.send(refund(status="failed", return_id=return_id, failure_reason="card expired"))
    assert payment.state.status == "refund_requested" and payment.state.left == 600
    payment.send(refund())
    assert (payment.state.status, payment.state.refunded) == ("partially_refunded", TOTAL - 600)


def test_a_payment_not_captured_declines_a_return_s_refund():
    payment = payment_at("authorized")
    assert isinstance(events(payment.send(give_back(100)))[0], PaymentRefundDeclined)


STEPS = st.lists(st.one_of(
    st.tuples(st.just("return"), st.integers(1, TOTAL)),
    st.tuples(st.just("cancel"), st.just(0)),
    st.tuples(st.just("answer"), st.integers(0, 30)),
    st.tuples(st.just("fail"), st.integers(0, 30))), max_size=30)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_whatever_the_interleaving_never_more_is_refunded_than_captured(steps):
    payment = payment_at("captured")
    refunded = 0
    for step, value in steps:
        if step == "return":
            decision = payment.send(give_back(value))
        elif step == "cancel":
            decision = payment.send(cancel())
        else:
            waiting = sorted(payment.state.refunding, key=str)
            if not waiting:
                continue
            key = waiting[value % len(waiting)]
            return_id = None if key == "full" else uuid.UUID(key)
            decision = payment.send(refund(status="refunded" if step == "answer" else "failed",
                                           return_id=return_id))
        assert decision.reply.ok
        refunded += sum(e.amount.amount for e in events(decision)
                        if isinstance(e, PaymentRefunded))
        state = payment.state
        assert refunded == state.refunded
        assert state.refunded + sum(state.refunding.values()) <= TOTAL
        assert state.status == ("refunded" if state.refunded == TOTAL else state.status)


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=50), st.data())
def test_the_discount_shares_add_up_to_it_exactly_and_each_is_within_a_cent(totals, data):
    discount = data.draw(st.integers(0, sum(totals)))
    shares = discount_shares(totals, discount)
    assert sum(shares) == discount
    for total, share in zip(totals, shares, strict=True):
        exact = Fraction(total * discount, sum(totals)) if sum(totals) else Fraction(0)
        assert 0 <= share <= total
        assert abs(share - exact) < 1


def test_the_cents_left_go_to_the_largest_remainders():
    # 447 over 1799 and 2666: 180.10 and 266.90, so the cent left goes to the second.
    assert discount_shares([1799, 2666], 447) == [180, 267]
    assert discount_shares([1, 1, 1], 2) == [1, 1, 0]  # a tie goes to the earlier line


@given(st.integers(0, 10**6), st.integers(1, 99), st.data())
def test_a_line_returned_in_any_parts_refunds_its_paid_share_exactly(paid, bought, data):
    parts = data.draw(st.lists(st.integers(1, 99), max_size=10))
    before, total = 0, 0
    for part in parts:
        part = min(part, bought - before)
        if part == 0:
            break
        total += units_refund(paid, bought, before, part)
        before += part
    assert total == paid * before // bought
    if before == bought:
        assert total == paid
