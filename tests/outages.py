"""What the outage tests share: a part of the stack stopped for a while, and a record of
every answer the clients got, with when it was sent and how long it took."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from ops.stack.manager import Stack
from tests.support import PASSWORD, unique_email


@dataclass(frozen=True)
class Answer:
    target: str
    sent_at: float
    took_s: float
    status: int | None  # None: no HTTP answer at all
    retry_after: str | None = None
    content_type: str = ""
    detail: str = ""
    body: dict = field(default_factory=dict)
    consistency_token: str | None = None  # X-Consistency-Token of an accepted write

    @property
    def done_at(self) -> float:
        return self.sent_at + self.took_s

    def is_unavailable(self, dependency: str) -> bool:
        """A 503 that says `dependency` is unavailable, as problem+json with Retry-After."""
        return (self.status == 503 and self.retry_after is not None
                and self.content_type.startswith("application/problem+json")
                and dependency in self.detail)


async def call(target: str, send: Callable[[], Awaitable[httpx.Response]]) -> Answer:
    """Send one request and record its answer (a transport error is an answer too)."""
    sent_at = time.monotonic()
    try:
        response = await send()
    except httpx.TransportError as error:
        return Answer(target, sent_at, time.monotonic() - sent_at, None, detail=repr(error))
    took_s = time.monotonic() - sent_at
    content_type = response.headers.get("content-type", "")
    body = response.json() if "json" in content_type else {}
    return Answer(target, sent_at, took_s, response.status_code,
                  response.headers.get("retry-after"), content_type,
                  str(body.get("detail", "")) if isinstance(body, dict) else "",
                  body if isinstance(body, dict) else {},
                  response.headers.get("x-consistency-token"))


class Shopper:
    """Opens the product page and searches for it, in turns, until told to stop."""

    def __init__(self, http: httpx.AsyncClient, product: dict) -> None:
        self.http, self.product = http, product
        self.answers: list[Answer] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            self.answers.append(await call("product", lambda: self.http.get(
                f"/v1/products/{self.product['id']}")))
            self.answers.append(await call("search", lambda: self.http.get(
                "/v1/search", params={"q": self.product["word"]})))
            await asyncio.sleep(0.1)


# What a careful client sends again with the same Idempotency-Key: the gateway finding no
# replica (502), a dependency unavailable (503), an answer not confirmed in time (504),
# and no answer at all.
RETRIED = (None, 502, 503, 504)


async def persist(target: str, send: Callable[[], Awaitable[httpx.Response]],
                  answers: list[Answer], *, pause_s: float = 0.5, attempts: int = 120
                  ) -> Answer:
    """Send a request until its answer is not one to retry (`RETRIED`), as a client with an
    Idempotency-Key does; every answer goes to `answers`, the last one is returned."""
    for _ in range(attempts):
        answer = await call(target, send)
        answers.append(answer)
        if answer.status not in RETRIED:
            return answer
        await asyncio.sleep(pause_s)
    raise AssertionError(f"{target}: still {answer.status} after {attempts} attempts: {answer}")


async def signed_in(http: httpx.AsyncClient, email: str, answers: list[Answer],
                    consistency_token: str | None = None) -> dict[str, str]:
    """Sign in as a client does while the shop is under strain (`persist`), after the
    write of `consistency_token` if given: the Authorization header."""
    headers = {"X-Consistency-Token": consistency_token} if consistency_token else {}
    answer = await persist("log-in", lambda: http.post(
        "/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=headers),
        answers)
    assert answer.status == 200, answer
    return {"Authorization": f"Bearer {answer.body['access_token']}"}


async def signed_up(http: httpx.AsyncClient, prefix: str, answers: list[Answer]
                    ) -> tuple[str, dict[str, str]]:
    """A new signed-in customer, made as a client does while the shop is under strain: the
    sign-up sent again with its Idempotency-Key until it is answered (`persist`)."""
    email = unique_email(prefix)
    key = str(uuid.uuid4())
    created = await persist("sign-up", lambda: http.post(
        "/v1/users", json={"email": email, "password": PASSWORD, "full_name": "Test Shopper"},
        headers={"Idempotency-Key": key}), answers)
    assert created.status == 201, created
    return email, await signed_in(http, email, answers, created.consistency_token)


def statuses(answers: list[Answer]) -> Counter:
    return Counter(a.status for a in answers)


def recovered_at(answers: list[Answer], target: str, since: float, status: int) -> float | None:
    """When `target` first answered `status`, among the requests sent after `since`."""
    return min((a.done_at for a in answers
                if a.target == target and a.sent_at >= since and a.status == status),
               default=None)


@asynccontextmanager
async def stopped(stack: Stack, name: str) -> AsyncIterator[None]:
    """Stop one part of the stack; start it again and wait for its health on the way out,
    whatever happened inside."""
    parts = stack.select([name])
    try:
        await asyncio.to_thread(stack.down, parts)
        yield
    finally:
        await asyncio.to_thread(stack.up, parts)


async def every_product_readable(url: str, ids: set[str], timeout_s: float = 60) -> None:
    """Every acknowledged product shows on its page (no token: it may take a moment).

    Read from a replica directly: so many reads at once would pass the gateway's limit.
    """
    missing = set(ids)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while missing and time.monotonic() < deadline:
            for product_id in sorted(missing):
                if (await http.get(f"/v1/products/{product_id}")).status_code == 200:
                    missing.discard(product_id)
            await asyncio.sleep(0.5)
    assert not missing, f"{len(missing)} of {len(ids)} acknowledged products are not readable"
