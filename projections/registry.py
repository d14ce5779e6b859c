"""Every projection by name: what `shopstream replay` and the runners know about."""

from __future__ import annotations

from infra.clients import Clients
from projections.audit import AuditProjection
from projections.base import Projection
from projections.carts import CartsProjection
from projections.catalog import CatalogProjection
from projections.orders import OrdersProjection
from projections.search import SearchProjection
from projections.users import UsersProjection

NAMES = ("users", "catalog", "catalog-search", "carts", "orders", "audit")


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
