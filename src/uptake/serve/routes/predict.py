"""Predictions: one customer or a list as JSON, or a whole uploaded table."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from uptake.audit.writer import Entry
from uptake.serve.deps import Service, caller, chosen_model, prediction_call, request_id, service
from uptake.serve.encode import dumps
from uptake.serve.metrics import MODEL_KEY
from uptake.serve.models import ServedModel
from uptake.serve.requests import ErrorResponse, PredictResponse, error_details, error_message
from uptake.serve.upload import score_upload

#: Requests up to this many rows are scored on the event loop; bigger ones in a worker thread.
INLINE_ROWS = 64
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (401, 404, 413, 415, 422)}

router = APIRouter(tags=["predict"])


async def in_thread(svc: Service, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return await asyncio.wait_for(run_in_threadpool(fn, *args), svc.config.request_timeout_s)
    except TimeoutError:
        raise HTTPException(504, f"scoring took longer than {svc.config.request_timeout_s:g} s") from None


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def body_schema(max_rows: int) -> dict[str, Any]:
    """The endpoint's OpenAPI: a Customer (the champion's stored schema, added by the app) or a list of them,
    and the parameters ``prediction_call`` reads from the request."""
    return {
        "parameters": [
            {
                "name": "model",
                "in": "query",
                "required": False,
                "description": "Model version (default: the champion).",
                "schema": {"type": "string", "maxLength": 200},
            },
            {
                "name": "reasons",
                "in": "query",
                "required": False,
                "description": "Also return each customer's top reasons (costs milliseconds per request; the page asks "
                "for them).",
                "schema": {"type": "boolean", "default": False},
            },
        ],
        "security": [{}, {"APIKeyHeader": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/Customer"},
                            {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Customer"},
                                "minItems": 1,
                                "maxItems": max_rows,
                            },
                        ]
                    }
                }
            },
        },
    }


@router.post(
    "/api/v1/predict",
    summary="Score one customer (a JSON object) or a list of them",
    response_model=PredictResponse,
    responses=ERRORS,
    openapi_extra=body_schema(1000),
)
async def predict(request: Request) -> Response:
    # The hot path: ``prediction_call`` (auth, model choice, request id, the same functions the other
    # routes take as FastAPI dependencies) is awaited here, because FastAPI's solving of even one
    # dependency costs ~40 us a request, 15% of single-customer throughput (bench/serve_load.py).
    start = time.perf_counter()
    call = await prediction_call(request)
    svc, source, served, rid, reasons = call.svc, call.source, call.served, call.rid, call.reasons
    if not is_json(request.headers.get("content-type")):
        # A cross-site form can post text/plain without a preflight; JSON it cannot.
        raise HTTPException(415, "the body must be JSON: send Content-Type: application/json")
    body = await request.body()
    try:
        rows = served.requests.parse(body)
    except ValidationError as exc:
        details = error_details(exc)
        return Response(
            dumps({"detail": details, "message": error_message(details)}), 422, media_type="application/json"
        )
    ids = served.requests.pop_ids(rows)
    if served.fast is not None and len(rows) <= INLINE_ROWS:
        p, decision = served.score(rows)  # microseconds: cheaper than a thread hop
    else:
        p, decision = await in_thread(svc, served.score, rows)
    found = await in_thread(svc, served.explain, rows) if reasons else [[] for _ in rows]
    warnings = served.warnings(rows)
    payload = {
        "request_id": rid,
        "model_version": served.key,
        "threshold": served.threshold,
        "predictions": [
            {"probability": pi, "decision": di, "reasons": ri, "warnings": wi}
            for pi, di, ri, wi in zip(p.tolist(), decision.tolist(), found, warnings)
        ],
    }
    out = dumps(payload)
    latency = (time.perf_counter() - start) * 1000.0
    svc.audit.record(
        Entry(
            time.time(),
            rid,
            source,
            served.key,
            served.threshold,
            latency,
            rows,
            p,
            decision,
            customer_ids=ids,
            flags=["; ".join(w) for w in warnings],
            reasons=found if reasons else None,
        )
    )
    request.scope[MODEL_KEY] = served.key
    svc.metrics.scored(served.key, source, p)
    svc.counters["served"] = svc.counters.get("served", 0) + len(rows)
    return Response(out, media_type="application/json", headers={"X-Request-ID": rid})


@router.post(
    "/api/v1/predict/file",
    summary="Score an uploaded CSV, Excel or Parquet table; returns it ranked, most likely first",
    response_class=Response,
    responses={
        **ERRORS,
        200: {
            "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
            "description": "The input's rows plus probability, decision and rank.",
        },
    },
)
async def predict_file(
    request: Request,
    file: Annotated[UploadFile, File(description="A .csv, .xlsx or .parquet table with the model's columns.")],
    source: Annotated[str, Depends(caller)],
    served: Annotated[ServedModel, Depends(chosen_model)],
    rid: Annotated[str, Depends(request_id)],
    svc: Annotated[Service, Depends(service)],
    skip_invalid: Annotated[
        bool, Query(description="Leave out invalid rows (counted in X-Uptake-Skipped) instead of failing.")
    ] = False,
    output: Annotated[
        Literal["csv", "parquet"], Query(alias="format", description="Format of the returned file.")
    ] = "csv",
    sheet: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Excel sheet to read (default: 'Data' if there is one, else the sheet the workbook opens on).",
        ),
    ] = None,
) -> Response:
    start = time.perf_counter()
    result = await in_thread(svc, score_upload, served, file, skip_invalid, output, svc.config.max_file_rows, sheet)
    latency = (time.perf_counter() - start) * 1000.0
    svc.audit.record(
        Entry(
            time.time(),
            rid,
            "file" if source == "api" else "page",
            served.key,
            served.threshold,
            latency,
            result.inputs,
            result.probability,
            result.decision,
            rows=result.rows,
            customer_ids=result.customer_ids,
            batch_id=rid,
            flags=result.flags,
        )
    )
    request.scope[MODEL_KEY] = served.key
    svc.metrics.scored(served.key, "file" if source == "api" else "page", result.probability)
    svc.counters["served"] = svc.counters.get("served", 0) + len(result.probability)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file.filename or "upload").stem)[:80] or "upload"
    headers = {
        "Content-Disposition": f'attachment; filename="scored-{stem}.{output}"',
        "X-Request-ID": rid,
        "X-Uptake-Rows": str(len(result.probability)),
        "X-Uptake-Positives": str(int(result.decision.sum())),
        "X-Uptake-Skipped": str(result.skipped),
        "X-Uptake-Flagged": str(sum(1 for f in result.flags if f)),
        "X-Uptake-Model-Version": served.key,
        "X-Uptake-Threshold": repr(served.threshold),
    }
    if result.first_error:
        headers["X-Uptake-First-Error"] = result.first_error.encode("ascii", "replace").decode()[:300]
    media = "text/csv; charset=utf-8" if output == "csv" else "application/vnd.apache.parquet"
    return Response(result.content, media_type=media, headers=headers)


__all__ = ["INLINE_ROWS", "router"]
