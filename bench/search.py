"""Search latency and throughput through the API, on a catalog of (by default) 100,000 products.

First `shopstream seed --products N` (timed; it adds only what is missing), then
a wait until the search model has applied every catalog event. Then GET
/v1/search with a fixed mix of queries (one or two words, misspelt words,
category and price filters, sorts), spread over the API replicas, at
concurrency 1 (latency) and at a higher concurrency (throughput); and the same
query bodies straight to Elasticsearch, to tell its share from the API's. Run:
`.venv/bin/python -m bench.search`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import time

import httpx

from bench import cpu, load
from ops.bootstrap import build_clients
from ops.seed import BRANDS, categories
from infra.settings import PROJECT_ROOT, get_settings
from infra.topic_reader import TopicReader
from projections import checkpoints
from projections.search import ALIAS, SearchProjection
from projections.search_views import SearchView
from projections.search_queries import ProductQuery, search_body


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5000, help="per phase (default 5000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--target", choices=("gateway", "replicas"), default="replicas",
                        help="each API replica in turn (default), or the gateway (which "
                             "allows one address 200 requests/s)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per phase")
    return parser.parse_args()


def _typo(rng: random.Random, word: str) -> str:
    """One letter left out, doubled or swapped, away from the first letter."""
    i = rng.randrange(1, len(word) - 1)
    return rng.choice((word[:i] + word[i + 1:], word[:i] + word[i] + word[i:],
                       word[:i] + word[i + 1] + word[i] + word[i + 2:]))


def query_mix(n: int) -> list[dict]:
    """`n` search parameter sets: what shoppers type, a third of them with a typo, some
    narrowed to the category they are after or to a price range of its products."""
    rng = random.Random(20261125)
    tree = categories()
    slugs = {c.path: c.slug for c in tree}
    leaves = [c for c in tree if c.leaf is not None]
    queries = []
    for _ in range(n):
        home = rng.choice(leaves)
        leaf = home.leaf
        assert leaf is not None
        noun = rng.choice(leaf.nouns).split()[-1].lower()
        words = {"noun": [noun], "word noun": [rng.choice(leaf.words).lower(), noun],
                 "brand noun": [rng.choice(BRANDS).lower(), noun]}[
            rng.choice(("noun", "word noun", "brand noun"))]
        if rng.random() < 1 / 3:
            j = rng.randrange(len(words))
            if len(words[j]) > 4:
                words[j] = _typo(rng, words[j])
        params: dict = {"q": " ".join(words)}
        roll = rng.random()
        if roll < 0.2:
            params["category"] = slugs[rng.choice([home.path, home.parent_path or home.path])]
        elif roll < 0.4:
            low, high = leaf.price_eur
            params |= {"min_price": low * 100, "max_price": (low + high) // 2 * 100}
        if rng.random() < 0.25:
            params["sort"] = rng.choice(("price_asc", "price_desc", "newest", "name"))
        queries.append(params)
    return queries


async def caught_up(clients, projection: SearchProjection) -> tuple[int, int]:
    """(events behind, events in the catalog topic) for the search projection."""
    reached = await checkpoints.load(clients.mysql, projection.name)
    async with TopicReader(clients.settings, projection.topics) as reader:
        ends = (await reader.range()).end
    behind = sum(max(end - reached.get((tp.topic, tp.partition), 0), 0)
                 for tp, end in ends.items())
    return behind, sum(ends.values())


async def main(args: argparse.Namespace) -> None:
    settings = get_settings()
    started = time.perf_counter()
    seeded = subprocess.run([sys.executable, "-m", "ops.cli", "seed", "--products",
                             str(args.products)], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=4 * 3600)
    print(f"seed --products {args.products}: {time.perf_counter() - started:.1f} s wall; "
          + " ".join(seeded.stdout.split()))
    if seeded.returncode != 0:
        print(seeded.stderr[-2000:])

    es_clients = build_clients(settings)
    projection = SearchProjection(es_clients.elasticsearch)
    waited = time.perf_counter()
    while (state := await caught_up(es_clients, projection))[0] > 0:
        await asyncio.sleep(1)
    count = (await es_clients.elasticsearch.count(index=ALIAS))["count"]
    print(f"search model caught up {time.perf_counter() - waited:.1f} s after the seed: "
          f"{count:,} products indexed, {state[1]:,} catalog offsets")

    ports = ([settings.gateway_port] if args.target == "gateway"
             else settings.api_replica_ports)
    limits = httpx.Limits(max_connections=args.concurrency,
                          max_keepalive_connections=args.concurrency)
    https = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0,
                               limits=limits) for port in ports]
    mix = query_mix(max(args.requests, 500))
    totals: list[int] = []

    async def search(i: int) -> httpx.Response:
        response = await https[i % len(https)].get("/v1/search", params=mix[i % len(mix)])
        if response.status_code == 200:
            totals.append(response.json()["total"])
        return response

    try:
        await load.run(300, 4, search, 60)  # warm up: caches, connections
        print(f"target {args.target} (ports {', '.join(map(str, ports))}), "
              f"{args.requests} searches per phase")
        for concurrency in (1, args.concurrency):
            totals.clear()
            before = cpu.snapshot()
            run = await load.run(args.requests, concurrency, search, args.time_limit)
            print(run.summary(f"GET /v1/search, concurrency {concurrency}")
                  .replace("commands/s", "searches/s"))
            print(f"  matches per search: median {sorted(totals)[len(totals) // 2]:,}, "
                  f"none for {sum(1 for t in totals if t == 0)} of {len(totals)}")
            print(cpu.report(before, cpu.snapshot(), run.seconds))

        # The same bodies straight to Elasticsearch: its share of the latency.
        bodies = []
        for params in mix:
            subtree = (await SearchView(es_clients.elasticsearch).subtree(params["category"])
                       if "category" in params else None)
            bodies.append(search_body(ProductQuery(
                text=params["q"], category_ids=tuple(c["id"] for c in subtree)
                if subtree is not None else None, min_price=params.get("min_price"),
                max_price=params.get("max_price"), sort=params.get("sort", "relevance"),
                facets=True, suggestion=True)))
        took: list[int] = []
        es = es_clients.elasticsearch

        class Answer:
            status_code = 200

        async def direct(i: int) -> Answer:
            took.append((await es.search(index=ALIAS, **bodies[i % len(bodies)]))["took"])
            return Answer()

        run = await load.run(args.requests, 1, direct, args.time_limit)  # type: ignore[arg-type]
        took.sort()
        print(run.summary("Elasticsearch alone, concurrency 1").replace("commands/s", "searches/s")
              + f"; server-side took p50 {took[len(took) // 2]} ms, "
                f"p99 {took[int(len(took) * 0.99) - 1]} ms")
    finally:
        for client in https:
            await client.aclose()
        await es_clients.close()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
