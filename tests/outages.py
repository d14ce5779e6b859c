"""What the outage tests share: a part of the stack stopped for a while or killed, and a
record of every answer the clients got, with when it was sent and how long it took."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import httpx

from ops.stack import process
from ops.stack.manager import Stack
from tests.support import PASSWORD, eventually, replay_equals_live, unique_email


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

    def is_catching_up(self) -> bool:
        """A 503 that says a read model has not caught up with the caller's writes yet."""
        return (self.status == 503 and self.retry_after is not None
                and self.content_type.startswith("application/problem+json")
                and "has not caught up" in self.detail)


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


async def new_product(http: httpx.AsyncClient, admin: dict[str, str], category: dict,
                      answers: list[Answer], *, target: str, sku: str, name: str, price: int,
                      stock: int, key: str | None = None, after: str | None = None) -> Answer:
    """`POST /v1/admin/products` as a careful client sends it: with an Idempotency-Key (`key`,
    or a new one), after the write of consistency token `after` if given, sent again while
    its answer is one to retry (`persist`)."""
    headers = admin | {"Idempotency-Key": key or str(uuid.uuid4())} | (
        {"X-Consistency-Token": after} if after else {})
    return await persist(target, lambda: http.post("/v1/admin/products", headers=headers, json={
        "sku": sku, "name": name, "category_id": category["id"],
        "price": {"amount": price, "currency": "EUR"}, "stock": stock}), answers)


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


def crash(stack: Stack, names: list[str]) -> dict[str, int | None]:
    """kill -9 the parts, as a crash would: their pid files stay, so the stack's supervisor
    restarts them (a `stack up` meanwhile starts each at most once too). The pids killed."""
    return {part.name: process.crash(stack.files(part)) for part in stack.select(names)}


@dataclass(frozen=True)
class Store:
    """A store of read models, as the stack names it and as a 503 names it; what reads
    need it, which writes need only Kafka (and stores still up) and which read models it
    holds."""

    part: str
    name: str
    needed_by: frozenset[str]
    writes_kept: frozenset[str]
    models: tuple[str, ...]


# The requests of `Crowd`: reads, then writes.
READS = ("product", "search", "cart", "profile")
WRITES = ("sign-up", "new product")
STORES = {store.part: store for store in (
    # Accounts, the catalog, orders and the key store: every write seals or checks with it.
    Store("mysql", "MySQL", frozenset({"product", "profile"}), frozenset(),
          ("catalog", "users", "orders", "audit")),
    Store("elasticsearch", "Elasticsearch", frozenset({"search"}),
          frozenset({"sign-up", "new product"}), ("catalog-search",)),
    Store("mongodb", "MongoDB", frozenset({"cart"}), frozenset({"sign-up", "new product"}),
          ("carts",)),
    # Sessions: every signed-in request checks its session there.
    Store("redis", "Redis", frozenset({"cart", "profile"}), frozenset({"sign-up"}),
          ("carts",)),
)}


class Crowd:
    """A shopper reading a product page, searching, opening their cart and profile, while
    newcomers sign up and an administrator adds products, in turns, until told to stop."""

    def __init__(self, http: httpx.AsyncClient, product: dict, customer: dict[str, str],
                 admin: dict[str, str], category_id: str) -> None:
        self.http, self.product = http, product
        self.customer, self.admin, self.category_id = customer, admin, category_id
        self.answers: list[Answer] = []
        self.stop = asyncio.Event()

    def requests(self) -> dict[str, Callable[[], Awaitable[httpx.Response]]]:
        word = uuid.uuid4().hex[:8]
        return {
            "product": lambda: self.http.get(f"/v1/products/{self.product['id']}"),
            "search": lambda: self.http.get("/v1/search", params={"q": self.product["word"]}),
            "cart": lambda: self.http.get("/v1/cart", headers=self.customer),
            "profile": lambda: self.http.get("/v1/users/me", headers=self.customer),
            "sign-up": lambda: self.http.post("/v1/users", json={
                "email": unique_email("outage"), "password": PASSWORD,
                "full_name": "Outage Shopper"}),
            "new product": lambda: self.http.post("/v1/admin/products", headers=self.admin,
                                                  json={
                "sku": f"OUT-{word}", "name": f"Outage lamp {word}",
                "category_id": self.category_id, "price": {"amount": 1500, "currency": "EUR"},
                "stock": 3}),
        }

    async def run(self) -> None:
        while not self.stop.is_set():
            for target, send in self.requests().items():
                self.answers.append(await call(target, send))
            await asyncio.sleep(0.1)


async def store_outage(stack: Stack, crowd: Crowd, store: Store, *, warm_up_s: float,
                       outage_s: float, after_s: float) -> float:
    """Run `crowd` while `store` is stopped for `outage_s` (with `warm_up_s` before and
    `after_s` after its return); return when it was back (monotonic)."""
    running = asyncio.create_task(crowd.run())
    try:
        await asyncio.sleep(warm_up_s)
        async with stopped(stack, store.part):
            await asyncio.sleep(outage_s)
        back_at = time.monotonic()
        await asyncio.sleep(after_s)
    finally:
        crowd.stop.set()
        await running
    return back_at


def outage_faults(answers: list[Answer], store: Store, back_at: float, recovery_s: float
                  ) -> list[str]:
    """What went wrong for users while `store` was down: any answer but a success or a 503
    naming it (or, within `recovery_s` of its return, a 503 saying a read model is still
    catching up with the caller's writes), a write that needs only Kafka refused, a read
    needing it never refused."""
    faults = []
    wrong = [a for a in answers if not 200 <= (a.status or 0) < 300
             and not a.is_unavailable(store.name)
             and not (a.is_catching_up() and back_at <= a.done_at <= back_at + recovery_s)]
    if wrong:
        faults.append(f"answers other than success and a 503 naming {store.name}: "
                      f"{statuses(wrong)}; e.g. {wrong[:3]}")
    refused = [a for a in answers if a.target in store.writes_kept
               and not 200 <= (a.status or 0) < 300]
    if refused:
        faults.append(f"writes that need only Kafka refused: {statuses(refused)}; "
                      f"e.g. {refused[:3]}")
    unaffected = [a for a in answers if a.target in READS and a.target not in store.needed_by
                  and a.status != 200]
    if unaffected:
        faults.append(f"reads that do not need {store.name} failed: {unaffected[:3]}")
    unseen = {target for target in store.needed_by
              if not any(a.target == target and a.status == 503 for a in answers)}
    if unseen:
        faults.append(f"never refused while {store.name} was down, so not tested: {unseen}")
    return faults


async def models_equal_a_replay(clients, store: Store) -> None:
    """Each read model `store` holds, once caught up with its topics, equals its rebuild
    from offset 0 by the project's replay (`streams.replay`)."""
    from streams.replay import replay

    for name in store.models:
        await replay_equals_live(clients, name, partial(replay, clients, name),
                                 timeout_s=180, interval_s=1)


def return_faults(answers: list[Answer], back_at: float, recovery_s: float) -> list[str]:
    """Reads not answering 200 again within `recovery_s` of the store's return, or failing
    after that."""
    faults = []
    late = {read: at for read in READS
            if (at := recovered_at(answers, read, back_at, 200)) is None
            or at > back_at + recovery_s}
    if late:
        faults.append(f"not 200 again within {recovery_s} s of the return: {late}")
    after = [a for a in answers if a.sent_at >= back_at + recovery_s and a.target in READS]
    if not after or statuses(after) != {200: len(after)}:
        faults.append(f"reads failing after recovery: {statuses(after)}")
    return faults


def outage_figures(answers: list[Answer], store: Store, back_at: float) -> dict:
    """Per request, the answers' statuses; per read, when it answered 200 again."""
    return {
        "store": store.name,
        "answers": {target: dict(statuses([a for a in answers if a.target == target]))
                    for target in (*READS, *WRITES)},
        "200_again_after_s": {
            read: None if (at := recovered_at(answers, read, back_at, 200)) is None
            else round(at - back_at, 1) for read in READS},
    }


async def findable_product(http: httpx.AsyncClient, admin: dict[str, str], category: dict
                           ) -> dict:
    """A new product a shopper can open and find by a word of its name (its `word`)."""
    word = f"zephyr{uuid.uuid4().hex[:8]}"
    created = await new_product(http, admin, category, [], target="new product",
                                sku=f"STORE-{word}", name=f"Kettle {word}", price=2500, stock=5)
    assert created.status == 201, created
    found = created.body | {"word": word, "token": created.consistency_token}

    async def readable() -> bool:
        page = await http.get(f"/v1/products/{found['id']}")
        results = await http.get("/v1/search", params={"q": word})
        return page.status_code == 200 and results.status_code == 200 and any(
            item["id"] == found["id"] for item in results.json()["items"])

    await eventually(readable, timeout_s=60, interval_s=0.5)
    return found


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
