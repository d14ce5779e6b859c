"""GET /v1/cart under load: requests/s and p50/p99 latency of cart reads.

Sets up one admin, a category with a few products, and shoppers with filled
carts, then reads the carts at a fixed concurrency, straight at the API
replicas (round-robin) or through the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import uuid

import httpx

from bench.admin import PASSWORD, admin_and_category, log_in, new_product
from bench.load import run
from infra.settings import get_settings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--target", choices=["replicas", "gateway"], default="replicas")
    parser.add_argument("--time-limit", type=float, default=300.0)
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    gateway = httpx.AsyncClient(base_url=settings.public_url, timeout=30)
    admin, category_id, token = await admin_and_category(gateway)
    tag = uuid.uuid4().hex[:6]
    products = []
    for i in range(5):
        response = await gateway.post("/v1/admin/products", json=new_product(tag, i, category_id),
                                      headers=admin | {"X-Consistency-Token": token})
        response.raise_for_status()
        products.append(response.json()["id"])
        token = response.headers["X-Consistency-Token"]
    await gateway.get(f"/v1/products/{products[-1]}", headers={"X-Consistency-Token": token})
    shoppers = []
    for n in range(args.shoppers):
        email = f"bench-cart-{tag}-{n}@example.com"
        created = await gateway.post("/v1/users", json={"email": email, "password": PASSWORD,
                                                        "full_name": f"Bench shopper {n}"})
        created.raise_for_status()
        auth = await log_in(gateway, email, created.headers["X-Consistency-Token"])
        for product in products[: 1 + n % 5]:
            (await gateway.post("/v1/cart/items", headers=auth,
                                json={"product_id": product, "quantity": 1})).raise_for_status()
        shoppers.append(auth)

    if args.target == "gateway":
        clients = [gateway]
    else:
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
                   for port in settings.api_replica_ports]
    targets = itertools.cycle(clients)
    await run(min(200, args.requests), args.concurrency,  # warm-up: caches, connections
              lambda i: next(targets).get("/v1/cart", headers=shoppers[i % len(shoppers)]), 60)
    result = await run(args.requests, args.concurrency,
                       lambda i: next(targets).get("/v1/cart", headers=shoppers[i % len(shoppers)]),
                       args.time_limit)
    print(result.summary(f"GET /v1/cart via {args.target}, concurrency {args.concurrency}"))
    for client in {*clients, gateway}:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
