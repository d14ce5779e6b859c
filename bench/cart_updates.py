"""The carts read model's writes in MongoDB as the collection grows: time per guarded update.

Fills a new collection with carts shaped as the carts projection keeps them, and
at each size (`--sizes`) times the projection's own two calls on random carts,
one at a time as its writer makes them: the update guarded by the cart's version
(`{_id, version: {$lt: v}}`, upserting) and the `find_one` by `_id` that fills
the cache. `--url` points it at another MongoDB (another FerretDB backend, say);
by default, the stack's. The collection is dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime

from pymongo import MongoClient
from pymongo.collection import Collection

from infra.settings import get_settings

PRODUCTS = [str(uuid.UUID(int=n)) for n in range(1, 6)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="", help="a MongoDB URL; default: the stack's")
    parser.add_argument("--sizes", default="1000,10000",
                        help="cart counts to measure at, comma separated, growing")
    parser.add_argument("--updates", type=int, default=300, help="timed updates per size")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def new_cart(cart_id: str) -> dict:
    now = datetime.now(UTC)
    return {"_id": cart_id, "version": 1, "updated_at": now,
            "items": {PRODUCTS[0]: {"quantity": 1, "added_at": now}}}


def fill(collection: Collection, versions: dict[str, int], size: int) -> None:
    """Add carts until the collection holds `size`, in batches."""
    while len(versions) < size:
        batch = [str(uuid.uuid4()) for _ in range(min(1000, size - len(versions)))]
        collection.insert_many([new_cart(cart_id) for cart_id in batch])
        versions.update(dict.fromkeys(batch, 1))


def guarded_update(collection: Collection, cart_id: str, version: int) -> None:
    """The carts projection's write for CartItemQuantityChanged."""
    item = f"items.{random.choice(PRODUCTS)}"
    collection.update_one({"_id": cart_id, "version": {"$lt": version}},
                          {"$set": {f"{item}.quantity": version, "version": version,
                                    "updated_at": datetime.now(UTC)}}, upsert=True)


def measure(collection: Collection, versions: dict[str, int], updates: int
            ) -> tuple[list[float], list[float]]:
    """Seconds per guarded update and per find by `_id`, on random carts."""
    update_s, find_s = [], []
    for cart_id in random.choices(list(versions), k=updates):
        versions[cart_id] += 1
        started = time.perf_counter()
        guarded_update(collection, cart_id, versions[cart_id])
        updated = time.perf_counter()
        assert collection.find_one({"_id": cart_id})["version"] == versions[cart_id]
        update_s.append(updated - started)
        find_s.append(time.perf_counter() - updated)
    return update_s, find_s


def summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    return (f"{label} p50 {1000 * statistics.median(ordered):.2f} ms, "
            f"mean {1000 * statistics.fmean(ordered):.2f} ms, p99 {1000 * p99:.2f} ms "
            f"({len(ordered) / sum(ordered):,.0f}/s one at a time)")


def main(args: argparse.Namespace) -> None:
    random.seed(args.seed)
    with MongoClient(args.url or get_settings().mongodb_url) as client:
        version = client.admin.command("buildInfo").get("ferretdbVersion", "MongoDB")
        collection = client[get_settings().mongodb_database][f"bench_carts_{uuid.uuid4().hex[:8]}"]
        versions: dict[str, int] = {}
        try:
            for size in map(int, args.sizes.split(",")):
                started = time.perf_counter()
                fill(collection, versions, size)
                filled_s = time.perf_counter() - started
                update_s, find_s = measure(collection, versions, args.updates)
                print(f"{version}, {size:,} carts (filled in {filled_s:.1f} s), "
                      f"{args.updates} random carts: {summary('guarded update', update_s)}; "
                      f"{summary('find by _id', find_s)}", flush=True)
        finally:
            collection.drop()


if __name__ == "__main__":
    main(parse_args())
