"""Requests to a voucher (orders service), addressed by its code."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from schemas.events.orders import VoucherCode, VoucherKind
from schemas.events.vouchers import Limit
from schemas.messages import Command
from schemas.money import MAX_AMOUNT, Money


def voucher_key(code: str) -> str:
    return f"voucher:{code.upper()}"


class _VoucherCommand(Command):
    service: ClassVar[str] = "orders"
    code: VoucherCode

    @property
    def aggregate_key(self) -> str:
        return voucher_key(self.code)


class CreateVoucher(_VoucherCommand):
    kind: VoucherKind
    value: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    min_subtotal: Money | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: Limit | None = None
    per_customer_limit: Limit | None = None


class ReserveVoucherUse(_VoucherCommand):
    """One use for an order placed at `ordered_at` with `subtotal` before the discount."""

    order_id: UUID
    user_id: UUID
    subtotal: Money
    ordered_at: datetime


class ReleaseVoucherUse(_VoucherCommand):
    order_id: UUID
    user_id: UUID


