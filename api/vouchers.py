"""Vouchers: admins create discount codes and look at their use.

A code is compared case-insensitively (kept upper-cased). Whether a use is allowed
at checkout is the voucher's own decision (`commands/vouchers.py`); `used` here
counts the orders confirmed with it and not cancelled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from api import cursors, reads
from api.catalog import Cursor, Limit
from api.commands import command_id, execute
from api.deps import Admin, BusDep, IdempotencyKey, OrdersViewDep, Seen
from projections.orders_views import VoucherRow
from schemas.commands.vouchers import CreateVoucher
from schemas.events.orders import VoucherTerms
from schemas.events.vouchers import window_or_minimum_refusal
from schemas.money import CURRENCY, MAX_PRICE, Money, Price

router = APIRouter(tags=["vouchers"])

# A code as a client types it: letters, digits, - and _, in any case.
Code = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1,
                                        max_length=32,
                                        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
Count = Annotated[int, Field(ge=1, le=10**9)]


class NewVoucher(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    kind: Literal["percentage", "fixed"]
    value: Annotated[int, Field(ge=1, le=MAX_PRICE, description=(
        "Percent off the subtotal (1-100), or minor units off it."))]
    min_subtotal: Price | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    usage_limit: Count | None = None
    per_customer_limit: Count | None = None

    @model_validator(mode="after")
    def _consistent(self) -> NewVoucher:
        if self.kind == "percentage" and self.value > 100:
            raise ValueError("a percentage is 1 to 100")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class Voucher(BaseModel):
    code: str
    kind: Literal["percentage", "fixed"]
    value: int
    min_subtotal: Money | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    used: int = Field(description="Orders confirmed with it (and not cancelled).")


def shown(row: VoucherRow, used: int) -> Voucher:
    minimum = row["min_subtotal_amount"]
    return Voucher(code=row["code"], kind=row["kind"], value=row["value"],
                   min_subtotal=Money(amount=minimum, currency=CURRENCY)
                   if minimum is not None else None,
                   starts_at=row["starts_at"], ends_at=row["ends_at"],
                   usage_limit=row["usage_limit"], per_customer_limit=row["per_customer_limit"],
                   used=used)


def voucher_terms(row: VoucherRow) -> VoucherTerms:
    minimum = row["min_subtotal_amount"]
    return VoucherTerms(code=row["code"], kind=row["kind"], value=row["value"],
                        min_subtotal=Money(amount=minimum) if minimum is not None else None)


def voucher_refusal(row: VoucherRow, subtotal: int) -> str | None:
    """Why the voucher takes nothing off `subtotal` now (its window, its minimum), or None."""
    return window_or_minimum_refusal(row["code"], row["starts_at"], row["ends_at"],
                                     row["min_subtotal_amount"], datetime.now(UTC), subtotal)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


@router.post("/v1/admin/vouchers", status_code=201, response_model=Voucher,
             responses={409: {"description": "The code is taken"}})
async def create_voucher(form: NewVoucher, admin: Admin, bus: BusDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> Voucher:
    """Create a percentage or fixed discount code, with an optional minimum subtotal,
    validity window (UTC) and usage limits (in all, and per customer)."""
    terms = form.model_dump() | {"starts_at": _utc(form.starts_at),
                                 "ends_at": _utc(form.ends_at)}
    await execute(bus, CreateVoucher(**terms), actor=admin.user_id, seen=seen,
                  command_id=command_id(f"POST /v1/admin/vouchers\n{admin.user_id}",
                                        idempotency_key))
    return Voucher(**terms, used=0)


class VoucherList(BaseModel):
    items: list[Voucher]
    next_cursor: cursors.NextCursor


@router.get("/v1/admin/vouchers", response_model=VoucherList,
            responses={422: {"description": "Invalid limit or cursor"}})
async def list_vouchers(admin: Admin, orders: OrdersViewDep, seen: Seen, limit: Limit = 20,
                        cursor: Cursor = None) -> VoucherList:
    """Every voucher, newest first, with how many confirmed orders used it."""
    query_print = cursors.fingerprint("vouchers")
    after = cursors.decode(cursor, query_print)
    try:
        position = (datetime.fromisoformat(after[0]), str(after[1])) if after else None
    except (ValueError, TypeError, IndexError) as error:
        raise cursors.invalid() from error
    await seen.wait(orders)
    rows = await orders.vouchers(limit + 1, position)
    page = rows[:limit]
    uses = await orders.uses_of([row["code"] for row in page])
    last = page[-1] if page else None
    return VoucherList(items=[shown(row, uses[row["code"]]) for row in page], next_cursor=(
        cursors.encode([last["created_at"].isoformat(), last["code"]], query_print)
        if len(rows) > limit and last else None))


@router.get("/v1/admin/vouchers/{code}", response_model=Voucher,
            responses={404: {"description": "No such voucher"}})
async def get_voucher(code: str, admin: Admin, orders: OrdersViewDep, seen: Seen) -> Voucher:
    """A voucher's terms and how many confirmed orders used it."""
    row = await reads.voucher(orders, seen, code[:64])
    if row is None:
        raise HTTPException(404, f"There is no voucher {code[:64]}.")
    return shown(row, await orders.voucher_uses(row["code"]))
