"""The checkout saga's decisions: which step follows each event. Pure, no I/O.

    OrderPlaced ──> ReserveStock (each product: all its variants at once)
      ──> StockReserved / StockReservationRejected
      ──> RecordStockReservation ──> OrderAwaitingPayment (all reserved) or OrderCancelled
                └─> ReserveVoucherUse (with a voucher) ──> VoucherUseReserved / Refused
      ──> RecordVoucherUse ──> OrderAwaitingPayment (with the lines) or OrderCancelled
    OrderAwaitingPayment ──> RequestPayment ──> PaymentRequested
      ──> provider.charge (card, wallet: authorized and captured in one call)
        | provider.authorize (cash on delivery, bank transfer)
      ──> PaymentCaptured
        | PaymentAuthorized ──> provider.capture (cash on delivery: RecordPayment at once)
        | PaymentPending (a bank transfer: settled later, or failed by the clock)
        | PaymentFailed ──> CancelOrder
    PaymentCaptured ──> RecordPayment ──> OrderConfirmed ──> RemoveOrderedItems (the cart)
                                      └─> OrderPaid ──> IssueReceipt ──> ReceiptIssued
    OrderCancelled ──> ReleaseStock (each product), ReleaseVoucherUse, CancelPayment
                       ──> refund when it was taken
    FulfilmentRecorded(delivered) ──> SettlePayment (cash on delivery is paid at the door)
    ReturnReceived ──> RestockReturn (each product: all its variants at once)
                   └─> RefundPayment ──> PaymentRefundRequested ──> provider.refund (the amount)
                       ──> PaymentRefunded | PaymentRefundDeclined ──> RecordReturnRefund

The saga keeps no state: the order and the payment aggregates remember where a
checkout stands, and each event carries what its next step needs. Every step's
command id is derived from the event it follows, so a step repeated after a
crash is recognised by its processor as a duplicate and moves nothing twice;
the provider is called with an idempotency key derived the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from schemas.payments import PaymentResult
from schemas.times import utc
from schemas.commands.cart import RemoveOrderedItems
from schemas.commands.catalog import ReleaseStock, ReserveStock, RestockReturn
from schemas.commands.orders import (
    CancelOrder,
    RecordPayment,
    RecordStockReservation,
    RecordVoucherUse,
)
from schemas.commands.payments import (
    CancelPayment,
    FailPayment,
    IssueReceipt,
    RecordAuthorization,
    RecordCapture,
    RecordRefund,
    RefundPayment,
    RequestPayment,
    SettlePayment,
)
from schemas.commands.returns import RecordReturnRefund
from schemas.commands.vouchers import ReleaseVoucherUse, ReserveVoucherUse
from schemas.envelope import EventEnvelope
from schemas.events.catalog import StockReservationRejected, StockReserved
from schemas.events.orders import (
    FulfilmentRecorded,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPaid,
    OrderPlaced,
)
from schemas.events.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefundDeclined,
    PaymentRefunded,
    PaymentRefundRequested,
    PaymentRequested,
)
from schemas.events.returns import ReturnLine, ReturnReceived
from schemas.events.vouchers import VoucherUseRefused, VoucherUseReserved
from schemas.messages import Command, Event
from schemas.money import Money

ACTOR = "saga:checkout"
TIMED_OUT = "payment_timeout: the payment did not arrive in time"


@dataclass(frozen=True)
class Policy:
    """How long a payment may take before its order is cancelled, by method."""

    payment_timeout: timedelta
    bank_transfer_timeout: timedelta

    def deadline(self, method: str, requested_at: datetime) -> datetime:
        timeout = self.bank_transfer_timeout if method == "bank_transfer" else self.payment_timeout
        return requested_at + timeout


@dataclass(frozen=True)
class Send:
    """Append a command; it belongs to the story of `correlation_id` (an order) when
    given, else to that of the event it follows."""

    command: Command
    command_id: UUID
    correlation_id: UUID | None = None


# The provider's calls. A card or wallet is paid at checkout, so it is charged:
# authorized and captured in one call, one step fewer than asking for each.
Call = Literal["charge", "authorize", "capture", "refund"]
CHARGED_AT_ONCE = ("card", "wallet")


@dataclass(frozen=True)
class AskProvider:
    """Call the payment provider; `answer` turns its result into the command to append."""

    call: Call
    payment_id: UUID
    user_id: UUID
    amount: Money
    method: str
    # Sealed with the user's key (charge and authorize only).
    token: str | None
    provider_reference: str | None
    # Derived from the payment and the event: the same step asks with the same key, while
    # a second refund requested after a failed one is a new request.
    idempotency_key: str
    command_id: UUID
    requested_at: datetime
    # The return a refund is for (None for a cancelled order's).
    return_id: UUID | None = None


Step = Send | AskProvider


def step_id(envelope: EventEnvelope, what: str) -> UUID:
    return uuid.uuid5(envelope.event_id, what)


def react(envelope: EventEnvelope, policy: Policy) -> list[Step]:
    """The steps that follow an event; none for events the saga does not follow."""
    event = envelope.event()

    def send(command: Command, what: str = "next") -> Send:
        return Send(command, step_id(envelope, what))

    match event:
        case OrderPlaced():
            steps = [send(reservation, f"reserve {reservation.product_id}")
                     for reservation in reservations(event)]
            if event.voucher is not None:
                steps.append(send(ReserveVoucherUse(
                    code=event.voucher.code, order_id=event.order_id, user_id=event.user_id,
                    subtotal=event.totals.subtotal, ordered_at=envelope.occurred_at),
                    "reserve voucher"))
            return steps
        case VoucherUseReserved():
            return [send(RecordVoucherUse(order_id=event.order_id, reserved=True))]
        case VoucherUseRefused():
            return [send(RecordVoucherUse(order_id=event.order_id, reserved=False,
                                          reason=event.reason))]
        case StockReserved():
            return [send(RecordStockReservation(order_id=event.order_id,
                                                product_id=event.product_id, reserved=True))]
        case StockReservationRejected():
            return [send(RecordStockReservation(order_id=event.order_id,
                                                product_id=event.product_id, reserved=False,
                                                reason=event.reason))]
        case OrderAwaitingPayment():
            return [send(RequestPayment(
                payment_id=event.payment_id, order_id=event.order_id, user_id=event.user_id,
                amount=event.amount, method=event.payment_method, token=event.payment_token,
                expires_at=policy.deadline(event.payment_method, envelope.occurred_at)))]
        case PaymentRequested():
            call: Call = "charge" if event.method in CHARGED_AT_ONCE else "authorize"
            return [_ask(envelope, call, event, token=event.token, reference=None)]
        case PaymentAuthorized() if event.method == "cash_on_delivery":
            return [send(RecordPayment(order_id=event.order_id, payment_id=event.payment_id,
                                       status="authorized"))]
        case PaymentAuthorized():
            return [_ask(envelope, "capture", event, token=None,
                         reference=event.provider_reference)]
        case PaymentCaptured():
            return [send(RecordPayment(order_id=event.order_id, payment_id=event.payment_id,
                                       status="captured", card_last4=event.card_last4))]
        case PaymentFailed():
            return [send(CancelOrder(order_id=event.order_id, reason=event.reason,
                                     cancelled_by="payment"))]
        case PaymentRefundRequested():
            return [_ask(envelope, "refund", event, token=None,
                         reference=event.provider_reference)]
        case OrderConfirmed():
            return [send(RemoveOrderedItems(
                cart_id=event.cart_id or event.user_id, order_id=event.order_id,
                quantities={line.item_id: line.quantity for line in event.lines},
                voucher=event.voucher.code if event.voucher is not None else None))]
        case OrderPaid():
            return [send(IssueReceipt(
                book=f"receipts-{envelope.occurred_at.year}", payment_id=event.payment_id,
                order_id=event.order_id, user_id=event.user_id, lines=event.lines,
                totals=event.totals, payment_method=event.payment_method,
                card_last4=event.card_last4, voucher=event.voucher,
                shipping_method=event.shipping_method))]
        case OrderCancelled():
            steps = [send(ReleaseStock(product_id=product_id, order_id=event.order_id),
                          f"release {product_id}") for product_id in event.product_ids]
            if event.voucher_code is not None:
                steps.append(send(ReleaseVoucherUse(code=event.voucher_code,
                                                    order_id=event.order_id,
                                                    user_id=event.user_id), "release voucher"))
            if event.payment_id is not None:
                steps.append(send(CancelPayment(payment_id=event.payment_id,
                                                reason=f"order_cancelled: {event.reason}"),
                                  "cancel payment"))
            return steps
        case FulfilmentRecorded(status="delivered", payment_id=UUID() as payment_id):
            return [send(SettlePayment(payment_id=payment_id, source="cash_on_delivery"))]
        case ReturnReceived():
            steps = [send(restock, f"restock {restock.product_id}")
                     for restock in restocks(event)]
            if event.refund.amount > 0:
                steps.append(send(RefundPayment(payment_id=event.payment_id,
                                                return_id=event.return_id, amount=event.refund),
                                  "refund"))
            else:
                steps.append(send(RecordReturnRefund(order_id=event.order_id,
                                                     return_id=event.return_id,
                                                     amount=event.refund), "refunded"))
            return steps
        case PaymentRefunded(return_id=UUID() as return_id):
            return [send(RecordReturnRefund(order_id=event.order_id, return_id=return_id,
                                            amount=event.amount,
                                            refund_reference=event.refund_reference))]
        case PaymentRefundDeclined():
            return [send(RecordReturnRefund(
                order_id=event.order_id, return_id=event.return_id,
                amount=Money(amount=0, currency=event.requested.currency), note=event.reason))]
    return []


def restocks(event: ReturnReceived) -> list[RestockReturn]:
    """One restock per product, with every variant of it the return holds, as
    `reservations` takes them."""
    lines: dict[UUID, list[ReturnLine]] = {}
    for line in event.lines:
        lines.setdefault(line.product_id, []).append(line)
    return [RestockReturn(product_id=product_id, order_id=event.order_id,
                          return_id=event.return_id,
                          quantity=sum(line.quantity for line in held),
                          variants={line.variant_id: line.quantity for line in held
                                    if line.variant_id is not None})
            for product_id, held in lines.items()]


def reservations(event: OrderPlaced) -> list[ReserveStock]:
    """One reservation per product, with every variant of it the order holds: the
    product reserves them all or none."""
    lines: dict[UUID, list[OrderLine]] = {}
    for line in event.lines:
        lines.setdefault(line.product_id, []).append(line)
    return [ReserveStock(product_id=product_id, order_id=event.order_id,
                         quantity=sum(line.quantity for line in held),
                         variants={line.variant_id: line.quantity for line in held
                                   if line.variant_id is not None})
            for product_id, held in lines.items()]


def _ask(envelope: EventEnvelope, call: Call, event: Event,
         *, token: str | None, reference: str | None) -> AskProvider:
    payment: Any = event
    return AskProvider(call=call, payment_id=payment.payment_id, user_id=payment.user_id,
                       amount=payment.amount, method=payment.method, token=token,
                       provider_reference=reference,
                       idempotency_key=f"{payment.payment_id}:{call}:{envelope.event_id}",
                       command_id=step_id(envelope, call), requested_at=envelope.occurred_at,
                       return_id=getattr(event, "return_id", None))


def answer(ask: AskProvider, result: PaymentResult, settles_at: datetime | None = None
           ) -> Command:
    """What the provider said, as the command that records it."""
    match ask.call:
        case "authorize" | "charge":
            return RecordAuthorization(
                payment_id=ask.payment_id, status=result.status if result.status in (
                    "authorized", "pending", "captured") else "failed",
                provider_reference=result.provider_reference,
                failure_reason=_reason(result), card_last4=result.card_last4,
                settles_at=settles_at if result.status == "pending" else None)
        case "capture":
            return RecordCapture(payment_id=ask.payment_id,
                                 status="captured" if result.status == "captured" else "failed",
                                 failure_reason=_reason(result))
        case "refund":
            return RecordRefund(payment_id=ask.payment_id,
                                status="refunded" if result.status == "refunded" else "failed",
                                refund_reference=result.provider_reference,
                                failure_reason=_reason(result), return_id=ask.return_id)
    raise ValueError(f"unknown provider call {ask.call!r}")


def _reason(result: PaymentResult) -> str | None:
    return result.failure_reason[:500] if result.failure_reason else None


def unreachable(ask: AskProvider, error: str) -> Command | None:
    """What to record when the provider cannot be reached after every retry.

    An authorization (or charge) that never came is a failed payment (the order is
    cancelled and the customer may try again; a charge the provider did make is
    refunded when its notice comes); a capture or refund is left for an operator,
    since the money may have moved.
    """
    if ask.call in ("authorize", "charge"):
        return RecordAuthorization(payment_id=ask.payment_id, status="failed",
                                   failure_reason=f"provider_unavailable: {error}"[:500])
    return None


def due(payments: Iterable[Mapping[str, Any]], now: datetime) -> list[Send]:
    """The clock's steps for payments still waiting: settle what the sandbox bank paid in
    time, fail what ran out of time. `payments` are rows of the payments read model."""
    steps = []
    for payment in payments:
        payment_id = UUID(str(payment["id"]))
        settles_at, expires_at = utc(payment.get("settles_at")), utc(payment.get("expires_at"))
        order_id = UUID(str(payment["order_id"]))
        # Money that arrives after the deadline is late: the payment has failed by then.
        if settles_at is not None and settles_at <= now and (
                expires_at is None or settles_at <= expires_at):
            steps.append(Send(SettlePayment(payment_id=payment_id, source="bank"),
                              uuid.uuid5(payment_id, "bank settled"), order_id))
        elif expires_at is not None and expires_at <= now:
            steps.append(Send(FailPayment(payment_id=payment_id, reason=TIMED_OUT),
                              uuid.uuid5(payment_id, "expired"), order_id))
    return steps
