"""Throughput and latency of the command path: admin writes through the API to Kafka and back.

Two phases, each N requests at a fixed concurrency: POST /v1/admin/products (one
command, CreateProduct) and PATCH /v1/admin/products/{id} with {"stock": k} (two
commands, ChangeProduct then SetStock, then a wait for the catalog view to show
them). Through the gateway, 429s from its per-address rate limit are counted,
never retried. Run: `.venv/bin/python -m bench.command_path --target gateway`.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

import httpx

from bench import cpu, load
from bench.admin import admin_and_category, new_product
from infra.settings import get_settings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per phase (default 2000)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--target", choices=("gateway", "replicas"), default="gateway",
                        help="the gateway, or each API replica in turn (round robin)")
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="seconds per phase; requests not sent by then are reported")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    ports = ([settings.gateway_port] if args.target == "gateway"
             else settings.api_replica_ports)
    limits = httpx.Limits(max_connections=args.concurrency,
                          max_keepalive_connections=args.concurrency)
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0,
                                 limits=limits) for port in ports]
    try:
        auth, category_id, token = await admin_and_category(clients[0])
        run = uuid.uuid4().hex[:8]
        # The first product write carries the category's token, so the category is
        # in the catalog view before the timed writes start; it is not timed.
        first = await clients[0].post("/v1/admin/products",
                                      json=new_product(run, -1, category_id),
                                      headers=auth | {"X-Consistency-Token": token})
        first.raise_for_status()

        product_ids: list[str] = []  # filled by the first phase, changed by the second

        async def create(i: int) -> httpx.Response:
            response = await clients[i % len(clients)].post(
                "/v1/admin/products", json=new_product(run, i, category_id), headers=auth)
            if response.status_code == 201:
                product_ids.append(response.json()["id"])
            return response

        async def patch(i: int) -> httpx.Response:
            product_id = product_ids[i % len(product_ids)] if product_ids else first.json()["id"]
            # Created with stock 100, so every SetStock changes it: one StockAdjusted each.
            return await clients[i % len(clients)].patch(
                f"/v1/admin/products/{product_id}", json={"stock": i % 50}, headers=auth)

        print(f"target {args.target} (ports {', '.join(map(str, ports))}), "
              f"{args.requests} requests per phase, concurrency {args.concurrency}")
        before = cpu.snapshot()
        created = await load.run(args.requests, args.concurrency, create, args.time_limit)
        print(created.summary("POST /v1/admin/products (CreateProduct)"))
        print(cpu.report(before, cpu.snapshot(), created.seconds))

        if args.target == "gateway":
            pause = 2 * settings.gateway_rate_window_s
            print(f"pausing {pause} s so the gateway's rate window starts empty")
            await asyncio.sleep(pause)
        before = cpu.snapshot()
        patched = await load.run(args.requests, args.concurrency, patch, args.time_limit)
        print(patched.summary("PATCH /v1/admin/products/{id} (ChangeProduct + SetStock)",
                              commands_per_request=2))
        print(cpu.report(before, cpu.snapshot(), patched.seconds))
    finally:
        for client in clients:
            await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
