"""Every text a client sends in a request body is printable and bounded.

The check walks the body model of every route, so a field added later without
one of `schemas.values`' types fails here, not in a fuzzer's hands.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError

from api.app import SERVICE_ROUTERS

# Passwords are never shown, and must match byte for byte what was set before.
PASSWORDS = {"password", "current_password", "new_password"}


def body_models() -> dict[str, type[BaseModel]]:
    return {f"{sorted(route.methods)[0]} {route.path}": param.field_info.annotation
            for routers in SERVICE_ROUTERS.values() for router in routers
            for route in router.routes if isinstance(route, APIRoute)
            for param in route.dependant.body_params}


def text_fields(annotation: Any, path: str, metadata: tuple = ()) -> Iterator[tuple[str, Any]]:
    """Each text a value of `annotation` holds: (its path, its type with its constraints)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        yield from text_fields(args[0], path, (*metadata, *annotation.__metadata__))
    elif origin in (Union, types.UnionType, list):
        for arg in args:
            yield from text_fields(arg, path, metadata)
    elif origin is dict:
        yield from text_fields(args[0], f"{path}[key]", metadata)
        yield from text_fields(args[1], f"{path}[value]", metadata)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            yield from text_fields(field.annotation, f"{path}.{name}", tuple(field.metadata))
    elif annotation in (str, EmailStr):
        yield path, Annotated[annotation, *metadata] if metadata else annotation


TEXTS = {path: text for route, model in body_models().items()
         for path, text in text_fields(model, route) if path.rsplit(".", 1)[-1] not in PASSWORDS}


def test_the_walk_finds_the_texts_of_every_body() -> None:
    assert {"POST /v1/admin/products.description", "POST /v1/admin/products.images.url",
            "POST /v1/admin/products.specifications[key]", "POST /v1/checkout.shipping_address.line2",
            "POST /v1/admin/orders/{order_id}/fulfilment.carrier"} <= set(TEXTS)


@pytest.mark.parametrize("path", sorted(TEXTS))
def test_a_text_refuses_control_characters_and_unbounded_length(path: str) -> None:
    adapter = TypeAdapter(TEXTS[path])
    for refused in ("ab\x07cd@example.com", "ab\x00cd", "ab\x1bcd", "a" * 100_001):
        with pytest.raises(ValidationError):
            adapter.validate_python(refused)
