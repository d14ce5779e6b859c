"""Payment values shared by the provider adapters, the payments decider and the saga:
the methods a shopper can pay with, and what a provider answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
