"""The payment provider interface the checkout saga talks to.

A provider never sees or returns a card number: only the token the front end got
from the payment network, and the card's last four digits in results.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from schemas.money import Money
from schemas.payments import PaymentMethod, PaymentResult

class PaymentProviderError(Exception):
    """The provider could not give an answer (unreachable, refused our request, answered
    something we cannot trust). Not a decline: a decline is a `failed` result. Retrying
    with the same idempotency key is safe."""


class PaymentAmountMismatch(PaymentProviderError):
    """The provider reported a different amount or currency from the one asked for."""


class PaymentProvider(Protocol):
    """Every call takes an idempotency key: the same key twice moves money once."""

    async def charge(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                     idempotency_key: str) -> PaymentResult:
        """Reserve and take `amount` in one call (a card or wallet paid at checkout)."""
        ...

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
