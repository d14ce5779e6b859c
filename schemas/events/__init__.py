"""Events of every service, registered by class name on import."""

from schemas.events import catalog, users  # noqa: F401  (registers the classes)
