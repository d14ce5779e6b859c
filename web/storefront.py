"""The storefront's pages: browsing, search, products, the cart, checkout and orders.

Each page or form post makes one round trip to the API: one call, or a few independent
ones issued at once (`ApiClient.gather`). A form post answers with a redirect (post,
redirect, get); what the next page must show of it (a notice, the API's refusal next to
its field, the values to fill in again) travels in the flash cookie. Accounts (sign-up,
sign-in, social sign-in) are in `web/accounts.py`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from web.api_client import ORDER_TOKEN_HEADER, ApiClient, ApiError, Visitor
from web.cookies import guest_orders, remember_guest_order, take_flash
from web.formatting import negotiate_locale
from web.pages import ApiDep, FormDep, PagesDep, VisitorDep, redirect, refused, secure

router = APIRouter()

# Products on the home page: the newest.
HOME_PRODUCTS = 12
PAGE_SIZE = 24
SORTS = {"relevance": "Best match", "newest": "Newest", "price_asc": "Price, low to high",
         "price_desc": "Price, high to low", "name": "Name"}
CATEGORY_SORTS = {k: v for k, v in SORTS.items() if k != "relevance"}
# The statuses an order waits in until its payment settles: its page keeps looking.
WAITING = ("pending", "awaiting_payment")
# The sandbox's payment methods and their tokens (API.md): what a shopper picks from.
PAYMENT_METHODS = {
    "card": ("Card", {"tok_visa": "Visa ending 4242 (approved)",
                      "tok_chargeDeclined": "Card that is declined"}),
    "wallet": ("Wallet", {"wallet_ok": "Wallet (approved)", "wallet_declined": "Wallet that fails"}),
    "bank_transfer": ("Bank transfer", {}),
    "cash_on_delivery": ("Cash on delivery", {}),
}
COUNTRIES = {"AT": "Austria", "BE": "Belgium", "DE": "Germany", "ES": "Spain", "FR": "France",
             "IE": "Ireland", "IT": "Italy", "NL": "Netherlands", "PT": "Portugal",
             "GB": "United Kingdom", "US": "United States"}
DEFAULT_COUNTRY = "FR"
ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "postal_code", "country")


async def attempt(call) -> Any:
    """The call's answer, or its ApiError (for a page that shows a refusal in place)."""
    try:
        return await call
    except ApiError as error:
        if error.status >= 500:
            raise
        return error


# Browsing


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, pages: PagesDep, api: ApiDep,
               visitor: VisitorDep) -> HTMLResponse:
    """The categories and the newest products."""
    categories, newest = await api.gather(
        api.call(visitor, "GET", "/v1/categories"),
        api.call(visitor, "GET", "/v1/search", params={"limit": HOME_PRODUCTS, "sort": "newest"}))
    return pages.render(request, "home.html", categories=categories.body,
                        products=newest.body["items"], flash=take_flash(request))


@router.get("/c/{slug}", response_class=HTMLResponse)
async def category(request: Request, slug: str, pages: PagesDep, api: ApiDep,
                   visitor: VisitorDep, sort: str = "newest",
                   cursor: Annotated[str | None, Query(max_length=2000)] = None) -> HTMLResponse:
    """A category's products (and its subcategories'), sorted as chosen."""
    sort = sort if sort in CATEGORY_SORTS else "newest"
    params = {"sort": sort, "limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {})
    categories, products = await api.gather(
        api.call(visitor, "GET", "/v1/categories"),
        api.call(visitor, "GET", f"/v1/categories/{slug}/products", params=params))
    current = _find_category(categories.body, slug)
    return pages.render(request, "category.html", categories=categories.body,
                        current_category=slug, category=current,
                        products=products.body["items"], sort=sort, sorts=CATEGORY_SORTS,
                        next_url=(f"/c/{slug}?" + urlencode({"sort": sort, "cursor":
                                  products.body["next_cursor"]})
                                  if products.body["next_cursor"] else None))


def _category_names(tree: list[dict]) -> dict[str, str]:
    """Each category's name by its slug (the search facets name categories by slug)."""
    names = {}
    for node in tree:
        names[node["slug"]] = node["name"]
        names |= _category_names(node.get("children") or [])
    return names


def _find_category(tree: list[dict], slug: str) -> dict | None:
    for node in tree:
        if node["slug"] == slug:
            return node
        found = _find_category(node.get("children") or [], slug)
        if found:
            return found
    return None


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                 q: Annotated[str, Query(max_length=200)] = "",
                 category: Annotated[str | None, Query(max_length=120)] = None,
                 min_price: Annotated[int | None, Query(ge=0)] = None,
                 max_price: Annotated[int | None, Query(ge=0)] = None,
                 option: Annotated[list[str], Query(max_length=10)] = [],
                 sort: str = "relevance",
                 cursor: Annotated[str | None, Query(max_length=2000)] = None) -> HTMLResponse:
    """Search results with facets to narrow them, and the corrected query if one was misspelt."""
    sort = sort if sort in SORTS else "relevance"
    filters = {"q": q, "category": category, "min_price": min_price, "max_price": max_price,
               "option": option, "sort": sort}
    params = {k: v for k, v in filters.items() if v not in (None, "", [])}
    found, categories = await api.gather(
        api.call(visitor, "GET", "/v1/search",
                 params=params | {"limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {})),
        api.call(visitor, "GET", "/v1/categories"))
    results = found.body

    def url(**changes: Any) -> str:
        chosen = {k: v for k, v in (params | changes).items() if v not in (None, "", [])}
        return "/search?" + urlencode(chosen, doseq=True)

    currency = results["items"][0]["price"]["currency"] if results["items"] else "EUR"
    return pages.render(request, "search.html", query=q, results=results, filters=filters,
                        category_names=_category_names(categories.body),
                        url=url, sorts=SORTS, currency=currency,
                        next_url=url(cursor=results["next_cursor"])
                        if results["next_cursor"] else None)


@router.get("/search/suggest")
async def suggest(api: ApiDep, visitor: VisitorDep,
                  q: Annotated[str, Query(max_length=100)] = "") -> JSONResponse:
    """Autocomplete for the search box's script: the API's suggestions."""
    if not q.strip():
        return JSONResponse({"suggestions": []})
    answer = await api.call(visitor, "GET", "/v1/search/suggest", params={"q": q})
    return JSONResponse(answer.body)


@router.get("/p/{product_id}", response_class=HTMLResponse)
async def product(request: Request, product_id: str, pages: PagesDep, api: ApiDep,
                  visitor: VisitorDep) -> HTMLResponse:
    """A product: its images, description, specifications, and its variants to choose from."""
    answer = await api.call(visitor, "GET", f"/v1/products/{product_id}")
    return pages.render(request, "product.html", product=answer.body, flash=take_flash(request))


# The cart


@router.get("/cart", response_class=HTMLResponse)
async def cart(request: Request, pages: PagesDep, api: ApiDep,
               visitor: VisitorDep) -> HTMLResponse:
    answer = await api.call(visitor, "GET", "/v1/cart")
    return pages.render(request, "cart.html", cart=answer.body, flash=take_flash(request))


@router.post("/cart/items")
async def add_to_cart(request: Request, form: FormDep, api: ApiDep,
                      visitor: VisitorDep) -> RedirectResponse:
    product_id = form.get("product_id", "")
    line: dict[str, Any] = {"product_id": product_id, "quantity": _int(form.get("quantity"), 1)}
    if form.get("variant_id"):
        line["variant_id"] = form["variant_id"]
    try:
        await api.call(visitor, "POST", "/v1/cart/items", json=line)
    except ApiError as error:
        return refused(request, f"/p/{product_id}", error, values=form)
    return redirect(request, "/cart", notice="Added to your cart.")


@router.post("/cart/items/{item_id}")
async def change_quantity(request: Request, item_id: str, form: FormDep, api: ApiDep,
                          visitor: VisitorDep) -> RedirectResponse:
    try:
        await api.call(visitor, "PATCH", f"/v1/cart/items/{item_id}",
                       json={"quantity": _int(form.get("quantity"), 1)})
    except ApiError as error:
        return refused(request, "/cart", error)
    return redirect(request, "/cart", notice="Cart updated.")


@router.post("/cart/items/{item_id}/remove")
async def remove_item(request: Request, item_id: str, form: FormDep, api: ApiDep,
                      visitor: VisitorDep) -> RedirectResponse:
    try:
        await api.call(visitor, "DELETE", f"/v1/cart/items/{item_id}")
    except ApiError as error:
        return refused(request, "/cart", error)
    return redirect(request, "/cart", notice="Removed from your cart.")


@router.post("/cart/voucher")
async def apply_voucher(request: Request, form: FormDep, api: ApiDep,
                        visitor: VisitorDep) -> RedirectResponse:
    code = form.get("code", "").strip()
    try:
        await api.call(visitor, "POST", "/v1/cart/voucher", json={"code": code})
    except ApiError as error:
        if error.status == 422 and not error.errors:
            # The reason a known code does not apply (expired, below the minimum...).
            return redirect(request, "/cart", errors={"code": error.detail},
                            values={"code": code})
        return refused(request, "/cart", error, values={"code": code})
    return redirect(request, "/cart", notice=f"Voucher {code} applied.")


@router.post("/cart/voucher/remove")
async def remove_voucher(request: Request, form: FormDep, api: ApiDep,
                         visitor: VisitorDep) -> RedirectResponse:
    await api.call(visitor, "DELETE", "/v1/cart/voucher")
    return redirect(request, "/cart", notice="Voucher removed.")


# Checkout


@router.get("/checkout", response_class=HTMLResponse)
async def checkout(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                   country: Annotated[str | None, Query(max_length=2)] = None) -> HTMLResponse:
    """The cart's summary, the address, the shipping methods for its country, payment."""
    flash = take_flash(request)
    country = (country or flash["values"].get("country") or _locale_country(request)).upper()
    calls = [api.call(visitor, "GET", "/v1/cart"),
             attempt(api.call(visitor, "GET", "/v1/shipping-methods",
                              params={"country": country}))]
    if visitor.signed_in:
        calls.append(api.call(visitor, "GET", "/v1/users/me"))
    answers = await api.gather(*calls)
    cart_answer, methods = answers[0], answers[1]
    me = answers[2].body if len(answers) > 2 else None
    values = {"full_name": me["full_name"] if me else ""} | flash["values"] | {"country": country}
    return pages.render(
        request, "checkout.html", cart=cart_answer.body, flash=flash, values=values,
        methods=None if isinstance(methods, ApiError) else methods.body["items"],
        methods_refused=methods.detail if isinstance(methods, ApiError) else None,
        countries=COUNTRIES, payment_methods=PAYMENT_METHODS, me=me)


def _locale_country(request: Request) -> str:
    territory = negotiate_locale(request.headers.get("accept-language")).territory
    return territory if territory in COUNTRIES else DEFAULT_COUNTRY


@router.post("/checkout")
async def place_order(request: Request, form: FormDep, api: ApiDep,
                      visitor: VisitorDep) -> RedirectResponse:
    country = form.get("country", "").upper()
    address = {name: form.get(name, "").strip() for name in ADDRESS_FIELDS}
    address["country"] = country
    if not address["line2"]:
        del address["line2"]
    payment_type = form.get("payment_type", "card")
    payment: dict[str, str] = {"type": payment_type}
    if PAYMENT_METHODS.get(payment_type, ("", {}))[1]:
        payment["token"] = form.get(f"token_{payment_type}", "")
    body: dict[str, Any] = {"shipping_address": address, "payment_method": payment}
    if form.get("shipping_method"):
        body["shipping_method"] = form["shipping_method"]
    if not visitor.signed_in:
        body["email"] = form.get("email", "").strip()
    kept = {k: v for k, v in form.items() if k in (*ADDRESS_FIELDS, "email", "shipping_method",
                                                    "payment_type")}
    try:
        answer = await api.call(visitor, "POST", "/v1/checkout", json=body)
    except ApiError as error:
        return refused(request, "/checkout?" + urlencode({"country": country}), error,
                       values=kept)
    order_id = answer.body["order_id"]
    response = redirect(request, f"/orders/{order_id}", notice="Thank you: your order is placed.")
    if answer.body.get("order_token"):
        remember_guest_order(request, response, order_id, answer.body["order_token"],
                             secure(request))
    return response


# Orders


def _order_headers(request: Request, order_id: str, token: str | None) -> dict[str, str]:
    """A guest's order token: from the link (`?token=`, as in the emails) or this browser."""
    token = token or guest_orders(request).get(order_id)
    return {ORDER_TOKEN_HEADER: token} if token else {}


def _order_call(api: ApiClient, visitor: Visitor, request: Request, order_id: str,
                path: str, token: str | None):
    """The call reading an order (or `path` under it) as its owner or its guest."""
    return api.call(visitor, "GET", f"/v1/orders/{order_id}{path}",
                    headers=_order_headers(request, order_id, token))


@router.get("/orders", response_class=HTMLResponse)
async def orders(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                 cursor: Annotated[str | None, Query(max_length=2000)] = None) -> HTMLResponse:
    """The signed-in shopper's orders, newest first."""
    if not visitor.signed_in:
        return RedirectResponse("/login?next=/orders", status_code=303)
    answer = await api.call(visitor, "GET", "/v1/orders",
                            params={"limit": 20} | ({"cursor": cursor} if cursor else {}))
    return pages.render(request, "orders.html", orders=answer.body["items"],
                        next_url=("/orders?" + urlencode({"cursor": answer.body["next_cursor"]})
                                  if answer.body["next_cursor"] else None))


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(request: Request, order_id: str, pages: PagesDep, api: ApiDep,
                visitor: VisitorDep,
                token: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    """An order: its status (the page keeps looking while payment is pending), lines,
    totals, tracking, and its returns."""
    answer = await _order_call(api, visitor, request, order_id, "", token)
    body = answer.body
    returnable = {line["variant_id"] or line["product_id"]: line["quantity"]
                  for line in body["items"]}
    for ret in body.get("returns") or []:
        if ret["status"] != "rejected":
            for line in ret["lines"]:
                returnable[line["item_id"]] = returnable.get(line["item_id"], 0) - line["quantity"]
    return pages.render(request, "order.html", order=body, waiting=body["status"] in WAITING,
                        returnable=returnable, token=token, flash=take_flash(request))


@router.get("/orders/{order_id}/status")
async def order_status(request: Request, order_id: str, api: ApiDep, visitor: VisitorDep,
                       token: Annotated[str | None, Query(max_length=200)] = None
                       ) -> JSONResponse:
    """The order's status, for the order page's script that waits for its payment."""
    answer = await _order_call(api, visitor, request, order_id, "/tracking", token)
    return JSONResponse({"status": answer.body["status"]}, headers={"Cache-Control": "no-store"})


@router.get("/orders/{order_id}/tracking", response_class=HTMLResponse)
async def tracking(request: Request, order_id: str, pages: PagesDep, api: ApiDep,
                   visitor: VisitorDep,
                   token: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    """Where the order is: its status, carrier and tracking number, each step."""
    answer = await _order_call(api, visitor, request, order_id, "/tracking", token)
    return pages.render(request, "tracking.html", order_id=order_id, tracking=answer.body,
                        token=token)


@router.get("/orders/{order_id}/receipt", response_class=HTMLResponse)
async def receipt(request: Request, order_id: str, pages: PagesDep, api: ApiDep,
                  visitor: VisitorDep,
                  token: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    answer = await _order_call(api, visitor, request, order_id, "/receipt", token)
    return pages.render(request, "receipt.html", receipt=answer.body, token=token)


@router.post("/orders/{order_id}/returns")
async def request_return(request: Request, order_id: str, form: FormDep, api: ApiDep,
                         visitor: VisitorDep,
                         token: Annotated[str | None, Query(max_length=200)] = None
                         ) -> RedirectResponse:
    """Return some of a delivered order's lines: `qty_<item id>` fields and a reason."""
    lines = [{"item_id": name[4:], "quantity": _int(value, 0)}
             for name, value in form.items() if name.startswith("qty_") and _int(value, 0) > 0]
    back = f"/orders/{order_id}" + (f"?{urlencode({'token': token})}" if token else "")
    if not lines:
        return redirect(request, back, errors={"reason": "Choose how many of an item to return."},
                        values={"reason": form.get("reason", "")})
    try:
        await api.call(visitor, "POST", f"/v1/orders/{order_id}/returns",
                       json={"lines": lines, "reason": form.get("reason", "").strip()},
                       headers=_order_headers(request, order_id, token))
    except ApiError as error:
        return refused(request, back, error, values={"reason": form.get("reason", "")})
    return redirect(request, back, notice="Your return is requested.")


@router.post("/orders/{order_id}/cancel")
async def cancel_order(request: Request, order_id: str, form: FormDep, api: ApiDep,
                       visitor: VisitorDep,
                       token: Annotated[str | None, Query(max_length=200)] = None
                       ) -> RedirectResponse:
    back = f"/orders/{order_id}" + (f"?{urlencode({'token': token})}" if token else "")
    try:
        await api.call(visitor, "POST", f"/v1/orders/{order_id}/cancel",
                       headers=_order_headers(request, order_id, token))
    except ApiError as error:
        return refused(request, back, error)
    return redirect(request, back, notice="Your order is being cancelled.")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default
