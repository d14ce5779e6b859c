"""The catalog service's write model: categories and products with their stock.

A product is the single writer of its stock, so its last unit cannot be sold
twice: checkout reserves stock per order (`ReserveStock`), and a cancelled
order's reservation goes back on sale (`ReleaseStock`). Both are answered with
an event either way, because the checkout saga reacts to events. A product
remembers which orders it released, so a reservation retried after its release
is refused rather than taken again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch
from uuid import UUID

from pyrsistent import PMap, PSet, pmap, pset

from commands.decisions import Rejected
from commands.pricing import require_shop_currency
from schemas.commands.catalog import (
    ChangeProduct,
    CreateCategory,
    CreateProduct,
    ReleaseStock,
    ReserveStock,
    SetStock,
)
from schemas.events.catalog import (
    CategoryCreated,
    Image,
    ProductChanged,
    ProductCreated,
    StockAdjusted,
    StockReleased,
    StockReservationRejected,
    StockReserved,
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
    # order id -> quantity set aside and not yet released
    reservations: PMap[UUID, int] = field(default_factory=pmap)
    released: PSet[UUID] = field(default_factory=pset)


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
    require_shop_currency(command.price)
    return [ProductCreated(**command.model_dump())]


@_decide.register
def _(command: ChangeProduct, state: State) -> list[Event]:
    product = _product(state, command.product_id)
    require_shop_currency(command.price)
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


@_decide.register
def _(command: ReserveStock, state: State) -> list[Event]:
    ids = {"product_id": command.product_id, "order_id": command.order_id}
    if not isinstance(state, Product):
        return [StockReservationRejected(**ids, requested=command.quantity, available=0,
                                         reason="That product is no longer sold.")]
    if command.order_id in state.reservations:
        return []
    if command.order_id in state.released:
        return [StockReservationRejected(**ids, requested=command.quantity,
                                         available=state.stock,
                                         reason="The order was cancelled.")]
    if command.quantity > state.stock:
        left = f"only {state.stock} left" if state.stock else "sold out"
        return [StockReservationRejected(**ids, requested=command.quantity,
                                         available=state.stock,
                                         reason=f"{state.name}: {left}.")]
    return [StockReserved(**ids, quantity=command.quantity,
                          available=state.stock - command.quantity)]


@_decide.register
def _(command: ReleaseStock, state: State) -> list[Event]:
    if not isinstance(state, Product) or command.order_id in state.released:
        return []
    quantity = state.reservations.get(command.order_id)
    if quantity is None:
        # Nothing held (the reservation was refused, or never made): remember the order
        # anyway, so a reservation still on its way is refused.
        return [StockReleased(product_id=command.product_id, order_id=command.order_id,
                              quantity=0, available=state.stock)]
    return [StockReleased(product_id=command.product_id, order_id=command.order_id,
                          quantity=quantity, available=state.stock + quantity)]


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


def _reservations(product: Product, order_id: UUID, quantity: int | None
                  ) -> PMap[UUID, int]:
    if quantity is None:
        return product.reservations.discard(order_id)
    return product.reservations.set(order_id, quantity)


@_evolve.register
def _(event: StockReserved, state: State) -> State:
    product = _product(state, event.product_id)
    return replace(product, stock=event.available,
                   reservations=_reservations(product, event.order_id, event.quantity))


@_evolve.register
def _(event: StockReservationRejected, state: State) -> State:
    return state


@_evolve.register
def _(event: StockReleased, state: State) -> State:
    product = _product(state, event.product_id)
    return replace(product, stock=event.available,
                   reservations=_reservations(product, event.order_id, None),
                   released=product.released.add(event.order_id))
