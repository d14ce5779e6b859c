"""The OpenAPI document the API serves: FastAPI's, plus what the routes share and the
links between them, added here once rather than on each route.

- The answers every route may give: 400 for a body that is not JSON, 401 where a token
  is read, 403 on the admin routes, 404 where a path names a resource, 503 with
  `Retry-After` when a dependency is unreachable; and every error's body as
  `application/problem+json` (`api/problems.py`).
- Where a token is optional (a guest's cart, the catalog), the security requirement
  says so (`{}` beside the bearer): FastAPI declares the bearer on every route that
  reads it, needed or not.
- Links: how the answer of one route feeds the next (a created product's id into its
  page, a cart line's id into its change, a checkout's order id into the order).
  Clients read them as documentation; schemathesis' stateful phase follows them to
  chain calls (`tests/integration/test_fuzz.py`). A link whose route the process does
  not serve (`SHOPSTREAM_API_SERVICES`) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.deps import MaybeUser, CurrentUser
from api.problems import PROBLEM_JSON


@dataclass(frozen=True)
class Link:
    """From `source` answering `status` to `target`: the target's parameters
    (`path.name`, `query.name`, `header.name`) and body fields as runtime expressions."""

    source: str
    status: int
    target: str
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def _each(source: str, status: int, targets: tuple[str, ...], **parameters: str) -> list[Link]:
    return [Link(source, status, target, parameters) for target in targets]


_ORDER = ("GET /v1/orders/{order_id}", "GET /v1/orders/{order_id}/tracking",
          "GET /v1/orders/{order_id}/receipt", "GET /v1/orders/{order_id}/returns",
          "POST /v1/orders/{order_id}/cancel", "POST /v1/admin/orders/{order_id}/fulfilment",
          "GET /v1/audit/orders/{order_id}")
_CART_ITEM = ("PATCH /v1/cart/items/{item_id}", "DELETE /v1/cart/items/{item_id}")
_RETURN = ("POST /v1/admin/returns/{return_id}/approve",
           "POST /v1/admin/returns/{return_id}/receive",
           "POST /v1/admin/returns/{return_id}/reject")
_WEBHOOK = ("GET /v1/admin/webhooks/{webhook_id}", "GET /v1/admin/webhooks/{webhook_id}/deliveries",
            "POST /v1/admin/webhooks/{webhook_id}/replay", "DELETE /v1/admin/webhooks/{webhook_id}")

LINKS: list[Link] = [
    # Accounts and sessions.
    Link("POST /v1/users", 201, "POST /v1/auth/login",
         body={"email": "$response.body#/email", "password": "$request.body#/password"}),
    Link("POST /v1/auth/login", 200, "POST /v1/auth/refresh",
         body={"refresh_token": "$response.body#/refresh_token"}),
    Link("POST /v1/auth/refresh", 200, "POST /v1/auth/refresh",
         body={"refresh_token": "$response.body#/refresh_token"}),
    Link("GET /v1/auth/sessions", 200, "DELETE /v1/auth/sessions/{session_id}",
         {"path.session_id": "$response.body#/0/id"}),
    # The catalog.
    Link("POST /v1/admin/categories", 201, "POST /v1/admin/products",
         body={"category_id": "$response.body#/id"}),
    Link("POST /v1/admin/categories", 201, "POST /v1/admin/categories",
         body={"parent_id": "$response.body#/id"}),
    Link("POST /v1/admin/categories", 201, "GET /v1/categories/{slug}/products",
         {"path.slug": "$response.body#/slug"}),
    *_each("POST /v1/admin/products", 201,
           ("GET /v1/products/{product_id}", "PATCH /v1/admin/products/{product_id}"),
           **{"path.product_id": "$response.body#/id"}),
    Link("POST /v1/admin/products", 201,
         "PATCH /v1/admin/products/{product_id}/variants/{variant_id}",
         {"path.product_id": "$response.body#/id",
          "path.variant_id": "$response.body#/variants/0/id"}),
    Link("POST /v1/admin/products", 201, "POST /v1/cart/items",
         body={"product_id": "$response.body#/id"}),
    Link("PATCH /v1/admin/products/{product_id}", 200, "GET /v1/products/{product_id}",
         {"path.product_id": "$response.body#/id"}),
    # The cart.
    *_each("POST /v1/cart/items", 200, _CART_ITEM, **{"path.item_id": "$response.body#/items/0/id"}),
    *_each("GET /v1/cart", 200, _CART_ITEM, **{"path.item_id": "$response.body#/items/0/id"}),
    Link("POST /v1/admin/vouchers", 201, "GET /v1/admin/vouchers/{code}",
         {"path.code": "$response.body#/code"}),
    Link("POST /v1/admin/vouchers", 201, "POST /v1/cart/voucher",
         body={"code": "$response.body#/code"}),
    Link("POST /v1/admin/shipping-zones", 201, "GET /v1/shipping-methods",
         {"query.country": "$response.body#/countries/0"}),
    # Orders, payments and returns.
    *_each("POST /v1/checkout", 202, _ORDER, **{"path.order_id": "$response.body#/order_id"}),
    *_each("GET /v1/orders", 200, _ORDER, **{"path.order_id": "$response.body#/items/0/id"}),
    *_each("GET /v1/orders/{order_id}", 200,
           ("GET /v1/payments/{payment_id}", "GET /v1/audit/payments/{payment_id}"),
           **{"path.payment_id": "$response.body#/payment/id"}),
    Link("GET /v1/orders/{order_id}", 200, "POST /v1/orders/{order_id}/returns",
         {"path.order_id": "$response.body#/id"},
         body={"lines": [{"item_id": "$response.body#/items/0/product_id", "quantity": 1}]}),
    *_each("POST /v1/orders/{order_id}/returns", 201, _RETURN,
           **{"path.return_id": "$response.body#/id"}),
    # Webhooks.
    *_each("POST /v1/admin/webhooks", 201, _WEBHOOK, **{"path.webhook_id": "$response.body#/id"}),
]


def _operation(document: dict, route: str) -> dict | None:
    method, path = route.split(" ", 1)
    return document["paths"].get(path, {}).get(method.lower())


def add_links(document: dict, links: list[Link] = LINKS) -> dict:
    """The OpenAPI document with each link whose two routes it describes, in place."""
    for number, link in enumerate(links):
        source, target = _operation(document, link.source), _operation(document, link.target)
        if source is None or target is None:
            continue
        answer = source["responses"].setdefault(str(link.status), {"description": "Success"})
        definition: dict[str, Any] = {"operationId": target["operationId"]}
        if link.parameters:
            definition["parameters"] = dict(link.parameters)
        if link.body is not None:
            definition["requestBody"] = link.body
        name = f"{target['operationId']}_{number}"
        answer.setdefault("links", {})[name] = definition
    return document


PROBLEM = {
    "title": "Problem",
    "description": "An error, as RFC 9457 describes it.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "description": "The invalid fields (422 only).",
                   "items": {"type": "object", "required": ["field", "message", "type"],
                             "properties": {"field": {"type": "string"},
                                            "message": {"type": "string"},
                                            "type": {"type": "string"}}}},
    },
}


def _needs_token(dependant: Dependant) -> bool:
    """Whether a route's dependencies include the signed-in user, not only a maybe-user."""
    for dependency in dependant.dependencies:
        if dependency.call is _MAYBE_USER:
            continue
        if dependency.call is _CURRENT_USER or _needs_token(dependency):
            return True
    return False


_CURRENT_USER = CurrentUser.__metadata__[0].dependency
_MAYBE_USER = MaybeUser.__metadata__[0].dependency


def optional_tokens(routers: list[APIRouter]) -> set[tuple[str, str]]:
    """(method, path) of the routes that serve callers with or without a token."""
    return {(method.lower(), route.path) for router in routers for route in router.routes
            if isinstance(route, APIRoute) and not _needs_token(route.dependant)
            for method in route.methods}


def add_shared_answers(document: dict, optional: set[tuple[str, str]] = frozenset()) -> dict:
    """The OpenAPI document with the answers every route may give, in place; the routes
    of `optional` take a token or none."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            if operation.get("security") and (method, path) in optional:
                operation["security"] = [*operation["security"], {}]
            if "requestBody" in operation:
                answers.setdefault("400", {"description": "The body is not JSON"})
            if operation.get("security"):
                answers.setdefault("401", {"description": "The access token is missing where "
                                                          "required, invalid or expired"})
            if path.startswith("/v1/admin/"):
                answers.setdefault("403", {"description": "Not an administrator"})
            if "{" in path:
                answers.setdefault("404", {"description": "No such resource (of the caller)"})
            if path.startswith("/v1/"):
                answers.setdefault("503", {
                    "description": "A dependency is unreachable; retry after a while",
                    "headers": {"Retry-After": {"required": True,
                                                "schema": {"type": "integer"}}}})
            for status, answer in answers.items():
                if status[0] in "45":
                    answer["content"] = problem
    return document


def install(app: FastAPI, routers: list[APIRouter]) -> None:
    """Serve the app's OpenAPI document, of the routes of `routers`, with the shared
    answers and the links added."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(add_shared_answers(build(), optional_tokens(routers)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
