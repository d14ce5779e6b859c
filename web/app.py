"""The web process: the storefront (`/`) and the operator console (`/console/`) as HTML pages.

A client of the public API like any other (`web/api_client.py`), built once per process.
Every answer carries a Content-Security-Policy that allows scripts and styles only from
`/static/`; the visitor's tokens come from cookies and go back into them
(`web/cookies.py`). An API error becomes a page with the API's message (a 503 says to try
again shortly, with its Retry-After); no page ever shows a stack trace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from infra.settings import Settings, get_settings
from web import accounts, console, storefront
from web.api_client import ApiClient, ApiError
from web.cookies import clear_flash, ensure_csrf_cookie, visitor_from, write_visitor
from web.pages import Pages

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
       "form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'self'")

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    secure = settings.public_url.startswith("https://")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.api = ApiClient(settings.web_api_urls, settings.web_api_timeout_s)
        try:
            yield
        finally:
            await app.state.api.close()

    app = FastAPI(title="shopstream web", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.settings = settings
    app.state.pages = Pages(Jinja2Templates(directory=HERE / "templates"))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def visitor_and_headers(request: Request, call_next) -> Response:
        request.state.visitor = visitor_from(request)
        response = await call_next(request)
        write_visitor(response, request.state.visitor, secure)
        ensure_csrf_cookie(request, response, secure)
        clear_flash(request, response, secure)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        if console.handles(request):
            page = console.refused_page(request, error, app.state.pages)
            if page is not None:
                return page
        if error.status == 401 and request.method == "GET":
            request.state.visitor.replace(access_token=None, refresh_token=None)
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return app.state.pages.error(request, error.status, error.detail, error.retry_after)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/v1/"):
            # An API path no API route claims, sent here by a gateway that matches `/` as
            # the shortest prefix (Kong; HAProxy answers those itself). API clients get a
            # problem, not a page.
            return JSONResponse({"type": "about:blank", "title": "Not Found", "status": 404,
                                 "detail": "No resource matches this path."}, status_code=404,
                                media_type="application/problem+json")
        detail = "There is no such page." if error.status_code == 404 else str(error.detail)
        return app.state.pages.error(request, error.status_code, detail, None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("web.unexpected_error", path=request.url.path)
        return app.state.pages.error(request, 500, "Something went wrong on our side.", None)

    app.include_router(storefront.router)
    app.include_router(accounts.router)
    app.include_router(console.router)
    return app
