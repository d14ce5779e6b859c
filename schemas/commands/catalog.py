"""Requests to the catalog service."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from schemas.events.catalog import Image, Name, Slug
from schemas.messages import Command
from schemas.money import Money


class _CatalogCommand(Command):
    service: ClassVar[str] = "catalog"


class CreateCategory(_CatalogCommand):
    category_id: UUID
    slug: Slug
    name: Name
    parent_id: UUID | None = None

    @property
    def aggregate_key(self) -> str:
        return str(self.category_id)


class CreateProduct(_CatalogCommand):
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

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)


class ChangeProduct(_CatalogCommand):
    """Change the given fields; absent fields stay as they are."""

    product_id: UUID
    name: Name | None = None
    slug: Slug | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    category_id: UUID | None = None
    price: Money | None = None
    images: list[Image] | None = None
    specifications: dict[str, str] | None = None

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)


class SetStock(_CatalogCommand):
    product_id: UUID
    available: Annotated[int, Field(ge=0, le=10_000_000)]

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)


class ReserveStock(_CatalogCommand):
    """Set `quantity` aside for an order; answered by an event either way."""

    product_id: UUID
    order_id: UUID
    quantity: Annotated[int, Field(ge=1, le=99)]

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)


class ReleaseStock(_CatalogCommand):
    """Put an order's reservation back on sale; nothing if it holds none."""

    product_id: UUID
    order_id: UUID

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)
