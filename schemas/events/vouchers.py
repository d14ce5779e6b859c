"""Facts of a voucher, an aggregate of the orders service keyed by its code.

A voucher is the single writer of its uses: each checkout that carries it asks for
one use, which is reserved or refused (with why), and given back when the order is
cancelled. Usage limits count the uses reserved and not released.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from schemas.events.orders import Reason, VoucherCode, VoucherKind
from schemas.messages import Event
from schemas.money import MAX_AMOUNT, Money

Limit = Annotated[int, Field(ge=1, le=10**9)]


class VoucherCreated(Event):
    code: VoucherCode
    kind: VoucherKind
    value: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    min_subtotal: Money | None = None
    # Valid from `starts_at` (inclusive) until `ends_at` (exclusive), in UTC.
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: Limit | None = None
    per_customer_limit: Limit | None = None


def window_or_minimum_refusal(code: str, starts_at: datetime | None, ends_at: datetime | None,
                              min_subtotal: int | None, at: datetime, subtotal: int
                              ) -> str | None:
    """Why a voucher's window or minimum allows no use at `at` on `subtotal`, or None.

    The voucher's writer decides with it at checkout; the API answers a cart early with it.
    """
    if starts_at is not None and at < starts_at:
        return f"Voucher {code} is not yet valid: it starts at {starts_at.isoformat()}."
    if ends_at is not None and at >= ends_at:
        return f"Voucher {code} has expired."
    if min_subtotal is not None and subtotal < min_subtotal:
        return (f"Voucher {code} needs a subtotal of at least {min_subtotal // 100}."
                f"{min_subtotal % 100:02d}: the subtotal is below the minimum.")
    return None


def used_up(code: str, uses: int, usage_limit: int | None, customer_uses: int,
            per_customer_limit: int | None) -> str | None:
    """Why the voucher's limits allow no further use, or None."""
    if usage_limit is not None and uses >= usage_limit:
        return f"Voucher {code} is used up."
    if per_customer_limit is not None and customer_uses >= per_customer_limit:
        return (f"Voucher {code} is used up for this customer: at most {per_customer_limit} "
                f"per customer.")
    return None


class _VoucherUse(Event):
    code: VoucherCode
    order_id: UUID
    user_id: UUID


class VoucherUseReserved(_VoucherUse):
    """One use set aside for an order."""


class VoucherUseRefused(_VoucherUse):
    """No use for this order: unknown, not valid at the order's time, below the
    minimum, used up, or used up by this customer."""

    reason: Reason


class VoucherUseReleased(_VoucherUse):
    """The order was cancelled: its use (if it held one) is free again, and a
    reservation for that order that comes later is refused."""

    held: bool = True
