"""Facts of the catalog service.

A product may come in variants (a size, a colour): each names one value of every
option of its product and has its own SKU, price and stock. Stock events keep
`quantity` and `available` for the whole product and, for a product with
variants, list each variant they moved in `variants`.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.messages import Event
from schemas.money import Money

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Image(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    alt: Annotated[str, Field(max_length=300)] = ""


class Option(BaseModel):
    """A way a product varies (\"Size\") and the values it comes in, in their order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    values: list[Annotated[str, Field(min_length=1, max_length=100)]]


class Variant(BaseModel):
    """One sellable version of a product: a value of each of its options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    options: dict[str, str]
    price: Money
    stock: Annotated[int, Field(ge=0)] = 0


def variant_id_for(product_id: UUID, sku: str) -> UUID:
    """A variant's id: derived, so a retried creation makes the same ids."""
    return uuid.uuid5(product_id, f"variant:{sku}")


def options_label(options: dict[str, str]) -> str:
    """How a variant is shown to people: "Size: M, Colour: Red"."""
    return ", ".join(f"{name}: {value}" for name, value in options.items())


class VariantStock(BaseModel):
    """One variant's part of a stock event: what moved (the event's own quantity: the
    delta, reserved, requested or released) and what is left to sell of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    variant_id: UUID
    quantity: int
    available: Annotated[int, Field(ge=0)]


class CategoryCreated(Event):
    category_id: UUID
    slug: Slug
    name: Name
    parent_id: UUID | None = None


class ProductCreated(Event):
    product_id: UUID
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    name: Name
    slug: Slug
    description: Annotated[str, Field(max_length=20_000)] = ""
    category_id: UUID
    price: Money
    images: list[Image] = []
    specifications: dict[str, str] = {}
    # The sum of the variants' stock for a product with variants.
    stock: Annotated[int, Field(ge=0)] = 0
    options: list[Option] = []
    variants: list[Variant] = []


class ProductChanged(Event):
    """Only the fields that changed are present."""

    product_id: UUID
    name: Name | None = None
    slug: Slug | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    category_id: UUID | None = None
    price: Money | None = None
    images: list[Image] | None = None
    specifications: dict[str, str] | None = None


class VariantChanged(Event):
    """A variant's price changed."""

    product_id: UUID
    variant_id: UUID
    price: Money


class StockAdjusted(Event):
    product_id: UUID
    delta: int
    available: Annotated[int, Field(ge=0)]
    variants: list[VariantStock] = []


class StockReserved(Event):
    """`quantity` set aside for an order; `available` is what is left to sell."""

    product_id: UUID
    order_id: UUID
    quantity: Annotated[int, Field(ge=1)]
    available: Annotated[int, Field(ge=0)]
    variants: list[VariantStock] = []


class StockReservationRejected(Event):
    """Not enough stock (or no such product) for an order's line."""

    product_id: UUID
    order_id: UUID
    requested: Annotated[int, Field(ge=1)]
    available: Annotated[int, Field(ge=0)]
    reason: Annotated[str, Field(max_length=500)]
    # What was asked of each variant and what each had.
    variants: list[VariantStock] = []


class StockReleased(Event):
    """An order's reservation went back on sale (the order was cancelled).

    `quantity` is 0 when the order held none here: the product still remembers the
    order, so a reservation for it that arrives later is refused.
    """

    product_id: UUID
    order_id: UUID
    quantity: Annotated[int, Field(ge=0)]
    available: Annotated[int, Field(ge=0)]
    variants: list[VariantStock] = []


class StockReturned(Event):
    """A return's units came back on sale."""

    product_id: UUID
    order_id: UUID
    return_id: UUID
    quantity: Annotated[int, Field(ge=1)]
    available: Annotated[int, Field(ge=0)]
    variants: list[VariantStock] = []
