"""Events of every service, registered by class name on import."""

from schemas.events import (  # noqa: F401  (registers the classes)
    cart, catalog, orders, payments, shipping, users, vouchers,
)
