"""Opaque page cursors: where the last page ended, bound to the query that made it.

A cursor holds the sort's values of the last item (Elasticsearch's
`search_after`) and a fingerprint of the query and sort; a cursor used with
another query, a changed one or garbage is a 422, never a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import Field

# The `next_cursor` of every paged answer.
NextCursor = Annotated[str | None, Field(description="Pass as `cursor` for the next page; "
                                                     "null on the last page.")]


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def encode(after: list[Any], query_fingerprint: str) -> str:
    data = json.dumps({"a": after, "q": query_fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode(cursor: str | None, query_fingerprint: str) -> tuple[Any, ...] | None:
    """The `search_after` values of a cursor; None without one; 422 for a bad one."""
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["a"]
        valid = (isinstance(after, list) and 1 <= len(after) <= 4
                 and all(isinstance(v, str | int | float) and not isinstance(v, bool)
                         for v in after))
        if not valid or data["q"] != query_fingerprint:
            raise ValueError
    except (ValueError, TypeError, KeyError) as error:
        raise invalid() from error
    return tuple(after)


def invalid() -> RequestValidationError:
    """The 422 of a cursor this query did not return (or whose values it cannot use)."""
    return RequestValidationError([{
        "loc": ("query", "cursor"), "type": "value_error",
        "msg": "The cursor is not one this query returned."}])
