"""The signed-in shopper's cart: lines with current prices, quantities and totals.

Lines are read from the carts model (Redis, then MongoDB); names, prices and
stock come from the catalog at read time, so a price change shows at once.
Whether a product exists and is in stock is checked here against the catalog.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api.commands import command_id, execute
from api.consistency import ReadYourWrites
from api.deps import BusDep, CurrentUser, IdempotencyKey, ProjectionsDep, Seen
from schemas.commands.cart import AddCartItem, RemoveCartItem, SetCartItemQuantity
from schemas.money import CURRENCY, Money
from schemas.topics import CATALOG

router = APIRouter(tags=["cart"])


class CartLine(BaseModel):
    product_id: UUID
    name: str
    unit_price: Money
    quantity: int
    line_total: Money
    available: int


class Cart(BaseModel):
    id: UUID
    items: list[CartLine]
    item_count: int
    subtotal: Money
    currency: str
    updated_at: datetime | None


class NewLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: UUID
    quantity: Annotated[int, Field(ge=1, le=99)] = 1


class LineChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Annotated[int, Field(ge=0, le=99, description="0 removes the line.")]


async def cart_lines(projections, seen: ReadYourWrites, user_id: str
                     ) -> tuple[dict, list[tuple[str, int, dict | None]]]:
    """The stored cart, once it shows the caller's writes, and its lines in the order they
    were added: (product id, quantity, the product as the catalog shows it now, or None
    once it is no longer sold)."""
    await seen.wait(projections["carts"])
    stored = await projections["carts"].find(user_id) or {"items": {}, "updated_at": None}
    wanted = sorted(stored["items"].items(), key=lambda kv: kv[1].get("added_at") or "")
    products = await projections["catalog"].products([product_id for product_id, _ in wanted])
    return stored, [(product_id, line["quantity"], products.get(product_id))
                    for product_id, line in wanted]


async def _view(projections, seen: ReadYourWrites, user_id: str) -> Cart:
    stored, lines = await cart_lines(projections, seen, user_id)
    items = []
    for product_id, quantity, product in lines:
        if product is None:
            continue  # no longer sold: not part of the cart's total
        price = product["price_amount"]
        items.append(CartLine(
            product_id=product_id, name=product["name"],
            unit_price=Money(amount=price, currency=product["currency"]), quantity=quantity,
            line_total=Money(amount=price * quantity, currency=product["currency"]),
            available=product["stock"]))
    subtotal = sum(line.line_total.amount for line in items)
    return Cart(id=user_id, items=items, item_count=sum(line.quantity for line in items),
                subtotal=Money(amount=subtotal, currency=CURRENCY), currency=CURRENCY,
                updated_at=stored["updated_at"])


async def _product(projections, seen: ReadYourWrites, product_id: UUID) -> dict:
    catalog, key = projections["catalog"], str(product_id)
    product = await seen.found(catalog, lambda: catalog.product(key),
                               topic=CATALOG.events.name, key=key)
    if product is None:
        raise HTTPException(404, f"There is no product {product_id}.")
    if product["currency"] != CURRENCY:
        raise HTTPException(409, f"The cart holds {CURRENCY}; that product is priced in "
                                 f"{product['currency']}.")
    return product


@router.get("/v1/cart", response_model=Cart)
async def get_cart(user: CurrentUser, projections: ProjectionsDep, seen: Seen) -> Cart:
    """The cart with unit prices, line totals, the item count and the subtotal."""
    return await _view(projections, seen, user.user_id)


@router.post("/v1/cart/items", response_model=Cart,
             responses={404: {"description": "No such product"},
                        409: {"description": "More than in stock"}})
async def add_item(line: NewLine, user: CurrentUser, bus: BusDep, projections: ProjectionsDep,
                   seen: Seen, idempotency_key: IdempotencyKey = None) -> Cart:
    """Add a product, or more of one already in the cart."""
    product = await _product(projections, seen, line.product_id)
    await seen.wait(projections["carts"])
    current = await projections["carts"].find(user.user_id) or {"items": {}}
    in_cart = current["items"].get(str(line.product_id), {}).get("quantity", 0)
    if in_cart + line.quantity > product["stock"]:
        raise HTTPException(409, f"Only {product['stock']} of {product['name']} in stock.")
    await execute(bus, AddCartItem(cart_id=UUID(user.user_id), product_id=line.product_id,
                                   quantity=line.quantity),
                  actor=user.user_id, seen=seen,
                  command_id=command_id(f"POST /v1/cart/items\n{user.user_id}", idempotency_key))
    return await _view(projections, seen, user.user_id)


@router.patch("/v1/cart/items/{product_id}", response_model=Cart,
              responses={404: {"description": "Not in the cart"},
                         409: {"description": "More than in stock"}})
async def change_item(product_id: UUID, change: LineChange, user: CurrentUser, bus: BusDep,
                      projections: ProjectionsDep, seen: Seen) -> Cart:
    """Set a line's quantity; 0 removes it."""
    if change.quantity > 0:
        product = await _product(projections, seen, product_id)
        if change.quantity > product["stock"]:
            raise HTTPException(409, f"Only {product['stock']} of {product['name']} in stock.")
    await execute(bus, SetCartItemQuantity(cart_id=UUID(user.user_id), product_id=product_id,
                                           quantity=change.quantity),
                  actor=user.user_id, seen=seen, command_id=uuid.uuid4())
    return await _view(projections, seen, user.user_id)


@router.delete("/v1/cart/items/{product_id}", response_model=Cart,
               responses={404: {"description": "Not in the cart"}})
async def remove_item(product_id: UUID, user: CurrentUser, bus: BusDep,
                      projections: ProjectionsDep, seen: Seen) -> Cart:
    """Take a product out of the cart."""
    await execute(bus, RemoveCartItem(cart_id=UUID(user.user_id), product_id=product_id),
                  actor=user.user_id, seen=seen, command_id=uuid.uuid4())
    return await _view(projections, seen, user.user_id)
