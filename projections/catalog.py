"""The catalog read model in MySQL: categories and products with price and stock.

A product with variants has its options in `product_options` and a row per variant,
with its price and stock, in `product_variants` (tables of their own, so a live
model from before variants gains them without changing `products`); the product's
`stock` is their sum.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, Text
from sqlalchemy.dialects.mysql import DATETIME

from schemas.records import Record
from projections.mysql import Fact, MySQLProjection, Write, insert_row, update_row
from schemas.events.catalog import (
    CategoryCreated,
    ProductChanged,
    ProductCreated,
    StockAdjusted,
    StockReleased,
    StockReserved,
    StockReturned,
    VariantChanged,
)
from schemas.topics import CATALOG


def categories_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("slug", String(120), nullable=False, index=True),
        Column("name", String(200), nullable=False),
        Column("parent_id", String(36), index=True),
        Column("created_at", DATETIME(fsp=6), nullable=False),
        Column("version", Integer, nullable=False),
    )


def products_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("sku", String(64), nullable=False, index=True),
        Column("name", String(200), nullable=False),
        Column("slug", String(120), nullable=False),
        Column("description", Text, nullable=False),
        Column("category_id", String(36), nullable=False, index=True),
        Column("price_amount", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("images", JSON, nullable=False),
        Column("specifications", JSON, nullable=False),
        Column("stock", Integer, nullable=False),
        Column("created_at", DATETIME(fsp=6), nullable=False),
        Column("updated_at", DATETIME(fsp=6), nullable=False),
        Column("version", Integer, nullable=False),
    )


def options_table(metadata: MetaData, name: str) -> Table:
    """A product's options, by product id: [{name, values}]."""
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("options", JSON, nullable=False),
        Column("version", Integer, nullable=False),
    )


def variants_table(metadata: MetaData, name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("product_id", String(36), nullable=False, index=True),
        Column("position", Integer, nullable=False),
        Column("sku", String(64), nullable=False),
        Column("options", JSON, nullable=False),
        Column("price_amount", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("stock", Integer, nullable=False),
        Column("version", Integer, nullable=False),
    )


class CatalogProjection(MySQLProjection):
    name = "catalog"
    topics = (CATALOG.events.name,)
    table_factories = {"categories": categories_table, "products": products_table,
                       "product_options": options_table, "product_variants": variants_table}

    async def writes_for(self, record: Record) -> list[Write]:
        event, at, version = Fact.of(record)
        categories, products = self.tables["categories"], self.tables["products"]
        variants = self.tables["product_variants"]
        match event:
            case CategoryCreated():
                return [insert_row(categories, id=str(event.category_id), slug=event.slug,
                                   name=event.name, created_at=at, version=version,
                                   parent_id=str(event.parent_id) if event.parent_id else None)]
            case ProductCreated():
                return [insert_row(products, id=str(event.product_id), sku=event.sku,
                                   name=event.name, slug=event.slug,
                                   description=event.description,
                                   category_id=str(event.category_id),
                                   price_amount=event.price.amount,
                                   currency=event.price.currency,
                                   images=[i.model_dump() for i in event.images],
                                   specifications=event.specifications, stock=event.stock,
                                   created_at=at, updated_at=at, version=version),
                        *([insert_row(self.tables["product_options"], id=str(event.product_id),
                                      options=[o.model_dump() for o in event.options],
                                      version=version)] if event.options else []),
                        *(insert_row(variants, id=str(v.id), product_id=str(event.product_id),
                                     position=position, sku=v.sku, options=v.options,
                                     price_amount=v.price.amount, currency=v.price.currency,
                                     stock=v.stock, version=version)
                          for position, v in enumerate(event.variants))]
            case ProductChanged():
                changes = event.model_dump(exclude_none=True, exclude={"product_id", "price"})
                if "category_id" in changes:
                    changes["category_id"] = str(changes["category_id"])
                if event.price is not None:
                    changes |= {"price_amount": event.price.amount,
                                "currency": event.price.currency}
                return [update_row(products, str(event.product_id), version, updated_at=at,
                                   **changes)]
            case VariantChanged():
                return [update_row(products, str(event.product_id), version, updated_at=at),
                        update_row(variants, str(event.variant_id), version,
                                   price_amount=event.price.amount,
                                   currency=event.price.currency)]
            case StockAdjusted() | StockReserved() | StockReleased() | StockReturned():
                return [update_row(products, str(event.product_id), version, updated_at=at,
                                   stock=event.available),
                        *(update_row(variants, str(v.variant_id), version, stock=v.available)
                          for v in event.variants)]
        return []

