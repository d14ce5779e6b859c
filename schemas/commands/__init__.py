"""Commands of every service, registered by class name on import."""

from schemas.commands import cart, catalog, orders, payments, shipping, users, vouchers, webhooks  # noqa: F401
