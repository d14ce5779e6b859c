"""The shopper's cart: lines with current prices, quantities and totals.

A signed-in user's cart has their id; a guest's is opened by its cart token
(`api.deps.Shopper`), and `POST /v1/cart/merge` moves it into the account's cart.

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
    CartShopper,
    CurrentUser,
    CartTokenHeader,
    IdempotencyKey,
    OrdersViewDep,
    Seen,
    SettingsDep,
    Shopper,
)
from infra import guest_tokens
from api.vouchers import Code, voucher_refusal, voucher_terms
from schemas.commands.cart import (
    MAX_LINES,
    MAX_QUANTITY,
    AddCartItem,
    ApplyCartVoucher,
    ClearCart,
    RemoveCartItem,
    RemoveCartVoucher,
    SetCartItemQuantity,
)
from projections.carts_views import CartRow, CartsView
from projections.catalog_views import CatalogView, ProductPage, VariantRow
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
                seen: ReadYourWrites, shopper: Shopper) -> Cart:
    stored, lines = await reads.cart_lines(carts, catalog, seen, shopper.cart_id,
                                           guest=shopper.user is None)
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
    return Cart(id=shopper.cart_id, items=items, item_count=sum(line.quantity for line in items),
                subtotal=Money(amount=subtotal, currency=CURRENCY), voucher=voucher,
                discount=Money(amount=discount, currency=CURRENCY),
                total=Money(amount=subtotal - discount, currency=CURRENCY), currency=CURRENCY,
                updated_at=stored["updated_at"] if stored else None)


async def _product(catalog: CatalogView, seen: ReadYourWrites, product_id: UUID
                   ) -> ProductPage:
    page = await reads.product(catalog, seen, product_id)
    if page is None:
        raise HTTPException(404, f"There is no product {product_id}.")
    if page.product["currency"] != CURRENCY:
        raise HTTPException(409, f"The cart holds {CURRENCY}; that product is priced in "
                                 f"{page.product['currency']}.")
    return page


def _chosen(page: ProductPage, variant_id: UUID | None) -> VariantRow | None:
    """The variant chosen of the product: 422 if one is needed and missing, unknown, or
    given for a product without variants."""
    product = page.product
    variants = {row["id"]: row for row in page.variants}
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
async def get_cart(shopper: CartShopper, carts: CartsViewDep, catalog: CatalogViewDep,
                   orders: OrdersViewDep, seen: Seen) -> Cart:
    """The cart with unit prices, line totals, the item count, the subtotal, and the
    voucher's discount and the total after it."""
    return await _view(carts, catalog, orders, seen, shopper)


@router.post("/v1/cart/items", response_model=Cart,
             responses={404: {"description": "No such product"},
                        409: {"description": "More than in stock"}})
async def add_item(line: NewLine, shopper: CartShopper, bus: BusDep, carts: CartsViewDep,
                   catalog: CatalogViewDep, orders: OrdersViewDep, seen: Seen,
                   idempotency_key: IdempotencyKey = None) -> Cart:
    """Add a product (the chosen variant of one that has variants), or more of one
    already in the cart."""
    page = await _product(catalog, seen, line.product_id)
    product, variant = page.product, _chosen(page, line.variant_id)
    current = await reads.cart(carts, seen, shopper.cart_id, guest=shopper.user is None)
    held = current["items"].get(str(line.variant_id or line.product_id)) if current else None
    in_cart = held["quantity"] if held else 0
    stock = (variant or product)["stock"]
    if in_cart + line.quantity > stock:
        raise HTTPException(409, f"Only {stock} of {reads.item_label(product, variant)} "
                                 "in stock.")
    await execute(bus, AddCartItem(cart_id=UUID(shopper.cart_id), product_id=line.product_id,
                                   variant_id=line.variant_id, quantity=line.quantity),
                  actor=shopper.actor, seen=seen,
                  command_id=command_id(f"POST /v1/cart/items\n{shopper.cart_id}",
                                        idempotency_key))
    return await _view(carts, catalog, orders, seen, shopper)


@router.patch("/v1/cart/items/{item_id}", response_model=Cart,
              responses={404: {"description": "Not in the cart"},
                         409: {"description": "More than in stock"}})
async def change_item(item_id: UUID, change: LineChange, shopper: CartShopper, bus: BusDep,
                      carts: CartsViewDep, catalog: CatalogViewDep, orders: OrdersViewDep,
                      seen: Seen) -> Cart:
    """Set a line's quantity; 0 removes it. `item_id` is the line's `id`."""
    product_id, variant = await _item(catalog, seen, item_id)
    if change.quantity > 0:
        product = (await _product(catalog, seen, product_id)).product
        stock = (variant or product)["stock"]
        if change.quantity > stock:
            raise HTTPException(409, f"Only {stock} of {reads.item_label(product, variant)} "
                                     "in stock.")
    await execute(bus, SetCartItemQuantity(cart_id=UUID(shopper.cart_id), product_id=product_id,
                                           variant_id=variant["id"] if variant else None,
                                           quantity=change.quantity),
                  actor=shopper.actor, seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, shopper)


@router.delete("/v1/cart/items/{item_id}", response_model=Cart,
               responses={404: {"description": "Not in the cart"}})
async def remove_item(item_id: UUID, shopper: CartShopper, bus: BusDep,
                      carts: CartsViewDep, catalog: CatalogViewDep, orders: OrdersViewDep,
                      seen: Seen) -> Cart:
    """Take a line out of the cart. `item_id` is the line's `id`."""
    product_id, variant = await _item(catalog, seen, item_id)
    await execute(bus, RemoveCartItem(cart_id=UUID(shopper.cart_id), product_id=product_id,
                                      variant_id=variant["id"] if variant else None),
                  actor=shopper.actor, seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, shopper)


@router.post("/v1/cart/voucher", response_model=Cart,
             responses={422: {"description": "Unknown, expired, not yet valid, below the "
                                             "minimum, or used up (the reason in `detail`)"}})
async def apply_voucher(choice: VoucherChoice, shopper: CartShopper, bus: BusDep,
                        carts: CartsViewDep, catalog: CatalogViewDep, orders: OrdersViewDep,
                        seen: Seen) -> Cart:
    """Apply a voucher code to the cart: its discount shows at once, and the order takes
    it at checkout (where the voucher decides, exactly, whether a use is left)."""
    row = await reads.voucher(orders, seen, choice.code)
    if row is None:
        raise HTTPException(422, f"Unknown voucher code {choice.code}.")
    cart = await _view(carts, catalog, orders, seen, shopper)
    reason = voucher_refusal(row, cart.subtotal.amount) or used_up(
        row["code"], await orders.voucher_uses(row["code"]), row["usage_limit"],
        await orders.voucher_uses(row["code"], shopper.cart_id), row["per_customer_limit"])
    if reason is not None:
        raise HTTPException(422, reason)
    await execute(bus, ApplyCartVoucher(cart_id=UUID(shopper.cart_id), code=row["code"]),
                  actor=shopper.actor, seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, shopper)


@router.delete("/v1/cart/voucher", response_model=Cart)
async def remove_voucher(shopper: CartShopper, bus: BusDep, carts: CartsViewDep,
                         catalog: CatalogViewDep, orders: OrdersViewDep, seen: Seen) -> Cart:
    """Take the voucher code out of the cart."""
    await execute(bus, RemoveCartVoucher(cart_id=UUID(shopper.cart_id)), actor=shopper.actor,
                  seen=seen, command_id=uuid.uuid4())
    return await _view(carts, catalog, orders, seen, shopper)


def _merge_step(user_id: str, guest_cart: CartRow, what: str) -> UUID:
    """A merge step's command id: the same for a retry of the same merge (the guest cart
    at the same version), so a repeat moves nothing twice."""
    return command_id(f"POST /v1/cart/merge\n{user_id}",
                      f"{guest_cart['id']}\n{guest_cart['version']}\n{what}")


@router.post("/v1/cart/merge", response_model=Cart,
             responses={422: {"description": "No X-Cart-Token"}})
async def merge_cart(user: CurrentUser, bus: BusDep, carts: CartsViewDep,
                     catalog: CatalogViewDep, orders: OrdersViewDep, seen: Seen,
                     settings: SettingsDep, cart_token: CartTokenHeader = None) -> Cart:
    """Move a guest cart (its `X-Cart-Token`) into the signed-in user's cart: each line's
    quantity is added, within the cart's limits and the stock; the guest's voucher comes
    too if the user's cart has none. The guest cart is left empty, so a repeat adds
    nothing."""
    if cart_token is None:
        raise _unprocessable_header()
    mine = Shopper(user.user_id, user)
    guest_id = str(guest_tokens.guest_cart_id(settings, cart_token))
    guest, lines = await reads.cart_lines(carts, catalog, seen, guest_id, guest=True)
    if guest is None or (not guest["items"] and guest["voucher"] is None):
        return await _view(carts, catalog, orders, seen, mine)
    held = await reads.cart(carts, seen, user.user_id, guest=False)
    held_items = held["items"] if held else {}
    room = MAX_LINES - len(held_items)
    for line in lines:
        if line.product is None:
            continue  # no longer sold
        in_cart = held_items[line.id]["quantity"] if line.id in held_items else 0
        if in_cart == 0 and room <= 0:
            continue
        quantity = min(line.quantity, MAX_QUANTITY - in_cart, line.stock - in_cart)
        if quantity <= 0:
            continue
        room -= in_cart == 0
        await execute(bus, AddCartItem(
            cart_id=UUID(user.user_id), product_id=line.product["id"],
            variant_id=line.variant["id"] if line.variant else None, quantity=quantity),
            actor=user.user_id, seen=seen, command_id=_merge_step(user.user_id, guest, line.id))
    if guest["voucher"] is not None and (held is None or held["voucher"] is None):
        await execute(bus, ApplyCartVoucher(cart_id=UUID(user.user_id), code=guest["voucher"]),
                      actor=user.user_id, seen=seen,
                      command_id=_merge_step(user.user_id, guest, "voucher"))
    await execute(bus, ClearCart(cart_id=UUID(guest_id)), actor=user.user_id, seen=seen,
                  command_id=_merge_step(user.user_id, guest, "clear"))
    if guest["voucher"] is not None:
        await execute(bus, RemoveCartVoucher(cart_id=UUID(guest_id)), actor=user.user_id,
                      seen=seen, command_id=_merge_step(user.user_id, guest, "voucher off"))
    return await _view(carts, catalog, orders, seen, mine)


def _unprocessable_header() -> RequestValidationError:
    return RequestValidationError([{"loc": ("header", guest_tokens.CART_TOKEN),
                                    "type": "missing", "msg": "The guest's cart token is "
                                                              "required."}])
