"""Who may read an order or a payment: its signed-in owner, an admin, or (for an order)
whoever holds its order token. Everyone else meets a 404, as for one that does not
exist, so a response never confirms that another's order exists.
"""

from __future__ import annotations

from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, HTTPException

from api import reads
from api.consistency import ReadYourWrites
from api.deps import MaybeUser, OrdersViewDep, OrderTokenHeader, Principal, Seen
from infra import guest_tokens
from projections.orders_views import OrderRow, OrdersView, PaymentRow

Owned = TypeVar("Owned", OrderRow, PaymentRow)


def owned(row: Owned | None, user: Principal, what: str) -> Owned:
    """The row if `user` may see it: their own, or any for an admin. Otherwise 404,
    the same as for one that does not exist."""
    if row is None or (row["user_id"] != user.user_id and not user.is_admin):
        raise HTTPException(404, f"There is no {what}.")
    return row


async def visible_order(orders: OrdersView, seen: ReadYourWrites, user: Principal,
                        order_id: UUID) -> OrderRow:
    """The order, once the model shows the caller's writes; 404 if it is not the user's."""
    return owned(await reads.order(orders, seen, order_id), user, f"order {order_id}")


async def _visible_to_caller(order_id: UUID, orders: OrdersViewDep, seen: Seen,
                             user: MaybeUser, order_token: OrderTokenHeader = None
                             ) -> OrderRow:
    """The order `order_id` of the path, if the caller may read it: its signed-in owner
    (or an admin), or anyone holding its order token. Otherwise 404, as for an order
    that does not exist; 401 with neither a sign-in nor a token (as on every route that
    needs one)."""
    if user is None and order_token is None:
        raise HTTPException(401, "Sign in, or send the order's X-Order-Token.",
                            headers={"WWW-Authenticate": "Bearer"})
    row = await reads.order(orders, seen, order_id)
    if row is not None and guest_tokens.token_matches(order_token, row["order_token_hash"]):
        return row
    if user is None:
        raise HTTPException(404, f"There is no order {order_id}.")
    return owned(row, user, f"order {order_id}")


# The order of the path, as its owner (signed in, or with the order token) reads it.
VisibleOrder = Annotated[OrderRow, Depends(_visible_to_caller)]
