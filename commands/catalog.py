"""The catalog service's write model: categories and products with their stock.

A product is the single writer of its stock, so its last unit cannot be sold
twice: checkout reserves stock per order (`ReserveStock`), and a cancelled
order's reservation goes back on sale (`ReleaseStock`). Both are answered with
an event either way, because the checkout saga reacts to events. A product
remembers which orders it released, so a reservation retried after its release
is refused rather than taken again.

A product with variants keeps each variant's stock, and its own stock is their
sum. One `ReserveStock` per order takes every variant the order wants of the
product, all or none; `ReleaseStock` gives them all back. A delivered order's return
puts its units back once (`RestockReturn`), each to its variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch
from uuid import UUID

from pyrsistent import PMap, pmap

from commands.decisions import Rejected
from commands.pricing import require_shop_currency
from commands.recent import Recent
from schemas.commands.catalog import (
    ChangeProduct,
    ChangeVariant,
    CreateCategory,
    CreateProduct,
    ReleaseStock,
    ReserveStock,
    RestockReturn,
    SetStock,
)
from schemas.events.catalog import (
    CategoryCreated,
    Image,
    Option,
    ProductChanged,
    ProductCreated,
    StockAdjusted,
    StockReleased,
    StockReservationRejected,
    StockReserved,
    StockReturned,
    Variant,
    VariantChanged,
    VariantStock,
    options_label,
    variant_id_for,
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
    # order id -> quantity set aside and not yet released, by item: the variant's id,
    # or the product's own for a product without variants; of the last ORDERS_KEPT orders
    reservations: Recent[UUID, PMap[UUID, int]] = field(
        default_factory=lambda: Recent(ORDERS_KEPT))
    # The orders released, of the last ORDERS_KEPT.
    released: Recent[UUID, bool] = field(default_factory=lambda: Recent(ORDERS_KEPT))
    options: tuple[Option, ...] = ()
    variants: PMap[UUID, Variant] = field(default_factory=pmap)
    # The returns whose units came back here, of the last RETURNS_KEPT.
    restocked: Recent[UUID, bool] = field(default_factory=lambda: Recent(RETURNS_KEPT))

    def held(self, order_id: UUID) -> int:
        """How many units an order holds of this product, over all its variants."""
        return sum(self.reservations.get(order_id, pmap()).values())

    def label(self, variant_id: UUID) -> str:
        """The product's name with the variant's options, as a shopper knows it."""
        variant = self.variants.get(variant_id)
        return f"{self.name} ({options_label(variant.options)})" if variant else self.name


State = Category | Product | None

# How many orders' reservations and releases a product remembers: an order's cancellation,
# or a reservation that raced it, comes before this many later orders of the product.
ORDERS_KEPT = 10_000
# How many returns' restocks a product remembers: a restock is retried within minutes.
RETURNS_KEPT = 1_000

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
    require_shop_currency(command.price, *(v.price for v in command.variants if v.price))
    variants = [Variant(id=variant_id_for(command.product_id, v.sku), sku=v.sku,
                        options=v.options, price=v.price or command.price, stock=v.stock)
                for v in command.variants]
    stock = sum(v.stock for v in variants) if variants else command.stock
    return [ProductCreated(**command.model_dump(exclude={"variants", "stock"}),
                           stock=stock, variants=variants)]


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


def _variant(product: Product, variant_id: UUID) -> Variant:
    if variant_id not in product.variants:
        raise Rejected("variant_not_found", f"{product.name} has no variant {variant_id}.",
                       "not_found")
    return product.variants[variant_id]


@_decide.register
def _(command: ChangeVariant, state: State) -> list[Event]:
    product = _product(state, command.product_id)
    variant = _variant(product, command.variant_id)
    require_shop_currency(command.price)
    if command.price == variant.price:
        return []
    return [VariantChanged(product_id=command.product_id, variant_id=command.variant_id,
                           price=command.price)]


@_decide.register
def _(command: SetStock, state: State) -> list[Event]:
    product = _product(state, command.product_id)
    if command.variant_id is None:
        if product.variants:
            raise Rejected("variant_needed", f"{product.name} comes in variants: set the "
                                             "stock of each.", "invalid")
        delta = command.available - product.stock
        return [StockAdjusted(product_id=command.product_id, delta=delta,
                              available=command.available)] if delta else []
    delta = command.available - _variant(product, command.variant_id).stock
    if delta == 0:
        return []
    return [StockAdjusted(product_id=command.product_id, delta=delta,
                          available=product.stock + delta,
                          variants=[VariantStock(variant_id=command.variant_id, quantity=delta,
                                                 available=command.available)])]


@_decide.register
def _(command: ReserveStock, state: State) -> list[Event]:
    ids = {"product_id": command.product_id, "order_id": command.order_id}
    asked = [VariantStock(variant_id=variant_id, quantity=quantity,
                          available=_in_stock(state, variant_id))
             for variant_id, quantity in command.variants.items()]

    def refused(reason: str, available: int) -> list[Event]:
        return [StockReservationRejected(**ids, requested=command.quantity,
                                         available=available, reason=reason, variants=asked)]

    if not isinstance(state, Product):
        return refused("That product is no longer sold.", 0)
    if command.order_id in state.reservations:
        return []
    if command.order_id in state.released:
        return refused("The order was cancelled.", state.stock)
    if bool(command.variants) != bool(state.variants) or any(
            variant_id not in state.variants for variant_id in command.variants):
        return refused(f"{state.name}: that choice is no longer sold.", state.stock)
    if not state.variants:
        if command.quantity > state.stock:
            return refused(f"{state.name}: {_left(state.stock)}.", state.stock)
        return [StockReserved(**ids, quantity=command.quantity,
                              available=state.stock - command.quantity)]
    short = [a for a in asked if a.quantity > a.available]
    if short:
        return refused("; ".join(f"{state.label(a.variant_id)}: {_left(a.available)}"
                                 for a in short) + ".", state.stock)
    total = sum(a.quantity for a in asked)
    return [StockReserved(**ids, quantity=total, available=state.stock - total,
                          variants=[a.model_copy(update={"available": a.available - a.quantity})
                                    for a in asked])]


def _in_stock(state: State, variant_id: UUID) -> int:
    variant = state.variants.get(variant_id) if isinstance(state, Product) else None
    return variant.stock if variant else 0


def _left(available: int) -> str:
    return f"only {available} left" if available else "sold out"


@_decide.register
def _(command: ReleaseStock, state: State) -> list[Event]:
    if not isinstance(state, Product) or command.order_id in state.released:
        return []
    ids = {"product_id": command.product_id, "order_id": command.order_id}
    held = state.reservations.get(command.order_id)
    if held is None:
        # Nothing held (the reservation was refused, or never made): remember the order
        # anyway, so a reservation still on its way is refused.
        return [StockReleased(**ids, quantity=0, available=state.stock)]
    quantity = sum(held.values())
    returned = [VariantStock(variant_id=item, quantity=n, available=state.variants[item].stock + n)
                for item, n in held.items() if item in state.variants]
    return [StockReleased(**ids, quantity=quantity, available=state.stock + quantity,
                          variants=returned)]


@_decide.register
def _(command: RestockReturn, state: State) -> list[Event]:
    if not isinstance(state, Product) or command.return_id in state.restocked:
        return []  # a product no longer sold takes nothing back
    back = [VariantStock(variant_id=item, quantity=n, available=state.variants[item].stock + n)
            for item, n in command.variants.items() if item in state.variants]
    quantity = sum(entry.quantity for entry in back) if state.variants else command.quantity
    if quantity == 0:
        return []
    return [StockReturned(product_id=command.product_id, order_id=command.order_id,
                          return_id=command.return_id, quantity=quantity,
                          available=state.stock + quantity, variants=back)]


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
        stock=event.stock, options=tuple(event.options),
        variants=pmap({variant.id: variant for variant in event.variants}),
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
def _(event: VariantChanged, state: State) -> State:
    product = _product(state, event.product_id)
    variant = _variant(product, event.variant_id)
    return replace(product, variants=product.variants.set(
        variant.id, variant.model_copy(update={"price": event.price})))


def _restocked(product: Product, available: int, moved: list[VariantStock],
               **changes) -> Product:
    """The product with its stock, and each moved variant's, as an event left them."""
    variants = product.variants
    for entry in moved:
        variant = variants[entry.variant_id]
        variants = variants.set(variant.id, variant.model_copy(update={"stock": entry.available}))
    return replace(product, stock=available, variants=variants, **changes)


@_evolve.register
def _(event: StockAdjusted, state: State) -> State:
    return _restocked(_product(state, event.product_id), event.available, event.variants)


@_evolve.register
def _(event: StockReserved, state: State) -> State:
    product = _product(state, event.product_id)
    held = (pmap({entry.variant_id: entry.quantity for entry in event.variants})
            if event.variants else pmap({product.product_id: event.quantity}))
    return _restocked(product, event.available, event.variants,
                      reservations=product.reservations.set(event.order_id, held))


@_evolve.register
def _(event: StockReservationRejected, state: State) -> State:
    return state


@_evolve.register
def _(event: StockReleased, state: State) -> State:
    product = _product(state, event.product_id)
    return _restocked(product, event.available, event.variants,
                      reservations=product.reservations.discard(event.order_id),
                      released=product.released.add(event.order_id))


@_evolve.register
def _(event: StockReturned, state: State) -> State:
    product = _product(state, event.product_id)
    return _restocked(product, event.available, event.variants,
                      restocked=product.restocked.add(event.return_id))
