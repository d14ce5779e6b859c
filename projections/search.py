"""The product search model in Elasticsearch, behind the `products` alias.

Mappings are versioned here; a change of them is rolled out by replaying into
a new index and moving the alias. Every write indexes the whole document with
the aggregate's version as an external version, so a stale or repeated write is
refused by Elasticsearch itself (409, ignored).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk

from projections.base import Projection, Record
from schemas.events.catalog import ProductChanged, ProductCreated, StockAdjusted
from schemas.topics import CATALOG

ALIAS = "products"
MAPPING_VERSION = 1

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": {
        "normalizer": {"sortable": {"type": "custom", "filter": ["lowercase"]}},
        "analyzer": {
            # Shingles give the phrase suggester word pairs to correct against.
            "shingled": {"type": "custom", "tokenizer": "standard",
                         "filter": ["lowercase", "shingles"]},
        },
        "filter": {"shingles": {"type": "shingle", "min_shingle_size": 2,
                                "max_shingle_size": 3}},
    },
}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "sku": {"type": "keyword"},
        "name": {"type": "text", "fields": {
            "sort": {"type": "keyword", "normalizer": "sortable"},
            "shingles": {"type": "text", "analyzer": "shingled"},
        }},
        "slug": {"type": "keyword"},
        "description": {"type": "text"},
        "category_id": {"type": "keyword"},
        "price_amount": {"type": "long"},
        "currency": {"type": "keyword"},
        "images": {"type": "object", "enabled": False},
        "specifications": {"type": "object", "enabled": False},
        "specifications_text": {"type": "text"},
        "stock": {"type": "integer"},
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
        "suggest": {"type": "completion"},
        "version": {"type": "long"},
    },
}


def _specifications_text(specifications: dict[str, str]) -> str:
    return " ".join(f"{name} {value}" for name, value in specifications.items())


def _created(event: ProductCreated, record: Record) -> dict[str, Any]:
    at = record.envelope.occurred_at.astimezone(UTC).isoformat()
    return {
        "id": str(event.product_id), "sku": event.sku, "name": event.name, "slug": event.slug,
        "description": event.description, "category_id": str(event.category_id),
        "price_amount": event.price.amount, "currency": event.price.currency,
        "images": [i.model_dump() for i in event.images],
        "specifications": event.specifications,
        "specifications_text": _specifications_text(event.specifications),
        "stock": event.stock, "created_at": at, "updated_at": at,
        "suggest": {"input": [event.name]}, "version": record.envelope.aggregate_version,
    }


def _changed(document: dict[str, Any], event: ProductChanged | StockAdjusted,
             record: Record) -> dict[str, Any]:
    updated = dict(document)
    if isinstance(event, StockAdjusted):
        updated["stock"] = event.available
    else:
        changes = event.model_dump(mode="json", exclude_none=True, exclude={"product_id", "price"})
        updated |= changes
        if event.price is not None:
            updated |= {"price_amount": event.price.amount, "currency": event.price.currency}
        if event.name is not None:
            updated["suggest"] = {"input": [event.name]}
        if event.specifications is not None:
            updated["specifications_text"] = _specifications_text(event.specifications)
    updated["updated_at"] = record.envelope.occurred_at.astimezone(UTC).isoformat()
    updated["version"] = record.envelope.aggregate_version
    return updated


class SearchProjection(Projection):
    name = "catalog-search"
    topics = (CATALOG.events.name,)

    def __init__(self, es: AsyncElasticsearch, index: str | None = None) -> None:
        self.es = es
        # The live projection writes through the alias; a replay into its own index.
        self.index = index or ALIAS

    async def setup(self) -> None:
        if self.index != ALIAS:
            await self.es.indices.create(index=self.index, settings=SETTINGS, mappings=MAPPINGS)
        elif not await self.es.indices.exists_alias(name=ALIAS):
            first = f"{ALIAS}-v{MAPPING_VERSION}-initial"
            if not await self.es.indices.exists(index=first):
                await self.es.indices.create(index=first, settings=SETTINGS, mappings=MAPPINGS,
                                             aliases={ALIAS: {}})

    async def apply(self, records: list[Record]) -> None:
        relevant = [(r, r.envelope.event()) for r in records
                    if r.envelope.type in ("ProductCreated", "ProductChanged", "StockAdjusted")]
        if not relevant:
            return
        changed_ids = {str(e.product_id) for _, e in relevant if not isinstance(e, ProductCreated)}
        documents: dict[str, dict[str, Any]] = {}
        if changed_ids:
            found = await self.es.mget(index=self.index, ids=sorted(changed_ids))
            documents = {d["_id"]: d["_source"] for d in found["docs"] if d.get("found")}
        latest: dict[str, dict[str, Any]] = {}
        for record, event in relevant:
            product_id = str(event.product_id)
            if isinstance(event, ProductCreated):
                document = _created(event, record)
            elif (current := latest.get(product_id) or documents.get(product_id)) is not None:
                if current["version"] >= record.envelope.aggregate_version:
                    continue  # already applied
                document = _changed(current, event, record)
            else:
                continue  # its creation is not in this index (yet): a replay will bring it
            latest[product_id] = document
        actions = [{"_op_type": "index", "_index": self.index, "_id": product_id,
                    "version": document["version"], "version_type": "external",
                    "_source": document} for product_id, document in latest.items()]
        _, errors = await async_bulk(self.es, actions, raise_on_error=False,
                                     raise_on_exception=True, refresh=False)
        failures = [e for e in errors if e.get("index", {}).get("status") != 409]
        if failures:
            raise RuntimeError(f"indexing products failed: {failures[:3]}")

    def shadow(self, suffix: str) -> SearchProjection:
        return SearchProjection(self.es, index=f"{ALIAS}-v{MAPPING_VERSION}-{suffix}")

    async def promote(self, shadow: Projection) -> None:
        assert isinstance(shadow, SearchProjection)
        current = await self.es.indices.get_alias(name=ALIAS)
        actions = [{"remove": {"index": old, "alias": ALIAS}} for old in current]
        actions.append({"add": {"index": shadow.index, "alias": ALIAS}})
        await self.es.indices.update_aliases(actions=actions)
        for old in current:
            await self.es.indices.delete(index=old)

    async def drop(self) -> None:
        if self.index != ALIAS:
            await self.es.indices.delete(index=self.index, ignore_unavailable=True)

    async def refresh(self) -> None:
        await self.es.indices.refresh(index=self.index)

    async def snapshot(self) -> dict[str, dict]:
        await self.refresh()
        documents: dict[str, dict] = {}
        response = await self.es.search(index=self.index, query={"match_all": {}}, size=1000,
                                        sort=["_doc"], scroll="1m")
        while response["hits"]["hits"]:
            for hit in response["hits"]["hits"]:
                documents[hit["_id"]] = hit["_source"]
            response = await self.es.scroll(scroll_id=response["_scroll_id"], scroll="1m")
        await self.es.clear_scroll(scroll_id=response["_scroll_id"])
        return documents
