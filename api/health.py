"""Operations routes: liveness, readiness of every dependency, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ClientsDep, SettingsDep
from infra.health import check_dependencies

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is unreachable"}})
async def readyz(clients: ClientsDep, settings: SettingsDep) -> JSONResponse:
    """Every dependency (Kafka, MySQL, MongoDB, Redis, Elasticsearch) answers.

    503 names each failing dependency and why.
    """
    checks = await check_dependencies(clients, settings.readiness_timeout_s)
    failing = [name for name, result in checks.items() if result != "ok"]
    if not failing:
        return JSONResponse({"status": "ok", "checks": checks})
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"Not ready: {', '.join(failing)} unreachable.",
            "failing": failing,
            "checks": checks,
        },
        status_code=503,
        media_type="application/problem+json",
    )


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
