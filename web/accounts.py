"""The storefront's account pages: sign-up, sign-in (with a password or an identity
provider), sign-out, and the pages the account emails link to (verify, reset password).

Signing in puts the token pair into the visitor's cookies; a guest cart held in this
browser then joins the account's cart (`POST /v1/cart/merge`, the one action that
makes a second call, after the sign-in it needs).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.api_client import ApiError, Visitor
from web.cookies import take_flash
from web.pages import ApiDep, FormDep, PagesDep, VisitorDep, redirect, refused

router = APIRouter()


def _next(url: str | None) -> str:
    """Only a path of this site: never another site's address (`//host`, `https:`)."""
    return url if url and url.startswith("/") and not url.startswith("//") else "/"


def _signed_in(visitor: Visitor, tokens: dict) -> None:
    visitor.replace(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])


async def _merge_guest_cart(api, visitor: Visitor) -> None:
    if visitor.cart_token:
        try:
            await api.call(visitor, "POST", "/v1/cart/merge")
        except ApiError as error:
            if error.status >= 500:
                raise
        visitor.replace(cart_token=None)


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "signup.html", flash=take_flash(request))


@router.post("/signup")
async def signup(request: Request, form: FormDep, api: ApiDep,
                 visitor: VisitorDep) -> RedirectResponse:
    account = {"email": form.get("email", "").strip(), "password": form.get("password", ""),
               "full_name": form.get("full_name", "").strip()}
    values = {"email": account["email"], "full_name": account["full_name"]}
    try:
        await api.call(Visitor(consistency_token=visitor.consistency_token,
                               client_address=visitor.client_address),
                       "POST", "/v1/users", json=account)
    except ApiError as error:
        if error.status == 409:
            return redirect(request, "/signup", errors={"email": error.detail}, values=values)
        return refused(request, "/signup", error, values=values,
                       fields=("password", "email", "full_name"))
    return redirect(request, "/login?" + urlencode({"email": account["email"]}),
                    notice="Your account is ready: sign in. We sent you a link to confirm "
                           "your email address.")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, pages: PagesDep,
                     next: Annotated[str | None, Query(max_length=500)] = None,
                     email: Annotated[str | None, Query(max_length=320)] = None) -> HTMLResponse:
    flash = take_flash(request)
    return pages.render(request, "login.html", flash=flash, next=_next(next),
                        email=flash["values"].get("email") or email or "")


@router.post("/login")
async def login(request: Request, form: FormDep, api: ApiDep,
                visitor: VisitorDep) -> RedirectResponse:
    email, goal = form.get("email", "").strip(), _next(form.get("next"))
    try:
        answer = await api.call(Visitor(consistency_token=visitor.consistency_token,
                                        client_address=visitor.client_address),
                                "POST", "/v1/auth/login",
                                json={"email": email, "password": form.get("password", "")})
    except ApiError as error:
        back = "/login?" + urlencode({"next": goal})
        if error.status in (401, 429):
            return redirect(request, back, error=error.detail, values={"email": email})
        return refused(request, back, error, values={"email": email})
    _signed_in(visitor, answer.body)
    await _merge_guest_cart(api, visitor)
    return redirect(request, goal, notice="You are signed in.")


@router.post("/logout")
async def logout(request: Request, form: FormDep, api: ApiDep,
                 visitor: VisitorDep) -> RedirectResponse:
    if visitor.signed_in:
        try:
            await api.call(visitor, "POST", "/v1/auth/logout")
        except ApiError as error:
            if error.status != 401:
                raise
    visitor.replace(access_token=None, refresh_token=None, cart_token=None)
    return redirect(request, "/", notice="You are signed out.")


@router.get("/login/oauth/{provider}")
async def social_login(request: Request, provider: str, api: ApiDep,
                       visitor: VisitorDep) -> RedirectResponse:
    """Off to the identity provider, which sends the browser back to the page below."""
    callback = (f"{request.app.state.settings.frontend_url.rstrip('/')}"
                f"/login/oauth/{provider}/callback")
    answer = await api.call(Visitor(client_address=visitor.client_address), "GET",
                            f"/v1/auth/oauth/{provider}/authorize",
                            params={"redirect_uri": callback})
    return RedirectResponse(answer.headers["location"], status_code=303)


@router.get("/login/oauth/{provider}/callback")
async def social_login_callback(request: Request, provider: str, api: ApiDep,
                                visitor: VisitorDep,
                                state: Annotated[str | None, Query(max_length=200)] = None,
                                code: Annotated[str | None, Query(max_length=2048)] = None,
                                error: Annotated[str | None, Query(max_length=200)] = None
                                ) -> RedirectResponse:
    params = {k: v for k, v in (("state", state), ("code", code), ("error", error)) if v}
    try:
        answer = await api.call(Visitor(consistency_token=visitor.consistency_token,
                                        client_address=visitor.client_address), "GET",
                                f"/v1/auth/oauth/{provider}/callback", params=params)
    except ApiError as refusal:
        if refusal.status >= 500:
            raise
        return redirect(request, "/login", error=refusal.detail)
    _signed_in(visitor, answer.body)
    await _merge_guest_cart(api, visitor)
    return redirect(request, "/", notice="You are signed in.")


@router.get("/verify-email", response_class=HTMLResponse)
async def verify_email_page(request: Request, pages: PagesDep,
                            token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    """The emailed link: a button confirms (a link alone must not change anything)."""
    return pages.render(request, "verify_email.html", token=token, flash=take_flash(request))


@router.post("/verify-email")
async def verify_email(request: Request, form: FormDep, api: ApiDep,
                       visitor: VisitorDep) -> RedirectResponse:
    try:
        await api.call(visitor, "POST", "/v1/auth/verify-email",
                       json={"token": form.get("token", "")})
    except ApiError as error:
        return refused(request, "/verify-email", error)
    return redirect(request, "/", notice="Your email address is confirmed.")


@router.get("/forgot-password", response_class=HTMLResponse)
async def forgot_password_page(request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "forgot_password.html", flash=take_flash(request))


@router.post("/forgot-password")
async def forgot_password(request: Request, form: FormDep, api: ApiDep,
                          visitor: VisitorDep) -> RedirectResponse:
    try:
        await api.call(Visitor(client_address=visitor.client_address), "POST",
                       "/v1/auth/password-reset", json={"email": form.get("email", "").strip()})
    except ApiError as error:
        return refused(request, "/forgot-password", error, values={"email": form.get("email", "")})
    return redirect(request, "/login", notice="If that address has an account, a link to "
                                              "reset its password is on its way.")


@router.get("/reset-password", response_class=HTMLResponse)
async def reset_password_page(request: Request, pages: PagesDep,
                              token: Annotated[str, Query(max_length=500)] = "") -> HTMLResponse:
    return pages.render(request, "reset_password.html", token=token, flash=take_flash(request))


@router.post("/reset-password")
async def reset_password(request: Request, form: FormDep, api: ApiDep,
                         visitor: VisitorDep) -> RedirectResponse:
    token = form.get("token", "")
    try:
        await api.call(Visitor(client_address=visitor.client_address), "POST",
                       "/v1/auth/password-reset/confirm",
                       json={"token": token, "new_password": form.get("new_password", "")})
    except ApiError as error:
        return refused(request, "/reset-password?" + urlencode({"token": token}), error)
    return redirect(request, "/login", notice="Your password is changed: sign in with it.")
