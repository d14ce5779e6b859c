"""The development payment provider: deterministic outcomes from documented tokens.

Tokens (docs/API.md, Checkout): card `tok_visa` succeeds and `tok_chargeDeclined` is
declined; wallet `wallet_ok` succeeds and `wallet_declined` fails; a bank transfer stays
pending until the sandbox bank settles it `delay_s` after it was requested
(`settles_at`); cash on delivery is authorized at once and captured on delivery.
The same request always gets the same answer, so idempotency keys need no state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from schemas.payments import PaymentMethod, PaymentResult, PaymentStatus
from schemas.money import Money

# token -> (succeeds, card last4 or None, failure reason when it does not)
CARD_TOKENS: dict[str, tuple[bool, str, str | None]] = {
    "tok_visa": (True, "4242", None),
    "tok_chargeDeclined": (False, "0002", "card_declined: your card was declined"),
}
WALLET_TOKENS: dict[str, tuple[bool, str | None]] = {
    "wallet_ok": (True, None),
    "wallet_declined": (False, "wallet_declined: the wallet refused the payment"),
}
REFERENCE_PREFIX = "sandbox_"


def settles_at(requested_at: datetime, delay_s: float) -> datetime:
    """When the sandbox bank settles a transfer requested at `requested_at`."""
    if delay_s < 0:
        raise ValueError("the sandbox bank delay cannot be negative")
    return requested_at + timedelta(seconds=delay_s)


def reference_for(payment_id: UUID) -> str:
    return f"{REFERENCE_PREFIX}{payment_id.hex}"


def decide_authorization(payment_id: UUID, amount: Money, method: PaymentMethod) -> PaymentResult:
    """The sandbox's answer to an authorization: a pure function of its inputs."""
    reference = reference_for(payment_id)
    if amount.amount <= 0:
        return PaymentResult("failed", reference, "invalid_amount: the amount must be positive")
    match method.type:
        case "card":
            if method.token not in CARD_TOKENS:
                return PaymentResult("failed", reference, _unknown_token("card", method.token))
            ok, last4, reason = CARD_TOKENS[method.token]
            return PaymentResult("authorized" if ok else "failed", reference, reason, last4)
        case "wallet":
            if method.token not in WALLET_TOKENS:
                return PaymentResult("failed", reference, _unknown_token("wallet", method.token))
            ok, reason = WALLET_TOKENS[method.token]
            return PaymentResult("authorized" if ok else "failed", reference, reason)
        case "bank_transfer":
            return PaymentResult("pending", reference)
        case "cash_on_delivery":
            return PaymentResult("authorized", reference)
    return PaymentResult("failed", reference, f"unsupported_method: {method.type!r}")


def _unknown_token(kind: str, token: str | None) -> str:
    known = ", ".join(CARD_TOKENS if kind == "card" else WALLET_TOKENS)
    if not token:
        return f"missing_token: a {kind} payment needs a token (sandbox tokens: {known})"
    return f"unknown_token: {token!r} is not a sandbox {kind} token (sandbox tokens: {known})"


class SandboxPaymentProvider:
    """`PaymentProvider` for development and tests; no network, no state."""

    def __init__(self, bank_delay_s: float = 2.0) -> None:
        self.bank_delay_s = bank_delay_s

    def settles_at(self, requested_at: datetime) -> datetime:
        return settles_at(requested_at, self.bank_delay_s)

    async def charge(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                     idempotency_key: str) -> PaymentResult:
        result = decide_authorization(payment_id, amount, method)
        return replace(result, status="captured") if result.status == "authorized" else result

    async def authorize(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                        idempotency_key: str) -> PaymentResult:
        return decide_authorization(payment_id, amount, method)

    async def capture(self, payment_id: UUID, provider_reference: str, amount: Money,
                      idempotency_key: str) -> PaymentResult:
        """Captures an authorization, a cash payment on delivery, or a settled transfer."""
        return _for_own(payment_id, provider_reference, "captured")

    async def refund(self, payment_id: UUID, provider_reference: str, amount: Money,
                     idempotency_key: str) -> PaymentResult:
        """Gives back `amount`, all or part of the payment (the payments decider keeps the
        sum of its refunds within what was captured)."""
        if amount.amount <= 0:
            return PaymentResult("failed", provider_reference,
                                 "invalid_amount: a refund must be positive")
        return _for_own(payment_id, provider_reference, "refunded")


def _for_own(payment_id: UUID, provider_reference: str, status: PaymentStatus) -> PaymentResult:
    """`status` for a reference this sandbox gave the payment; else a failure."""
    if provider_reference != reference_for(payment_id):
        return PaymentResult("failed", provider_reference,
                             "unknown_reference: not a sandbox payment of this id")
    return PaymentResult(status, provider_reference)
