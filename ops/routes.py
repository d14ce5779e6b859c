"""The route table: which service answers which path, and the edge rules of each route.

Both gateways are generated from this one table, so they cannot drift: the local
HAProxy (`ops/gateway.py`) and the production Kong declarative config
(`ops/kong.py`, committed as `ops/deploy/kong.yml`). Each route gives its
service, its path prefixes, a per-client rate limit of its own (besides the
gateway's limit for all routes), whether the gateway itself demands a valid access
token (the API still verifies every token), and the largest request body it takes.

Prefixes match as plain prefixes, the longest first (as Kong matches them).
A service's `upstream` is its address in production (a Kubernetes Service, a
Compose network alias) and `port` its port there; locally every service of the API
is served by the API replicas unless `SHOPSTREAM_GATEWAY_UPSTREAMS` says otherwise,
and the web pages (`web`: the storefront at `/`, the console at `/console/`) by the
web process. `/` is the shortest prefix, so every path no API route claims is a page,
except under `/v1/`: an unknown API path is 404 at the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
# The ports the deployables listen on in production.
API_PORT = 8000
WEB_PORT = 8010


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` per `window_s` seconds from one client address."""

    requests: int
    window_s: int


@dataclass(frozen=True)
class Service:
    name: str
    # Host name of the deployable that serves it in production, on `port`.
    upstream: str
    port: int = API_PORT


@dataclass(frozen=True)
class Route:
    name: str
    service: str
    prefixes: tuple[str, ...]
    # The gateway rejects a request without a valid access token (401).
    auth: bool = False
    limit: RateLimit | None = None
    max_body_bytes: int = 16 * KIB
    # False: reachable only inside the deployment (scrapers), never at the public edge.
    public: bool = True



# Orders, payments, audit and webhooks are served by the all-services deployable (`api`) until
# each is split out into its own.
SERVICES: dict[str, Service] = {s.name: s for s in (
    Service("users", upstream="api-users"),
    Service("catalog", upstream="api-catalog"),
    Service("cart", upstream="api-cart"),
    Service("orders", upstream="api"),
    Service("payments", upstream="api"),
    Service("audit", upstream="api"),
    Service("webhooks", upstream="api"),
    Service("operations", upstream="api"),
    Service("docs", upstream="api"),
    Service("web", upstream="web", port=WEB_PORT),
)}

ROUTES: tuple[Route, ...] = (
    # users
    Route("users-me", "users", ("/v1/users/me",), auth=True),
    Route("users", "users", ("/v1/users",)),
    Route("auth-sessions", "users", ("/v1/auth/sessions", "/v1/auth/logout"), auth=True),
    # Each request may send an email: a tight limit per client address.
    Route("auth-password-reset", "users", ("/v1/auth/password-reset",),
          limit=RateLimit(requests=10, window_s=60)),
    Route("auth", "users", ("/v1/auth",)),
    # catalog
    Route("catalog", "catalog", ("/v1/categories", "/v1/products")),
    Route("search", "catalog", ("/v1/search",)),
    Route("catalog-admin", "catalog", ("/v1/admin/categories", "/v1/admin/products"),
          auth=True, max_body_bytes=256 * KIB),
    # cart
    # Guests shop without an account (a cart token, an order token): the gateway demands
    # no access token there, and its limit for all routes holds, as for the catalog.
    Route("cart", "cart", ("/v1/cart",)),
    Route("cart-merge", "cart", ("/v1/cart/merge",), auth=True),
    # orders, payments, audit
    Route("checkout", "orders", ("/v1/checkout",)),
    Route("orders", "orders", ("/v1/orders",)),
    Route("orders-admin", "orders", ("/v1/admin/orders", "/v1/admin/vouchers",
                                     "/v1/admin/shipping-zones", "/v1/admin/returns"),
          auth=True),
    Route("shipping", "orders", ("/v1/shipping-methods",)),
    Route("payments", "payments", ("/v1/payments",), auth=True),
    # The payment provider's notices: no user token; the API checks the provider's signature.
    Route("payments-webhooks", "payments", ("/v1/payments/webhooks",),
          max_body_bytes=64 * KIB),
    Route("audit", "audit", ("/v1/audit",), auth=True),
    Route("webhooks-admin", "webhooks", ("/v1/admin/webhooks",), auth=True),
    # operations
    Route("health", "operations", ("/healthz", "/readyz")),
    Route("metrics", "operations", ("/metrics",), public=False),
    Route("operations-admin", "operations", ("/v1/admin/projections", "/v1/admin/replays"),
          auth=True),
    # the OpenAPI document and its UIs
    Route("docs", "docs", ("/docs", "/redoc", "/openapi.json")),
    # the web pages: shoppers' and operators'
    Route("storefront", "web", ("/", "/static/")),
    Route("console", "web", ("/console/",)),
)


def by_precedence(routes: tuple[Route, ...] = ROUTES) -> list[tuple[str, Route]]:
    """Every (prefix, route), longest prefix first: the first that matches a path wins."""
    pairs = [(prefix, route) for route in routes for prefix in route.prefixes]
    return sorted(pairs, key=lambda pair: (-len(pair[0]), pair[0]))


# The API's paths: one no API route claims is 404 at the gateway, never a page.
API_PREFIX = "/v1/"
# The services whose routes are pages for people, not the API.
PAGE_SERVICES = ("web",)


def route_for(path: str, routes: tuple[Route, ...] = ROUTES) -> Route | None:
    """The route a gateway sends `path` to, or None (404 at the gateway)."""
    route = next((route for prefix, route in by_precedence(routes) if path.startswith(prefix)),
                 None)
    if route is not None and route.service in PAGE_SERVICES and path.startswith(API_PREFIX):
        return None
    return route
