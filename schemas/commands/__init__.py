"""Commands of every service, registered by class name on import."""

from schemas.commands import cart, catalog, orders, payments, users  # noqa: F401  (registers the classes)
