"""Reads that several routers share, through the typed views.

Each keyed read shows the caller's acknowledged writes, and before it reports a miss
it waits until its model has reached the end of the key's partition
(`api/consistency.py`): an account, a category, a product, an order, a payment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from api.consistency import ReadYourWrites
from projections.carts_views import CartRow, CartsView
from projections.catalog_views import CatalogView, CategoryRow, ProductRow
from projections.orders_views import OrderRow, OrdersView, PaymentRow
from projections.users_views import UserRow, UsersView
from schemas.topics import CATALOG, ORDERS, PAYMENTS, USERS

_LONG_AGO = datetime.min.replace(tzinfo=UTC)


async def account(users: UsersView, seen: ReadYourWrites, user_id: str) -> UserRow | None:
    return await seen.found(users, lambda: users.find(user_id), topic=USERS.events.name,
                            key=user_id)


async def account_by_email(users: UsersView, seen: ReadYourWrites, email_key: str
                           ) -> UserRow | None:
    """The account of an email key. Its partition follows from the account's id, which is
    not known yet, so a miss waits for every partition of the users topic."""
    return await seen.found(users, lambda: users.find_by_email_key(email_key),
                            topic=USERS.events.name, key=None)


async def category(catalog: CatalogView, seen: ReadYourWrites, category_id: UUID
                   ) -> CategoryRow | None:
    key = str(category_id)
    return await seen.found(catalog, lambda: catalog.category(key), topic=CATALOG.events.name,
                            key=key)


async def product(catalog: CatalogView, seen: ReadYourWrites, product_id: UUID
                  ) -> ProductRow | None:
    key = str(product_id)
    return await seen.found(catalog, lambda: catalog.product(key), topic=CATALOG.events.name,
                            key=key)


async def order(orders: OrdersView, seen: ReadYourWrites, order_id: UUID) -> OrderRow | None:
    key = str(order_id)
    return await seen.found(orders, lambda: orders.order(key), topic=ORDERS.events.name,
                            key=key)


async def payment(orders: OrdersView, seen: ReadYourWrites, payment_id: UUID
                  ) -> PaymentRow | None:
    key = str(payment_id)
    return await seen.found(orders, lambda: orders.payment(key), topic=PAYMENTS.events.name,
                            key=key)


CartLines = list[tuple[str, int, ProductRow | None]]


async def cart_lines(carts: CartsView, catalog: CatalogView, seen: ReadYourWrites,
                     user_id: str) -> tuple[CartRow | None, CartLines]:
    """The stored cart, once it shows the caller's writes, and its lines in the order they
    were added: (product id, quantity, the product as the catalog shows it now, or None
    once it is no longer sold)."""
    await seen.wait(carts)
    stored = await carts.find(user_id)
    wanted = sorted((stored or {"items": {}})["items"].items(),
                    key=lambda kv: kv[1]["added_at"] or _LONG_AGO)
    products = await catalog.products([product_id for product_id, _ in wanted])
    return stored, [(product_id, line["quantity"], products.get(product_id))
                    for product_id, line in wanted]
