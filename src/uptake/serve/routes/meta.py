"""What is being served: the model (schema, threshold, metrics) and the service's health."""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

import uptake
from uptake.serve.deps import Service, caller, service
from uptake.serve.metrics import CONTENT_TYPE

router = APIRouter()


@router.get("/api/v1/model", tags=["model"], summary="The champion (or a given version): schema, threshold, metrics")
async def model_info(
    svc: Annotated[Service, Depends(service)],
    _source: Annotated[str, Depends(caller)],
    version: Annotated[str | None, Query(description="Model version (default: the champion).", max_length=200)] = None,
) -> dict[str, Any]:
    served = svc.pick(version)
    config = svc.config
    return {
        "champion": svc.champion,
        "model": served.summary(served.key == svc.champion),
        "request_schema": served.requests.customer_schema(ref_template="#/$defs/{model}"),
        "limits": {
            "max_rows": config.max_rows,
            "max_body_bytes": config.max_body_bytes,
            "max_upload_bytes": config.max_upload_bytes,
            "max_file_rows": config.max_file_rows,
        },
        "models": [
            {"version": k, "champion": k == svc.champion, "name": m.model.path.name, "created": m.model.card.created}
            for k, m in svc.models.items()
        ],
    }


@router.get("/health", tags=["service"], summary="Liveness, loaded models and the audit log's state")
async def health(svc: Annotated[Service, Depends(service)]) -> JSONResponse:
    stats = svc.audit.stats()
    ok = stats["failed"] == 0
    return JSONResponse(
        {
            "status": "ok" if ok else "degraded",
            "problems": []
            if ok
            else [f"audit log: {stats['failed']} prediction rows not written; last error: {stats['last_error']}"],
            "champion": svc.champion,
            "models": {k: {"fast_path": m.fast is not None} for k, m in svc.models.items()},
            "predictions_served": int(svc.counters.get("served", 0)),
            "audit": stats,
            "uptime_s": round(time.time() - svc.counters["started"], 1),
            "version": uptake.__version__,
        }
    )


@router.get(
    "/metrics",
    tags=["service"],
    summary="Prometheus metrics: requests, latency, scores, audit backlog",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
async def metrics(request: Request, svc: Annotated[Service, Depends(service)]) -> Response:
    """Open when the server has no API key; with one, send it as X-API-Key or ``Authorization: Bearer KEY``
    (what Prometheus' ``authorization`` scrape setting sends)."""
    if svc.api_key is not None:
        client = svc.check_not_locked_out(request)
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not given or not hmac.compare_digest(given.encode(), svc.api_key.encode()):
            if given:
                svc.limiter.failed(client)
            raise HTTPException(
                401,
                "missing or wrong API key: send X-API-Key or Authorization: Bearer KEY",
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE)


__all__ = ["router"]
