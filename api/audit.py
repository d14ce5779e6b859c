"""The audit trail of an order or a payment: every event of its history, with where it
lies in Kafka, from the audit read model (`projections/audit.py`).

Its owner or an admin may read it; for anyone else it does not exist (404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from api.consistency import ReadYourWrites
from api.deps import AuditViewDep, CurrentUser, Principal, Seen
from projections.audit_views import AuditEventRow, AuditView
from schemas.topics import ORDERS, PAYMENTS

router = APIRouter(tags=["audit"])


class AuditEvent(BaseModel):
    event_id: UUID
    type: str
    occurred_at: datetime
    actor: str | None
    correlation_id: UUID
    payload: dict[str, Any]
    topic: str
    partition: int
    offset: int


class OrderTrail(BaseModel):
    order_id: UUID
    events: list[AuditEvent]


class PaymentTrail(BaseModel):
    payment_id: UUID
    events: list[AuditEvent]


def owner(events: list[AuditEventRow], aggregate_id: str) -> str | None:
    """Whose order or payment it is: every one of their own events names the user."""
    return next((e["payload"].get("user_id") for e in events
                 if e["aggregate_id"] == aggregate_id), None)


Trail = Callable[[str], Awaitable[list[AuditEventRow]]]


async def _trail(audit: AuditView, seen: ReadYourWrites, lookup: Trail, topic: str,
                 aggregate_id: UUID) -> list[AuditEventRow]:
    """An order's or payment's events from the audit model, once it shows the caller's
    writes; none found waits for the aggregate's partition first."""
    key = str(aggregate_id)

    async def events() -> list[AuditEventRow] | None:
        return await lookup(key) or None

    return await seen.found(audit, events, topic=topic, key=key) or []


def _shown(events: list[AuditEventRow], user: Principal, what: str,
           aggregate_id: UUID) -> list[AuditEvent]:
    """The trail as the user may see it: 404 unless it has events and is theirs (or they
    are an admin)."""
    if not events or (not user.is_admin and owner(events, str(aggregate_id)) != user.user_id):
        raise HTTPException(404, f"There is no {what} {aggregate_id}.")
    return [AuditEvent.model_validate(event) for event in events]


@router.get("/v1/audit/orders/{order_id}", response_model=OrderTrail,
            responses={404: {"description": "No such order of yours"}})
async def order_trail(order_id: UUID, user: CurrentUser, audit: AuditViewDep,
                      seen: Seen) -> OrderTrail:
    """Every event of the order, of its payment and of its checkout, in the order they
    happened, each with its topic, partition and offset."""
    events = await _trail(audit, seen, audit.order_trail, ORDERS.events.name, order_id)
    return OrderTrail(order_id=order_id, events=_shown(events, user, "order", order_id))


@router.get("/v1/audit/payments/{payment_id}", response_model=PaymentTrail,
            responses={404: {"description": "No such payment of yours"}})
async def payment_trail(payment_id: UUID, user: CurrentUser, audit: AuditViewDep,
                        seen: Seen) -> PaymentTrail:
    """Every event of the payment and its receipt, in the order they happened."""
    events = await _trail(audit, seen, audit.payment_trail, PAYMENTS.events.name, payment_id)
    return PaymentTrail(payment_id=payment_id, events=_shown(events, user, "payment",
                                                             payment_id))
