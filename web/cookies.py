"""The browser's cookies: the visitor's tokens, and the CSRF token of the double-submit check.

Every cookie is HttpOnly and SameSite=Lax (Secure when the public URL is https). The
access and refresh tokens, the guest cart token, the consistency token and the guest
orders' tokens live here; nothing else about the visitor is kept by the web process.
What a form post's answer wants the next page to show (a notice, the API's refusal
next to its fields, the values to fill in again) travels in a short-lived `flash`
cookie, so every post redirects to a page that makes its own single round trip.
A form post must send back, in its `csrf_token` field, the value of the `csrf` cookie
(compared in constant time): another site can make a browser post a form, but cannot
read the cookie to fill the field in.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from urllib.parse import parse_qs

from fastapi import HTTPException, Request, Response

from web.api_client import Visitor

CSRF_COOKIE = "csrf"
CSRF_FIELD = "csrf_token"
GUEST_ORDERS_COOKIE = "guest_orders"
# The guest orders whose tokens are kept (the newest), so the cookie stays small.
GUEST_ORDERS_KEPT = 5
# Cookie name for each Visitor field.
VISITOR_COOKIES = {"access_token": "access", "refresh_token": "refresh",
                   "cart_token": "cart", "consistency_token": "seen"}
# A refresh token outlives the access token; a session cookie would end with the browser.
LONG_LIVED_S = 30 * 24 * 3600
MAX_FORM_BYTES = 16 * 1024


def visitor_from(request: Request) -> Visitor:
    cookies = request.cookies
    return Visitor(**{name: cookies.get(cookie) or None
                      for name, cookie in VISITOR_COOKIES.items()},
                   client_address=request.client.host if request.client else None)


def write_visitor(response: Response, visitor: Visitor, secure: bool) -> None:
    """Set (or delete) the cookies of the tokens the visitor's calls replaced."""
    for name in visitor.changed:
        cookie, value = VISITOR_COOKIES[name], getattr(visitor, name)
        if value is None:
            response.delete_cookie(cookie, path="/", secure=secure, httponly=True,
                                   samesite="lax")
        else:
            response.set_cookie(cookie, value, max_age=LONG_LIVED_S, path="/", secure=secure,
                                httponly=True, samesite="lax")


def csrf_token(request: Request) -> str:
    """The visitor's CSRF token: the cookie's, or a new one `ensure_csrf_cookie` will set."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def ensure_csrf_cookie(request: Request, response: Response, secure: bool) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, path="/", secure=secure, httponly=True,
                            samesite="lax")


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form (URL-encoded, each field's first value), after the CSRF check."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "The form is too large.")
    form = {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace"),
                                                         keep_blank_values=True).items()}
    posted, cookie = form.pop(CSRF_FIELD, ""), request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(posted.encode(), cookie.encode()):
        raise HTTPException(403, "This form has expired; reload the page and send it again.")
    return form


def guest_orders(request: Request) -> dict[str, str]:
    """{order id: order token} of the guest orders placed in this browser."""
    raw = request.cookies.get(GUEST_ORDERS_COOKIE, "")
    pairs = (item.split(":", 1) for item in raw.split(",") if ":" in item)
    return {order_id: token for order_id, token in pairs}


def remember_guest_order(request: Request, response: Response, order_id: str, token: str,
                         secure: bool) -> None:
    kept = {k: v for k, v in guest_orders(request).items() if k != order_id}
    newest = [*list(kept.items())[-(GUEST_ORDERS_KEPT - 1):], (order_id, token)]
    response.set_cookie(GUEST_ORDERS_COOKIE, ",".join(f"{k}:{v}" for k, v in newest),
                        max_age=LONG_LIVED_S, path="/", secure=secure, httponly=True,
                        samesite="lax")


FLASH_COOKIE = "flash"
# What a flash may hold: a form's values and errors are small; a cookie holds 4 KB.
MAX_FLASH_BYTES = 3000


def set_flash(response: Response, secure: bool, *, notice: str | None = None,
              error: str | None = None, errors: dict[str, str] | None = None,
              values: dict[str, str] | None = None) -> None:
    """What the next page shows once after a form post's redirect: a notice, the API's
    refusal (`error`, field `errors`), and the values sent, to fill the form in again."""
    flash = {"notice": notice, "error": error, "errors": errors or {}, "values": values or {}}
    encoded = base64.urlsafe_b64encode(json.dumps(flash).encode()).decode()
    if len(encoded) > MAX_FLASH_BYTES:
        flash["values"] = {}
        encoded = base64.urlsafe_b64encode(json.dumps(flash).encode()).decode()
    response.set_cookie(FLASH_COOKIE, encoded, max_age=300, path="/", secure=secure,
                        httponly=True, samesite="lax")


def take_flash(request: Request) -> dict:
    """The flash the previous post left (then deleted by `clear_flash`), or an empty one."""
    empty = {"notice": None, "error": None, "errors": {}, "values": {}}
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return empty
    request.state.flash_taken = True
    try:
        flash = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return empty
    if not isinstance(flash, dict):
        return empty
    return {key: flash.get(key) or default for key, default in empty.items()}


def clear_flash(request: Request, response: Response, secure: bool) -> None:
    set_now = any(value.startswith(FLASH_COOKIE + "=")
                  for value in response.headers.getlist("set-cookie"))
    if getattr(request.state, "flash_taken", False) and not set_now:
        response.delete_cookie(FLASH_COOKIE, path="/", secure=secure, httponly=True,
                               samesite="lax")
