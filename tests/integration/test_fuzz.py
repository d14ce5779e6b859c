"""Schemathesis over every route of the API: as a customer with a cart and an order, as
an administrator, without a token, and, apart, over the routes that end the caller's
own session. Every phase runs (examples, coverage, fuzzing, stateful along the
document's links, `api/openapi.py`); whatever a client sends, the API never answers with
a server error, its answers match the document, and the products it made hold nothing
a client may not send.

Each run goes to one API replica directly, from an address of its own, so the failed
sign-ins it causes limit no other test; what it makes stays in its own categories, in
shipping zones of unassigned country codes (`fuzz_hooks.py`), and its webhooks are
deleted afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from infra.settings import Settings
from schemas.money import CURRENCY, MAX_PRICE
from schemas.topics import CATALOG
from schemas.values import unprintable
from tests.support import (
    PASSWORD,
    eventually,
    log_in,
    make_product,
    read_events,
    shopper,
    shopstream,
    sign_up,
    unique_email,
)

HOOKS = Path(__file__).with_name("fuzz_hooks.py")
UUID_IN_PATH = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(/|$)")
# The routes that end the caller's own session: fuzzed in a run of their own, with a
# fresh session whenever the last one ended.
SESSION_ENDING = ("POST /v1/auth/logout", "DELETE /v1/auth/sessions/{session_id}",
                  "POST /v1/users/me/password")
SESSION_ROUTES = r"^/v1/(auth/logout|auth/sessions|users/me/password)"
# Checks beyond `not_a_server_error` that hold for this API (docs/design.md, "Fuzzing").
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance,negative_data_rejection,"
          "unsupported_method,use_after_free,ensure_resource_availability")
ENOUGH_CASES = 10_000
# The stateful phase's scenarios are few and cheap beside the coverage phase's cases.
# They send valid requests only: the other phases send the invalid ones, and a step sent
# without its token or with a broken body ends the scenario before the links it follows.
CONFIG = """
[phases.stateful.generation]
max-examples = 50
mode = "positive"
"""
# An administrator's run follows only the document's links and the Location headers,
# and reuses no values from answers: it may change only what it made itself, never
# another test's products found through a search.
ADMIN_CONFIG = CONFIG + """
[phases.stateful.inference]
algorithms = ["location-headers"]
[phases.examples.extra-data-sources]
responses = false
[phases.coverage.extra-data-sources]
responses = false
[phases.fuzzing.extra-data-sources]
responses = false
"""


@dataclass
class Run:
    """One schemathesis run: who it is and which routes it covers."""

    name: str
    headers: dict[str, str]
    max_examples: int
    replica: int = 0
    exclude: str | None = SESSION_ROUTES
    include: str | None = None
    config: str = CONFIG
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    run: Run
    process: subprocess.CompletedProcess
    report: dict
    answers: Counter  # (method, path, status) -> how many
    products: set[str]  # the products it created or changed
    webhooks: set[str]  # the webhooks it created


def address() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def fuzz(settings: Settings, run: Run, folder: Path) -> Outcome:
    """Run schemathesis as a user would; its JSON report and HAR log land in `folder`."""
    folder.mkdir(parents=True)
    api = f"http://127.0.0.1:{settings.api_replica_ports[run.replica]}"
    own_address = address()
    config = folder / "schemathesis.toml"
    config.write_text(run.config)
    arguments = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config),
        "run", f"{api}/openapi.json", "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing,stateful",
        # One worker: the runs go in parallel as processes instead, since Hypothesis
        # describing strategies in several threads at once fails on Python 3.11's parser.
        "--max-examples", str(run.max_examples), "--workers", "1",
        "--continue-on-failure", "--request-timeout", "60", "--no-color",
        "--suppress-health-check", "all", "--header", f"X-Forwarded-For: {own_address}",
        "--report", "json,har", "--report-dir", str(folder)]
    for name, value in run.headers.items():
        arguments += ["--header", f"{name}: {value}"]
    if run.include:
        arguments += ["--include-path-regex", run.include]
    if run.exclude:
        arguments += ["--exclude-path-regex", run.exclude]
    environment = os.environ | run.environment | {
        "SCHEMATHESIS_HOOKS": str(HOOKS), "SHOPSTREAM_FUZZ_API": api,
        "SHOPSTREAM_FUZZ_ADDRESS": own_address}
    process = subprocess.run(arguments, capture_output=True, text=True, timeout=1800,
                             env=environment, cwd=folder)
    [report] = folder.glob("json-*.json")
    [har] = folder.glob("har-*.json")
    answers: Counter = Counter()
    products: set[str] = set()
    webhooks: set[str] = set()
    for entry in json.loads(har.read_text())["log"]["entries"]:
        method, path = entry["request"]["method"], _route(entry["request"]["url"], api)
        status = entry["response"]["status"]
        answers[(method, path, status)] += 1
        if path.startswith("/v1/admin/products") and status in (200, 201):
            products.add(json.loads(entry["response"]["content"]["text"])["id"])
        if (method, path, status) == ("POST", "/v1/admin/webhooks", 201):
            webhooks.add(json.loads(entry["response"]["content"]["text"])["id"])
    return Outcome(run, process, json.loads(report.read_text()), answers, products, webhooks)


def _route(url: str, api: str) -> str:
    return url.removeprefix(api).split("?", 1)[0]


def problems(payload: dict) -> list[str]:
    """What a stored product's fields hold that no client may send today."""
    found = []
    price = payload.get("price")
    if price and (price["currency"] != CURRENCY or price["amount"] > MAX_PRICE):
        found.append(f"price {price}")
    images = payload.get("images") or []
    lines = [payload.get("sku") or "", payload.get("name") or "",
             *(image["alt"] for image in images),
             *(text for pair in (payload.get("specifications") or {}).items() for text in pair),
             *(text for option in payload.get("options") or []
               for text in (option["name"], *option["values"])),
             *(text for variant in payload.get("variants") or []
               for text in (variant["sku"], *variant["options"], *variant["options"].values()))]
    found += [f"variant price {v['price']}" for v in payload.get("variants") or []
              if v["price"]["currency"] != CURRENCY or v["price"]["amount"] > MAX_PRICE]
    found += [f"text {text!r}" for text in lines if unprintable(text) or text != text.strip()]
    if unprintable(payload.get("description") or "", allowed="\n"):
        found.append(f"description {payload['description']!r}")
    found += [f"image {image['url']!r}" for image in images
              if not image["url"].startswith(("http://", "https://")) or unprintable(image["url"])]
    return found


async def stored_products_are_sound(settings: Settings, gateway: httpx.AsyncClient,
                                    products: set[str]) -> None:
    """Nothing the fuzz stored is what a client may not send, and its products leave a
    cart working."""
    stored = [e for _, _, e in await read_events(settings, CATALOG.events.name)
              if e.type in ("ProductCreated", "ProductChanged") and e.aggregate_id in products]
    assert len(stored) > 1, "the fuzz stored no product: it tested no catalog write"
    assert {e.aggregate_id: problems(e.payload) for e in stored if problems(e.payload)} == {}
    _, auth = await shopper(gateway, "fuzz-cart")
    for product_id in sorted(products)[:10]:
        added = await gateway.post("/v1/cart/items", headers=auth,
                                   json={"product_id": product_id, "quantity": 1})
        assert added.status_code < 500, added.text
    cart = await gateway.get("/v1/cart", headers=auth)
    assert cart.status_code == 200, cart.text


def answered(outcome: Outcome, method: str, prefix: str, status: int) -> int:
    """How many of a run's requests to routes under `prefix` got `status`."""
    return sum(count for (m, path, s), count in outcome.answers.items()
               if m == method and path.startswith(prefix) and s == status)


async def customer(gateway: httpx.AsyncClient, admin: dict) -> str:
    """The address of a customer (password PASSWORD) with a confirmed order and a line in
    the cart."""
    made = await gateway.post("/v1/admin/categories", headers=admin,
                              json={"name": f"Fuzz {uuid.uuid4().hex[:8]}"})
    assert made.status_code == 201, made.text
    category = made.json() | {"token": made.headers["X-Consistency-Token"]}
    product = await make_product(gateway, admin, category, "Fuzz kettle", 1000, 50)
    email, auth = await shopper(gateway, "fuzz-customer")

    async def add_line() -> None:
        added = await gateway.post("/v1/cart/items", headers=auth | {
            "X-Consistency-Token": product["token"]},
            json={"product_id": product["id"], "quantity": 1})
        assert added.status_code == 200, added.text

    await add_line()
    order = await gateway.post("/v1/checkout", headers=auth, json={
        "shipping_address": {"full_name": "Fuzz Customer", "line1": "Hauptstr. 1",
                             "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "payment_method": {"type": "card", "token": "tok_visa"}})
    assert order.status_code == 202, order.text

    async def confirmed() -> bool:
        page = await gateway.get(f"/v1/orders/{order.json()['order_id']}", headers=auth)
        return page.status_code == 200 and page.json()["status"] == "confirmed"

    await eventually(confirmed, timeout_s=60, interval_s=0.5)
    await add_line()
    return email


def signs_in(email: str) -> dict[str, str]:
    """A run's environment for the hooks to sign in as `email` and keep its session live."""
    return {"SHOPSTREAM_FUZZ_EMAIL": email, "SHOPSTREAM_FUZZ_PASSWORD": PASSWORD}


@pytest.mark.timeout(1800)
async def test_no_route_answers_any_client_with_a_server_error(
        settings: Settings, gateway: httpx.AsyncClient, admin_email: str, tmp_path: Path
) -> None:
    # Accounts of its own: the fuzz signs in with wrong passwords, and an account it
    # locks for a while must be no other test's.
    fuzz_admin = unique_email("fuzz-admin")
    shopstream("admin", "create", "--email", fuzz_admin, "--password", PASSWORD)
    admin = await log_in(gateway, fuzz_admin)
    customer_email = await customer(gateway, admin)
    made = await gateway.post("/v1/admin/categories", headers=admin,
                              json={"name": f"Fuzz products {uuid.uuid4().hex[:8]}"})
    assert made.status_code == 201, made.text
    fuzz_category = made.json()["id"]
    session_email = unique_email("fuzz-sessions")
    assert (await sign_up(gateway, session_email)).status_code == 201
    await log_in(gateway, session_email)
    runs = [
        Run("customer", {}, max_examples=15, environment=signs_in(customer_email)),
        Run("admin", {}, max_examples=15, replica=1, config=ADMIN_CONFIG,
            environment=signs_in(fuzz_admin) | {"SHOPSTREAM_FUZZ_CATEGORY": fuzz_category}),
        Run("anonymous", {}, max_examples=10, replica=1, exclude=None),
        Run("sessions", {}, max_examples=40, include=SESSION_ROUTES, exclude=None,
            environment=signs_in(session_email)),
    ]
    outcomes = await asyncio.gather(*(asyncio.to_thread(fuzz, settings, run,
                                                        tmp_path / run.name)
                                      for run in runs))
    # Its webhooks would be sent every matching event: they go (the first token may
    # have expired).
    admin = await log_in(gateway, admin_email)
    for webhook_id in {w for outcome in outcomes for w in outcome.webhooks}:
        deleted = await gateway.delete(f"/v1/admin/webhooks/{webhook_id}", headers=admin)
        assert deleted.status_code in (204, 404), deleted.text

    for outcome in outcomes:
        report, output = outcome.report, outcome.process.stdout
        failures = output[-8000:] + outcome.process.stderr[-2000:]
        assert outcome.process.returncode == 0, f"{outcome.run.name}:\n{failures}"
        assert report["failures"] == [] and report["errors"] == [], failures
        assert report["operations"]["tested"] == report["operations"]["selected"], failures
        assert report["phases"]["stateful"]["status"] == "success", failures
        assert [key for key in outcome.answers if key[2] >= 500] == [], outcome.run.name
    customer_run, admin_run, anonymous_run, sessions_run = outcomes
    # The runs chained calls: a route that names a resource in its path answers 2xx only
    # for an id an earlier answer gave (a generated one names nothing). Which of its links
    # a scenario follows is drawn at random, so this counts them over the runs; that each
    # link joins two routes of the document is `tests/unit/test_openapi_document.py`'s.
    assert sum(count for outcome in (customer_run, admin_run, anonymous_run)
               for (_, path, status), count in outcome.answers.items()
               if 200 <= status < 300 and UUID_IN_PATH.search(path)) > 0
    for route in SESSION_ENDING:
        method, path = route.split(" ", 1)
        assert answered(sessions_run, method, path.split("{")[0], 204) > 0, route
    await stored_products_are_sound(settings, gateway, admin_run.products)
    generated = {o.run.name: o.report["test_cases"]["generated"] for o in outcomes}
    assert sum(generated.values()) >= ENOUGH_CASES, generated
