"""Every error answers as `application/problem+json` (RFC 9457).

A server the request needs being unavailable (Kafka, MySQL, MongoDB, Redis,
Elasticsearch) is 503 naming it, with `Retry-After`: `infra/dependencies.py` says
which errors of the client libraries mean that.
"""

from __future__ import annotations

from http import HTTPStatus

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.commands import Refused
from infra.dependencies import CLIENT_ERRORS, DependencyUnavailable, unavailable

PROBLEM_JSON = "application/problem+json"
# Seconds a client should wait before retrying a request a dependency's outage refused.
RETRY_AFTER_S = 2

log = structlog.get_logger(__name__)


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None,
            **extra) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return problem(error.status, error.detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(part) for part in e["loc"]), "message": e["msg"],
             "type": e["type"]}
            for e in error.errors()
        ]
        return problem(422, "The request is not valid.", errors=errors)

    @app.exception_handler(DependencyUnavailable)
    async def dependency_unavailable(request: Request, error: DependencyUnavailable
                                     ) -> JSONResponse:
        return _unavailable(request, error)

    async def client_error(request: Request, error: Exception) -> JSONResponse:
        outage = unavailable(error)
        if outage is None:
            raise error  # not an outage: a bug, answered 500 and logged with its trace
        return _unavailable(request, outage)

    for error_type in CLIENT_ERRORS:
        app.add_exception_handler(error_type, client_error)


def _unavailable(request: Request, error: DependencyUnavailable) -> JSONResponse:
    log.warning("request.dependency_unavailable", path=request.url.path, error=str(error))
    return problem(503, f"{error.dependency} is unavailable; retry shortly.",
                   headers={"Retry-After": str(RETRY_AFTER_S)})
