"""Reads of the search model: products by words, filters and facets; category subtrees;
autocomplete. Queries are built by the pure functions of `projections/search_queries.py`."""

from __future__ import annotations

from typing import Any, ClassVar

from elasticsearch import AsyncElasticsearch

from projections import search_queries
from projections.search import ALIAS, CATEGORIES_ALIAS, SearchProjection
from projections.views import View


class SearchView(View):
    model: ClassVar[str] = SearchProjection.name
    topics: ClassVar[tuple[str, ...]] = SearchProjection.topics

    def __init__(self, es: AsyncElasticsearch, index: str = ALIAS,
                 categories_index: str = CATEGORIES_ALIAS) -> None:
        """The live model by default (its aliases); a replay's indices when named."""
        self.es = es
        self.index, self.categories_index = index, categories_index

    async def subtree(self, slug: str) -> list[dict[str, Any]]:
        """The categories with this slug and all their descendants ([] if none)."""
        response = await self.es.search(
            index=self.categories_index, size=search_queries.MAX_SUBTREE,
            query={"term": {"ancestor_slugs": slug}}, source=["id", "slug", "name"])
        return [hit["_source"] for hit in response["hits"]["hits"]]

    async def search(self, query: search_queries.ProductQuery) -> search_queries.Page:
        response = await self.es.search(index=self.index, **search_queries.search_body(query))
        return search_queries.page(response, query)

    async def complete(self, prefix: str, size: int) -> list[str]:
        response = await self.es.search(index=self.index,
                                        **search_queries.completion_body(prefix, size))
        return search_queries.completions(response, size)
