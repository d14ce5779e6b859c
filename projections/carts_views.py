"""Reads of the carts model: one cart, from the Redis cache or else from MongoDB."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar, TypedDict

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from projections.carts import CartsProjection, cache_key
from projections.views import View


class CartLineRow(TypedDict):
    quantity: int
    added_at: datetime | None
    product_id: str
    variant_id: str | None


class CartRow(TypedDict):
    id: str
    items: dict[str, CartLineRow]  # by item id: the variant's, or the product's
    voucher: str | None
    version: int
    updated_at: datetime | None


def _parsed(cached: str) -> CartRow:
    data = json.loads(cached)

    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return CartRow(id=data["id"], version=data["version"], updated_at=moment(data["updated_at"]),
                   voucher=data.get("voucher"),
                   items={item: CartLineRow(quantity=line["quantity"],
                                            added_at=moment(line.get("added_at")),
                                            product_id=line.get("product_id") or item,
                                            variant_id=line.get("variant_id"))
                          for item, line in data["items"].items()})


class CartsView(View):
    model: ClassVar[str] = CartsProjection.name
    topics: ClassVar[tuple[str, ...]] = CartsProjection.topics

    def __init__(self, mongo: AsyncMongoClient, database: str, redis: aioredis.Redis) -> None:
        self.redis = redis
        # The live model's writer, for where its collection is and for its cache.
        self._live = CartsProjection(mongo, database, redis)

    async def find(self, cart_id: str) -> CartRow | None:
        """The cart, from the cache or else from MongoDB (then cached); None if it never was."""
        cached = await self.redis.get(cache_key(cart_id))
        if cached is not None:
            return _parsed(cached)
        document: dict[str, Any] | None = await self._live.document(cart_id)
        if document is None:
            return None
        await self._live.cache(document)
        return _parsed(self._live.as_json(document))
