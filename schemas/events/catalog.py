"""Facts of the catalog service."""

from __future__ import annotations

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
    stock: Annotated[int, Field(ge=0)] = 0


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


class StockAdjusted(Event):
    product_id: UUID
    delta: int
    available: Annotated[int, Field(ge=0)]


class StockReserved(Event):
    """`quantity` set aside for an order; `available` is what is left to sell."""

    product_id: UUID
    order_id: UUID
    quantity: Annotated[int, Field(ge=1)]
    available: Annotated[int, Field(ge=0)]


class StockReservationRejected(Event):
    """Not enough stock (or no such product) for an order's line."""

    product_id: UUID
    order_id: UUID
    requested: Annotated[int, Field(ge=1)]
    available: Annotated[int, Field(ge=0)]
    reason: Annotated[str, Field(max_length=500)]


class StockReleased(Event):
    """An order's reservation went back on sale (the order was cancelled).

    `quantity` is 0 when the order held none here: the product still remembers the
    order, so a reservation for it that arrives later is refused.
    """

    product_id: UUID
    order_id: UUID
    quantity: Annotated[int, Field(ge=0)]
    available: Annotated[int, Field(ge=0)]
