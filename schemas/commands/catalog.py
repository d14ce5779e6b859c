"""Requests to the catalog service."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events.catalog import Image, Name, Option, Slug
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


MAX_OPTIONS = 3
MAX_OPTION_VALUES = 20
MAX_VARIANTS = 100
VariantQuantity = Annotated[int, Field(ge=1, le=99)]


class NewVariant(BaseModel):
    """A variant as it is created: without `price` it takes the product's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: Annotated[str, Field(min_length=1, max_length=64)]
    options: dict[str, str]
    price: Money | None = None
    stock: Annotated[int, Field(ge=0, le=10_000_000)] = 0


def variants_problem(options: list[Option], variants: list[NewVariant]) -> str | None:
    """Why these options and variants do not make a product, or None if they do."""
    if bool(options) != bool(variants):
        return "options and variants come together: a product with options has variants"
    if len(options) > MAX_OPTIONS or len(variants) > MAX_VARIANTS:
        return (f"a product has at most {MAX_OPTIONS} options and {MAX_VARIANTS} "
                f"variants")
    names = [option.name for option in options]
    if len(set(names)) != len(names):
        return "each option is named once"
    for option in options:
        if not option.values or len(option.values) > MAX_OPTION_VALUES:
            return f"option {option.name!r} needs 1 to {MAX_OPTION_VALUES} values"
        if len(set(option.values)) != len(option.values):
            return f"option {option.name!r} names a value twice"
    allowed = {option.name: set(option.values) for option in options}
    skus, combinations = set(), set()
    for variant in variants:
        if set(variant.options) != set(allowed):
            return (f"variant {variant.sku!r} must name one value of each option: "
                    f"{', '.join(names)}")
        for name, value in variant.options.items():
            if value not in allowed[name]:
                return f"variant {variant.sku!r}: {value!r} is not a value of {name!r}"
        combination = tuple(sorted(variant.options.items()))
        if combination in combinations:
            return f"variant {variant.sku!r} repeats another variant's options"
        if variant.sku in skus:
            return f"the SKU {variant.sku!r} is given to two variants"
        combinations.add(combination)
        skus.add(variant.sku)
    return None


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
    # Ignored for a product with variants: its stock is theirs.
    stock: Annotated[int, Field(ge=0)] = 0
    options: list[Option] = []
    variants: list[NewVariant] = []

    @model_validator(mode="after")
    def _variants_fit_options(self) -> CreateProduct:
        if (problem := variants_problem(self.options, self.variants)) is not None:
            raise ValueError(problem)
        return self

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


class ChangeVariant(_CatalogCommand):
    """Change a variant's price."""

    product_id: UUID
    variant_id: UUID
    price: Money

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)


class SetStock(_CatalogCommand):
    """Set a product's stock, or one variant's for a product with variants."""

    product_id: UUID
    available: Annotated[int, Field(ge=0, le=10_000_000)]
    variant_id: UUID | None = None

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)


class ReserveStock(_CatalogCommand):
    """Set `quantity` aside for an order; answered by an event either way.

    For a product with variants, `variants` holds each variant's quantity (they add
    up to `quantity`): all of them are reserved, or none.
    """

    product_id: UUID
    order_id: UUID
    quantity: Annotated[int, Field(ge=1, le=99 * MAX_VARIANTS)]
    variants: dict[UUID, VariantQuantity] = {}

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


class RestockReturn(_CatalogCommand):
    """Put a return's units of this product back on sale (each variant's, for a product
    with variants): once per return."""

    product_id: UUID
    order_id: UUID
    return_id: UUID
    quantity: Annotated[int, Field(ge=1, le=99 * MAX_VARIANTS)]
    variants: dict[UUID, VariantQuantity] = {}

    @property
    def aggregate_key(self) -> str:
        return str(self.product_id)
