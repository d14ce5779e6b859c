"""Reads of the catalog model: categories, products and their variants by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, TypedDict

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


class ProductPage(NamedTuple):
    """A product with its options and variants (both empty for a product without)."""

    product: ProductRow
    options: list[OptionRow]
    variants: list[VariantRow]


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

    async def product(self, product_id: str) -> ProductPage | None:
        """The product with its options and variants, in one statement: one round trip,
        and all of it as of one moment (no variant newer than its product)."""
        products, options, variants = (self.tables[name] for name in (
            "products", "product_options", "product_variants"))
        found = await self._all(
            select(products, options.c.options.label("option_list"),
                   *(column.label(f"variant_{column.name}") for column in variants.c))
            .select_from(products
                         .outerjoin(options, options.c.id == products.c.id)
                         .outerjoin(variants, variants.c.product_id == products.c.id))
            .where(products.c.id == product_id))
        if not found:
            return None
        # Sorted here: ORDER BY in the join costs MariaDB a temporary table per page.
        listed = sorted(({column.name: row[f"variant_{column.name}"] for column in variants.c}
                         for row in found if row["variant_id"] is not None),
                        key=lambda variant: variant["position"])
        return ProductPage(product={column.name: found[0][column.name]  # type: ignore[misc]
                                    for column in products.c},
                           options=(found[0]["option_list"] or []) if listed else [],
                           variants=listed)  # type: ignore[arg-type]

    async def products(self, product_ids: list[str]) -> dict[str, ProductRow]:
        """The given products by id; missing ones are left out."""
        if not product_ids:
            return {}
        table = self.tables["products"]
        return {row["id"]: row
                for row in await self._all(select(table).where(table.c.id.in_(product_ids)))}

    async def variants_by_id(self, variant_ids: list[str]) -> dict[str, VariantRow]:
        """The given variants by id; unknown ones are left out."""
        if not variant_ids:
            return {}
        table = self.tables["product_variants"]
        return {row["id"]: row
                for row in await self._all(select(table).where(table.c.id.in_(variant_ids)))}
