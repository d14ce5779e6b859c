"""Orders: the signed-in user's orders, their tracking and receipts, cancelling one;
admins record fulfilment.

Reads come from the orders read model. A user sees only their own orders (another
user's is a 404, as if it did not exist); an admin sees any. A guest reads their order
with its token (`X-Order-Token`); a wrong token is a 404 too. `api/owners.py` holds
that rule, for every route that reads one order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api import cursors
from api.catalog import Cursor, Limit
from api.commands import command_id, execute
from api.deps import Admin, BusDep, CurrentUser, IdempotencyKey, OrdersViewDep, Seen
from api.owners import VisibleOrder, visible_order
from api.returns import Return, shown
from api.users import ShownAddress
from projections.orders_views import OrderFilters, OrderRow, OrdersView, ReceiptRow
from schemas.commands.orders import CancelOrder, RecordFulfilment
from schemas.events.orders import (
    CancelledBy,
    FulfilmentStatus,
    OrderLine,
    PaymentMethodType,
)
from schemas.money import MAX_AMOUNT, Money
from schemas.values import Label

router = APIRouter(tags=["orders"])

OrderStatus = Literal["pending", "awaiting_payment", "confirmed", "packed", "shipped",
                      "out_for_delivery", "delivered", "cancelled"]
PaymentStatus = Literal["pending", "authorized", "captured", "failed", "partially_refunded",
                        "refunded"]


class OrderAccepted(BaseModel):
    order_id: UUID
    status: OrderStatus
    order_token: str | None = Field(default=None, description=(
        "A guest's checkout only: the token to read the order with (`X-Order-Token`). "
        "Shown here and in the confirmation email; keep it."))


class PaymentSummary(BaseModel):
    id: UUID
    method: PaymentMethodType
    status: PaymentStatus | None = Field(description="null until the payment is requested "
                                                     "(once every line's stock is reserved).")


class TrackingStep(BaseModel):
    status: FulfilmentStatus
    at: datetime


class Tracking(BaseModel):
    carrier: str | None
    tracking_number: str | None
    history: list[TrackingStep] = Field(description="Each fulfilment step, oldest first.")


class OrderTracking(Tracking):
    status: OrderStatus


class UsedVoucher(BaseModel):
    code: str
    kind: str
    value: int


class ChosenShipping(BaseModel):
    code: str
    name: str


class Order(BaseModel):
    id: UUID
    status: OrderStatus
    items: list[OrderLine]
    subtotal: Money
    discount: Money
    voucher: UsedVoucher | None
    shipping: Money = Field(description="The shipping method's price, 0 from its free_over "
                                        "(on the subtotal after the discount).")
    shipping_method: ChosenShipping | None = Field(
        description="null for orders placed before shipping methods.")
    tax: Money = Field(description="The VAT contained in the total (prices include VAT).")
    total: Money = Field(description="subtotal - discount + shipping: the amount charged.")
    shipping_address: ShownAddress | None = Field(
        description="null once the customer's personal data was erased.")
    payment: PaymentSummary
    tracking: Tracking
    cancel_reason: str | None
    cancelled_by: CancelledBy | None
    returns: list[Return] = Field(description="The order's returns, oldest first.")
    created_at: datetime
    confirmed_at: datetime | None
    updated_at: datetime


class OrderSummary(BaseModel):
    id: UUID
    status: OrderStatus
    item_count: int
    total: Money
    created_at: datetime
    confirmed_at: datetime | None


class OrderList(BaseModel):
    items: list[OrderSummary]
    next_cursor: cursors.NextCursor


class Receipt(BaseModel):
    receipt_number: str
    order_id: UUID
    payment_id: UUID
    issued_at: datetime
    items: list[OrderLine]
    subtotal: Money
    discount: Money
    voucher: UsedVoucher | None
    shipping: Money
    shipping_method: ChosenShipping | None
    tax: Money
    total: Money
    payment_method: PaymentMethodType
    card_last4: str | None


class Fulfilment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: FulfilmentStatus
    carrier: Label | None = None
    tracking_number: Label | None = None


def amounts(row: OrderRow | ReceiptRow) -> dict[str, Any]:
    """subtotal, discount, shipping, tax and total of an order or receipt row, with the
    voucher and the shipping method they took."""
    method = row["shipping_method"]
    return {name: Money(amount=row[f"{name}_amount"], currency=row["currency"])
            for name in ("subtotal", "discount", "shipping", "tax", "total")} | {
        "voucher": row["voucher"],
        "shipping_method": ({"code": method["code"], "name": method["name"]}
                            if method else None)}




def _tracking(row: OrderRow) -> Tracking:
    return Tracking(carrier=row["carrier"], tracking_number=row["tracking_number"],
                    history=row["tracking"])


async def _order_view(orders: OrdersView, row: OrderRow) -> Order:
    payment = await orders.payment(row["payment_id"])
    return Order(
        id=row["id"], status=row["status"], items=row["lines"], **amounts(row),
        shipping_address=row["shipping_address"],
        payment=PaymentSummary(id=row["payment_id"], method=row["payment_method"],
                               status=payment["status"] if payment else None),
        tracking=_tracking(row), cancel_reason=row["cancel_reason"],
        cancelled_by=row["cancelled_by"],
        returns=[shown(held) for held in await orders.returns_of(row["id"])],
        created_at=row["created_at"],
        confirmed_at=row["confirmed_at"], updated_at=row["updated_at"])


def _summary(row: OrderRow) -> OrderSummary:
    return OrderSummary(id=row["id"], status=row["status"],
                        item_count=sum(line["quantity"] for line in row["lines"]),
                        total=Money(amount=row["total_amount"], currency=row["currency"]),
                        created_at=row["created_at"],
                        confirmed_at=row["confirmed_at"])


def _after(values: tuple | None) -> tuple[datetime, str] | None:
    """The (created_at, id) a cursor of the orders list holds; 422 if it holds other."""
    if values is None:
        return None
    try:
        created_at, order_id = values
        after = datetime.fromisoformat(created_at), str(order_id)
    except (ValueError, TypeError) as error:
        raise cursors.invalid() from error
    if after[0].tzinfo is None:  # a cursor issued before times were aware
        after = after[0].replace(tzinfo=UTC), after[1]
    return after


@router.get("/v1/orders", response_model=OrderList,
            responses={422: {"description": "Invalid limit or cursor"}})
async def list_orders(user: CurrentUser, orders: OrdersViewDep, seen: Seen,
                      limit: Limit = 20, cursor: Cursor = None) -> OrderList:
    """The signed-in user's orders, newest first, a page at a time."""
    query_print = cursors.fingerprint("orders", user.user_id)
    after = _after(cursors.decode(cursor, query_print))
    await seen.wait(orders)
    rows = await orders.orders_of(user.user_id, limit + 1, after)
    page = rows[:limit]
    last = page[-1] if page else None
    return OrderList(
        items=[_summary(row) for row in page],
        next_cursor=(cursors.encode([last["created_at"].isoformat(), last["id"]], query_print)
                     if len(rows) > limit and last else None))


class AdminOrderSummary(OrderSummary):
    customer_id: UUID = Field(description="The customer's id (a guest's is derived from the "
                                          "order).")
    guest: bool
    payment_method: PaymentMethodType
    tracking_number: str | None


class AdminOrderList(BaseModel):
    items: list[AdminOrderSummary]
    next_cursor: cursors.NextCursor


IdPrefix = Annotated[str | None, Query(min_length=1, max_length=36,
                                       pattern=r"^[0-9a-fA-F-]+$",
                                       description="The start of the order id.")]
MinorUnits = Annotated[int | None, Query(ge=0, le=MAX_AMOUNT,
                                         description="Minor units of the total.")]


@router.get("/v1/admin/orders", response_model=AdminOrderList,
            responses={422: {"description": "Invalid filter, limit or cursor"}})
async def list_all_orders(
        admin: Admin, orders: OrdersViewDep, seen: Seen, limit: Limit = 20,
        cursor: Cursor = None, status: OrderStatus | None = None,
        since: Annotated[AwareDatetime | None, Query(description="Created at or after.")] = None,
        until: Annotated[AwareDatetime | None, Query(description="Created before.")] = None,
        min_total: MinorUnits = None, max_total: MinorUnits = None,
        id_prefix: IdPrefix = None, customer_id: UUID | None = None) -> AdminOrderList:
    """Every customer's orders, newest first, a page at a time, narrowed by status,
    creation time, total, the start of the id or the customer's id. Emails and names are
    sealed in the model, so they are not filters."""
    filters = OrderFilters(status=status, since=since, until=until, min_total=min_total,
                           max_total=max_total, id_prefix=id_prefix.lower() if id_prefix else None,
                           customer_id=str(customer_id) if customer_id else None)
    query_print = cursors.fingerprint("admin-orders", filters)
    after = _after(cursors.decode(cursor, query_print))
    await seen.wait(orders)
    rows = await orders.all_orders(filters, limit + 1, after)
    page = rows[:limit]
    last = page[-1] if page else None
    return AdminOrderList(
        items=[AdminOrderSummary(**_summary(row).model_dump(), customer_id=row["user_id"],
                                 guest=row["order_token_hash"] is not None,
                                 payment_method=row["payment_method"],
                                 tracking_number=row["tracking_number"]) for row in page],
        next_cursor=(cursors.encode([last["created_at"].isoformat(), last["id"]], query_print)
                     if len(rows) > limit and last else None))


@router.get("/v1/orders/{order_id}", response_model=Order,
            responses={404: {"description": "No such order of yours"}})
async def get_order(order_id: UUID, row: VisibleOrder, orders: OrdersViewDep) -> Order:
    """An order: its lines and amounts, where it goes, its payment and its tracking."""
    return await _order_view(orders, row)


@router.get("/v1/orders/{order_id}/tracking", response_model=OrderTracking,
            responses={404: {"description": "No such order of yours"}})
async def get_tracking(order_id: UUID, row: VisibleOrder) -> OrderTracking:
    """Where the order is: its status, the carrier and tracking number, each step so far."""
    return OrderTracking(status=row["status"], **_tracking(row).model_dump())


@router.get("/v1/orders/{order_id}/receipt", response_model=Receipt,
            responses={404: {"description": "No such order of yours, or not paid yet"}})
async def get_receipt(order_id: UUID, order: VisibleOrder, orders: OrdersViewDep) -> Receipt:
    """The order's numbered receipt, issued once it is paid."""
    row = await orders.receipt_for_order(str(order_id))
    if row is None:
        raise HTTPException(404, f"Order {order_id} has no receipt yet: it is issued once "
                                 "the order is paid.")
    return Receipt(receipt_number=row["receipt_number"], order_id=row["order_id"],
                   payment_id=row["payment_id"], issued_at=row["issued_at"],
                   items=row["lines"], **amounts(row), payment_method=row["payment_method"],
                   card_last4=row["card_last4"])


@router.post("/v1/orders/{order_id}/cancel", status_code=202, response_model=OrderAccepted,
             responses={404: {"description": "No such order of yours"},
                        409: {"description": "Shipped already, or cancelled"}})
async def cancel_order(order_id: UUID, user: CurrentUser, bus: BusDep,
                       orders: OrdersViewDep, seen: Seen,
                       idempotency_key: IdempotencyKey = None) -> OrderAccepted:
    """Cancel an order before it ships: its stock goes back, its payment is undone."""
    row = await visible_order(orders, seen, user, order_id)
    by_owner = row["user_id"] == user.user_id
    await execute(bus, CancelOrder(
        order_id=order_id, cancelled_by="customer" if by_owner else "admin",
        reason="Cancelled by the customer." if by_owner else "Cancelled by an administrator."),
        actor=user.user_id, seen=seen, correlation_id=order_id,
        command_id=command_id(f"POST /v1/orders/{order_id}/cancel\n{user.user_id}",
                              idempotency_key))
    return OrderAccepted(order_id=order_id, status="cancelled")


@router.post("/v1/admin/orders/{order_id}/fulfilment", status_code=202,
             response_model=OrderAccepted,
             responses={404: {"description": "No such order"},
                        409: {"description": "Not a next step for this order"}})
async def record_fulfilment(order_id: UUID, step: Fulfilment, admin: Admin, bus: BusDep,
                            seen: Seen, idempotency_key: IdempotencyKey = None
                            ) -> OrderAccepted:
    """Move an order on: packed, shipped (with carrier and tracking number), out for
    delivery, delivered."""
    await execute(bus, RecordFulfilment(order_id=order_id, **step.model_dump(),
                                        at=datetime.now(UTC)),
                  actor=admin.user_id, seen=seen, correlation_id=order_id,
                  command_id=command_id(f"POST /v1/admin/orders/{order_id}/fulfilment\n"
                                        f"{admin.user_id}", idempotency_key))
    return OrderAccepted(order_id=order_id, status=step.status)
