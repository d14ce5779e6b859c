"""Returns: a customer asks to send back lines of a delivered order; admins approve,
receive (the stock goes back, the lines' paid share is refunded) or reject them.

The order decides every return (`commands/returns.py`), so the routes only send its
commands; a return's id follows from the request's command id, so a retry with the
same Idempotency-Key makes no second return. Reads come from the orders read model:
another customer's order is a 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api import cursors
from api.catalog import Cursor, Limit
from api.commands import command_id, derived_id, execute
from api.consistency import ReadYourWrites
from api.deps import Admin, BusDep, CurrentUser, IdempotencyKey, OrdersViewDep, Seen
from api import reads
from api.owners import VisibleOrder
from projections.orders_views import OrderRow, OrdersView, ReturnRow
from schemas.commands.returns import (
    ApproveReturn,
    ReceiveReturn,
    RejectReturn,
    RequestReturn,
    ReturnItem,
)
from schemas.money import Money
from schemas.topics import ORDERS
from schemas.values import Reason

router = APIRouter(tags=["returns"])

ReturnStatus = Literal["requested", "approved", "received", "refunded", "rejected"]


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[ReturnItem], Field(min_length=1, max_length=50)]
    reason: Reason


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReturnedLine(BaseModel):
    item_id: UUID
    product_id: UUID
    variant_id: UUID | None
    sku: str
    name: str
    quantity: int
    refund: Money


class Return(BaseModel):
    id: UUID
    order_id: UUID
    status: ReturnStatus
    lines: list[ReturnedLine]
    reason: str
    refund: Money = Field(description="The lines' paid share: their totals less their share "
                                      "of the order's discount. Shipping is not refunded.")
    refunded: Money | None = Field(description="What the payment gave back; null until "
                                               "refunded.")
    refund_note: str | None = Field(description="Why less than `refund` was given back.")
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime


class ReturnList(BaseModel):
    items: list[Return]


class ReturnAccepted(BaseModel):
    return_id: UUID
    status: ReturnStatus


def shown(row: ReturnRow) -> Return:
    def money(amount: int) -> Money:
        return Money(amount=amount, currency=row["currency"])

    return Return(id=row["id"], order_id=row["order_id"], status=row["status"],
                  lines=row["lines"], reason=row["reason"], refund=money(row["refund_amount"]),
                  refunded=(money(row["refunded_amount"])
                            if row["refunded_amount"] is not None else None),
                  refund_note=row["refund_note"], reject_reason=row["reject_reason"],
                  created_at=row["created_at"], updated_at=row["updated_at"])


async def _owned_order(orders: OrdersView, seen: ReadYourWrites, user_id: str,
                       order_id: UUID) -> OrderRow:
    """The order if it is the caller's own: returns are its owner's business; any other
    is a 404, the same as for an order that does not exist."""
    row = await reads.order(orders, seen, order_id)
    if row is None or row["user_id"] != user_id:
        raise HTTPException(404, f"There is no order {order_id}.")
    return row


async def _written(orders: OrdersView, seen: ReadYourWrites, order_id: UUID,
                   return_id: UUID) -> ReturnRow | None:
    return await seen.found(orders, lambda: orders.a_return(str(return_id)),
                            topic=ORDERS.events.name, key=str(order_id))


@router.post("/v1/orders/{order_id}/returns", status_code=201, response_model=Return,
             responses={404: {"description": "No such order of yours"},
                        409: {"description": "Not delivered, or delivered more than 30 days "
                                             "ago"},
                        422: {"description": "More than bought and not returned yet, a line "
                                             "not in the order, or a quantity below 1"}})
async def request_return(order_id: UUID, body: ReturnRequest, user: CurrentUser, bus: BusDep,
                         orders: OrdersViewDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> Return:
    """Ask to send lines of a delivered order back, within 30 days of delivery. The
    answer says what would be refunded."""
    await _owned_order(orders, seen, user.user_id, order_id)
    the_command = command_id(f"POST /v1/orders/{order_id}/returns\n{user.user_id}",
                             idempotency_key)
    return_id = derived_id(the_command, "return")
    await execute(bus, RequestReturn(
        order_id=order_id, user_id=UUID(user.user_id), return_id=return_id, lines=body.lines,
        reason=body.reason, requested_at=datetime.now(UTC)),
        actor=user.user_id, seen=seen, correlation_id=order_id, command_id=the_command)
    written = await _written(orders, seen, order_id, return_id)
    if written is None:
        raise HTTPException(503, "The return was recorded but cannot be shown yet.",
                            headers={"Retry-After": "1"})
    return shown(written)


@router.get("/v1/orders/{order_id}/returns", response_model=ReturnList,
            responses={404: {"description": "No such order of yours"}})
async def list_returns(order_id: UUID, row: VisibleOrder, orders: OrdersViewDep) -> ReturnList:
    """The order's returns, oldest first (a guest reads them with the order's
    `X-Order-Token`)."""
    return ReturnList(items=[shown(r) for r in await orders.returns_of(row["id"])])


class ReturnPage(BaseModel):
    items: list[Return]
    next_cursor: cursors.NextCursor


@router.get("/v1/admin/returns", response_model=ReturnPage,
            responses={422: {"description": "Invalid status, limit or cursor"}})
async def list_all_returns(admin: Admin, orders: OrdersViewDep, seen: Seen,
                           status: ReturnStatus | None = None, limit: Limit = 20,
                           cursor: Cursor = None) -> ReturnPage:
    """Every customer's returns (of one status, when given), newest first: what waits for
    an admin's approval or for its parcel."""
    query_print = cursors.fingerprint("admin-returns", status)
    after = cursors.decode(cursor, query_print)
    try:
        position = (datetime.fromisoformat(after[0]), str(UUID(after[1]))) if after else None
    except (ValueError, TypeError, IndexError) as error:
        raise cursors.invalid() from error
    await seen.wait(orders)
    rows = await orders.all_returns(status, limit + 1, position)
    page = rows[:limit]
    last = page[-1] if page else None
    return ReturnPage(items=[shown(row) for row in page], next_cursor=(
        cursors.encode([last["created_at"].isoformat(), last["id"]], query_print)
        if len(rows) > limit and last else None))


async def _admin_step(return_id: UUID, step: str, status: ReturnStatus, command_for, admin,
                      bus, orders: OrdersView, seen: ReadYourWrites,
                      idempotency_key: str | None) -> ReturnAccepted:
    # The return's order is its key, which only the read model knows: on a miss, every
    # partition is waited for before the return is called unknown.
    found = await seen.found(orders, lambda: orders.a_return(str(return_id)),
                             topic=ORDERS.events.name, key=None)
    if found is None:
        raise HTTPException(404, f"There is no return {return_id}.")
    order_id = UUID(found["order_id"])
    await execute(bus, command_for(order_id), actor=admin.user_id, seen=seen,
                  correlation_id=order_id,
                  command_id=command_id(f"POST /v1/admin/returns/{return_id}/{step}\n"
                                        f"{admin.user_id}", idempotency_key))
    return ReturnAccepted(return_id=return_id, status=status)


_STEP_ANSWERS = {404: {"description": "No such return"},
                 409: {"description": "Not the return's next step"}}


@router.post("/v1/admin/returns/{return_id}/approve", status_code=202,
             response_model=ReturnAccepted, responses=_STEP_ANSWERS)
async def approve_return(return_id: UUID, admin: Admin, bus: BusDep, orders: OrdersViewDep,
                         seen: Seen, idempotency_key: IdempotencyKey = None) -> ReturnAccepted:
    """Agree to take a requested return back."""
    return await _admin_step(
        return_id, "approve", "approved",
        lambda order_id: ApproveReturn(order_id=order_id, return_id=return_id),
        admin, bus, orders, seen, idempotency_key)


@router.post("/v1/admin/returns/{return_id}/receive", status_code=202,
             response_model=ReturnAccepted, responses=_STEP_ANSWERS)
async def receive_return(return_id: UUID, admin: Admin, bus: BusDep, orders: OrdersViewDep,
                         seen: Seen, idempotency_key: IdempotencyKey = None) -> ReturnAccepted:
    """The approved return's parcel arrived: its stock goes back, and the lines' paid
    share is refunded."""
    return await _admin_step(
        return_id, "receive", "received",
        lambda order_id: ReceiveReturn(order_id=order_id, return_id=return_id),
        admin, bus, orders, seen, idempotency_key)


@router.post("/v1/admin/returns/{return_id}/reject", status_code=202,
             response_model=ReturnAccepted, responses=_STEP_ANSWERS)
async def reject_return(return_id: UUID, body: Rejection, admin: Admin, bus: BusDep,
                        orders: OrdersViewDep, seen: Seen,
                        idempotency_key: IdempotencyKey = None) -> ReturnAccepted:
    """Refuse a requested return, saying why."""
    return await _admin_step(
        return_id, "reject", "rejected",
        lambda order_id: RejectReturn(order_id=order_id, return_id=return_id,
                                      reason=body.reason),
        admin, bus, orders, seen, idempotency_key)
