"""The catalog service's write model: categories and products with their stock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import singledispatch
from uuid import UUID

from commands.decisions import Rejected
from schemas.commands.catalog import ChangeProduct, CreateCategory, CreateProduct, SetStock
from schemas.events.catalog import (
    CategoryCreated,
    Image,
    ProductChanged,
    ProductCreated,
    StockAdjusted,
)
from schemas.messages import Command, Event
from schemas.money import Money


@dataclass(frozen=True)
class Category:
    category_id: UUID
    slug: str
    name: str
    parent_id: UUID | None


@dataclass(frozen=True)
class Product:
    product_id: UUID
    sku: str
    name: str
    slug: str
    description: str
    category_id: UUID
    price: Money
    images: tuple[Image, ...]
    specifications: tuple[tuple[str, str], ...]
    stock: int


State = Category | Product | None

CHANGEABLE = ("name", "slug", "description", "category_id", "price", "images", "specifications")


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state)


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state)


def _product(state: State, product_id: UUID) -> Product:
    if not isinstance(state, Product):
        raise Rejected("product_not_found", f"There is no product {product_id}.", "not_found")
    return state


@singledispatch
def _decide(command: Command, state: State) -> list[Event]:
    raise TypeError(f"the catalog service does not handle {type(command).__name__}")


@_decide.register
def _(command: CreateCategory, state: State) -> list[Event]:
    if state is not None:
        raise Rejected("category_exists", f"The category {command.category_id} exists already.")
    return [CategoryCreated(**command.model_dump())]


@_decide.register
def _(command: CreateProduct, state: State) -> list[Event]:
    if state is not None:
        raise Rejected("product_exists", f"The product {command.product_id} exists already.")
    return [ProductCreated(**command.model_dump())]


@_decide.register
def _(command: ChangeProduct, state: State) -> list[Event]:
    product = _product(state, command.product_id)
    current = _comparable(product)
    changes = {
        field: value
        for field in CHANGEABLE
        if (value := getattr(command, field)) is not None and _comparable_value(value) != current[field]
    }
    return [ProductChanged(product_id=command.product_id, **changes)] if changes else []


@_decide.register
def _(command: SetStock, state: State) -> list[Event]:
    product = _product(state, command.product_id)
    delta = command.available - product.stock
    if delta == 0:
        return []
    return [StockAdjusted(product_id=command.product_id, delta=delta, available=command.available)]


def _comparable_value(value):
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    if isinstance(value, list):
        return tuple(value)
    return value


def _comparable(product: Product) -> dict:
    return {field: _comparable_value(getattr(product, field)) for field in CHANGEABLE}


@singledispatch
def _evolve(event: Event, state: State) -> State:
    raise TypeError(f"the catalog service does not apply {type(event).__name__}")


@_evolve.register
def _(event: CategoryCreated, state: State) -> State:
    return Category(event.category_id, event.slug, event.name, event.parent_id)


@_evolve.register
def _(event: ProductCreated, state: State) -> State:
    return Product(
        product_id=event.product_id, sku=event.sku, name=event.name, slug=event.slug,
        description=event.description, category_id=event.category_id, price=event.price,
        images=tuple(event.images), specifications=tuple(sorted(event.specifications.items())),
        stock=event.stock,
    )


@_evolve.register
def _(event: ProductChanged, state: State) -> State:
    product = _product(state, event.product_id)
    changes = {f: getattr(event, f) for f in CHANGEABLE if getattr(event, f) is not None}
    if "images" in changes:
        changes["images"] = tuple(changes["images"])
    if "specifications" in changes:
        changes["specifications"] = tuple(sorted(changes["specifications"].items()))
    return replace(product, **changes)


@_evolve.register
def _(event: StockAdjusted, state: State) -> State:
    return replace(_product(state, event.product_id), stock=event.available)
