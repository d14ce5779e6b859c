"""Reads that several routers share, through the typed views.

Each keyed read shows the caller's acknowledged writes, and before it reports a miss
it waits until its model has reached the end of the key's partition
(`api/consistency.py`): an account, a category, a product, an order, a payment, a
voucher, the zone serving a country.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NamedTuple, TypeVar
from uuid import UUID

from api.consistency import ReadYourWrites
from infra.dependencies import DependencyUnavailable
from projections.carts_views import CartRow, CartsView
from projections.catalog_views import CatalogView, CategoryRow, ProductPage, ProductRow, VariantRow
from projections.orders_views import (
    OrderRow,
    OrdersView,
    PaymentRow,
    ShippingZoneRow,
    VoucherRow,
)
from projections.users_views import UserRow, UsersView
from projections.views import View
from schemas.commands.shipping import SHIPPING_ZONES
from schemas.commands.vouchers import voucher_key
from schemas.events.catalog import options_label
from schemas.topics import CART, CATALOG, ORDERS, PAYMENTS, USERS, Topic

T = TypeVar("T")

_LONG_AGO = datetime.min.replace(tzinfo=UTC)


async def _by_key(view: View, lookup: Callable[[str], Awaitable[T | None]], seen: ReadYourWrites,
                  topic: Topic, key: UUID | str, own_events: bool = False) -> T | None:
    key = str(key)
    return await seen.found(view, lambda: lookup(key), topic=topic.name, key=key,
                            own_events=own_events)


async def account(users: UsersView, seen: ReadYourWrites, user_id: str) -> UserRow | None:
    return await _by_key(users, users.find, seen, USERS.events, user_id)


async def account_by_email(users: UsersView, seen: ReadYourWrites, email_key: str
                           ) -> UserRow | None:
    """The account of an email key, once the users model has reached the end of its topic.

    Its partition follows from the account's id, which is not known yet, so every
    partition is waited for; and always, not only on a miss, so that a login with an
    unknown address takes the same path, and time, as one with a wrong password."""
    try:
        await seen.current(users, USERS.events.name)
    except DependencyUnavailable:
        # Kafka is down: an account the model shows can still sign in; a miss cannot be
        # told from an account not projected yet.
        if (account := await users.find_by_email_key(email_key)) is None:
            raise
        return account
    return await users.find_by_email_key(email_key)


async def category(catalog: CatalogView, seen: ReadYourWrites, category_id: UUID
                   ) -> CategoryRow | None:
    return await _by_key(catalog, catalog.category, seen, CATALOG.events, category_id,
                         own_events=True)


async def product(catalog: CatalogView, seen: ReadYourWrites, product_id: UUID
                  ) -> ProductPage | None:
    return await _by_key(catalog, catalog.product, seen, CATALOG.events, product_id,
                         own_events=True)


async def order(orders: OrdersView, seen: ReadYourWrites, order_id: UUID) -> OrderRow | None:
    return await _by_key(orders, orders.order, seen, ORDERS.events, order_id)


async def payment(orders: OrdersView, seen: ReadYourWrites, payment_id: UUID
                  ) -> PaymentRow | None:
    return await _by_key(orders, orders.payment, seen, PAYMENTS.events, payment_id)


async def voucher(orders: OrdersView, seen: ReadYourWrites, code: str) -> VoucherRow | None:
    return await seen.found(orders, lambda: orders.voucher(code), topic=ORDERS.events.name,
                            key=voucher_key(code), own_events=True)


async def zone_serving(orders: OrdersView, seen: ReadYourWrites, country: str
                       ) -> ShippingZoneRow | None:
    return await seen.found(orders, lambda: orders.zone_serving(country),
                            topic=ORDERS.events.name, key=SHIPPING_ZONES, own_events=True)



class CartItem(NamedTuple):
    """A cart line with the catalog's product (and variant) as they are now: `product`
    is None once it is no longer sold, `variant` is None for a product without variants."""

    id: str  # the variant's id, or the product's
    quantity: int
    product: ProductRow | None
    variant: VariantRow | None

    @property
    def stock(self) -> int:
        return (self.variant or self.product or {"stock": 0})["stock"]


def item_label(product: ProductRow, variant: VariantRow | None) -> str:
    """The product's name, with the variant's options: "Shirt (Size: M)"."""
    return (f"{product['name']} ({options_label(variant['options'])})" if variant
            else product["name"])


async def cart(carts: CartsView, seen: ReadYourWrites, cart_id: str, *, guest: bool
               ) -> CartRow | None:
    """The stored cart, once it shows the caller's writes: a guest has no session to
    remember them, so a guest's cart is read once its partition's end is reached."""
    if guest:
        await seen.latest(carts, CART.events.name, cart_id)
    else:
        await seen.wait(carts)
    return await carts.find(cart_id)


async def cart_lines(carts: CartsView, catalog: CatalogView, seen: ReadYourWrites,
                     cart_id: str, *, guest: bool = False
                     ) -> tuple[CartRow | None, list[CartItem]]:
    """The stored cart (`cart`), and its lines in the order they were added, each with its
    product and variant as the catalog shows them now."""
    stored = await cart(carts, seen, cart_id, guest=guest)
    wanted = sorted((stored or {"items": {}})["items"].items(),
                    key=lambda kv: kv[1]["added_at"] or _LONG_AGO)
    products = await catalog.products(sorted({line["product_id"] for _, line in wanted}))
    variants = await catalog.variants_by_id(
        [line["variant_id"] for _, line in wanted if line["variant_id"]])
    items = []
    for item_id, line in wanted:
        variant = variants.get(line["variant_id"]) if line["variant_id"] else None
        product = products.get(line["product_id"])
        if line["variant_id"] and variant is None:
            product = None  # a variant no longer sold
        items.append(CartItem(item_id, line["quantity"], product, variant))
    return stored, items
