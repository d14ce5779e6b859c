"""Reads of the catalog model: categories, products and their variants by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import select

from projections.catalog import CatalogProjection
from projections.views import MySQLView


class CategoryRow(TypedDict):
    id: str
    slug: str
    name: str
    parent_id: str | None
    created_at: datetime
    version: int


class ProductRow(TypedDict):
    id: str
    sku: str
    name: str
    slug: str
    description: str
    category_id: str
    price_amount: int
    currency: str
    images: list[Any]
    specifications: dict[str, str]
    stock: int
    created_at: datetime
    updated_at: datetime
    version: int


class OptionRow(TypedDict):
    name: str
    values: list[str]


class VariantRow(TypedDict):
    id: str
    product_id: str
    position: int
    sku: str
    options: dict[str, str]
    price_amount: int
    currency: str
    stock: int
    version: int


class CatalogView(MySQLView):
    projection = CatalogProjection

    # Categories never change once created (no event does), so a category found once is
    # kept: every product write checks its category, and need not ask MySQL each time.
    KEPT_CATEGORIES = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._categories: dict[str, CategoryRow] = {}

    async def categories(self) -> list[CategoryRow]:
        table = self.tables["categories"]
        return await self._all(select(table).order_by(table.c.name))

    async def category(self, category_id: str) -> CategoryRow | None:
        if (kept := self._categories.get(category_id)) is not None:
            return kept
        found = await self._one("categories", self.tables["categories"].c.id == category_id)
        if found is not None and len(self._categories) < self.KEPT_CATEGORIES:
            self._categories[category_id] = found
        return found

    async def product(self, product_id: str) -> ProductRow | None:
        return await self._one("products", self.tables["products"].c.id == product_id)

    async def products(self, product_ids: list[str]) -> dict[str, ProductRow]:
        """The given products by id; missing ones are left out."""
        if not product_ids:
            return {}
        table = self.tables["products"]
        return {row["id"]: row
                for row in await self._all(select(table).where(table.c.id.in_(product_ids)))}

    async def options(self, product_id: str) -> list[OptionRow]:
        """A product's options, in their order; empty for a product without variants."""
        found = await self._one("product_options",
                                self.tables["product_options"].c.id == product_id)
        return found["options"] if found else []

    async def variants(self, product_id: str) -> list[VariantRow]:
        """A product's variants in the order they were given; empty without variants."""
        table = self.tables["product_variants"]
        return await self._all(select(table).where(table.c.product_id == product_id)
                               .order_by(table.c.position))

    async def variants_by_id(self, variant_ids: list[str]) -> dict[str, VariantRow]:
        """The given variants by id; unknown ones are left out."""
        if not variant_ids:
            return {}
        table = self.tables["product_variants"]
        return {row["id"]: row
                for row in await self._all(select(table).where(table.c.id.in_(variant_ids)))}
