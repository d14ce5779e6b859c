"""Which decider handles which command: one table to find any feature from."""

from __future__ import annotations

from types import ModuleType

from commands import cart, catalog, orders, payments, users, webhooks
from schemas.messages import Command

DECIDERS: dict[str, ModuleType] = {
    "users": users,
    "catalog": catalog,
    "cart": cart,
    "orders": orders,
    "payments": payments,
    "webhooks": webhooks,
}


def decider_for(command: Command) -> ModuleType:
    return DECIDERS[command.service]
