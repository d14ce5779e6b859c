"""Events of every service, registered by class name on import."""

from schemas.events import cart, catalog, orders, payments, users  # noqa: F401  (registers the classes)
