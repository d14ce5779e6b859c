"""Events of every service, registered by class name on import."""

from schemas.events import (  # noqa: F401
    cart, catalog, orders, payments, returns, shipping, users, vouchers, webhooks)
