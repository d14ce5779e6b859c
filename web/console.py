"""The operator console at `/console/`: pages for admins, on the public API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.pages import PagesDep

router = APIRouter(prefix="/console")


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, pages: PagesDep) -> HTMLResponse:
    """The console's start page."""
    return pages.render(request, "console/home.html")
