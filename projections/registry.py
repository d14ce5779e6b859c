"""Every projection by name (what `shopstream replay` and the runners know about), and
every read view (what the API reads through)."""

from __future__ import annotations

from dataclasses import dataclass

from infra.clients import Clients
from projections.audit import AuditProjection
from projections.base import Projection
from projections.carts import CartsProjection
from projections.catalog import CatalogProjection
from projections.orders import OrdersProjection
from projections.search import SearchProjection
from projections.users import UsersProjection
from projections.audit_views import AuditView
from projections.carts_views import CartsView
from projections.catalog_views import CatalogView
from projections.orders_views import OrdersView
from projections.search_views import SearchView
from projections.users_views import UsersView
from projections.webhooks import WebhooksProjection
from projections.webhooks_views import WebhooksView

# The read models a replay may rebuild, in the order they are listed.
TYPES: tuple[type[Projection], ...] = (UsersProjection, CatalogProjection, SearchProjection,
                                       CartsProjection, OrdersProjection, AuditProjection)
NAMES = tuple(projection.name for projection in TYPES)


def build_projections(clients: Clients) -> dict[str, Projection]:
    projections: list[Projection] = [
        UsersProjection(clients.mysql, clients.keys),
        CatalogProjection(clients.mysql),
        SearchProjection(clients.elasticsearch),
        CartsProjection(clients.mongo, clients.settings.mongodb_database, clients.redis),
        OrdersProjection(clients.mysql, clients.keys),
        AuditProjection(clients.mysql),
    ]
    return {p.name: p for p in projections}


def build_dispatchers(clients: Clients) -> dict[str, Projection]:
    """Models that start work outside (the webhook deliveries): run like projections but
    never rebuilt by a replay, which would send everything again."""
    return {WebhooksProjection.name: WebhooksProjection(clients.mysql)}


@dataclass(frozen=True)
class Views:
    """Every read view, each typed: what the API reads through."""

    users: UsersView
    catalog: CatalogView
    search: SearchView
    carts: CartsView
    orders: OrdersView
    audit: AuditView
    webhooks: WebhooksView


def build_views(clients: Clients) -> Views:
    return Views(
        users=UsersView(clients.mysql_reads),
        catalog=CatalogView(clients.mysql_reads),
        search=SearchView(clients.elasticsearch),
        carts=CartsView(clients.mongo, clients.settings.mongodb_database, clients.redis),
        orders=OrdersView(clients.mysql_reads),
        audit=AuditView(clients.mysql_reads),
        webhooks=WebhooksView(clients.mysql_reads),
    )
