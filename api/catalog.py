"""The catalog: categories and product pages for everyone, changes for admins.

A product may come in variants (sizes, colours): `options` name the ways it varies
and their values, and each variant names one value of every option, with its own
SKU, price and stock.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from elasticsearch import BadRequestError, NotFoundError
from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from api import cursors, reads
from api.commands import command_id, derived_id, execute
from api.consistency import ReadYourWrites
from api.deps import Admin, BusDep, CatalogViewDep, IdempotencyKey, SearchViewDep, Seen
from projections.catalog_views import CatalogView, CategoryRow, ProductPage, VariantRow
from projections.search_views import SearchView
from projections.search_queries import Page, ProductQuery
from schemas.commands.catalog import (
    MAX_OPTION_VALUES,
    MAX_OPTIONS,
    MAX_VARIANTS,
    ChangeProduct,
    ChangeVariant,
    CreateCategory,
    CreateProduct,
    SetStock,
    variants_problem,
)
from schemas.events.catalog import Image, Slug, variant_id_for
from schemas.money import Money, Price
from schemas.values import Caption, Label, Name, Sku, Text, Url, Value

router = APIRouter(tags=["catalog"])


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:120] or "item"


class Category(BaseModel):
    id: UUID
    slug: str
    name: str
    parent_id: UUID | None
    children: list[Category] = []


class NewCategory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    slug: Slug | None = None
    parent_id: UUID | None = None


class CategoryRef(BaseModel):
    id: UUID
    slug: str
    name: str


class Stock(BaseModel):
    available: int


class Option(BaseModel):
    name: str
    values: list[str]


class Variant(BaseModel):
    id: UUID
    sku: str
    options: dict[str, str]
    price: Money
    stock: Stock


class Product(BaseModel):
    id: UUID
    sku: str
    name: str
    slug: str
    description: str
    category: CategoryRef | None
    price: Money
    images: list[Image]
    specifications: dict[str, str]
    stock: Stock = Field(description="For a product with variants, the sum of theirs.")
    options: list[Option] = Field(description="The ways the product varies, e.g. Size: S, "
                                              "M, L; empty for a product without variants.")
    variants: list[Variant]
    created_at: datetime
    updated_at: datetime


class ProductSummary(BaseModel):
    id: UUID
    name: str
    slug: str
    price: Money
    image: Image | None = Field(description="The first image, if any.")
    category: CategoryRef | None


class ProductList(BaseModel):
    items: list[ProductSummary]
    next_cursor: cursors.NextCursor


Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=2000,
                                     description="The `next_cursor` of the previous page.")]
CategorySort = Literal["price_asc", "price_desc", "newest", "name"]


def summary(document: dict[str, Any]) -> ProductSummary:
    """A product summary from its search document."""
    images = document.get("images") or []
    category = (CategoryRef(id=document["category_id"], slug=document["category_slug"],
                            name=document["category_name"])
                if document.get("category_slug") else None)
    return ProductSummary(id=document["id"], name=document["name"], slug=document["slug"],
                          price=Money(amount=document["price_amount"],
                                      currency=document["currency"]),
                          image=Image(**images[0]) if images else None, category=category)


async def search_page(search: SearchView, query: ProductQuery) -> Page:
    """Run a product query; 503 while the search model is being built."""
    try:
        return await search.search(query)
    except NotFoundError as error:
        raise HTTPException(503, "Search is being rebuilt; retry shortly.",
                            headers={"Retry-After": "5"}) from error
    except BadRequestError as error:
        if query.after is None:
            raise
        # A hand-made cursor whose values do not fit the sort.
        raise RequestValidationError([{"loc": ("query", "cursor"), "type": "value_error",
                                       "msg": "The cursor does not fit this sort."}]) from error


async def subtree_ids(search: SearchView, slug: str) -> tuple[str, ...]:
    """The ids of the category with this slug and its descendants; 404 if there is none."""
    try:
        categories = await search.subtree(slug)
    except NotFoundError as error:
        raise HTTPException(503, "Search is being rebuilt; retry shortly.",
                            headers={"Retry-After": "5"}) from error
    if not categories:
        raise HTTPException(404, f"There is no category {slug!r}.")
    return tuple(sorted(c["id"] for c in categories))


class NewImage(Image):
    """An image as an admin gives it: a web link and its alternative text."""

    url: Url
    alt: Caption = ""


Images = Annotated[list[NewImage], Field(max_length=20)]
Specifications = Annotated[dict[Label, Value], Field(max_length=50)]
StockLevel = Annotated[int, Field(ge=0, le=10_000_000)]


def _no_colon(name: str) -> str:
    if ":" in name:
        raise ValueError('must not hold ":" (search filters read "name:value")')
    return name


OptionName = Annotated[Label, Field(max_length=50), AfterValidator(_no_colon)]
OptionValue = Annotated[Label, Field(max_length=50)]


class NewOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: OptionName
    values: Annotated[list[OptionValue], Field(min_length=1, max_length=MAX_OPTION_VALUES)]


class NewVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    options: Annotated[dict[OptionName, OptionValue], Field(
        max_length=MAX_OPTIONS, description="One value of every option, e.g. {\"Size\": \"M\"}.")]
    price: Price | None = Field(default=None, description="The product's price when absent.")
    stock: StockLevel = 0


class NewProduct(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Name
    slug: Slug | None = None
    description: Text = ""
    category_id: UUID
    price: Price
    images: Images = []
    specifications: Specifications = {}
    stock: Annotated[StockLevel, Field(description=(
        "For a product without variants; one with variants has its variants' stock."))] = 0
    options: Annotated[list[NewOption], Field(max_length=MAX_OPTIONS)] = []
    variants: Annotated[list[NewVariant], Field(max_length=MAX_VARIANTS)] = []

    @model_validator(mode="after")
    def _variants_fit_options(self) -> NewProduct:
        if (problem := variants_problem(self.options, self.variants)) is not None:
            raise ValueError(problem)
        return self


class VariantChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: Price | None = None
    stock: StockLevel | None = None


class ProductChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    slug: Slug | None = None
    description: Text | None = None
    category_id: UUID | None = None
    price: Price | None = None
    images: Images | None = None
    specifications: Specifications | None = None
    stock: StockLevel | None = None


def _variant_view(row: VariantRow) -> Variant:
    return Variant(id=row["id"], sku=row["sku"], options=row["options"],
                   price=Money(amount=row["price_amount"], currency=row["currency"]),
                   stock=Stock(available=row["stock"]))


async def _product_view(catalog: CatalogView, page: ProductPage) -> Product:
    row, options, variants = page
    category = await catalog.category(row["category_id"])
    return Product(
        id=row["id"], sku=row["sku"], name=row["name"], slug=row["slug"],
        description=row["description"],
        category=CategoryRef(id=category["id"], slug=category["slug"], name=category["name"])
        if category else None,
        price=Money(amount=row["price_amount"], currency=row["currency"]),
        images=row["images"], specifications=row["specifications"],
        stock=Stock(available=row["stock"]), options=options,
        variants=[_variant_view(v) for v in variants], created_at=row["created_at"],
        updated_at=row["updated_at"])


async def _require_category(catalog: CatalogView, seen: ReadYourWrites,
                            category_id: UUID | None) -> CategoryRow | None:
    """The category, or 422 if an id is given that names none."""
    if category_id is None:
        return None
    category = await reads.category(catalog, seen, category_id)
    if category is None:
        raise HTTPException(422, f"There is no category {category_id}.")
    return category


async def _shown(catalog: CatalogView, seen: ReadYourWrites, product_id: UUID) -> Product:
    """The product as the catalog view shows it, or 404."""
    page = await reads.product(catalog, seen, product_id)
    if page is None:
        raise HTTPException(404, f"There is no product {product_id}.")
    return await _product_view(catalog, page)


@router.get("/v1/categories", response_model=list[Category])
async def categories(catalog: CatalogViewDep, seen: Seen) -> list[Category]:
    """Every category as a tree."""
    await seen.wait(catalog)
    rows = await catalog.categories()  # type: ignore[attr-defined]
    nodes = {r["id"]: Category(id=r["id"], slug=r["slug"], name=r["name"],
                               parent_id=r["parent_id"]) for r in rows}
    roots = []
    for row in rows:
        node = nodes[row["id"]]
        parent = nodes.get(row["parent_id"]) if row["parent_id"] else None
        (parent.children if parent else roots).append(node)
    return roots


@router.get("/v1/categories/{slug}/products", response_model=ProductList,
            responses={404: {"description": "No such category"}})
async def category_products(
    slug: Annotated[str, Path(max_length=120)], search: SearchViewDep, seen: Seen,
    sort: CategorySort = "newest", limit: Limit = 20, cursor: Cursor = None,
) -> ProductList:
    """The products of a category and of all its subcategories, a page at a time.

    `sort`: `newest` first (default), `price_asc`, `price_desc` or `name`; ties are
    broken by product id, so paging with `cursor` never repeats or skips a product.
    """
    query_print = cursors.fingerprint("category", slug, sort)
    after = cursors.decode(cursor, query_print)
    await seen.wait(search)
    page = await search_page(search, ProductQuery(
        category_ids=await subtree_ids(search, slug), sort=sort, limit=limit, after=after))
    return ProductList(
        items=[summary(d) for d in page.items],
        next_cursor=cursors.encode(page.next_after, query_print) if page.next_after else None)


@router.get("/v1/products/{product_id}", response_model=Product,
            responses={404: {"description": "No such product"}})
async def product(product_id: UUID, catalog: CatalogViewDep, seen: Seen) -> Product:
    """A product page: description, images, specifications, price and stock, and its
    options and variants (each with its price and stock) if it has any."""
    return await _shown(catalog, seen, product_id)


@router.post("/v1/admin/categories", status_code=201, response_model=Category)
async def create_category(form: NewCategory, admin: Admin, bus: BusDep,
                          catalog: CatalogViewDep, seen: Seen,
                          idempotency_key: IdempotencyKey = None) -> Category:
    """Create a category, optionally under a parent."""
    await _require_category(catalog, seen, form.parent_id)
    command = command_id(f"POST /v1/admin/categories\n{admin.user_id}", idempotency_key)
    category_id = derived_id(command, "category")
    slug = form.slug or slugify(form.name)
    await execute(bus, CreateCategory(category_id=category_id, slug=slug, name=form.name,
                                      parent_id=form.parent_id),
                  actor=admin.user_id, command_id=command, seen=seen)
    return Category(id=category_id, slug=slug, name=form.name, parent_id=form.parent_id)


@router.post("/v1/admin/products", status_code=201, response_model=Product)
async def create_product(form: NewProduct, admin: Admin, bus: BusDep,
                         catalog: CatalogViewDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> Product:
    """Create a product in a category, with its price and stock, or with options and
    variants (each with its SKU, stock and, if it differs from the product's, price)."""
    category = await _require_category(catalog, seen, form.category_id)
    assert category is not None
    command = command_id(f"POST /v1/admin/products\n{admin.user_id}", idempotency_key)
    product_id = derived_id(command, "product")
    slug = form.slug or slugify(form.name)
    issued_at = datetime.now(UTC)
    reply = await execute(bus, CreateProduct(product_id=product_id, slug=slug,
                                             **form.model_dump(exclude={"slug"})),
                          actor=admin.user_id, command_id=command, seen=seen,
                          issued_at=issued_at)
    if reply.status == "duplicate":
        # A retry: the product exists, and may have changed since; show it as it is now.
        return await _shown(catalog, seen, product_id)
    # The command holds the whole new product: no need to wait for the read model.
    variants = [Variant(id=variant_id_for(product_id, v.sku), sku=v.sku, options=v.options,
                        price=v.price or form.price, stock=Stock(available=v.stock))
                for v in form.variants]
    stock = sum(v.stock.available for v in variants) if variants else form.stock
    return Product(id=product_id, sku=form.sku, name=form.name, slug=slug,
                   description=form.description,
                   category=CategoryRef(id=category["id"], slug=category["slug"],
                                        name=category["name"]),
                   price=form.price, images=form.images, specifications=form.specifications,
                   stock=Stock(available=stock),
                   options=[Option(**o.model_dump()) for o in form.options],
                   variants=variants, created_at=issued_at, updated_at=issued_at)


@router.patch("/v1/admin/products/{product_id}", response_model=Product)
async def change_product(product_id: UUID, changes: ProductChanges, admin: Admin,
                         bus: BusDep, catalog: CatalogViewDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> Product:
    """Change a product's details, price or stock; absent fields stay as they are.

    A product with variants has no stock of its own: set each variant's at
    `/v1/admin/products/{id}/variants/{variant_id}`."""
    await _require_category(catalog, seen, changes.category_id)
    if changes.stock is not None and await _has_variants(catalog, seen, product_id):
        raise RequestValidationError([{
            "loc": ("body", "stock"), "type": "value_error",
            "msg": "This product comes in variants: set the stock of each variant."}])
    scope = f"PATCH /v1/admin/products/{product_id}\n{admin.user_id}"
    command = command_id(scope, idempotency_key)
    details = changes.model_dump(exclude_none=True, exclude={"stock"})
    await execute(bus, ChangeProduct(product_id=product_id, **details),
                  actor=admin.user_id, command_id=command, seen=seen)
    if changes.stock is not None:
        await execute(bus, SetStock(product_id=product_id, available=changes.stock),
                      actor=admin.user_id, command_id=derived_id(command, "stock"),
                      seen=seen)
    return await _shown(catalog, seen, product_id)


async def _has_variants(catalog: CatalogView, seen: ReadYourWrites, product_id: UUID) -> bool:
    page = await reads.product(catalog, seen, product_id)
    return page is not None and bool(page.variants)


@router.patch("/v1/admin/products/{product_id}/variants/{variant_id}", response_model=Product,
              responses={404: {"description": "No such product or variant"}})
async def change_variant(product_id: UUID, variant_id: UUID, changes: VariantChanges,
                         admin: Admin, bus: BusDep, catalog: CatalogViewDep, seen: Seen,
                         idempotency_key: IdempotencyKey = None) -> Product:
    """Change a variant's price or stock; absent fields stay as they are."""
    page = await reads.product(catalog, seen, product_id)
    if page is None:
        raise HTTPException(404, f"There is no product {product_id}.")
    if str(variant_id) not in {variant["id"] for variant in page.variants}:
        raise HTTPException(404, f"The product {product_id} has no variant {variant_id}.")
    scope = f"PATCH /v1/admin/products/{product_id}/variants/{variant_id}\n{admin.user_id}"
    command = command_id(scope, idempotency_key)
    if changes.price is not None:
        await execute(bus, ChangeVariant(product_id=product_id, variant_id=variant_id,
                                         price=changes.price),
                      actor=admin.user_id, command_id=command, seen=seen)
    if changes.stock is not None:
        await execute(bus, SetStock(product_id=product_id, variant_id=variant_id,
                                    available=changes.stock),
                      actor=admin.user_id, command_id=derived_id(command, "stock"),
                      seen=seen)
    return await _shown(catalog, seen, product_id)
