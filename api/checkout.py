"""Checkout: the shopper's cart becomes an order.

A guest checks out with the cart token and an email address: the order's owner is a
guest id of its own (`infra.guest_tokens.guest_id`), with its own sealing key, and the
answer holds the order token the guest reads the order with (its hash stays with the
order).

The cart's lines are priced here from the catalog as it is now (a variant's line at
the variant's price, with its SKU and options); the order's
totals follow from them in the orders decider (`commands/pricing.py`). The order
then runs on its own (stock reserved, payment taken, confirmed or cancelled) and
is followed at `GET /v1/orders/{id}`. The address and the payment token are
sealed with the user's key before they enter the log. The shipping method is one the
zone of the address's country offers, at its price now; the cart's voucher goes with
its terms, and the voucher's writer then decides whether the order may use it.
"""

from __future__ import annotations

import json
import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from api.commands import command_id, derived_id, execute
from api.consistency import ReadYourWrites
from api import reads
from api.deps import (
    BusDep,
    CartsViewDep,
    CatalogViewDep,
    ClientsDep,
    CurrentShopper,
    IdempotencyKey,
    OrdersViewDep,
    Seen,
    SettingsDep,
    Shopper,
)
from api.orders import OrderAccepted
from api.shipping import MethodCode, methods_for
from api.vouchers import voucher_terms
from api.users import Address
from infra import guest_tokens
from projections.carts_views import CartRow, CartsView
from projections.catalog_views import CatalogView
from projections.orders_views import OrdersView
from schemas.commands.orders import PlaceOrder
from schemas.events.orders import OrderLine, ShippingMethod, VoucherTerms
from schemas.events.shipping import ZoneMethod
from schemas.money import CURRENCY
from schemas.payments import PaymentMethodType
from schemas.values import Line

router = APIRouter(tags=["orders"])

# The methods paid through a payment network, with the token its front end got.
TOKENISED = ("card", "wallet")
# What a primary account number looks like: 12 to 19 digits in a row.
CARD_NUMBER = re.compile(r"[0-9]{12,19}")


class PaymentChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: PaymentMethodType
    token: Annotated[Line, Field(description=(
        "The payment network's token; required for card and wallet, ignored otherwise. "
        "Sandbox: card `tok_visa` succeeds, `tok_chargeDeclined` is declined; wallet "
        "`wallet_ok` succeeds, `wallet_declined` fails."))] | None = None

    @model_validator(mode="after")
    def _token_where_needed(self) -> PaymentChoice:
        if self.type in TOKENISED and self.token is None:
            raise ValueError(f"a {self.type} payment needs its token")
        if self.token is not None and CARD_NUMBER.search(self.token.replace(" ", "")
                                                         .replace("-", "")):
            # Refused before it goes anywhere: a card number must never reach our logs,
            # events or stores, only the payment network's token for it.
            raise ValueError("send the payment network's token for the card, never the "
                             "card number")
        return self


class CheckoutForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipping_address: Address
    payment_method: PaymentChoice
    shipping_method: Annotated[MethodCode | None, Field(description=(
        "A method code offered for the address's country (`GET /v1/shipping-methods`); "
        "the cheapest when absent."))] = None
    email: Annotated[EmailStr | None, Field(max_length=254, description=(
        "A guest's address, where the order's emails go: required without an account, "
        "ignored for a signed-in user (their account's address is used)."))] = None


async def _priced_cart(carts: CartsView, catalog: CatalogView, seen: ReadYourWrites,
                       shopper: Shopper) -> tuple[CartRow | None, list[OrderLine]]:
    """The stored cart and its lines at today's prices; 409 if it is empty or a line
    cannot be had."""
    stored, wanted = await reads.cart_lines(carts, catalog, seen, shopper.cart_id,
                                       guest=shopper.user is None)
    if not wanted:
        raise HTTPException(409, "The cart is empty.")
    lines, gone = [], []
    for item in wanted:
        product, variant = item.product, item.variant
        priced = variant or product
        if product is None or priced is None:
            gone.append(f"item {item.id} is no longer sold")
        elif item.quantity > priced["stock"]:
            gone.append(f"only {priced['stock']} of {reads.item_label(product, variant)} in "
                        f"stock, {item.quantity} in the cart")
        elif priced["currency"] != CURRENCY:
            gone.append(f"{product['name']} is priced in {priced['currency']}, the cart "
                        f"in {CURRENCY}")
        else:
            lines.append(OrderLine.priced(
                product_id=UUID(product["id"]), sku=priced["sku"], name=product["name"],
                unit_price=priced["price_amount"], quantity=item.quantity,
                variant_id=UUID(variant["id"]) if variant else None,
                options=variant["options"] if variant else None))
    if gone:
        raise HTTPException(409, "Stock gone: " + "; ".join(gone) + ".")
    return stored, lines


async def _shipping(orders: OrdersView, seen: ReadYourWrites, country: str,
                    code: str | None) -> ShippingMethod:
    """The method chosen (or the cheapest) among those serving `country`; 422 otherwise."""
    offered = await methods_for(orders, seen, country)
    chosen = offered[0] if code is None else next(
        (method for method in offered if method["code"] == code), None)
    if chosen is None:
        raise HTTPException(422, f"The shipping method {code} is not offered for "
                                 f"{country}; offered: "
                                 + ", ".join(method["code"] for method in offered) + ".")
    return ZoneMethod(**chosen).terms()


async def _voucher(orders: OrdersView, seen: ReadYourWrites, stored: CartRow | None
                   ) -> VoucherTerms | None:
    """The terms of the cart's voucher, if it holds one; 422 if the code is unknown."""
    code = stored["voucher"] if stored else None
    if code is None:
        return None
    row = await reads.voucher(orders, seen, code)
    if row is None:
        raise HTTPException(422, f"Unknown voucher code {code}: remove it from the cart.")
    return voucher_terms(row)


@router.post("/v1/checkout", status_code=202, response_model=OrderAccepted,
             responses={409: {"description": "The cart is empty, or stock is gone"},
                        422: {"description": "Invalid address or payment method; a country "
                                             "no zone serves, or a method not offered there"}})
async def checkout(form: CheckoutForm, response: Response, shopper: CurrentShopper,
                   bus: BusDep, carts: CartsViewDep, catalog: CatalogViewDep,
                   orders: OrdersViewDep, clients: ClientsDep, settings: SettingsDep,
                   seen: Seen, idempotency_key: IdempotencyKey = None) -> OrderAccepted:
    """Order what is in the cart, to be sent to `shipping_address` and paid by
    `payment_method`; a guest (no Authorization) sends `X-Cart-Token` and `email`.

    Answers at once with the new order's id (`Location` points at it) while its stock
    is reserved and its payment taken; the order's `status` shows how that goes. A
    guest's answer holds the `order_token` to read the order with (`X-Order-Token`). A
    repeat with the same `Idempotency-Key` answers with the same order.
    """
    if shopper.user is None and form.email is None:
        raise RequestValidationError([{"loc": ("body", "email"), "type": "missing",
                                       "msg": "A guest's checkout needs an email address."}])
    command = command_id(f"POST /v1/checkout\n{shopper.cart_id}", idempotency_key)
    order_id = derived_id(command, "order")
    token = (guest_tokens.order_token(settings, order_id) if shopper.user is None else None)
    response.headers["Location"] = f"/v1/orders/{order_id}"
    if idempotency_key is not None:
        # A repeat: the first order may have emptied the cart since.
        placed = await reads.order(orders, seen, order_id)
        if placed is not None:
            return OrderAccepted(order_id=order_id, status=placed["status"], order_token=token)
    stored, lines = await _priced_cart(carts, catalog, seen, shopper)
    shipping = await _shipping(orders, seen, form.shipping_address.country,
                               form.shipping_method)
    voucher = await _voucher(orders, seen, stored)
    owner = shopper.user.user_id if shopper.user else str(guest_tokens.guest_id(order_id))
    keys, method = clients.keys, form.payment_method
    await execute(bus, PlaceOrder(
        order_id=order_id, user_id=UUID(owner), lines=lines,
        shipping_address=await keys.seal(owner, json.dumps(form.shipping_address.model_dump())),
        payment_method=method.type,
        payment_token=(await keys.seal(owner, method.token)
                       if method.type in TOKENISED and method.token else None),
        voucher=voucher, shipping_method=shipping, cart_id=UUID(shopper.cart_id),
        guest_email=await keys.seal(owner, str(form.email)) if token else None,
        order_token_hash=guest_tokens.token_hash(token) if token else None),
        actor=shopper.actor, command_id=command, correlation_id=order_id, seen=seen)
    return OrderAccepted(order_id=order_id, status="pending", order_token=token)
