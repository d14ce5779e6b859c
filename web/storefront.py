"""The storefront's pages: browsing, search, products, cart, accounts, checkout and orders.

Each page or form post makes one round trip to the API: one call, or a few independent
ones issued at once (`ApiClient.gather`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.pages import ApiDep, PagesDep, VisitorDep

router = APIRouter()

# Products on the home page: the newest.
HOME_PRODUCTS = 12


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, pages: PagesDep, api: ApiDep,
               visitor: VisitorDep) -> HTMLResponse:
    """The categories and the newest products."""
    categories, newest = await api.gather(
        api.call(visitor, "GET", "/v1/categories"),
        api.call(visitor, "GET", "/v1/search", params={"limit": HOME_PRODUCTS, "sort": "newest"}))
    return pages.render(request, "home.html", categories=categories.body,
                        products=newest.body["items"])
