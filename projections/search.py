"""The product search model in Elasticsearch, behind the `products` and
`catalog-categories` aliases.

Mappings are versioned here (MAPPING_VERSION, also stored in each index's
`_meta`); a change of them is rolled out by replaying into new indices and
moving both aliases at once. The projection runner does that by itself when the
live indices are of an older version.

Every write indexes the whole document with the aggregate's version as an
external version, so a stale or repeated write is refused by Elasticsearch
itself (409, ignored). Search documents carry their category's name and slug.
Categories and products live in different partitions, so a product may arrive
before its category: it is indexed without them, and the category's arrival
re-indexes the products that lack it (same version, `external_gte`). A category
may likewise arrive before its parent; it records the first ancestor it still
waits for, and that ancestor's arrival completes its chain. Either way the
documents end up equal whatever order the partitions are read in, so a replay
rebuilds the same model.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError
from elasticsearch.helpers import async_bulk, async_scan

from infra.dependencies import DependencyUnavailable
from projections.base import Projection
from schemas.records import Record
from schemas.events.catalog import (
    CategoryCreated,
    ProductChanged,
    ProductCreated,
    StockAdjusted,
    StockReleased,
    StockReserved,
    StockReturned,
)
from schemas.topics import CATALOG

ALIAS = "products"
CATEGORIES_ALIAS = "catalog-categories"
# 1: products alone. 2: category name and slug in products, a categories index, the
# `spell` and `all_text` fields for did-you-mean and fuzzy matching across fields.
# 3: no stop words in descriptions and `all_text` (a misspelt "band" matched "and").
# 4: the variants' option values (`options`, as "Size:M", for facets and filters; and
# `options_text`, found by words).
MAPPING_VERSION = 4

PRODUCT_EVENTS = ("ProductCreated", "ProductChanged", "StockAdjusted", "StockReserved",
                  "StockReleased", "StockReturned")
StockChange = StockAdjusted | StockReserved | StockReleased | StockReturned
CATEGORY_EVENTS = ("CategoryCreated",)

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": {
        "normalizer": {"sortable": {"type": "custom", "filter": ["lowercase"]}},
        "analyzer": {
            # Running text without its little words, which typos would otherwise reach.
            "prose": {"type": "custom", "tokenizer": "standard",
                      "filter": ["lowercase", "english_stop"]},
            # Shingles (with the single words) give the phrase suggester word pairs and
            # the words themselves to correct against.
            "shingled": {"type": "custom", "tokenizer": "standard",
                         "filter": ["lowercase", "shingles"]},
        },
        "filter": {"shingles": {"type": "shingle", "min_shingle_size": 2,
                                "max_shingle_size": 3},
                   "english_stop": {"type": "stop", "stopwords": "_english_"}},
    },
}

_SEARCHED = ["spell", "all_text"]  # what every searched text field is copied into

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"mapping_version": MAPPING_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "sku": {"type": "keyword"},
        "name": {"type": "text", "copy_to": _SEARCHED, "fields": {
            "sort": {"type": "keyword", "normalizer": "sortable"},
        }},
        "slug": {"type": "keyword"},
        "description": {"type": "text", "analyzer": "prose", "copy_to": ["all_text"]},
        "category_id": {"type": "keyword"},
        "category_slug": {"type": "keyword"},
        "category_name": {"type": "text", "copy_to": _SEARCHED},
        "price_amount": {"type": "long"},
        "currency": {"type": "keyword"},
        "images": {"type": "object", "enabled": False},
        "specifications": {"type": "object", "enabled": False},
        "specifications_text": {"type": "text", "copy_to": _SEARCHED},
        "options": {"type": "keyword"},
        "options_text": {"type": "text", "copy_to": ["all_text"]},
        "stock": {"type": "integer"},
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
        "suggest": {"type": "completion"},
        "version": {"type": "long"},
        # Filled by copy_to only: every word a product is found by (fuzzy matching
        # requires all of a query's words, wherever they are), and the words and
        # word pairs the did-you-mean suggester corrects towards.
        "all_text": {"type": "text", "analyzer": "prose"},
        "spell": {"type": "text", "analyzer": "shingled"},
    },
}

CATEGORY_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"mapping_version": MAPPING_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "slug": {"type": "keyword"},
        "name": {"type": "keyword"},
        "parent_id": {"type": "keyword"},
        # The category itself, its parent, and so on up to the root or to the first
        # ancestor not seen yet (`pending_parent_id`). Subtree queries look these up.
        "ancestor_ids": {"type": "keyword"},
        "ancestor_slugs": {"type": "keyword"},
        "pending_parent_id": {"type": "keyword"},
        "version": {"type": "long"},
    },
}


# The documents, as pure functions of events ------------------------------------------

def _specifications_text(specifications: dict[str, str]) -> str:
    return " ".join(f"{name} {value}" for name, value in specifications.items())


def _suggest(name: str) -> list[dict[str, Any]]:
    """Autocomplete inputs: the whole name first, then from each later word on."""
    words = name.split()
    tails = [" ".join(words[i:]) for i in range(1, len(words))]
    return [{"input": [name], "weight": 2}] + ([{"input": tails, "weight": 1}] if tails else [])


def option_terms(event: ProductCreated) -> list[str]:
    """Each option value a variant of the product has, as "name:value" (option names
    hold no colon), in the options' order."""
    present = {(name, value) for variant in event.variants
               for name, value in variant.options.items()}
    return [f"{option.name}:{value}" for option in event.options for value in option.values
            if (option.name, value) in present]


def with_category(document: dict[str, Any], category: dict[str, Any] | None) -> dict[str, Any]:
    """The product document with its category's slug and name (None while unknown)."""
    return document | {"category_slug": category["slug"] if category else None,
                       "category_name": category["name"] if category else None}


def created_document(event: ProductCreated, record: Record) -> dict[str, Any]:
    at = record.envelope.occurred_at.astimezone(UTC).isoformat()
    return {
        "id": str(event.product_id), "sku": event.sku, "name": event.name, "slug": event.slug,
        "description": event.description, "category_id": str(event.category_id),
        "category_slug": None, "category_name": None,
        "price_amount": event.price.amount, "currency": event.price.currency,
        "images": [i.model_dump() for i in event.images],
        "specifications": event.specifications,
        "specifications_text": _specifications_text(event.specifications),
        "options": option_terms(event),
        "options_text": " ".join(term.split(":", 1)[1] for term in option_terms(event)),
        "stock": event.stock, "created_at": at, "updated_at": at,
        "suggest": _suggest(event.name), "version": record.envelope.aggregate_version,
    }


def changed_document(document: dict[str, Any], event: ProductChanged | StockChange,
                     record: Record) -> dict[str, Any]:
    updated = dict(document)
    if isinstance(event, StockChange):
        updated["stock"] = event.available
    else:
        changes = event.model_dump(mode="json", exclude_none=True, exclude={"product_id", "price"})
        updated |= changes
        if event.price is not None:
            updated |= {"price_amount": event.price.amount, "currency": event.price.currency}
        if event.name is not None:
            updated["suggest"] = _suggest(event.name)
        if event.specifications is not None:
            updated["specifications_text"] = _specifications_text(event.specifications)
    updated["updated_at"] = record.envelope.occurred_at.astimezone(UTC).isoformat()
    updated["version"] = record.envelope.aggregate_version
    return updated


def category_document(event: CategoryCreated, version: int,
                      parent: dict[str, Any] | None) -> dict[str, Any]:
    """A category's document, its chain continued from its parent's if that is known."""
    category_id = str(event.category_id)
    parent_id = str(event.parent_id) if event.parent_id else None
    document = {"id": category_id, "slug": event.slug, "name": event.name,
                "parent_id": parent_id, "ancestor_ids": [category_id],
                "ancestor_slugs": [event.slug], "pending_parent_id": parent_id,
                "version": version}
    return extend_chain(document, parent) if parent is not None else document


def extend_chain(document: dict[str, Any], ancestor: dict[str, Any]) -> dict[str, Any]:
    """`document` was waiting for `ancestor`: append its chain, wait for what it waits for."""
    assert document["pending_parent_id"] == ancestor["id"]
    return document | {"ancestor_ids": document["ancestor_ids"] + ancestor["ancestor_ids"],
                       "ancestor_slugs": document["ancestor_slugs"] + ancestor["ancestor_slugs"],
                       "pending_parent_id": ancestor["pending_parent_id"]}


def add_categories(known: dict[str, dict[str, Any]],
                   events: list[tuple[CategoryCreated, int]]
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Documents for these creations: (every new or completed one, to write; the documents
    of every category the events create, for the products waiting for them).

    The second holds the categories indexed before too: a batch applied again after a
    failure may have written its categories the first time and not yet completed the
    products waiting for them.

    `known` must hold the events' categories and parents if indexed, and every
    category still waiting for an ancestor.
    """
    known = dict(known)
    written: dict[str, dict[str, Any]] = {}
    for event, version in events:
        category_id = str(event.category_id)
        if category_id in known:
            continue  # already applied
        parent_id = str(event.parent_id) if event.parent_id else None
        document = category_document(event, version,
                                     known.get(parent_id) if parent_id else None)
        known[category_id] = written[category_id] = document
        for other_id, other in list(known.items()):
            if other.get("pending_parent_id") == category_id:
                known[other_id] = written[other_id] = extend_chain(other, document)
    return written, {str(event.category_id): known[str(event.category_id)]
                     for event, _ in events}


def check_bulk(index: str, errors: list[dict[str, Any]]) -> None:
    """Raise if a bulk write into `index` failed for other than an older version (409,
    a stale or repeated write): as an outage when every failure says Elasticsearch could
    not take it now (a shard not yet recovered, a node too busy), else as a bug."""
    failures = [e.get("index", {}) for e in errors if e.get("index", {}).get("status") != 409]
    if not failures:
        return
    if all(f.get("status") in (429, 502, 503, 504) for f in failures):
        raise DependencyUnavailable("Elasticsearch", f"indexing into {index}: "
                                    f"{failures[0].get('error', {}).get('type')}")
    raise RuntimeError(f"indexing into {index} failed: {failures[:3]}")


# The projection ------------------------------------------------------------------------

class SearchProjection(Projection):
    name = "catalog-search"
    topics = (CATALOG.events.name,)

    def __init__(self, es: AsyncElasticsearch, suffix: str | None = None) -> None:
        self.es = es
        self.suffix = suffix
        # The live projection writes and reads through the aliases; a replay its own indices.
        if suffix is None:
            self.index, self.categories_index = ALIAS, CATEGORIES_ALIAS
        else:
            self.index = f"{ALIAS}-v{MAPPING_VERSION}-{suffix}"
            self.categories_index = f"{CATEGORIES_ALIAS}-v{MAPPING_VERSION}-{suffix}"

    @property
    def is_shadow(self) -> bool:
        return self.suffix is not None

    async def setup(self) -> None:
        if self.is_shadow:
            await self.es.indices.create(index=self.categories_index, settings=SETTINGS,
                                         mappings=CATEGORY_MAPPINGS)
            await self.es.indices.create(index=self.index, settings=SETTINGS, mappings=MAPPINGS)
        elif not await self.es.indices.exists_alias(name=ALIAS):
            # A new stack: the first indices, behind their aliases from the start.
            first = f"v{MAPPING_VERSION}-initial"
            for alias, mappings in ((CATEGORIES_ALIAS, CATEGORY_MAPPINGS), (ALIAS, MAPPINGS)):
                try:
                    await self.es.indices.create(index=f"{alias}-{first}", settings=SETTINGS,
                                                 mappings=mappings, aliases={alias: {}})
                except BadRequestError as error:
                    if error.error != "resource_already_exists_exception":
                        raise  # otherwise another process created it first
        # Live indices of an older mapping version stay until a replay replaces them.

    async def outdated(self) -> bool:
        """True when the live indices' mappings are older than this code's."""
        if self.is_shadow:
            return False
        for alias in (ALIAS, CATEGORIES_ALIAS):
            try:
                mappings = await self.es.indices.get_mapping(index=alias)
            except NotFoundError:
                return True
            for index in mappings.values():
                meta = index["mappings"].get("_meta", {})
                if meta.get("mapping_version") != MAPPING_VERSION:
                    return True
        return False

    async def apply(self, records: list[Record]) -> None:
        categories = [(r, r.envelope.event()) for r in records
                      if r.envelope.type in CATEGORY_EVENTS]
        products = [(r, r.envelope.event()) for r in records
                    if r.envelope.type in PRODUCT_EVENTS]
        if not (categories or products):
            return
        arrived = await self._apply_categories(categories) if categories else {}
        if products:
            await self._apply_products(products)
        if arrived:
            await self._complete_products(arrived)
        # No refresh here: Elasticsearch refreshes on its own each second, and a reader
        # that waits for a write refreshes when it needs to (`SearchView.show`).

    async def _categories(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        return await self._get(self.categories_index, ids)

    async def _apply_categories(self, events: list[tuple[Record, CategoryCreated]]
                                ) -> dict[str, dict[str, Any]]:
        """Index new categories and complete the chains waiting for them; the documents of
        every category these events create (`add_categories`)."""
        await self.es.indices.refresh(index=self.categories_index)
        waiting = {hit["_id"]: hit["_source"] async for hit in async_scan(
            self.es, index=self.categories_index,
            query={"query": {"exists": {"field": "pending_parent_id"}}})}
        ids = {str(e.category_id) for _, e in events}
        parents = {str(e.parent_id) for _, e in events if e.parent_id}
        known = await self._categories(ids | parents) | waiting
        written, arrived = add_categories(known, [(e, r.envelope.aggregate_version)
                                                  for r, e in events])
        await self._index(self.categories_index, written.values(), "external_gte")
        return arrived

    async def _apply_products(self, events: list[tuple[Record, Any]]) -> None:
        changed_ids = {str(e.product_id) for _, e in events if not isinstance(e, ProductCreated)}
        documents: dict[str, dict[str, Any]] = {}
        if changed_ids:
            documents = await self._get(self.index, changed_ids)
        latest: dict[str, dict[str, Any]] = {}
        for record, event in events:
            product_id = str(event.product_id)
            if isinstance(event, ProductCreated):
                document = created_document(event, record)
            elif (current := latest.get(product_id) or documents.get(product_id)) is not None:
                if current["version"] >= record.envelope.aggregate_version:
                    continue  # already applied
                document = changed_document(current, event, record)
            else:
                continue  # its creation is not in this index (yet): a replay will bring it
            latest[product_id] = document
        categories = await self._categories({d["category_id"] for d in latest.values()})
        await self._index(self.index, (with_category(d, categories.get(d["category_id"]))
                                       for d in latest.values()), "external")

    async def _complete_products(self, categories: dict[str, dict[str, Any]]) -> None:
        """Give the products indexed before their category its slug and name."""
        await self.es.indices.refresh(index=self.index)
        query = {"bool": {"filter": [{"terms": {"category_id": sorted(categories)}}],
                          "must_not": [{"exists": {"field": "category_slug"}}]}}
        batch: list[dict[str, Any]] = []
        async for hit in async_scan(self.es, index=self.index, query={"query": query}):
            document = hit["_source"]
            batch.append(with_category(document, categories[document["category_id"]]))
            if len(batch) >= 1000:
                await self._index(self.index, batch, "external_gte")
                batch = []
        await self._index(self.index, batch, "external_gte")

    async def _get(self, index: str, ids: set[str]) -> dict[str, dict[str, Any]]:
        """The documents of `ids` that `index` holds.

        A shard that cannot be read (Elasticsearch just restarted and is still recovering
        it) answers an error for each of its documents instead of failing the request;
        taken for "not there", it would index a product without its category, or skip a
        change, for good. So it fails the batch, which is applied again once the shard
        is back."""
        found = await self.es.mget(index=index, ids=sorted(ids))
        if errors := [d["error"] for d in found["docs"] if "error" in d]:
            raise DependencyUnavailable("Elasticsearch", f"reading {index}: {errors[0]['type']}")
        return {d["_id"]: d["_source"] for d in found["docs"] if d.get("found")}

    async def _index(self, index: str, documents, version_type: str) -> None:
        actions = [{"_op_type": "index", "_index": index, "_id": d["id"],
                    "version": d["version"], "version_type": version_type, "_source": d}
                   for d in documents]
        if not actions:
            return
        _, errors = await async_bulk(self.es, actions, raise_on_error=False,
                                     raise_on_exception=True, refresh=False)
        check_bulk(index, errors)

    def shadow(self, suffix: str) -> SearchProjection:
        return SearchProjection(self.es, suffix=suffix)

    async def promote(self, shadow: Projection) -> None:
        assert isinstance(shadow, SearchProjection) and shadow.is_shadow
        await self.es.indices.refresh(index=[shadow.index, shadow.categories_index])
        # Built in one go: merged into one segment, it searches faster from the start.
        await self.es.options(request_timeout=600).indices.forcemerge(
            index=shadow.index, max_num_segments=1)
        old: list[str] = []
        actions: list[dict[str, Any]] = []
        for alias, index in ((ALIAS, shadow.index), (CATEGORIES_ALIAS, shadow.categories_index)):
            try:
                current = await self.es.indices.get_alias(name=alias)
            except NotFoundError:
                current = {}
            actions += [{"remove": {"index": name, "alias": alias}} for name in current]
            actions.append({"add": {"index": index, "alias": alias}})
            old += list(current)
        await self.es.indices.update_aliases(actions=actions)
        if old:
            await self.es.indices.delete(index=old)

    async def drop(self) -> None:
        if self.is_shadow:
            await self.es.indices.delete(index=[self.index, self.categories_index],
                                         ignore_unavailable=True)

    async def refresh(self) -> None:
        await self.es.indices.refresh(index=[self.index, self.categories_index])

    async def snapshot(self) -> dict[str, dict]:
        """Every product by id and every category by `category:<id>`."""
        await self.refresh()
        documents: dict[str, dict] = {}
        for index, prefix in ((self.index, ""), (self.categories_index, "category:")):
            async for hit in async_scan(self.es, index=index, query={"query": {"match_all": {}}},
                                        size=1000):
                documents[prefix + hit["_id"]] = hit["_source"]
        return documents
