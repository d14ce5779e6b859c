"""Facts of an order's returns, kept by the order (the orders service, its topic).

A return runs ReturnRequested -> ReturnApproved -> ReturnReceived -> ReturnRefunded,
or ends with ReturnRejected. Each event names the order, its owner and the return.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.events.catalog import Name
from schemas.events.orders import Reason, _OrderEvent
from schemas.money import Money

# How many units of one line a return takes back (a line holds at most 99).
ReturnQuantity = Annotated[int, Field(ge=1, le=99)]


class ReturnLine(BaseModel):
    """Units of one order line going back, and the part of the payment they refund."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: UUID
    product_id: UUID
    variant_id: UUID | None = None
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    name: Name
    quantity: ReturnQuantity
    refund: Money


class _ReturnEvent(_OrderEvent):
    return_id: UUID


class ReturnRequested(_ReturnEvent):
    """The customer asked to send lines back; `refund` is what they would get."""

    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=50)]
    reason: Reason
    refund: Money


class ReturnApproved(_ReturnEvent):
    """The shop agreed to take the lines back."""


class ReturnRejected(_ReturnEvent):
    """The shop refused the return; its units may be asked for again."""

    reason: Reason


class ReturnReceived(_ReturnEvent):
    """The parcel arrived: the stock goes back and the refund is asked of the payment."""

    payment_id: UUID
    lines: list[ReturnLine]
    refund: Money


class ReturnRefunded(_ReturnEvent):
    """The payment gave back `amount`: less than `requested` when less was left to refund
    (0 when nothing was), with `note` saying why."""

    amount: Money
    requested: Money
    refund_reference: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    note: Reason | None = None
