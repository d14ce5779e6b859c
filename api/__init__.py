"""The HTTP layer: FastAPI routers that take commands in and serve read models."""
