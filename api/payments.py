"""Payments: one of the signed-in user's payments, and the payment provider's webhooks.

A webhook is believed only with a valid signature over its raw body; anything
else is a 400 that changes nothing. Its command id follows from the provider's
event id, so a redelivered notice is recognised and changes nothing either.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from api.commands import Refused, command_id, execute
from api import reads
from api.deps import BusDep, CurrentUser, OrdersViewDep, Seen, SettingsDep
from api.orders import PaymentStatus
from api.owners import owned
from infra.payments.webhooks import WebhookSignatureError, verify_signature
from schemas.commands.payments import FailPayment, SettlePayment
from schemas.payments import PaymentMethodType
from schemas.money import Money

router = APIRouter(tags=["payments"])

PROVIDERS = ("stripe",)
REASON_MAX = 500


class Payment(BaseModel):
    id: UUID
    order_id: UUID
    method: PaymentMethodType
    status: PaymentStatus
    amount: Money
    refunded_amount: Money = Field(description="Given back so far: by returns, or all of it "
                                               "for a cancelled order.")
    failure_reason: str | None
    card_last4: str | None
    created_at: datetime
    updated_at: datetime


class WebhookAnswer(BaseModel):
    received: bool = True
    outcome: str


@router.get("/v1/payments/{payment_id}", response_model=Payment,
            responses={404: {"description": "No such payment of yours"}})
async def get_payment(payment_id: UUID, user: CurrentUser, orders: OrdersViewDep,
                      seen: Seen) -> Payment:
    """A payment: its method, amount and status, and why it failed if it did."""
    row = owned(await reads.payment(orders, seen, payment_id), user, f"payment {payment_id}")
    return Payment(id=row["id"], order_id=row["order_id"], method=row["method"],
                   status=row["status"], amount=Money(amount=row["amount"],
                                                      currency=row["currency"]),
                   refunded_amount=Money(amount=row["refunded_amount"],
                                         currency=row["currency"]),
                   failure_reason=row["failure_reason"], card_last4=row["card_last4"],
                   created_at=row["created_at"], updated_at=row["updated_at"])


def stripe_command(event: dict[str, Any]) -> SettlePayment | FailPayment | None:
    """The command a Stripe event asks for; None for events that concern no payment of ours."""
    intent = (event.get("data") or {}).get("object") or {}
    try:
        payment_id = UUID(str((intent.get("metadata") or {})["payment_id"]))
    except (KeyError, ValueError):
        return None
    match event.get("type"):
        case "payment_intent.succeeded":
            return SettlePayment(payment_id=payment_id, source="provider", amount=Money(
                amount=intent["amount_received"], currency=str(intent["currency"]).upper()))
        case "payment_intent.payment_failed":
            error = intent.get("last_payment_error") or {}
            reason = error.get("message") or error.get("code") or "The payment failed."
            return FailPayment(payment_id=payment_id, reason=str(reason)[:REASON_MAX])
    return None


@router.post("/v1/payments/webhooks/{provider}", response_model=WebhookAnswer,
             responses={400: {"description": "No valid signature, or not an event"},
                        404: {"description": "No such provider"}})
async def webhook(provider: str, request: Request, bus: BusDep, orders: OrdersViewDep,
                  settings: SettingsDep, seen: Seen) -> WebhookAnswer:
    """A payment provider's notice (Stripe: `Stripe-Signature`, signed with the endpoint's
    secret). `payment_intent.succeeded` settles the payment, `payment_intent.payment_failed`
    fails it; other events are acknowledged and ignored."""
    if provider not in PROVIDERS:
        raise HTTPException(404, f"There is no payment provider {provider!r}.")
    body = await request.body()
    try:
        verify_signature(body, request.headers.get("Stripe-Signature"),
                         settings.stripe_webhook_secret.get_secret_value(), now=time.time(),
                         tolerance_s=settings.stripe_webhook_tolerance_s)
        event = json.loads(body)
        event_id, command = str(event["id"]), stripe_command(event)
    except WebhookSignatureError as error:
        raise HTTPException(400, f"The webhook is refused: {error}.") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise HTTPException(400, f"The webhook is not an event we can read: {error}.") from None
    if command is None:
        return WebhookAnswer(outcome="ignored")
    # The order's id, for the correlation id every event of its checkout carries.
    payment = await orders.payment(str(command.payment_id))
    try:
        reply = await execute(
            bus, command, actor=f"provider:{provider}", seen=seen,
            command_id=command_id(f"POST /v1/payments/webhooks/{provider}", event_id),
            correlation_id=UUID(payment["order_id"]) if payment else None)
    except Refused as refusal:
        # The notice does not apply (already settled, failed or unknown): retrying won't help.
        return WebhookAnswer(outcome=f"refused: {refusal.detail}")
    return WebhookAnswer(outcome=reply.status)
