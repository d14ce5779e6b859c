"""Payment providers: the interface, the development sandbox, and the Stripe adapter.

`build_providers` chooses one per payment method from settings: cards go to
Stripe or the sandbox (`SHOPSTREAM_CARD_PAYMENT_PROVIDER`); bank transfers,
wallets and cash on delivery are the sandbox's here.
"""

from __future__ import annotations

import httpx

from infra.payments.provider import PaymentProvider
from infra.payments.sandbox import SandboxPaymentProvider
from infra.payments.stripe import StripePaymentProvider
from infra.settings import Settings


def build_providers(settings: Settings, http: httpx.AsyncClient) -> dict[str, PaymentProvider]:
    sandbox = SandboxPaymentProvider(settings.sandbox_bank_delay_s)
    card: PaymentProvider = sandbox
    if settings.card_payment_provider == "stripe":
        card = StripePaymentProvider(http, api_url=settings.stripe_api_url,
                                     api_key=settings.stripe_api_key.get_secret_value())
    return {"card": card, "bank_transfer": sandbox, "wallet": sandbox,
            "cash_on_delivery": sandbox}
