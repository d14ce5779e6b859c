"""A voucher's writer: created once, a use reserved or refused (with why) per order,
limits counted over uses reserved and not released, and a release remembered."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.commands.vouchers import (
    CreateVoucher,
    ReleaseVoucherUse,
    ReserveVoucherUse,
    voucher_key,
)
from schemas.money import Money
from tests.unit.checkout import ISSUED_AT, USER, Processor, events, types

CODE = "SPRING10"
OTHER_USER = UUID("00000000-0000-4000-8000-0000000b0b00")


def order(n: int) -> UUID:
    return UUID(int=n + 1)


def voucher(**terms) -> Processor:
    processor = Processor(voucher_key(CODE))
    assert processor.send(CreateVoucher(**{"code": CODE, "kind": "percentage", "value": 10}
                                        | terms)).reply.ok
    return processor


def reserve(n: int, user: UUID = USER, subtotal: int = 5000,
            at=ISSUED_AT) -> ReserveVoucherUse:
    return ReserveVoucherUse(code=CODE, order_id=order(n), user_id=user,
                             subtotal=Money(amount=subtotal), ordered_at=at)


def release(n: int, user: UUID = USER) -> ReleaseVoucherUse:
    return ReleaseVoucherUse(code=CODE, order_id=order(n), user_id=user)


def refusal(decision) -> str:
    (refused,) = events(decision)
    assert refused.type_name() == "VoucherUseRefused"
    return refused.reason


def test_a_code_is_created_once():
    processor = voucher()

    again = processor.send(CreateVoucher(code=CODE, kind="fixed", value=500))

    assert (again.reply.reason, again.reply.kind) == ("voucher_exists", "conflict")


def test_a_percentage_above_100_or_an_empty_window_is_invalid():
    too_much = Processor(voucher_key(CODE)).send(
        CreateVoucher(code=CODE, kind="percentage", value=101))
    empty = Processor(voucher_key(CODE)).send(CreateVoucher(
        code=CODE, kind="fixed", value=1, starts_at=ISSUED_AT, ends_at=ISSUED_AT))

    assert (too_much.reply.kind, empty.reply.kind) == ("invalid", "invalid")


def test_an_unknown_voucher_refuses_its_use_and_stays_unknown():
    processor = Processor(voucher_key(CODE))

    assert "Unknown voucher code" in refusal(processor.send(reserve(1)))
    assert processor.state is None


def test_the_validity_window_is_checked_at_the_orders_time():
    processor = voucher(starts_at=ISSUED_AT, ends_at=ISSUED_AT + timedelta(days=1))

    assert "not yet valid" in refusal(processor.send(reserve(1, at=ISSUED_AT - timedelta(
        seconds=1))))
    assert "expired" in refusal(processor.send(reserve(2, at=ISSUED_AT + timedelta(days=1))))
    assert types(processor.send(reserve(3, at=ISSUED_AT))) == ["VoucherUseReserved"]


def test_the_minimum_is_checked_on_the_orders_subtotal():
    processor = voucher(min_subtotal=Money(amount=5000))

    assert "below the minimum" in refusal(processor.send(reserve(1, subtotal=4999)))
    assert types(processor.send(reserve(2, subtotal=5000))) == ["VoucherUseReserved"]


def test_the_usage_limit_counts_uses_reserved_and_not_released():
    processor = voucher(usage_limit=2)
    assert types(processor.send(reserve(1))) == ["VoucherUseReserved"]
    assert types(processor.send(reserve(2, OTHER_USER))) == ["VoucherUseReserved"]

    assert "used up" in refusal(processor.send(reserve(3)))
    assert types(processor.send(release(1))) == ["VoucherUseReleased"]
    assert types(processor.send(reserve(4))) == ["VoucherUseReserved"]


def test_the_per_customer_limit_counts_that_customers_uses_only():
    processor = voucher(per_customer_limit=1)
    assert types(processor.send(reserve(1))) == ["VoucherUseReserved"]

    assert "used up for this customer" in refusal(processor.send(reserve(2)))
    assert types(processor.send(reserve(3, OTHER_USER))) == ["VoucherUseReserved"]


def test_a_reservation_after_its_orders_release_is_refused_and_releases_once():
    processor = voucher()
    (released,) = events(processor.send(release(1)))
    assert released.held is False

    assert "cancelled" in refusal(processor.send(reserve(1)))
    assert processor.send(release(1)).events == []


def test_a_second_reservation_for_one_order_takes_nothing_more():
    processor = voucher(usage_limit=1)
    processor.send(reserve(1))

    assert processor.send(reserve(1)).events == []
    assert len(processor.state.held) == 1


@settings(max_examples=50, deadline=None)
@given(limit=st.integers(1, 6), per_customer=st.integers(1, 3),
       steps=st.lists(st.tuples(st.booleans(), st.integers(0, 9), st.integers(0, 2)),
                      max_size=40))
def test_uses_held_never_exceed_either_limit(limit, per_customer, steps):
    users = [USER, OTHER_USER, UUID(int=99)]
    processor = voucher(usage_limit=limit, per_customer_limit=per_customer)
    for reserving, n, user in steps:
        processor.send(reserve(n, users[user]) if reserving else release(n, users[user]))
        held = processor.state.held
        assert len(held) <= limit
        assert all(processor.state.uses_by(u) <= per_customer for u in users)
