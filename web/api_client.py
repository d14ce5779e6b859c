"""The web pages' one client of the public API: a pooled HTTP client built once per process.

Every call is made for a `Visitor` (the person whose browser asked): it carries their
access token, guest cart token and consistency token, and takes back the ones the API
answers, so the next page shows the visitor's own writes. An API error becomes an
`ApiError` holding the API's problem (its `detail`, its field `errors` on 422, its
`Retry-After`); an API that cannot be reached is an `ApiError` of status 503.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

CONSISTENCY_HEADER = "X-Consistency-Token"
CART_TOKEN_HEADER = "X-Cart-Token"
ORDER_TOKEN_HEADER = "X-Order-Token"
# Seconds to suggest waiting when the API itself cannot be reached.
UNREACHABLE_RETRY_AFTER_S = 5


@dataclass
class Visitor:
    """Who a page is made for: their tokens as the browser's cookies hold them.

    `changed` names the fields a call replaced, which the page writes back as cookies.
    """

    access_token: str | None = None
    refresh_token: str | None = None
    cart_token: str | None = None
    consistency_token: str | None = None
    client_address: str | None = None
    changed: set[str] = field(default_factory=set)

    @property
    def signed_in(self) -> bool:
        return self.access_token is not None

    def replace(self, **values: str | None) -> None:
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                self.changed.add(name)


@dataclass(frozen=True)
class FieldError:
    field: str  # the API's dotted path without its `body.`/`query.` part
    message: str


class ApiError(Exception):
    """The API refused a call, or could not be reached (503)."""

    def __init__(self, status: int, detail: str, *, errors: tuple[FieldError, ...] = (),
                 retry_after: str | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors
        self.retry_after = retry_after

    def for_field(self, name: str) -> str | None:
        """The message for a form field: one whose API path ends with `name`."""
        return next((e.message for e in self.errors
                     if e.field == name or e.field.endswith("." + name)), None)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: httpx.Headers


class ApiClient:
    """Calls the API at `base_urls`, trying the next when one cannot be reached."""

    def __init__(self, base_urls: list[str], timeout_s: float) -> None:
        self._bases = itertools.cycle(base_urls)
        self._count = len(base_urls)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=2.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False)

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, visitor: Visitor, method: str, path: str, *, json: Any = None,
                   params: Any = None, headers: dict[str, str] | None = None,
                   idempotent_write: bool = False, expected: tuple[int, ...] = ()) -> Answer:
        """One API request for `visitor`; a write gets an Idempotency-Key, so the retry on
        another replica after a lost connection cannot apply it twice. An error status in
        `expected` is answered (its body is the page's data), not raised."""
        sent = self._headers(visitor, headers)
        if method != "GET" or idempotent_write:
            sent["Idempotency-Key"] = str(uuid.uuid4())
        answer = await self._send(method, path, sent, json, params)
        if answer.status == 401 and visitor.refresh_token and path != "/v1/auth/refresh":
            if await self._refresh(visitor):
                answer = await self._send(method, path, self._headers(visitor, headers) | {
                    k: v for k, v in sent.items() if k == "Idempotency-Key"}, json, params)
        self._take_tokens(visitor, answer)
        if answer.status >= 400 and answer.status not in expected:
            raise _error(answer)
        return answer

    async def gather(self, *calls) -> list[Answer]:
        """Independent calls issued at once: one round trip for a page that needs several."""
        return list(await asyncio.gather(*calls))

    def _headers(self, visitor: Visitor, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if visitor.access_token:
            headers["Authorization"] = f"Bearer {visitor.access_token}"
        if visitor.cart_token:
            headers[CART_TOKEN_HEADER] = visitor.cart_token
        if visitor.consistency_token:
            headers[CONSISTENCY_HEADER] = visitor.consistency_token
        if visitor.client_address:
            headers["X-Forwarded-For"] = visitor.client_address
        return headers | (extra or {})

    async def _send(self, method: str, path: str, headers: dict[str, str], json: Any,
                    params: Any) -> Answer:
        for attempt in range(self._count):
            base = next(self._bases)
            try:
                response = await self._http.request(method, base + path, headers=headers,
                                                    json=json, params=params)
            except (httpx.ConnectError, httpx.RemoteProtocolError):
                if attempt + 1 < self._count:
                    continue
                raise ApiError(503, "The shop cannot be reached right now.",
                               retry_after=str(UNREACHABLE_RETRY_AFTER_S)) from None
            except httpx.TimeoutException:
                raise ApiError(503, "The shop is taking too long to answer.",
                               retry_after=str(UNREACHABLE_RETRY_AFTER_S)) from None
            body = response.json() if response.content and "json" in response.headers.get(
                "content-type", "") else None
            return Answer(response.status_code, body, response.headers)
        raise AssertionError("no API address configured")

    async def _refresh(self, visitor: Visitor) -> bool:
        """Trade the refresh token for a new pair; False (and signed out) if it is spent."""
        answer = await self._send("POST", "/v1/auth/refresh",
                                  self._headers(Visitor(client_address=visitor.client_address),
                                                None),
                                  {"refresh_token": visitor.refresh_token}, None)
        if answer.status != 200:
            visitor.replace(access_token=None, refresh_token=None)
            return False
        visitor.replace(access_token=answer.body["access_token"],
                        refresh_token=answer.body["refresh_token"])
        return True

    @staticmethod
    def _take_tokens(visitor: Visitor, answer: Answer) -> None:
        if token := answer.headers.get(CONSISTENCY_HEADER):
            visitor.replace(consistency_token=token)
        if token := answer.headers.get(CART_TOKEN_HEADER):
            visitor.replace(cart_token=token)


def _error(answer: Answer) -> ApiError:
    body = answer.body if isinstance(answer.body, dict) else {}
    errors = tuple(FieldError(field=_form_path(str(e.get("field", ""))),
                              message=_readable(str(e.get("message", ""))))
                   for e in body.get("errors") or [] if isinstance(e, dict))
    detail = str(body.get("detail") or body.get("title") or f"The shop answered {answer.status}.")
    return ApiError(answer.status, detail, errors=errors,
                    retry_after=answer.headers.get("Retry-After"))


def _form_path(field: str) -> str:
    """`body.shipping_address.city` as `shipping_address.city`; the whole body as ''."""
    head, _, rest = field.partition(".")
    return rest if head in ("body", "query", "path") else ("" if field == "body" else field)


def _readable(message: str) -> str:
    """Pydantic's message without its `Value error, ` prefix, as a sentence."""
    message = message.removeprefix("Value error, ")
    return message[:1].upper() + message[1:]
