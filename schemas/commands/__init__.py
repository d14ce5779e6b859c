"""Commands of every service, registered by class name on import."""

from schemas.commands import (  # noqa: F401  (registers the classes)
    cart, catalog, orders, payments, shipping, users, vouchers,
)
