"""Requests about an order's returns, addressed to the order (the orders service)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.commands.orders import _OrderCommand
from schemas.events.orders import Reason
from schemas.events.payments import Reference
from schemas.events.returns import ReturnQuantity
from schemas.money import Money


class ReturnItem(BaseModel):
    """`quantity` units of the order's line of `item_id` (the variant, or the product)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: UUID
    quantity: ReturnQuantity


class RequestReturn(_OrderCommand):
    """`requested_at` is the caller's clock: the 30 days after delivery are counted to it."""

    user_id: UUID
    return_id: UUID
    lines: Annotated[list[ReturnItem], Field(min_length=1, max_length=50)]
    reason: Reason
    requested_at: datetime


class ApproveReturn(_OrderCommand):
    return_id: UUID


class RejectReturn(_OrderCommand):
    return_id: UUID
    reason: Reason


class ReceiveReturn(_OrderCommand):
    return_id: UUID


class RecordReturnRefund(_OrderCommand):
    """The payment's answer to the return's refund: `amount` given back (0 if none)."""

    return_id: UUID
    amount: Money
    refund_reference: Reference | None = None
    note: Reason | None = None
