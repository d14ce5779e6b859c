"""The carts read model: one MongoDB document per cart, cached in Redis.

A document is `{_id: cart id, items: {item id: {quantity, added_at, product_id,
variant_id}}, voucher: code or null, version, updated_at}`; the item id is the
variant's id, or the product's for a product without variants (lines written before
variants hold no `product_id`: their item id is it). Writes are guarded by the cart's version, so a record
applied twice changes nothing. The projection writes through to the Redis
cache with the same guard (a Lua script), and readers fill the cache on a miss
the same way, so a stale fill can never overwrite a newer cart. A replay builds
a new collection and points the `carts` alias document at it.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from projections.base import Projection
from schemas.records import Record
from schemas.events.cart import (
    CartCleared,
    CartItemAdded,
    CartItemQuantityChanged,
    CartItemRemoved,
    CartVoucherApplied,
    CartVoucherRemoved,
    OrderedItemsRemoved,
)
from schemas.topics import CART

ALIAS = "carts"
CACHE_TTL_S = 24 * 3600

# Set KEYS[1] to ARGV[2] (JSON with a version) unless the cached version is newer or equal.
_CACHE_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local cached = cjson.decode(current)
  if cached['version'] >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


def cache_key(cart_id: str) -> str:
    return f"cart:{cart_id}"


def _iso(value) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _as_json(document: dict[str, Any]) -> str:
    items = {item: {"quantity": line["quantity"], "added_at": _iso(line.get("added_at")),
                    "product_id": line.get("product_id", item),
                    "variant_id": line.get("variant_id")}
             for item, line in document.get("items", {}).items()}
    return json.dumps({"id": document["_id"], "items": items,
                       "voucher": document.get("voucher"),
                       "version": document["version"],
                       "updated_at": _iso(document["updated_at"])})


async def _apply_once(collection, cart_id: str, version: int, at, update: dict) -> None:
    """Apply `update` to the cart unless it shows `version` already.

    Guarded by the version, and without an upsert on that guard: an upsert that meets a
    newer cart fails on its key, which the database logs as an error on every
    redelivered event. A cart not there yet is made first, empty and older than any event.
    """
    guard = {"_id": cart_id, "version": {"$lt": version}}
    if (await collection.update_one(guard, update)).matched_count:
        return
    created = await collection.update_one(
        {"_id": cart_id}, {"$setOnInsert": {"items": {}, "version": 0, "updated_at": at}},
        upsert=True)
    if created.upserted_id is not None:
        await collection.update_one(guard, update)


class CartsProjection(Projection):
    name = "carts"
    topics = (CART.events.name,)

    def __init__(self, mongo: AsyncMongoClient, database: str, redis: aioredis.Redis,
                 collection: str | None = None) -> None:
        self.db = mongo[database]
        self.redis = redis
        # None: the live model, wherever the alias points; else a replay's own collection.
        self._collection = collection
        self._cache_if_newer = redis.register_script(_CACHE_IF_NEWER)

    async def collection_name(self) -> str:
        if self._collection:
            return self._collection
        alias = await self.db.projection_aliases.find_one({"_id": ALIAS})
        return alias["collection"] if alias else f"{ALIAS}_initial"

    async def setup(self) -> None:
        if self._collection is None:
            # An upsert, not an insert that may fail: a duplicate key is an error in the
            # database's own log, and a restart is no error.
            await self.db.projection_aliases.update_one(
                {"_id": ALIAS}, {"$setOnInsert": {"collection": f"{ALIAS}_initial"}},
                upsert=True)

    async def apply(self, records: list[Record]) -> None:
        collection = self.db[await self.collection_name()]
        touched: dict[str, int] = {}
        for record in records:
            event = record.envelope.event()
            cart_id = str(getattr(event, "cart_id", ""))
            version = record.envelope.aggregate_version
            at = record.envelope.occurred_at
            match event:
                case CartItemAdded() | CartItemQuantityChanged():
                    item = f"items.{event.item_id}"
                    update = {"$set": {f"{item}.quantity": event.quantity, "version": version,
                                       "updated_at": at}}
                    if isinstance(event, CartItemAdded):
                        update["$set"] |= {
                            f"{item}.added_at": at, f"{item}.product_id": str(event.product_id),
                            f"{item}.variant_id": str(event.variant_id) if event.variant_id
                            else None}
                case CartItemRemoved():
                    update = {"$unset": {f"items.{event.item_id}": ""},
                              "$set": {"version": version, "updated_at": at}}
                case CartCleared():
                    update = {"$set": {"items": {}, "voucher": None, "version": version,
                                       "updated_at": at}}
                case CartVoucherApplied() | CartVoucherRemoved():
                    code = event.code if isinstance(event, CartVoucherApplied) else None
                    update = {"$set": {"voucher": code, "version": version, "updated_at": at}}
                case OrderedItemsRemoved():
                    kept = {f"items.{item}.quantity": quantity
                            for item, quantity in event.quantities.items() if quantity}
                    gone = {f"items.{item}": "" for item, quantity
                            in event.quantities.items() if not quantity}
                    update = {"$set": {**kept, "version": version, "updated_at": at}}
                    if gone:
                        update["$unset"] = gone
                case _:
                    continue
            await _apply_once(collection, cart_id, version, at, update)
            touched[cart_id] = version
        if self._collection is None:
            for cart_id in touched:
                document = await collection.find_one({"_id": cart_id})
                if document is not None:
                    await self.cache(document)

    async def cache(self, document: dict[str, Any]) -> None:
        """Put a cart in the cache unless the cache holds the same or a newer version."""
        await self._cache_if_newer(keys=[cache_key(document["_id"])],
                                   args=[document["version"], _as_json(document), CACHE_TTL_S])

    async def document(self, cart_id: str) -> dict[str, Any] | None:
        """The live cart's MongoDB document, its time in UTC, or None."""
        document = await self.db[await self.collection_name()].find_one({"_id": cart_id})
        if document is not None:
            document["updated_at"] = document["updated_at"].replace(tzinfo=UTC)
        return document

    @staticmethod
    def as_json(document: dict[str, Any]) -> str:
        """The cart as the cache holds it."""
        return _as_json(document)

    def shadow(self, suffix: str) -> CartsProjection:
        return CartsProjection(self.db.client, self.db.name, self.redis,
                               collection=f"{ALIAS}_{suffix}")

    async def promote(self, shadow: Projection) -> None:
        assert isinstance(shadow, CartsProjection) and shadow._collection
        old = await self.collection_name()
        await self.db.projection_aliases.update_one(
            {"_id": ALIAS}, {"$set": {"collection": shadow._collection}}, upsert=True)
        await self.db.drop_collection(old)

    async def drop(self) -> None:
        if self._collection:
            await self.db.drop_collection(self._collection)

    async def snapshot(self) -> dict[str, dict]:
        collection = self.db[await self.collection_name()]
        return {d["_id"]: d async for d in collection.find({})}
