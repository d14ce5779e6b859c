"""The operator console at `/console/`: pages for admins, on the public API.

Orders with filters and each order's timeline from the audit trail, fulfilment and
returns, projections with their lag and replays, vouchers, shipping zones, webhooks
with their deliveries, and the stack's readiness. The console signs in with the same
`/v1/auth/login` as the shop; the API decides who is an admin, and a page it refuses
(403) becomes the "not an admin" page, never data. Each page or form post makes one
round trip to the API (one call, or independent ones at once).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from web.api_client import ApiError
from web.cookies import take_flash
from web.pages import ApiDep, FormDep, PagesDep, VisitorDep, redirect

router = APIRouter(prefix="/console")

ORDER_STATUSES = ("pending", "awaiting_payment", "confirmed", "packed", "shipped",
                  "out_for_delivery", "delivered", "cancelled")
FULFILMENT_STEPS = ("packed", "shipped", "out_for_delivery", "delivered")
RETURN_STATUSES = ("requested", "approved", "received", "refunded", "rejected")
RETURN_STEPS = ("approve", "receive", "reject")
# The order list's filters, as the form names them.
ORDER_FILTERS = ("status", "since", "until", "min_total", "max_total", "id_prefix")
PAGE = 25


def handles(request: Request) -> bool:
    return request.url.path.startswith("/console")


def refused_page(request: Request, error: ApiError, pages) -> Response | None:
    """The console's answer to an API refusal, or None for the shared error page: to the
    console's sign-in without a session, "not an admin" for a customer's."""
    if error.status == 401 and request.method == "GET":
        request.state.visitor.replace(access_token=None, refresh_token=None)
        return RedirectResponse(f"/console/login?next={quote(request.url.path)}",
                                status_code=303)
    if error.status == 403:
        return pages.render(request, "console/not_admin.html", status=403)
    return None


def _next(target: str | None) -> str:
    """Where to go after signing in: a console page only, never another site."""
    return target if target and target.startswith("/console/") and "//" not in target \
        else "/console/"


def _minor_units(value: str) -> int | None:
    """Euros as typed ("12.5", "12,50") in minor units; None when blank or not a number."""
    try:
        amount = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return int((amount * 100).to_integral_value()) if amount >= 0 else None


def _utc(moment: str) -> str:
    """A datetime-local field's value (to the minute or the second) as an ISO time in UTC."""
    return (moment if len(moment) > 16 else moment + ":00") + "+00:00"


def _listing(cursor: str | None, **filters: Any) -> dict[str, Any]:
    """The query of one page of an admin list: the filters that are set, and the page."""
    return ({"limit": PAGE} | {name: value for name, value in filters.items()
                               if value not in (None, "")}
            | ({"cursor": cursor} if cursor else {}))


def _next_page(body: dict[str, Any], **kept: str) -> str | None:
    """The query string of the page after `body`'s, keeping `kept`; None on the last page."""
    return urlencode({**kept, "cursor": body["next_cursor"]}) if body["next_cursor"] else None


# Signing in and out

@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, pages: PagesDep, next: str | None = None) -> HTMLResponse:
    return pages.render(request, "console/login.html", next=_next(next), errors={})


@router.post("/login")
async def log_in(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                 form: FormDep) -> Response:
    """Sign in with the shop's login; whether the account is an admin shows on the next
    page (the API decides)."""
    try:
        answer = await api.call(visitor, "POST", "/v1/auth/login", json={
            "email": form.get("email", ""), "password": form.get("password", "")})
    except ApiError as error:
        if error.status in (401, 422, 429):
            return pages.render(request, "console/login.html", status=error.status,
                                next=_next(form.get("next")), email=form.get("email", ""),
                                errors={"password": error.detail})
        raise
    visitor.replace(access_token=answer.body["access_token"],
                    refresh_token=answer.body["refresh_token"])
    return redirect(request, _next(form.get("next")))


@router.post("/logout")
async def log_out(request: Request, api: ApiDep, visitor: VisitorDep, form: FormDep) -> Response:
    if visitor.signed_in:
        try:
            await api.call(visitor, "POST", "/v1/auth/logout")
        except ApiError:
            pass  # signed out here whatever the API says
    visitor.replace(access_token=None, refresh_token=None)
    return redirect(request, "/console/login")


# Orders

@router.get("/", response_class=HTMLResponse)
async def orders(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                 cursor: str | None = None) -> HTMLResponse:
    """Every customer's orders, newest first, with filters."""
    typed = {name: request.query_params.get(name, "").strip() for name in ORDER_FILTERS}
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in typed.items():
        if not value:
            continue
        if name in ("min_total", "max_total"):
            units = _minor_units(value)
            if units is None:
                errors[name] = "An amount in euros, such as 12.50."
            else:
                params[name] = units
        elif name in ("since", "until"):
            params[name] = _utc(value)
        else:
            params[name] = value
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    if not errors:
        try:
            page = (await api.call(visitor, "GET", "/v1/admin/orders",
                                   params=_listing(cursor, **params))).body
        except ApiError as error:
            if error.status != 422:
                raise
            errors = {e.field.split(".")[-1]: e.message for e in error.errors} or {
                "status": error.detail}
    more = _next_page(page, **{name: value for name, value in typed.items() if value})
    return pages.render(request, "console/orders.html", orders=page["items"], filters=typed,
                        errors=errors, statuses=ORDER_STATUSES, more=more,
                        status=422 if errors else 200)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(request: Request, order_id: str, pages: PagesDep, api: ApiDep,
                visitor: VisitorDep) -> HTMLResponse:
    """An order, its fulfilment and returns, and its timeline from the audit trail."""
    path = quote(order_id, safe="")
    the_order, trail = await api.gather(
        api.call(visitor, "GET", f"/v1/orders/{path}"),
        api.call(visitor, "GET", f"/v1/audit/orders/{path}"))
    status = the_order.body["status"]
    following = (FULFILMENT_STEPS.index(status) + 1 if status in FULFILMENT_STEPS else 0)
    return pages.render(request, "console/order.html", order=the_order.body,
                        events=trail.body["events"], steps=FULFILMENT_STEPS,
                        next_step=FULFILMENT_STEPS[min(following, len(FULFILMENT_STEPS) - 1)],
                        flash=take_flash(request))


@router.post("/orders/{order_id}/fulfilment")
async def record_fulfilment(request: Request, order_id: str, api: ApiDep, visitor: VisitorDep,
                            form: FormDep) -> Response:
    """Move the order on (packed, shipped with carrier and tracking number, ...)."""
    step = {"status": form.get("status", "")} | {
        name: form[name].strip() for name in ("carrier", "tracking_number")
        if form.get(name, "").strip()}
    await api.call(visitor, "POST", f"/v1/admin/orders/{quote(order_id, safe='')}/fulfilment",
                   json=step)
    return redirect(request, f"/console/orders/{quote(order_id, safe='')}",
                    notice=f"Recorded: {step['status'].replace('_', ' ')}.")


@router.post("/returns/{return_id}/{step}")
async def return_step(request: Request, return_id: str, step: str, api: ApiDep,
                      visitor: VisitorDep, form: FormDep) -> Response:
    """Approve, receive or reject a return, then back to its order (or the returns)."""
    if step not in RETURN_STEPS:
        raise ApiError(404, "There is no such step of a return.")
    body = {"reason": form.get("reason", "").strip()} if step == "reject" else None
    await api.call(visitor, "POST", f"/v1/admin/returns/{quote(return_id, safe='')}/{step}",
                   json=body)
    order_id = form.get("order_id", "")
    notice = {"approve": "Recorded: return approved.", "receive": "Recorded: return received.",
              "reject": "Recorded: return rejected."}[step]
    if order_id:
        return redirect(request, f"/console/orders/{quote(order_id, safe='')}", notice=notice)
    return redirect(request, "/console/returns", notice=notice)


@router.get("/returns", response_class=HTMLResponse)
async def returns(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                  status: str | None = None, cursor: str | None = None) -> HTMLResponse:
    """Every return, or those of one status: what waits for an admin."""
    answer = await api.call(visitor, "GET", "/v1/admin/returns",
                            params=_listing(cursor, status=status))
    return pages.render(request, "console/returns.html", returns=answer.body["items"],
                        current=status or "", statuses=RETURN_STATUSES,
                        more=_next_page(answer.body, status=status or ""),
                        flash=take_flash(request))


# Projections and replays

@router.get("/projections", response_class=HTMLResponse)
async def projections(request: Request, pages: PagesDep, api: ApiDep,
                      visitor: VisitorDep) -> HTMLResponse:
    """Each read model's position and lag, its latest replay, and a button to replay it."""
    answer = await api.call(visitor, "GET", "/v1/admin/projections")
    return pages.render(request, "console/projections.html", projections=answer.body["items"],
                        flash=take_flash(request))


@router.post("/projections/{name}/replays")
async def start_replay(request: Request, name: str, api: ApiDep, visitor: VisitorDep,
                       form: FormDep) -> Response:
    """Ask for a replay, then watch it; one already under way is shown instead."""
    try:
        answer = await api.call(visitor, "POST",
                                f"/v1/admin/projections/{quote(name, safe='')}/replays")
    except ApiError as error:
        if error.status == 409:
            return redirect(request, "/console/projections", error=error.detail)
        raise
    return redirect(request, f"/console/replays/{answer.body['id']}")


@router.get("/replays/{replay_id}", response_class=HTMLResponse)
async def replay(request: Request, replay_id: str, pages: PagesDep, api: ApiDep,
                 visitor: VisitorDep) -> HTMLResponse:
    """A replay's progress; the page follows it (by script, or by refreshing itself)."""
    answer = await api.call(visitor, "GET", f"/v1/admin/replays/{quote(replay_id, safe='')}")
    return pages.render(request, "console/replay.html", replay=answer.body)


@router.get("/replays/{replay_id}/progress")
async def replay_progress(replay_id: str, api: ApiDep, visitor: VisitorDep) -> JSONResponse:
    """The replay as JSON, for the page's script to poll."""
    try:
        answer = await api.call(visitor, "GET",
                                f"/v1/admin/replays/{quote(replay_id, safe='')}")
    except ApiError as error:
        return JSONResponse({"detail": error.detail}, status_code=error.status)
    return JSONResponse(answer.body, headers={"Cache-Control": "no-store"})


# Vouchers, shipping zones, webhooks

VOUCHER_FIELDS = ("code", "kind", "value", "min_subtotal", "starts_at", "ends_at",
                  "usage_limit", "per_customer_limit")


@router.get("/vouchers", response_class=HTMLResponse)
async def vouchers(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                   cursor: str | None = None) -> HTMLResponse:
    answer = await api.call(visitor, "GET", "/v1/admin/vouchers", params=_listing(cursor))
    return pages.render(request, "console/vouchers.html", vouchers=answer.body["items"],
                        more=_next_page(answer.body),
                        form={}, errors={}, flash=take_flash(request))


def _voucher_body(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's body from the form, or the fields the form got wrong."""
    body: dict[str, Any] = {"code": form.get("code", "").strip(), "kind": form.get("kind", "")}
    errors: dict[str, str] = {}
    value = form.get("value", "").strip()
    if body["kind"] == "fixed":
        units = _minor_units(value)
        if units is None:
            errors["value"] = "An amount in euros, such as 5.00."
        body["value"] = units
    else:
        body["value"] = int(value) if value.isdigit() else value
    if form.get("min_subtotal", "").strip():
        units = _minor_units(form["min_subtotal"])
        if units is None:
            errors["min_subtotal"] = "An amount in euros, such as 30.00."
        body["min_subtotal"] = {"amount": units, "currency": "EUR"}
    for name in ("starts_at", "ends_at"):
        if form.get(name, "").strip():
            body[name] = _utc(form[name].strip())
    for name in ("usage_limit", "per_customer_limit"):
        if form.get(name, "").strip():
            body[name] = int(form[name]) if form[name].strip().isdigit() else form[name]
    return body, errors


@router.post("/vouchers")
async def create_voucher(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                         form: FormDep) -> Response:
    """Create a voucher; a refusal shows the form again with the API's reasons."""
    body, errors = _voucher_body(form)
    if not errors:
        try:
            await api.call(visitor, "POST", "/v1/admin/vouchers", json=body)
            return redirect(request, "/console/vouchers",
                            notice=f"Voucher {body['code'].upper()} created.")
        except ApiError as error:
            if error.status not in (409, 422):
                raise
            errors = {e.field.split(".")[-1] or "code": e.message for e in error.errors} or {
                "code": error.detail}
            if any(name not in VOUCHER_FIELDS for name in errors):
                errors["code"] = "; ".join(errors.values())
    return pages.render(request, "console/vouchers.html", status=422, vouchers=None, more=None,
                        form=form, errors=errors)


@router.get("/shipping-zones", response_class=HTMLResponse)
async def shipping_zones(request: Request, pages: PagesDep, api: ApiDep,
                         visitor: VisitorDep) -> HTMLResponse:
    answer = await api.call(visitor, "GET", "/v1/admin/shipping-zones")
    return pages.render(request, "console/shipping_zones.html", zones=answer.body)


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks(request: Request, pages: PagesDep, api: ApiDep, visitor: VisitorDep,
                   cursor: str | None = None) -> HTMLResponse:
    answer = await api.call(visitor, "GET", "/v1/admin/webhooks", params=_listing(cursor))
    return pages.render(request, "console/webhooks.html", webhooks=answer.body["items"],
                        more=_next_page(answer.body))


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
async def webhook(request: Request, webhook_id: str, pages: PagesDep, api: ApiDep,
                  visitor: VisitorDep, cursor: str | None = None) -> HTMLResponse:
    """A subscription and its delivery log."""
    path = quote(webhook_id, safe="")
    subscription, deliveries = await api.gather(
        api.call(visitor, "GET", f"/v1/admin/webhooks/{path}"),
        api.call(visitor, "GET", f"/v1/admin/webhooks/{path}/deliveries",
                 params=_listing(cursor)))
    return pages.render(request, "console/webhook.html", webhook=subscription.body,
                        deliveries=deliveries.body["items"], more=_next_page(deliveries.body))


# The stack

@router.get("/readiness", response_class=HTMLResponse)
async def readiness(request: Request, pages: PagesDep, api: ApiDep,
                    visitor: VisitorDep) -> HTMLResponse:
    """Each dependency of the API as `/readyz` finds it, and the projections' lag (a 503 is
    an answer here: this page is read when something is down). `/readyz` needs no admin;
    the projections call checks that."""
    ready, found = await api.gather(
        api.call(visitor, "GET", "/readyz", expected=(503,)),
        api.call(visitor, "GET", "/v1/admin/projections", expected=(503,)))
    return pages.render(request, "console/readiness.html", ready=ready.body or {},
                        projections=found.body.get("items") if found.status == 200 else None,
                        projections_detail=(found.body or {}).get("detail"))
