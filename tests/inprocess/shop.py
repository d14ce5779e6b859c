"""A shop as the in-process tests run it: `streams.in_process.InProcess` with two products,
a customer with some of them in her cart, and the payment network, the one outside party,
either the sandbox provider or a scripted one. No server."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import get_args
from uuid import UUID

from schemas.commands.cart import AddCartItem
from schemas.commands.catalog import CreateProduct
from schemas.commands.users import RegisterUser
from schemas.money import Money
from schemas.payments import PaymentMethod, PaymentMethodType, PaymentResult
from streams.in_process import InProcess
from tests.unit.checkout import CUPS, ISSUED_AT, TEA, USER, lines, place_order, sealed, unseal

CATEGORY = UUID("00000000-0000-4000-8000-00000000c001")
ADA = ("ada@example.com", "Ada Lovelace")
REFERENCE = "sandbox_ref_1"
AUTHORIZED = PaymentResult("authorized", REFERENCE, card_last4="4242")
CHARGED = PaymentResult("captured", REFERENCE, card_last4="4242")
# What the scripted network answers unless a test says otherwise.
ANSWERS = {"charge": CHARGED, "authorize": AUTHORIZED,
           "capture": PaymentResult("captured", REFERENCE),
           "refund": PaymentResult("refunded", "re_1")}


class ScriptedNetwork:
    """A payment network that gives each call the answer it was told (`PaymentProvider`)."""

    def __init__(self, answers: Mapping[str, PaymentResult]) -> None:
        self.answers = answers

    async def charge(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                     idempotency_key: str) -> PaymentResult:
        return self.answers["charge"]

    async def authorize(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                        idempotency_key: str) -> PaymentResult:
        return self.answers["authorize"]

    async def capture(self, payment_id: UUID, provider_reference: str, amount: Money,
                      idempotency_key: str) -> PaymentResult:
        return self.answers["capture"]

    async def refund(self, payment_id: UUID, provider_reference: str, amount: Money,
                     idempotency_key: str) -> PaymentResult:
        return self.answers["refund"]


def scripted(**answers: PaymentResult) -> dict[str, ScriptedNetwork]:
    """Every payment method to a network that answers `answers`, else `ANSWERS`."""
    network = ScriptedNetwork({**ANSWERS, **answers})
    return {method: network for method in get_args(PaymentMethodType)}


async def a_shop(*, payments: Mapping | None = None, redeliver: bool = False,
                 cups_in_stock: int = 5, at: datetime = ISSUED_AT,
                 account: bool = True) -> InProcess:
    """Tea (10 in stock) and cups; Ada has 3 teas and the cups in her cart.

    `payments`: the providers by method (the sandbox's unless given); `account`: Ada has
    signed up, so the emails her orders call for are composed."""
    shop = InProcess(unseal=unseal, payments=payments, clock=lambda: at, redeliver=redeliver)
    if account:
        await shop.send(RegisterUser(user_id=USER, email_key="ek_ada", email=sealed(ADA[0]),
                                     full_name=sealed(ADA[1]), roles=["customer"]))
    for product, stock in ((TEA, 10), (CUPS, cups_in_stock)):
        (line,) = lines((product, 1))
        await shop.send(CreateProduct(product_id=product, sku=line.sku, name=line.name,
                                      slug=line.sku.lower(), category_id=CATEGORY,
                                      price=line.unit_price, stock=stock))
    await shop.send(AddCartItem(cart_id=USER, product_id=TEA, quantity=3))
    await shop.send(AddCartItem(cart_id=USER, product_id=CUPS, quantity=1))
    return shop


async def checkout(shop: InProcess, method: str = "card", token: str | None = None) -> None:
    """Ada orders two teas and the cups, and everything that follows happens."""
    order = place_order((TEA, 2), (CUPS, 1), method=method)
    if token is not None:
        order = order.model_copy(update={"payment_token": sealed(token)})
    await shop.send(order)


def stock(shop: InProcess) -> dict:
    return {product: shop.state("catalog", product).stock for product in (TEA, CUPS)}
