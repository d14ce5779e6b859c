"""What every page handler is handed: the page renderer and the API client, as dependencies,
and how a form post answers: a redirect carrying a flash (a notice, or the API's refusal).

`Pages` renders the templates with what every page needs: the visitor, the CSRF token,
and money and times in the visitor's locale (Accept-Language).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from web.api_client import ApiClient, ApiError, Visitor
from web.cookies import checked_form, csrf_token, set_flash
from web.formatting import format_money, format_time, negotiate_locale


class Pages:
    """Renders a template with the visitor, the CSRF token, and the locale's formats."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    def render(self, request: Request, template: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        locale = negotiate_locale(request.headers.get("accept-language"))
        return self.templates.TemplateResponse(request, template, status_code=status, context={
            "visitor": request.state.visitor, "csrf_token": csrf_token(request),
            "locale": locale, "lang": locale.language,
            "money": lambda value: format_money(value, locale),
            "when": lambda value: format_time(value, locale), **context})

    def error(self, request: Request, status: int, detail: str,
              retry_after: str | None) -> HTMLResponse:
        response = self.render(request, "error.html", status=status, error_status=status,
                               detail=detail, retry_after=retry_after)
        if retry_after:
            response.headers["Retry-After"] = retry_after
        return response


def _pages(request: Request) -> Pages:
    return request.app.state.pages


def _api(request: Request) -> ApiClient:
    return request.app.state.api


def _visitor(request: Request) -> Visitor:
    return request.state.visitor


PagesDep = Annotated[Pages, Depends(_pages)]
ApiDep = Annotated[ApiClient, Depends(_api)]
VisitorDep = Annotated[Visitor, Depends(_visitor)]
# A posted form, its CSRF token checked.
FormDep = Annotated[dict[str, str], Depends(checked_form)]


def secure(request: Request) -> bool:
    return request.app.state.settings.public_url.startswith("https://")


def redirect(request: Request, url: str, **flash: Any) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, secure(request), **flash)
    return response


def refused(request: Request, url: str, error: ApiError, values: dict[str, str] | None = None,
            fields: tuple[str, ...] = ()) -> RedirectResponse:
    """Back to the form with the API's refusal: each field's message beside it. A message
    about the whole request goes beside the first of `fields` it names (a sign-up's
    "password is too short"), else above the form."""
    if error.status >= 500 or error.status == 401:
        raise error
    errors: dict[str, str] = {}
    for e in error.errors:
        named = e.field.rsplit(".", 1)[-1] if e.field else next(
            (f for f in fields if f.replace("_", " ") in e.message.lower()), None)
        if named:
            errors.setdefault(named, e.message)
    detail = error.detail if not errors else "Please check the fields marked below."
    return redirect(request, url, error=detail, errors=errors, values=values)
