"""The product search model's queries, as pure functions: request bodies and their answers.

Relevance: every word of the query must be found somewhere in the product (name,
category, description, specifications: the `all_text` field), each allowed a
typo or two by its length (`fuzziness: AUTO`, the first letter right); the score
favours the name, then the category, and exact words over corrected ones. A
phrase suggester proposes a corrected query from the words and word pairs of
names, categories and specifications. Pages continue with `search_after` on the
sort's values, always ending on the product id so the order is total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Sort = Literal["relevance", "price_asc", "price_desc", "newest", "name"]

SORTS: dict[str, list[dict[str, str]]] = {
    "relevance": [{"_score": "desc"}, {"id": "asc"}],
    "price_asc": [{"price_amount": "asc"}, {"id": "asc"}],
    "price_desc": [{"price_amount": "desc"}, {"id": "asc"}],
    "newest": [{"created_at": "desc"}, {"id": "asc"}],
    "name": [{"name.sort": "asc"}, {"id": "asc"}],
}

# Price facet buckets in minor units: [from, to), the last one open.
PRICE_RANGES: list[tuple[int, int | None]] = [
    (0, 2_500), (2_500, 5_000), (5_000, 10_000), (10_000, 25_000), (25_000, 50_000),
    (50_000, 100_000), (100_000, None)]
CATEGORY_FACET_SIZE = 50
OPTION_FACET_SIZE = 500  # "name:value" terms: a few options of up to 20 values each
MAX_SUBTREE = 1000
SUMMARY_FIELDS = ["id", "name", "slug", "price_amount", "currency", "images", "category_id",
                  "category_slug", "category_name"]
SEARCHED_FIELDS = ["name^3", "category_name^2", "description", "specifications_text"]
FUZZY_SCORED_FIELDS = ["name^3", "category_name^2"]


@dataclass(frozen=True)
class ProductQuery:
    text: str | None = None
    category_ids: tuple[str, ...] | None = None  # None: any category
    min_price: int | None = None
    max_price: int | None = None
    # "name:value" terms a product's variants must have, each of them
    options: tuple[str, ...] = ()
    sort: Sort = "relevance"
    limit: int = 20
    after: tuple[Any, ...] | None = None  # the previous page's last sort values
    facets: bool = False
    suggestion: bool = False


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]  # the summary fields of each product's document
    total: int
    next_after: list[Any] | None
    facets: dict[str, Any] = field(default_factory=dict)
    suggestion: str | None = None


# A typo or two by the word's length, never in its first letter (which keeps the words
# a misspelling may stand for few, and the search fast).
FUZZY = {"fuzziness": "AUTO", "prefix_length": 1}


def _matching(text: str) -> dict[str, Any]:
    return {"bool": {
        # Every word (up to 2; 75 % of longer queries) must occur, typos allowed ...
        "must": [{"match": {"all_text": {"query": text, "minimum_should_match": "2<75%",
                                         **FUZZY}}}],
        # ... and the fields that matter more score more, exact words above corrected ones.
        # (Corrected words score in the short fields only: fuzzy scoring over descriptions
        # and specifications too costs a third more time for little change in order.)
        "should": [
            {"multi_match": {"query": text, "fields": FUZZY_SCORED_FIELDS, **FUZZY}},
            {"multi_match": {"query": text, "fields": SEARCHED_FIELDS}},
            {"match_phrase": {"name": {"query": text, "boost": 2}}},
        ],
    }}


def search_body(query: ProductQuery) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    if query.category_ids is not None:
        filters.append({"terms": {"category_id": list(query.category_ids)}})
    if query.min_price is not None or query.max_price is not None:
        bounds = {"gte": query.min_price, "lte": query.max_price}
        filters.append({"range": {"price_amount": {k: v for k, v in bounds.items()
                                                   if v is not None}}})
    filters += [{"term": {"options": term}} for term in query.options]
    text = (query.text or "").strip()
    must = [_matching(text)] if text else []
    body: dict[str, Any] = {
        "query": {"bool": {"must": must, "filter": filters}},
        "sort": SORTS[query.sort],
        "size": query.limit + 1,  # one more: is there a next page?
        "_source": SUMMARY_FIELDS,
        "track_total_hits": query.facets,
    }
    if query.after is not None:
        body["search_after"] = list(query.after)
    if query.facets:
        body["aggs"] = {
            "category": {"terms": {"field": "category_slug", "size": CATEGORY_FACET_SIZE}},
            "options": {"terms": {"field": "options", "size": OPTION_FACET_SIZE,
                                  "order": {"_key": "asc"}}},
            "price": {"range": {"field": "price_amount", "ranges": [
                {"from": low} | ({"to": high} if high is not None else {})
                for low, high in PRICE_RANGES]}},
        }
    if query.suggestion and text:
        body["suggest"] = {"did_you_mean": {"text": text, "phrase": {
            "field": "spell", "size": 1, "max_errors": 2, "confidence": 1.0,
            "direct_generator": [{"field": "spell", "suggest_mode": "always",
                                  "min_word_length": 3}]}}}
    return body


def page(response: dict[str, Any], query: ProductQuery) -> Page:
    hits = response["hits"]["hits"]
    more = len(hits) > query.limit
    hits = hits[:query.limit]
    facets: dict[str, Any] = {}
    aggregations = response.get("aggregations")
    if aggregations:
        facets["category"] = [{"slug": b["key"], "count": b["doc_count"]}
                              for b in aggregations["category"]["buckets"]]
        facets["price"] = [{"from": int(b["from"]), "to": int(b["to"]) if "to" in b else None,
                            "count": b["doc_count"]}
                           for b in aggregations["price"]["buckets"] if b["doc_count"]]
        options: dict[str, list[dict[str, Any]]] = {}
        for bucket in aggregations.get("options", {}).get("buckets", []):
            name, value = bucket["key"].split(":", 1)
            options.setdefault(name, []).append({"value": value, "count": bucket["doc_count"]})
        facets["options"] = options
    return Page(
        items=[hit["_source"] for hit in hits],
        total=response["hits"]["total"]["value"] if query.facets else len(hits),
        next_after=hits[-1]["sort"] if more and hits else None,
        facets=facets,
        suggestion=_suggestion(response, query.text),
    )


def _suggestion(response: dict[str, Any], text: str | None) -> str | None:
    for entry in response.get("suggest", {}).get("did_you_mean", []):
        for option in entry["options"]:
            corrected = option["text"]
            if corrected.split() != (text or "").lower().split():
                return corrected
    return None


def completion_body(prefix: str, size: int) -> dict[str, Any]:
    completion: dict[str, Any] = {"field": "suggest", "size": size * 5}
    if len(prefix) >= 4:  # a typo in a longer prefix still completes
        completion["fuzzy"] = {"fuzziness": "AUTO", "prefix_length": 1}
    return {"suggest": {"names": {"prefix": prefix, "completion": completion}},
            "_source": ["name"]}


def completions(response: dict[str, Any], size: int) -> list[str]:
    """Distinct product names, best first, at most `size`."""
    names: dict[str, str] = {}
    for entry in response.get("suggest", {}).get("names", []):
        for option in entry["options"]:
            name = option["_source"]["name"]
            names.setdefault(name.casefold(), name)
            if len(names) == size:
                return list(names.values())
    return list(names.values())
