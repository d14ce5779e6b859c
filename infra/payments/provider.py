"""The payment provider interface the checkout saga talks to.

A provider never sees or returns a card number: only the token the front end got
from the payment network, and the card's last four digits in results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

from schemas.money import Money

PaymentMethodType = Literal["card", "bank_transfer", "wallet", "cash_on_delivery"]
PaymentStatus = Literal["authorized", "captured", "pending", "failed", "refunded"]


@dataclass(frozen=True)
class PaymentMethod:
    type: PaymentMethodType
    # The payment network's token for the card or wallet; None for bank transfer and cash.
    token: str | None = None


@dataclass(frozen=True)
class PaymentResult:
    """What a provider answered.

    `failed` carries a `failure_reason` fit to show the customer; `pending` means the
    money has not moved yet (a bank transfer) and a later event settles it; `refunded`
    is only the answer to `refund`.
    """

    status: PaymentStatus
    provider_reference: str | None = None
    failure_reason: str | None = None
    card_last4: str | None = None


class PaymentProviderError(Exception):
    """The provider could not give an answer (unreachable, refused our request, answered
    something we cannot trust). Not a decline: a decline is a `failed` result. Retrying
    with the same idempotency key is safe."""


class PaymentAmountMismatch(PaymentProviderError):
    """The provider reported a different amount or currency from the one asked for."""


class PaymentProvider(Protocol):
    """Every call takes an idempotency key: the same key twice moves money once."""

    async def authorize(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                        idempotency_key: str) -> PaymentResult:
        """Reserve `amount` (or, for a bank transfer, start waiting for it)."""
        ...

    async def capture(self, payment_id: UUID, provider_reference: str, amount: Money,
                      idempotency_key: str) -> PaymentResult:
        """Take the money an `authorize` reserved."""
        ...

    async def refund(self, payment_id: UUID, provider_reference: str, amount: Money,
                     idempotency_key: str) -> PaymentResult:
        """Give back `amount` of a captured payment."""
        ...
