"""The payments service's write model: one payment per order, and the receipt books.

A payment runs requested -> authorized | pending -> captured, or ends failed;
a captured payment may be refunded: wholly for a cancelled order (all that is
left), or in parts for returns (`RefundPayment`), partially_refunded until all
that was captured is given back (refunded). Whatever the interleaving, a refund is
asked only of what is left: captured, less what was refunded and what is being
refunded; a return's refund beyond that is cut down to it, or declined at 0.

The provider's answers arrive as commands (the saga calls the provider, then
records what it said). Money that arrives
for a payment that had already failed or been cancelled (a late capture, a bank
transfer after the deadline) is captured and at once asked back: the customer's
money is never kept for an order that did not happen.

A receipt book (one per year) hands out receipt numbers without gaps, once per
payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch
from uuid import UUID

from pyrsistent import PMap, PSet, pmap, pset

from commands.decisions import Rejected
from commands.recent import Recent
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
from schemas.events.payments import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentPending,
    PaymentRefundDeclined,
    PaymentRefunded,
    PaymentRefundFailed,
    PaymentRefundRequested,
    PaymentRequested,
    ReceiptIssued,
)
from schemas.messages import Command, Event
from schemas.money import Money

# Statuses in which the money has not moved yet and may still not.
OPEN = ("requested", "pending", "authorized")
FULL = "full"


@dataclass(frozen=True)
class Payment:
    payment_id: UUID
    order_id: UUID
    user_id: UUID
    amount: Money
    method: str
    # requested, authorized, pending, captured, failed, refund_requested,
    # partially_refunded, refunded
    status: str = "requested"
    provider_reference: str | None = None
    card_last4: str | None = None
    captured: bool = False
    refunded: int = 0
    # Refunds asked of the provider and not answered yet: the return's id, or FULL for
    # a cancelled order's -> amount.
    refunding: PMap[str, int] = field(default_factory=pmap)
    # The returns whose refund was decided (asked, or declined).
    returns: PSet[UUID] = field(default_factory=pset)

    @property
    def left(self) -> int:
        """What may still be refunded."""
        if not self.captured:
            return 0
        return self.amount.amount - self.refunded - sum(self.refunding.values())


# How many payments a receipt book remembers the number of: a receipt is asked again
# (by a restarted saga) within minutes, long before this many later receipts.
RECEIPTS_KEPT = 10_000


@dataclass(frozen=True)
class ReceiptBook:
    book: str
    # payment id -> its receipt number, of the last RECEIPTS_KEPT payments
    issued: Recent[UUID, str] = field(default_factory=lambda: Recent(RECEIPTS_KEPT))
    count: int = 0  # receipts issued, all of them

    def number(self, count: int) -> str:
        return f"{self.book.removeprefix('receipts-')}-{count:06d}"


State = Payment | ReceiptBook | None


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state)


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state)


def _payment(state: State, payment_id: UUID) -> Payment:
    if not isinstance(state, Payment):
        raise Rejected("payment_not_found", f"There is no payment {payment_id}.", "not_found")
    return state


def _ids(payment: Payment) -> dict:
    return {"payment_id": payment.payment_id, "order_id": payment.order_id,
            "user_id": payment.user_id}


def _captured(payment: Payment) -> list[Event]:
    captured: list[Event] = [PaymentCaptured(
        **_ids(payment), method=payment.method, amount=payment.amount,
        provider_reference=payment.provider_reference, card_last4=payment.card_last4)]
    if payment.status == "failed":
        captured.append(_refund(payment, payment.amount.amount))
    return captured


def _refund(payment: Payment, amount: int, return_id: UUID | None = None
            ) -> PaymentRefundRequested:
    return PaymentRefundRequested(**_ids(payment), method=payment.method,
                                  amount=Money(amount=amount, currency=payment.amount.currency),
                                  provider_reference=payment.provider_reference,
                                  return_id=return_id)


def _key(return_id: UUID | None) -> str:
    return str(return_id) if return_id is not None else FULL


@singledispatch
def _decide(command: Command, state: State) -> list[Event]:
    raise TypeError(f"the payments service does not handle {type(command).__name__}")


@_decide.register
def _(command: RequestPayment, state: State) -> list[Event]:
    if state is not None:
        return []  # requested once per order; the saga may ask again after a restart
    if command.amount.amount <= 0:
        raise Rejected("invalid_amount", "A payment's amount must be positive.", "invalid")
    return [PaymentRequested(**command.model_dump())]


@_decide.register
def _(command: RecordAuthorization, state: State) -> list[Event]:
    payment = _payment(state, command.payment_id)
    if payment.status not in ("requested", "failed"):
        return []  # answered already
    late = payment.status == "failed"
    if late and command.status != "captured":
        return []  # an authorization for a payment given up lapses on its own
    payment = replace(payment, provider_reference=command.provider_reference,
                      card_last4=command.card_last4)
    match command.status:
        case "authorized":
            return [PaymentAuthorized(**_ids(payment), method=payment.method,
                                      amount=payment.amount,
                                      provider_reference=payment.provider_reference,
                                      card_last4=payment.card_last4)]
        case "pending":
            return [PaymentPending(**_ids(payment), provider_reference=payment.provider_reference,
                                   settles_at=command.settles_at)]
        case "captured":
            return _captured(payment)
        case _:
            return [PaymentFailed(**_ids(payment),
                                  reason=command.failure_reason or "The payment was declined.")]


@_decide.register
def _(command: RecordCapture, state: State) -> list[Event]:
    payment = _payment(state, command.payment_id)
    if command.status == "captured" and payment.status in ("authorized", "failed"):
        return _captured(payment)
    if command.status == "failed" and payment.status == "authorized":
        return [PaymentFailed(**_ids(payment),
                              reason=command.failure_reason or "The capture failed.")]
    return []


@_decide.register
def _(command: SettlePayment, state: State) -> list[Event]:
    payment = _payment(state, command.payment_id)
    if command.amount is not None and command.amount != payment.amount:
        raise Rejected("amount_mismatch", f"The payment is {payment.amount.amount} "
                                          f"{payment.amount.currency}; the notice says "
                                          f"{command.amount.amount} {command.amount.currency}.",
                       "invalid")
    if command.source == "cash_on_delivery":
        settles = payment.method == "cash_on_delivery" and payment.status == "authorized"
    else:
        settles = payment.status in ("pending", "failed") or (
            command.source == "provider" and payment.status in ("requested", "authorized"))
    return _captured(payment) if settles else []


@_decide.register
def _(command: FailPayment, state: State) -> list[Event]:
    payment = _payment(state, command.payment_id)
    if payment.status not in ("requested", "pending"):
        return []  # it moved on, or failed already
    return [PaymentFailed(**_ids(payment), reason=command.reason)]


@_decide.register
def _(command: CancelPayment, state: State) -> list[Event]:
    payment = _payment(state, command.payment_id)
    if payment.status in OPEN:
        return [PaymentFailed(**_ids(payment), reason=command.reason)]
    if FULL not in payment.refunding and payment.left > 0:
        return [_refund(payment, payment.left)]
    return []


@_decide.register
def _(command: RefundPayment, state: State) -> list[Event]:
    payment = _payment(state, command.payment_id)
    if command.return_id in payment.returns:
        return []
    amount = min(command.amount.amount, payment.left)
    if amount <= 0:
        reason = ("Nothing of the payment is left to refund." if payment.captured
                  else "The payment was not captured.")
        return [PaymentRefundDeclined(**_ids(payment), return_id=command.return_id,
                                      requested=command.amount, reason=reason)]
    return [_refund(payment, amount, command.return_id)]


@_decide.register
def _(command: RecordRefund, state: State) -> list[Event]:
    payment = _payment(state, command.payment_id)
    key = _key(command.return_id)
    if key not in payment.refunding:
        return []
    if command.status == "refunded":
        amount = payment.refunding[key]
        refunded = payment.refunded + amount
        return [PaymentRefunded(
            **_ids(payment), amount=Money(amount=amount, currency=payment.amount.currency),
            refund_reference=command.refund_reference, return_id=command.return_id,
            refunded_amount=Money(amount=refunded, currency=payment.amount.currency),
            status="refunded" if refunded >= payment.amount.amount else "partially_refunded")]
    return [PaymentRefundFailed(**_ids(payment), return_id=command.return_id,
                                reason=command.failure_reason or "The refund failed.")]


@_decide.register
def _(command: IssueReceipt, state: State) -> list[Event]:
    if state is not None and not isinstance(state, ReceiptBook):
        raise TypeError(f"{command.book} is not a receipt book")
    book = state or ReceiptBook(command.book)
    if command.payment_id in book.issued:
        return []
    return [ReceiptIssued(**command.model_dump(),
                          receipt_number=book.number(book.count + 1))]


@singledispatch
def _evolve(event: Event, state: State) -> State:
    raise TypeError(f"the payments service does not apply {type(event).__name__}")


def _status(status: str):
    def apply(event: Event, state: State) -> State:
        payment = _payment(state, event.payment_id)  # type: ignore[attr-defined]
        changes = {"status": status}
        for name in ("provider_reference", "card_last4"):
            if getattr(event, name, None) is not None:
                changes[name] = getattr(event, name)
        return replace(payment, **changes)
    return apply


@_evolve.register
def _(event: PaymentRequested, state: State) -> State:
    return Payment(payment_id=event.payment_id, order_id=event.order_id, user_id=event.user_id,
                   amount=event.amount, method=event.method)


for _type, _new_status in ((PaymentAuthorized, "authorized"), (PaymentPending, "pending"),
                           (PaymentFailed, "failed")):
    _evolve.register(_type, _status(_new_status))


@_evolve.register
def _(event: PaymentCaptured, state: State) -> State:
    return replace(_status("captured")(event, state), captured=True)


def _settled(payment: Payment) -> str:
    """The status after a refund's answer: a cancellation's refund still on its way, or
    by how much was given back."""
    if FULL in payment.refunding:
        return "refund_requested"
    if payment.refunded == 0:
        return "captured"
    return "refunded" if payment.refunded >= payment.amount.amount else "partially_refunded"


@_evolve.register
def _(event: PaymentRefundRequested, state: State) -> State:
    payment = _payment(state, event.payment_id)
    # Events before partial refunds asked for the whole payment, once it was captured.
    payment = replace(payment, captured=True,
                      refunding=payment.refunding.set(_key(event.return_id),
                                                      event.amount.amount))
    if event.return_id is None:
        return replace(payment, status="refund_requested")
    return replace(payment, returns=payment.returns.add(event.return_id))


@_evolve.register
def _(event: PaymentRefundDeclined, state: State) -> State:
    payment = _payment(state, event.payment_id)
    return replace(payment, returns=payment.returns.add(event.return_id))


@_evolve.register
def _(event: PaymentRefunded, state: State) -> State:
    payment = _payment(state, event.payment_id)
    key = _key(event.return_id)
    payment = replace(payment, refunding=payment.refunding.discard(key),
                      refunded=payment.refunded + payment.refunding.get(key, event.amount.amount))
    return replace(payment, status=_settled(payment))


@_evolve.register
def _(event: PaymentRefundFailed, state: State) -> State:
    payment = _payment(state, event.payment_id)
    payment = replace(payment, refunding=payment.refunding.discard(_key(event.return_id)))
    return replace(payment, status=_settled(payment))


@_evolve.register
def _(event: ReceiptIssued, state: State) -> State:
    book = state if isinstance(state, ReceiptBook) else ReceiptBook(event.book)
    return replace(book, issued=book.issued.set(event.payment_id, event.receipt_number),
                   count=book.count + 1)
