"""Reads of the search model: products by words, filters and facets; category subtrees;
autocomplete. Queries are built by the pure functions of `projections/search_queries.py`."""

from __future__ import annotations

import asyncio
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
        # What a refresh of this process has made searchable, and what readers wait for.
        self._searchable: dict[tuple[str, int], int] = {}
        self._wanted: dict[tuple[str, int], int] = {}
        self._refreshing = asyncio.Lock()

    async def show(self, applied: dict[tuple[str, int], int]) -> None:
        """Refresh the indices if a write applied through `applied` may not be searchable yet.

        The projection does not refresh after each batch (most of Elasticsearch's work
        under load); a reader that waits for a write refreshes instead. A refresh makes
        searchable all that was applied before it began, so readers that wait at the
        same time share one.
        """
        if _covers(self._searchable, applied):
            return
        _merge(self._wanted, applied)
        async with self._refreshing:
            if _covers(self._searchable, applied):
                return
            wanted, self._wanted = self._wanted, {}
            await self.es.indices.refresh(index=[self.index, self.categories_index])
            _merge(self._searchable, wanted)

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


def _covers(reached: dict[tuple[str, int], int], needed: dict[tuple[str, int], int]) -> bool:
    return all(reached.get(tp, 0) >= offset for tp, offset in needed.items())


def _merge(into: dict[tuple[str, int], int], more: dict[tuple[str, int], int]) -> None:
    for tp, offset in more.items():
        into[tp] = max(into.get(tp, 0), offset)
