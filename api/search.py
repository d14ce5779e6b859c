"""Product search: full text with typo tolerance, facets, filters, autocomplete."""

from __future__ import annotations

from typing import Annotated

from elasticsearch import NotFoundError
from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from api import cursors
from api.catalog import Cursor, Limit, ProductSummary, search_page, subtree_ids, summary
from api.deps import SearchViewDep, Seen
from projections.search_queries import ProductQuery, Sort

router = APIRouter(tags=["search"])

MAX_SUGGESTIONS = 10


class CategoryCount(BaseModel):
    slug: str
    count: int


class PriceRangeCount(BaseModel):
    from_: int = Field(alias="from", description="Lowest price in the range, minor units.")
    to: int | None = Field(description="Price the range stops below; null: no upper bound.")
    count: int


class OptionValueCount(BaseModel):
    value: str
    count: int


class Facets(BaseModel):
    category: list[CategoryCount]
    price: list[PriceRangeCount]
    options: dict[str, list[OptionValueCount]] = Field(
        default={}, description="By option name (e.g. Size): how many matching products "
                                "have a variant with each value.")


class SearchResults(BaseModel):
    items: list[ProductSummary]
    total: int
    facets: Facets
    suggestion: str | None = Field(description="The query with its misspellings corrected; "
                                               "null when nothing looks misspelt.")
    next_cursor: str | None


class Suggestions(BaseModel):
    suggestions: list[str]


Price = Annotated[int | None, Query(ge=0, le=10**12, description="Minor units (cents).")]
OptionFilter = Annotated[list[Annotated[str, Query(pattern=r"^[^:]+:.+$", max_length=201)]],
                         Query(max_length=10, description=(
                             "`name:value`, e.g. `Size:M`: only products with a variant of "
                             "that value; repeat for more (each must hold)."))]


@router.get("/v1/search", response_model=SearchResults, response_model_by_alias=True,
            responses={404: {"description": "No such category"},
                       422: {"description": "Invalid filters, sort, limit or cursor"}})
async def search(
    products: SearchViewDep, seen: Seen,
    q: Annotated[str | None, Query(max_length=200, description="Words to look for.")] = None,
    category: Annotated[str | None, Query(
        max_length=120, description="A category slug: that category and its subcategories.")
    ] = None,
    min_price: Price = None, max_price: Price = None, option: OptionFilter = [],
    sort: Sort = "relevance", limit: Limit = 20, cursor: Cursor = None,
) -> SearchResults:
    """Search products by name, category, description and specifications.

    A misspelt word still finds what it was meant to, and `suggestion` offers the
    corrected query. Facets count the matching products by category, by price range
    and by their variants' option values; `min_price` and `max_price` (inclusive, minor
    units), `category` and `option` filter them. `sort`: `relevance` (default; `newest`
    when there are no words), `price_asc`, `price_desc`, `newest` or `name`.
    """
    if min_price is not None and max_price is not None and min_price > max_price:
        raise RequestValidationError([{"loc": ("query", "min_price"), "type": "value_error",
                                       "msg": "min_price must not be above max_price."}])
    text = " ".join((q or "").split()) or None
    options = tuple(sorted({":".join(part.strip() for part in o.split(":", 1))
                            for o in option}))
    query_print = cursors.fingerprint("search", text, category, min_price, max_price, sort,
                                      *options)
    after = cursors.decode(cursor, query_print)
    await seen.wait(products)
    category_ids = await subtree_ids(products, category) if category is not None else None
    page = await search_page(products, ProductQuery(
        text=text, category_ids=category_ids, min_price=min_price, max_price=max_price,
        options=options, sort="newest" if sort == "relevance" and text is None else sort,
        limit=limit, after=after, facets=True, suggestion=cursor is None))
    return SearchResults(
        items=[summary(d) for d in page.items], total=page.total,
        facets=Facets.model_validate(page.facets), suggestion=page.suggestion,
        next_cursor=cursors.encode(page.next_after, query_print) if page.next_after else None)


@router.get("/v1/search/suggest", response_model=Suggestions)
async def suggest(
    products: SearchViewDep, seen: Seen,
    q: Annotated[str, Query(min_length=1, max_length=100,
                            description="What the shopper has typed so far.")],
) -> Suggestions:
    """Autocomplete: up to ten product names that complete what was typed."""
    await seen.wait(products)
    prefix = " ".join(q.split())
    if not prefix:
        return Suggestions(suggestions=[])
    try:
        names = await products.complete(prefix, MAX_SUGGESTIONS)
    except NotFoundError as error:
        raise HTTPException(503, "Search is being rebuilt; retry shortly.",
                            headers={"Retry-After": "5"}) from error
    return Suggestions(suggestions=names)
