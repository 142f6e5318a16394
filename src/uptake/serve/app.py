"""The web service: a page for people, a JSON API for systems, an audit row for every prediction.

``create_app(ServeConfig)`` loads one or more saved models (the first is the
champion the page uses), builds their request validators from the stored schemas,
compiles each network's numpy fast path (checked against ``Model.score`` on start;
the reference path is used where it cannot be), opens the audit log and returns a
FastAPI application. ``uptake serve`` runs it under uvicorn.

Hot-path choices, each for the single-customer latency budget of a few
milliseconds: the JSON body is validated straight from bytes by pydantic-core
(no intermediate dict, no FastAPI body model), small requests are scored inline on
the event loop by the numpy fast path (big ones in a worker thread, under a
timeout), the response is serialised once, and the audit row is a queue put.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Query, Request, Security, UploadFile
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

import uptake
from uptake.errors import UptakeInputError
from uptake.serve.audit import DEFAULT_DB, AuditLog, Entry
from uptake.serve.fastpath import FastModelView, FastScorer, compile_fast, reference_proba, training_defaults
from uptake.serve.requests import (
    DEFAULT_MARGIN,
    DEFAULT_MAX_ROWS,
    ErrorResponse,
    PredictResponse,
    RequestModels,
    build_request_models,
    error_details,
    error_message,
)

try:  # orjson is optional: faster when installed, same bytes semantics otherwise
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)

except ImportError:  # pragma: no cover - depends on the environment

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


log = logging.getLogger("uptake.serve")
HERE = Path(__file__).parent
API_KEY_ENV = "UPTAKE_API_KEY"
CONFIG_ENV = "UPTAKE_SERVE_CONFIG"
SESSION_COOKIE = "uptake_session"
PAGE_HEADER = "X-Uptake-Page"
#: Requests up to this many rows are scored on the event loop; bigger ones in a thread.
INLINE_ROWS = 64
#: Reasons per customer when a request asks for them.
REASONS_K = 3
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
#: Module level: FastAPI resolves the (string) annotations that name it in this module's globals.
KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="Required when the server sets UPTAKE_API_KEY.")
UPLOAD_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq"}


@dataclass
class ServeConfig:
    """Everything ``uptake serve`` decides; JSON-able so worker processes get the same."""

    model_dirs: list[str]
    db_url: str = DEFAULT_DB
    api_key: str | None = None
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 64 << 20
    max_rows: int = DEFAULT_MAX_ROWS
    max_file_rows: int = 1_000_000
    request_timeout_s: float = 60.0
    range_margin: float = DEFAULT_MARGIN
    fast_path: bool = True
    run_migrations: bool = True
    session_hours: float = 12.0
    audit_batch_rows: int = 2000

    def to_json(self) -> str:
        """Without the API key: worker processes read it from the environment, as the CLI did."""
        return json.dumps({**asdict(self), "api_key": None})

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**json.loads(text))


# ---- loaded models -----------------------------------------------------------------------------
@dataclass
class ServedModel:
    """One loaded model with everything the service derives from it once, at start."""

    key: str
    model: Any
    requests: RequestModels
    fast: FastScorer | None
    defaults: dict[str, Any]
    reasons: Callable[[Any, list[dict[str, Any]]], list[list[dict[str, Any]]]] | None = None

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def proba(self, rows: list[dict[str, Any]]) -> np.ndarray:
        if self.fast is not None:
            return self.fast.proba(rows)
        return reference_proba(self.model, rows)

    def explain(self, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Top reasons per customer from ``uptake.explain``, run over the fast path where there is one."""
        if self.reasons is None:
            return [[] for _ in rows]
        import pandas as pd

        try:
            clean, _ = self.model.schema.validate(pd.DataFrame(rows, columns=self.model.schema.feature_names))
            target = FastModelView(self.model, self.fast) if self.fast is not None else self.model
            return [[_plain_reason(r) for r in found] for found in self.reasons(target, clean, REASONS_K)]
        except Exception as exc:  # noqa: BLE001 - a missing explanation must not fail a prediction
            log.warning("reasons unavailable: %s", exc)
            return [[] for _ in rows]

    def summary(self, champion: bool) -> dict[str, Any]:
        """What ``/api/v1/model`` tells a client; no server paths."""
        meta = self.model.metadata
        data = dict(meta.get("data") or {})
        return {
            "version": self.key,
            "champion": champion,
            "name": self.model.path.name,
            "created": meta.get("created"),
            "model_type": meta.get("model_type"),
            "preset": meta.get("preset"),
            "threshold": self.threshold,
            "threshold_rule": meta.get("threshold_rule"),
            "metrics": meta.get("metrics"),
            "target": self.model.schema.target,
            "positive_label": self.model.schema.positive_label,
            "schema": self.model.schema.to_dict(),
            "training_rows": data.get("rows"),
            "training_positives": data.get("positives"),
            "fast_path": self.fast is not None,
            "reasons": self.reasons is not None,  # per-customer reasons available (?reasons=true)
            "uptake_version": (meta.get("versions") or {}).get("uptake"),
        }


def find_reasons_function() -> Callable[..., Any] | None:
    """Per-customer reasons come from ``uptake.explain.reasons(model, clean, k)`` when that module offers it."""
    try:
        from uptake import explain
    except ImportError:
        return None
    return getattr(explain, "reasons", None)


def _plain_reason(r: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe: numpy scalars to numbers, NaN to null."""
    out = {}
    for k, v in r.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out


def load_models(config: ServeConfig) -> dict[str, ServedModel]:
    from uptake.predict import Model

    if not config.model_dirs:
        raise UptakeInputError("give at least one model directory")
    reasons = find_reasons_function()
    served: dict[str, ServedModel] = {}
    for d in config.model_dirs:
        model = Model.load(d)
        key = model.version
        if key in served:  # two models saved in the same second: tell them apart by folder
            key = f"{key}-{model.path.name}"
        fast = compile_fast(model) if config.fast_path else None
        served[key] = ServedModel(
            key,
            model,
            build_request_models(model.schema, config.range_margin, config.max_rows),
            fast,
            training_defaults(model),
            reasons,
        )
    return served


# ---- body size limits (pure ASGI: no per-request overhead beyond a header lookup) -----------------
class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse bodies over the cap with 413, by Content-Length or while streaming a chunked body."""

    def __init__(self, app: Any, default: int, upload: int, upload_path: str) -> None:
        self.app, self.default, self.upload, self.upload_path = app, default, upload, upload_path

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.upload if scope["path"] == self.upload_path else self.default
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _drain(receive, declared)
                    await _send_413(send, limit)
                    return
        received = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if message.get("more_body"):
                        await _drain(receive, limit)
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(send, limit)


#: Bytes of an over-limit body read and thrown away so the client sees the 413 instead of a
#: connection reset (it is still sending when the answer comes); beyond this, just close.
DRAIN_BYTES = 16 << 20


async def _drain(receive: Callable[[], Awaitable[Any]], declared: int) -> None:
    if declared > DRAIN_BYTES:
        return
    seen = 0
    while seen <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return


async def _send_413(send: Any, limit: int) -> None:
    body = dumps({"detail": f"request body larger than the limit of {limit:,} bytes"})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# ---- sessions for the page when an API key is set ---------------------------------------------------
def session_token(api_key: str, hours: float, now: float | None = None) -> str:
    """``expiry.signature``: an HMAC of the expiry under the API key, so every worker accepts it."""
    expiry = int((now or time.time()) + hours * 3600)
    sig = hmac.new(api_key.encode(), f"uptake-session:{expiry}".encode(), hashlib.sha256).hexdigest()
    return f"{expiry}.{sig}"


def session_valid(api_key: str, token: str | None, now: float | None = None) -> bool:
    if not token or "." not in token:
        return False
    expiry, _, sig = token.partition(".")
    if not expiry.isdigit() or int(expiry) < (now or time.time()):
        return False
    good = hmac.new(api_key.encode(), f"uptake-session:{expiry}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, good)


# ---- the application ---------------------------------------------------------------------------------
def create_app(config: ServeConfig, audit: AuditLog | None = None) -> FastAPI:
    """Load the models, open the audit log, and wire the routes. Raises UptakeInputError on bad input."""
    models = load_models(config)
    champion = next(iter(models))
    audit = audit or AuditLog(config.db_url, batch_rows=config.audit_batch_rows, run_migrations=config.run_migrations)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    api_key = config.api_key or None
    state: dict[str, Any] = {"served": 0, "started": time.time()}

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        # Uvicorn stops accepting requests before this runs; write every queued row.
        await run_in_threadpool(audit.close)

    app = FastAPI(
        title="uptake",
        version=uptake.__version__,
        summary="Who will take up the offer: real-time and batch predictions with an audit log.",
        lifespan=lifespan,
    )
    app.state.models, app.state.champion, app.state.audit, app.state.config = models, champion, audit, config
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # -- helpers ------------------------------------------------------------------------------
    def pick(version: str | None) -> ServedModel:
        if version is None or version == "champion":
            return models[champion]
        if version not in models:
            raise HTTPException(404, f"model version {version!r} is not loaded; loaded: {', '.join(models)}")
        return models[version]

    def authorize(request: Request, key: str | None) -> str:
        """The caller's source for the audit log ('api' or 'page'); 401 when a key is needed and missing."""
        page = request.headers.get(PAGE_HEADER) == "1"
        if api_key is None:
            return "page" if page else "api"
        if key is not None and hmac.compare_digest(key.encode(), api_key.encode()):
            return "page" if page else "api"
        # The page's own calls: a signed session cookie *and* a custom header, which a
        # cross-site form or link cannot add (no CORS is configured), so no CSRF.
        if page and session_valid(api_key, request.cookies.get(SESSION_COOKIE)):
            return "page"
        raise HTTPException(401, "missing or wrong API key: send it in the X-API-Key header",
                            headers={"WWW-Authenticate": "X-API-Key"})

    def request_id(request: Request) -> str:
        given = request.headers.get("x-request-id")
        return given if given and REQUEST_ID.match(given) else uuid.uuid4().hex

    async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.wait_for(run_in_threadpool(fn, *args), config.request_timeout_s)
        except TimeoutError:
            raise HTTPException(504, f"scoring took longer than {config.request_timeout_s:g} s") from None

    # -- API ----------------------------------------------------------------------------------------
    @app.exception_handler(UptakeInputError)
    async def _input_error(_request: Request, exc: UptakeInputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    errors = {401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
              422: {"model": ErrorResponse}}

    @app.post(
        "/api/v1/predict",
        tags=["predict"],
        summary="Score one customer (a JSON object) or a list of them",
        response_model=PredictResponse,
        responses=errors,
        # Parameters are declared here and read from the request by hand: FastAPI's
        # dependency solving for them costs more than scoring one customer.
        openapi_extra={
            "parameters": [
                {"name": "model", "in": "query", "required": False, "description": "Model version (default: the champion).",
                 "schema": {"type": "string", "maxLength": 200}},
                {"name": "reasons", "in": "query", "required": False,
                 "description": "Also return each customer's top reasons (costs milliseconds per request; the page asks for them).",
                 "schema": {"type": "boolean", "default": False}},
            ],
            "security": [{}, {"APIKeyHeader": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": "#/components/schemas/Customer"},
                {"type": "array", "items": {"$ref": "#/components/schemas/Customer"}, "minItems": 1,
                 "maxItems": config.max_rows},
            ]}}}},
        },
    )
    async def predict(request: Request) -> Response:
        start = time.perf_counter()
        source = authorize(request, request.headers.get("x-api-key"))
        served = pick(request.query_params.get("model"))
        body = await request.body()
        try:
            rows = served.requests.parse(body)
        except ValidationError as exc:
            details = error_details(exc)
            return Response(dumps({"detail": details, "message": error_message(details)}), 422,
                            media_type="application/json")
        if served.fast is not None and len(rows) <= INLINE_ROWS:
            p = served.proba(rows)  # microseconds: cheaper than a thread hop
        else:
            p = await in_thread(served.proba, rows)
        decision = (p >= served.threshold).astype(np.int8)
        if request.query_params.get("reasons", "false").lower() in ("1", "true", "yes", "on"):
            reasons = await in_thread(served.explain, rows)
        else:
            reasons = [[] for _ in rows]
        rid = request_id(request)
        payload = {
            "request_id": rid,
            "model_version": served.key,
            "threshold": served.threshold,
            "predictions": [
                {"probability": pi, "decision": di, "reasons": ri}
                for pi, di, ri in zip(p.tolist(), decision.tolist(), reasons)
            ],
        }
        out = dumps(payload)
        latency = (time.perf_counter() - start) * 1000.0
        audit.record(Entry(time.time(), rid, source, served.key, served.threshold, latency, rows, p, decision))
        state["served"] += len(rows)
        return Response(out, media_type="application/json", headers={"X-Request-ID": rid})

    @app.post(
        "/api/v1/predict/file",
        tags=["predict"],
        summary="Score an uploaded CSV, Excel or Parquet table; returns it ranked, most likely first",
        response_class=Response,
        responses={**errors, 200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
                                   "description": "The input's rows plus probability, decision and rank."}},
    )
    async def predict_file(
        request: Request,
        file: Annotated[UploadFile, File(description="A .csv, .xlsx or .parquet table with the model's columns.")],
        model: Annotated[str | None, Query(description="Model version (default: the champion).", max_length=200)] = None,
        skip_invalid: Annotated[bool, Query(description="Leave out invalid rows (counted in X-Uptake-Skipped) instead of failing.")] = False,
        output: Annotated[Literal["csv", "parquet"], Query(alias="format", description="Format of the returned file.")] = "csv",
        key: Annotated[str | None, Security(KEY_HEADER)] = None,
    ) -> Response:
        start = time.perf_counter()
        source = "file" if authorize(request, key) == "api" else "page"
        served = pick(model)
        rid = request_id(request)
        result = await in_thread(score_upload, served, file, skip_invalid, output, config.max_file_rows)
        latency = (time.perf_counter() - start) * 1000.0
        audit.record(Entry(time.time(), rid, source, served.key, served.threshold, latency,
                           result.inputs, result.probability, result.decision, rows=result.rows))
        state["served"] += len(result.probability)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file.filename or "upload").stem)[:80] or "upload"
        headers = {
            "Content-Disposition": f'attachment; filename="scored-{stem}.{output}"',
            "X-Request-ID": rid,
            "X-Uptake-Rows": str(len(result.probability)),
            "X-Uptake-Positives": str(int(result.decision.sum())),
            "X-Uptake-Skipped": str(result.skipped),
            "X-Uptake-Model-Version": served.key,
            "X-Uptake-Threshold": repr(served.threshold),
        }
        if result.first_error:
            headers["X-Uptake-First-Error"] = result.first_error.encode("ascii", "replace").decode()[:300]
        media = "text/csv; charset=utf-8" if output == "csv" else "application/vnd.apache.parquet"
        return Response(result.content, media_type=media, headers=headers)

    @app.get("/api/v1/model", tags=["model"], summary="The champion (or a given version): schema, threshold, metrics")
    async def model_info(
        request: Request,
        version: Annotated[str | None, Query(description="Model version (default: the champion).", max_length=200)] = None,
        key: Annotated[str | None, Security(KEY_HEADER)] = None,
    ) -> dict[str, Any]:
        authorize(request, key)
        served = pick(version)
        return {
            "champion": champion,
            "model": served.summary(served.key == champion),
            "request_schema": served.requests.customer_schema(ref_template="#/$defs/{model}"),
            "limits": {"max_rows": config.max_rows, "max_body_bytes": config.max_body_bytes,
                       "max_upload_bytes": config.max_upload_bytes, "max_file_rows": config.max_file_rows},
            "models": [{"version": k, "champion": k == champion, "name": m.model.path.name,
                        "created": m.model.metadata.get("created")} for k, m in models.items()],
        }

    @app.get("/health", tags=["service"], summary="Liveness, loaded models and the audit log's state")
    async def health() -> JSONResponse:
        stats = audit.stats()
        ok = stats["failed"] == 0
        return JSONResponse({
            "status": "ok" if ok else "degraded",
            "problems": [] if ok else [f"audit log: {stats['failed']} prediction rows not written; last error: {stats['last_error']}"],
            "champion": champion,
            "models": {k: {"fast_path": m.fast is not None} for k, m in models.items()},
            "predictions_served": state["served"],
            "audit": stats,
            "uptime_s": round(time.time() - state["started"], 1),
            "version": uptake.__version__,
        })

    # -- the page -------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> Response:
        if api_key is not None and not session_valid(api_key, request.cookies.get(SESSION_COOKIE)):
            return _secure(templates.TemplateResponse(request, "login.html", {"error": None}))
        served = models[champion]
        context = {
            "model": served.summary(True),
            "fields": [asdict(f) for f in served.requests.fields],
            "defaults": served.defaults,
            "models": list(models),
            "max_upload_mb": config.max_upload_bytes / (1 << 20),
            "login": api_key is not None,
        }
        return _secure(templates.TemplateResponse(request, "index.html", context))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request, api_key_field: Annotated[str, Form(alias="api_key", max_length=500)] = "") -> Response:
        if api_key is None:
            return RedirectResponse("/", status_code=303)
        if not hmac.compare_digest(api_key_field.encode(), api_key.encode()):
            return _secure(templates.TemplateResponse(request, "login.html", {"error": "That key is not right."},
                                                      status_code=401))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session_token(api_key, config.session_hours),
                            max_age=int(config.session_hours * 3600), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- OpenAPI: the body schema comes from the champion's stored Schema ------------------------------
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            customer = models[champion].requests.customer_schema()
            components.update(customer.pop("$defs", {}))
            components["Customer"] = customer
            schema["components"].setdefault("securitySchemes", {})["APIKeyHeader"] = {
                "type": "apiKey", "in": "header", "name": "X-API-Key",
                "description": "Required when the server sets UPTAKE_API_KEY."}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, default=config.max_body_bytes, upload=config.max_upload_bytes,
                       upload_path="/api/v1/predict/file")
    return app


def _secure(response: Response) -> Response:
    """The page runs only its own script and styles; nothing may frame it."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


# ---- scoring an uploaded table ------------------------------------------------------------------------
@dataclass
class UploadResult:
    content: bytes
    inputs: Any
    probability: np.ndarray
    decision: np.ndarray
    rows: list[int]
    skipped: int
    first_error: str | None = None


def score_upload(served: ServedModel, upload: UploadFile, skip_invalid: bool, output: str, max_rows: int) -> UploadResult:
    """Read the upload with ``read_table`` (a server-made temporary path, never a client's), score, rank, write.

    Errors name the client's file name, not the temporary path.
    """
    from uptake.data import read_table
    from uptake.predict import scored_frame

    name = Path(upload.filename or "").name or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UptakeInputError(f"file '{name}': unsupported file type {suffix or '(none)'!r}: use .csv, .xlsx or .parquet")
    with tempfile.TemporaryDirectory(prefix="uptake-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        with open(path, "wb") as fh:
            shutil.copyfileobj(upload.file, fh, 1 << 20)
        try:
            df = read_table(path)
        except UptakeInputError as exc:
            raise UptakeInputError(str(exc).replace(str(path), name)) from None
        except Exception as exc:  # noqa: BLE001 - a reader failing on a client's bytes is the client's input error
            raise UptakeInputError(f"file '{name}': cannot be read as {suffix} ({type(exc).__name__})") from None
    if len(df) > max_rows:
        raise UptakeInputError(f"file '{name}': {len(df):,} rows is more than the limit of {max_rows:,} per upload")
    if len(df) == 0:
        raise UptakeInputError(f"file '{name}': no data rows")
    offset = int(df.attrs.get("row_offset", 1))
    scored = served.model.score(df, source=name, skip_invalid=skip_invalid)
    frame = scored_frame(df, scored)
    features = served.model.schema.feature_names
    inputs = frame[features]
    rows = (np.asarray(frame.index) + offset).tolist() if frame.index.dtype.kind in "iu" else list(range(offset, offset + len(frame)))
    ranked = frame.sort_values("rank", kind="stable")
    buf = BytesIO()
    if output == "parquet":
        ranked.to_parquet(buf, index=False)
    else:
        _write_csv(ranked, buf)
    first = scored.errors[0].message(name) if scored.errors else None
    return UploadResult(buf.getvalue(), inputs, scored.probability, scored.decision, rows, len(scored.invalid_rows), first)


def _write_csv(frame: Any, buf: BytesIO) -> None:
    """pyarrow's CSV writer: about ten times pandas' on 100k rows, and still plain CSV."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))


# ---- entry points for uvicorn ----------------------------------------------------------------------
def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: the CLI puts the config in the environment."""
    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise RuntimeError(f"{CONFIG_ENV} is not set; start the service with `uptake serve`")
    config = ServeConfig.from_json(text)
    import sys

    sys.setswitchinterval(0.001)  # as `uptake serve` does for one process: see uptake.cli.serving
    if config.api_key is None:
        config.api_key = os.environ.get(API_KEY_ENV) or None
    return create_app(config)
