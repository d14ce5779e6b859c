"""An order's returns, given commands to a delivered order: the steps in their order, the
refusals, and whatever the sequence of requests and rejections, never more returned than
bought; the refund is each line's paid share after the discount."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands import returns
from schemas.commands.orders import RecordPayment, RecordVoucherUse
from schemas.commands.returns import (
    ApproveReturn,
    ReceiveReturn,
    RecordReturnRefund,
    RejectReturn,
    RequestReturn,
    ReturnItem,
)
from schemas.events.orders import VoucherTerms
from schemas.events.returns import ReturnReceived, ReturnRefunded, ReturnRequested
from schemas.money import Money
from tests.unit.checkout import (
    CUPS,
    KETTLE,
    ORDER,
    PAYMENT,
    TEA,
    USER,
    Processor,
    events,
    place_order,
)
from tests.unit.test_orders_decider import KEY, PARCEL, fulfil, order_at, reserved

DELIVERED_AT = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
BOUGHT = {TEA: 2, CUPS: 1}


def ask(*items: tuple[uuid.UUID, int], return_id: uuid.UUID | None = None,
        at: datetime = DELIVERED_AT + timedelta(days=3)) -> RequestReturn:
    return RequestReturn(order_id=ORDER, user_id=USER, return_id=return_id or uuid.uuid4(),
                         lines=[ReturnItem(item_id=item, quantity=n) for item, n in items],
                         reason="Not as pictured", requested_at=at)


def delivered() -> Processor:
    order = order_at("out_for_delivery")
    assert order.send(fulfil("delivered", at=DELIVERED_AT)).reply.ok
    return order


def rejection(decision) -> tuple[str | None, str | None]:
    return decision.reply.kind, decision.reply.reason


@pytest.mark.parametrize("status", ["confirmed", "packed", "shipped", "out_for_delivery"])
def test_an_order_not_delivered_yet_takes_no_return(status):
    assert rejection(order_at(status).send(ask((TEA, 1)))) == ("conflict", "not_delivered")


def test_returns_are_taken_for_thirty_days_after_delivery():
    order = delivered()
    last_day = order.send(ask((TEA, 1), at=DELIVERED_AT + timedelta(days=30)))
    assert last_day.reply.ok
    late = order.send(ask((CUPS, 1), at=DELIVERED_AT + timedelta(days=30, seconds=1)))
    assert rejection(late) == ("conflict", "return_window_closed")


@pytest.mark.parametrize(("items", "reason"), [
    (((TEA, 3),), "more_than_bought"),
    (((KETTLE, 1),), "not_in_order"),
    (((TEA, 1), (TEA, 1)), "duplicate_lines"),
])
def test_a_return_of_what_was_not_bought_is_invalid(items, reason):
    assert rejection(delivered().send(ask(*items))) == ("invalid", reason)


def test_a_return_runs_requested_approved_received_refunded():
    order = delivered()
    return_id = uuid.uuid4()
    requested = events(order.send(ask((TEA, 2), return_id=return_id)))
    assert isinstance(requested[0], ReturnRequested)
    # The order has no voucher: the refund is the line's total, shipping stays paid.
    assert requested[0].refund == Money(amount=900)
    assert order.send(ask((TEA, 2), return_id=return_id)).events == []  # a retry
    assert rejection(order.send(ReceiveReturn(order_id=ORDER, return_id=return_id))) == (
        "conflict", "return_out_of_order")
    assert order.send(ApproveReturn(order_id=ORDER, return_id=return_id)).reply.ok
    received = events(order.send(ReceiveReturn(order_id=ORDER, return_id=return_id)))
    assert received == [ReturnReceived(order_id=ORDER, user_id=USER, return_id=return_id,
                                       payment_id=PAYMENT, lines=requested[0].lines,
                                       refund=Money(amount=900))]
    refunded = events(order.send(RecordReturnRefund(order_id=ORDER, return_id=return_id,
                                                    amount=Money(amount=900))))
    assert isinstance(refunded[0], ReturnRefunded) and refunded[0].amount.amount == 900
    assert rejection(order.send(RejectReturn(order_id=ORDER, return_id=return_id,
                                             reason="Too late"))) == (
        "conflict", "return_out_of_order")
    assert order.state.returns[return_id].status == "refunded"


def test_a_rejected_return_frees_its_units_and_an_unknown_one_is_not_found():
    order = delivered()
    return_id = uuid.uuid4()
    order.send(ask((TEA, 2), return_id=return_id))
    assert rejection(order.send(ask((TEA, 1)))) == ("invalid", "more_than_bought")
    order.send(RejectReturn(order_id=ORDER, return_id=return_id, reason="Opened"))
    assert order.send(ask((TEA, 2))).reply.ok
    assert rejection(order.send(ApproveReturn(order_id=ORDER, return_id=uuid.uuid4()))) == (
        "not_found", "return_not_found")


def test_with_a_voucher_each_line_refunds_its_paid_share_and_all_units_refund_it_exactly():
    order = Processor(KEY)
    placed = place_order((TEA, 3), (CUPS, 1))
    voucher = VoucherTerms(code="TEN", kind="percentage", value=10)
    order.send(placed.model_copy(update={"voucher": voucher}))
    for step in (reserved(TEA), reserved(CUPS), RecordVoucherUse(order_id=ORDER, reserved=True),
                 RecordPayment(order_id=ORDER, payment_id=PAYMENT, status="captured"),
                 fulfil("packed"), fulfil("shipped", **PARCEL), fulfil("delivered")):
        assert order.send(step).reply.ok, step
    # 13.50 of tea and 12.00 of cups, 2.55 off: 1.35 (1.3500) and 1.20 (1.2000).
    refunds = [events(order.send(ask((TEA, 1))))[0].refund.amount for _ in range(3)]
    cups = events(order.send(ask((CUPS, 1))))[0].refund.amount
    assert sum(refunds) == 1350 - 135 and cups == 1200 - 120
    assert refunds == [405, 405, 405]


REQUESTS = st.lists(st.one_of(
    st.tuples(st.just("ask"), st.sampled_from([TEA, CUPS, KETTLE]), st.integers(1, 3)),
    st.tuples(st.just("reject"), st.integers(0, 20), st.just(0))), max_size=25)


@settings(max_examples=150, deadline=None)
@given(REQUESTS)
def test_whatever_the_requests_and_rejections_no_line_goes_back_more_than_bought(script):
    order = delivered()
    for action, what, quantity in script:
        if action == "ask":
            order.send(ask((what, quantity)))
        elif order.state.returns:
            ids = sorted(order.state.returns, key=str)
            order.send(RejectReturn(order_id=ORDER, return_id=ids[what % len(ids)],
                                    reason="No"))
        counted = returns.returned(order.state)
        assert all(counted.get(item, 0) <= BOUGHT.get(item, 0) for item in counted)
        assert set(counted) <= set(BOUGHT)
