"""The OpenAPI document the API serves: every link joins two routes it describes, with
parameters the target has, and every error is documented as problem+json."""

from __future__ import annotations

import pytest

from api.app import create_app
from api.openapi import LINKS
from api.problems import PROBLEM_JSON


@pytest.fixture(scope="module")
def document() -> dict:
    def no_container():
        raise AssertionError("the document needs no clients")

    return create_app(no_container).openapi()


def operation(document: dict, route: str) -> dict:
    method, path = route.split(" ", 1)
    return document["paths"][path][method.lower()]


@pytest.mark.parametrize("link", LINKS, ids=lambda link: f"{link.source} -> {link.target}")
def test_each_link_joins_two_routes_of_the_document(document: dict, link) -> None:
    source, target = operation(document, link.source), operation(document, link.target)
    links = source["responses"][str(link.status)]["links"].values()
    assert {"operationId": target["operationId"]} in [
        {"operationId": found["operationId"]} for found in links]
    names = {(p["in"], p["name"]) for p in target.get("parameters", [])}
    for parameter in link.parameters:
        assert tuple(parameter.split(".", 1)) in names, parameter
    if link.body is not None:
        body = target["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        fields = document["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
        assert set(link.body) <= set(fields)


def test_every_error_is_documented_as_a_problem(document: dict) -> None:
    for path, operations in document["paths"].items():
        for method, found in operations.items():
            for status, answer in found["responses"].items():
                if status[0] in "45":
                    assert list(answer["content"]) == [PROBLEM_JSON], (method, path, status)
            if path.startswith("/v1/"):
                assert "503" in found["responses"], (method, path)
            if found.get("security"):
                assert "401" in found["responses"], (method, path)


def test_a_token_is_optional_only_where_a_guest_is_served(document: dict) -> None:
    optional = {f"{method.upper()} {path}" for path, operations in document["paths"].items()
                for method, found in operations.items() if {} in found.get("security", [])}
    assert {"GET /v1/cart", "POST /v1/checkout", "GET /v1/products/{product_id}",
            "GET /v1/orders/{order_id}"} <= optional
    assert not optional & {"GET /v1/users/me", "GET /v1/orders", "POST /v1/admin/products",
                           "POST /v1/auth/logout", "POST /v1/cart/merge"}
