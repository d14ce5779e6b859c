"""The signed-in shopper's cart: lines with current prices, quantities and totals.

Lines are read from the carts model (Redis, then MongoDB); names, prices and
stock come from the catalog at read time, so a price change shows at once.
Whether a product exists and is in stock is checked here against the catalog.
A product with variants is added one variant at a time: its line's `id` is the
variant's id (else the product's), and `PATCH`/`DELETE` address lines by it.
A voucher code in the cart takes its discount off the current subtotal; whether its
use is allowed is decided again, exactly, by the voucher at checkout.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from api import reads
from api.commands import command_id, execute
from api.consistency import ReadYourWrites
from api.deps import (
    BusDep,
    CartsViewDep,
    CatalogViewDep,
    CurrentUser,
    IdempotencyKey,
    OrdersViewDep,
    Seen,
)
from api.vouchers import Code, voucher_refusal, voucher_terms
from schemas.commands.cart import (
    AddCartItem,
    ApplyCartVoucher,
    RemoveCartItem,
    RemoveCartVoucher,
    SetCartItemQuantity,
)
from projections.carts_views import CartsView
from projections.catalog_views import CatalogView, ProductRow, VariantRow
from projections.orders_views import OrdersView
from schemas.events.vouchers import used_up
from schemas.money import CURRENCY, Money

router = APIRouter(tags=["cart"])


class CartLine(BaseModel):
    id: UUID = Field(description="The variant's id, or the product's for a product "
                                 "without variants: what PATCH and DELETE take.")
    product_id: UUID
    variant_id: UUID | None
    options: dict[str, str] = Field(description="The variant's option values, e.g. "
                                                "{\"Size\": \"M\"}; empty without variants.")
    name: str
    unit_price: Money
    quantity: int
    line_total: Money
    available: int


class CartVoucher(BaseModel):
    code: str
    kind: str
    value: int
    min_subtotal: Money | None
    reason: str | None = Field(description="Why it takes nothing off now (expired, below "
                                           "the minimum...); null while it applies.")


class Cart(BaseModel):
    id: UUID
    items: list[CartLine]
    item_count: int
    subtotal: Money
    voucher: CartVoucher | None
    discount: Money
    total: Money = Field(description="subtotal - discount; shipping is added at checkout.")
    currency: str
    updated_at: datetime | None


class VoucherChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code


class NewLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: UUID
    variant_id: UUID | None = Field(default=None, description=(
        "Which variant: required for a product with variants, refused for one without."))
    quantity: Annotated[int, Field(ge=1, le=99)] = 1


class LineChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Annotated[int, Field(ge=0, le=99, description="0 removes the line.")]


async def _discount(orders: OrdersView, code: str | None, subtotal: int
                    ) -> tuple[CartVoucher | None, int]:
    if code is None:
        return None, 0
    row = await orders.voucher(code)
    if row is None:
        return CartVoucher(code=code, kind="unknown", value=0, min_subtotal=None,
                           reason=f"Unknown voucher code {code}."), 0
    terms = voucher_terms(row)
    reason = voucher_refusal(row, subtotal)
    return (CartVoucher(code=code, kind=terms.kind, value=terms.value,
                        min_subtotal=terms.min_subtotal, reason=reason),
            0 if reason else terms.discount_on(subtotal))


async def _view(carts: CartsView, catalog: CatalogView, orders: OrdersView,
                seen: ReadYourWrites, user_id: str) -> Cart:
    stored, lines = await reads.cart_lines(carts, catalog, seen, user_id)
    items = []
    for line in lines:
        product, variant = line.product, line.variant
        if product is None:
            continue  # no longer sold: not part of the cart's total
        priced = variant or product
        price, currency = priced["price_amount"], priced["currency"]
        items.append(CartLine(
            id=line.id, product_id=product["id"], variant_id=variant["id"] if variant else None,
            options=variant["options"] if variant else {}, name=product["name"],
            unit_price=Money(amount=price, currency=currency), quantity=line.quantity,
            line_total=Money(amount=price * line.quantity, currency=currency),
            available=line.stock))
    subtotal = sum(line.line_total.amount for line in items)
    voucher, discount = await _discount(orders, stored["voucher"] if stored else None, subtotal)
    return Cart(id=user_id, items=items, item_count=sum(line.quantity for line in items),
                subtotal=Money(amount=subtotal, currency=CURRENCY), voucher=voucher,
                discount=Money(amount=discount, currency=CURRENCY),
                total=Money(amount=subtotal - discount, currency=CURRENCY), currency=CURRENCY,
                updated_at=stored["updated_at"] if stored else None)


async def _product(catalog: CatalogView, seen: ReadYourWrites, product_id: UUID) -> ProductRow:
    product = await reads.product(catalog, seen, product_id)
    if product is None:
        raise HTTPException(404, f"There is no product {product_id}.")
    if product["currency"] != CURRENCY:
        raise HTTPException(409, f"The cart holds {CURRENCY}; that product is priced in "
                                 f"{product['currency']}.")
    return product


async def _chosen(catalog: CatalogView, product: ProductRow, variant_id: UUID | None
                  ) -> VariantRow | None:
    """The variant chosen of `product`: 422 if one is needed and missing, unknown, or
    given for a product without variants."""
    variants = {row["id"]: row for row in await catalog.variants(product["id"])}
    if variants and variant_id is None:
        raise _unprocessable("variant_id", f"{product['name']} comes in variants: choose one "
                                           "by its variant_id.")
    if not variants and variant_id is not None:
        raise _unprocessable("variant_id", f"{product['name']} has no variants.")
    if variant_id is not None and str(variant_id) not in variants:
        raise _unprocessable("variant_id", f"{product['name']} has no variant {variant_id}.")
    return variants[str(variant_id)] if variant_id is not None else None


def _unprocessable(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "type": "value_error",
                                    "msg": message}])


async def _item(catalog: CatalogView, seen: ReadYourWrites, item_id: UUID
                ) -> tuple[UUID, VariantRow | None]:
    """A cart line's product id and variant (None without variants), from its item id."""
    await seen.wait(catalog)
    variant = (await catalog.variants_by_id([str(item_id)])).get(str(item_id))
    return (UUID(variant["product_id"]), variant) if variant else (item_id, None)


@router.get("/v1/cart", response_model=Cart)
async def get_cart(user: CurrentUser, carts: CartsViewDep, catalog: CatalogViewDep,
                   orders: OrdersViewDep, seen: Seen) -> Cart:
    """The cart with unit prices, line totals, the item count, the subtotal, and the
    voucher's discount and the total after it."""
    return await _view(carts, catalog, orders, seen, user.user_id)


@router.post("/v1/cart/items", response_model=Cart,
             responses={404: {"description": "No such product"},
                        409: {"description": "More than in stock"}})
async def add_item(line: NewLine, user: CurrentUser, bus: BusDep, carts: CartsViewDep,
                   catalog: CatalogViewDep, orders: OrdersViewDep, seen: Seen,
                   idempotency_key: IdempotencyKey = None) -> Cart:
    """Add a product (the chosen variant of one that has variants), or more of one
    already in the cart."""
    product = await _product(catalog, seen, line.product_id)
    variant = await _chosen(catalog, product, line.variant_id)
    await seen.wait(carts)
    current = await carts.find(user.user_id)
    held = current["items"].get(str(line.variant_id or line.product_id)) if current else None
    in_cart = held["quantity"] if held else 0
    stock = (variant or product)["stock"]
    if in_cart + line.quantity > stock:
        raise HTTPException(409, f"Only {stock} of {reads.item_label(product, variant)} "
                                 "in stock.")
    await execute(bus, AddCartItem(cart_id=UUID(user.user_id), product_id=line.product_id,
                                   variant_id=line.variant_id, quantity=line.quantity),
                  actor=user.user_id, seen=seen,
                  command_id=command_id(f"POST /v1/cart/items\n{user.user_id}", idempotency_key))
    return await _view(carts, catalog, orders, seen, user.user_id)


@router.patch("/v1/cart/items/{item_id}", response_model=Cart,
              responses={404: {"description": "Not in the cart"},
                         409: {"description": "More than in stock"}})
async def change_item(item_id: UUID, change: LineChange, user: CurrentUser, bus: BusDep,
                      carts: CartsViewDep, catalog: CatalogViewDep, orders: OrdersViewDep,
                      seen: Seen) -> Cart:
    """Set a line's quantity; 0 removes it. `item_id` is the line's `id`."""
    product_id, variant = await _item(catalog, seen, item_id)
    if change.quantity > 0:
        product = await _product(catalog, seen, product_id)
        stock = (variant or product)["stock"]
        if change.quantity > stock:
            raise HTTPException(409, f"Only {stock} of {reads.item_label(product, variant)} "
                                     "in stock.")
    await execute(bus, SetCartItemQuantity(cart_id=UUID(user.user_id), product_id=product_id,
                                           variant_id=variant["id"] if variant else None,
                                           quantity=change.quantity),
                  actor=user.user_id, seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, user.user_id)


@router.delete("/v1/cart/items/{item_id}", response_model=Cart,
               responses={404: {"description": "Not in the cart"}})
async def remove_item(item_id: UUID, user: CurrentUser, bus: BusDep,
                      carts: CartsViewDep, catalog: CatalogViewDep, orders: OrdersViewDep,
                      seen: Seen) -> Cart:
    """Take a line out of the cart. `item_id` is the line's `id`."""
    product_id, variant = await _item(catalog, seen, item_id)
    await execute(bus, RemoveCartItem(cart_id=UUID(user.user_id), product_id=product_id,
                                      variant_id=variant["id"] if variant else None),
                  actor=user.user_id, seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, user.user_id)


@router.post("/v1/cart/voucher", response_model=Cart,
             responses={422: {"description": "Unknown, expired, not yet valid, below the "
                                             "minimum, or used up (the reason in `detail`)"}})
async def apply_voucher(choice: VoucherChoice, user: CurrentUser, bus: BusDep,
                        carts: CartsViewDep, catalog: CatalogViewDep, orders: OrdersViewDep,
                        seen: Seen) -> Cart:
    """Apply a voucher code to the cart: its discount shows at once, and the order takes
    it at checkout (where the voucher decides, exactly, whether a use is left)."""
    row = await reads.voucher(orders, seen, choice.code)
    if row is None:
        raise HTTPException(422, f"Unknown voucher code {choice.code}.")
    cart = await _view(carts, catalog, orders, seen, user.user_id)
    reason = voucher_refusal(row, cart.subtotal.amount) or used_up(
        row["code"], await orders.voucher_uses(row["code"]), row["usage_limit"],
        await orders.voucher_uses(row["code"], user.user_id), row["per_customer_limit"])
    if reason is not None:
        raise HTTPException(422, reason)
    await execute(bus, ApplyCartVoucher(cart_id=UUID(user.user_id), code=row["code"]),
                  actor=user.user_id, seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, user.user_id)


@router.delete("/v1/cart/voucher", response_model=Cart)
async def remove_voucher(user: CurrentUser, bus: BusDep, carts: CartsViewDep,
                         catalog: CatalogViewDep, orders: OrdersViewDep, seen: Seen) -> Cart:
    """Take the voucher code out of the cart."""
    await execute(bus, RemoveCartVoucher(cart_id=UUID(user.user_id)), actor=user.user_id,
                  seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, user.user_id)
