"""The web service: a page for people, a JSON API for systems, an audit row for every prediction.

``create_app(ServeConfig)`` only wires: it loads the models (``uptake.serve.models``:
each a scoring pipeline with its checked numpy backend and request validators), opens
the audit log, and mounts the routers (``routes.predict``, ``routes.meta``,
``routes.page``) behind the body-size middleware. ``uptake serve`` runs it under uvicorn.

Hot-path choices, each for the single-customer latency budget of a few
milliseconds: the JSON body is validated straight from bytes by pydantic-core (no
intermediate dict, no FastAPI body model), small requests are scored inline on the
event loop by the numpy backend (big ones in a worker thread, under a timeout), the
response is serialised once, and the audit row is a queue put.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

import uptake
from uptake.audit.sessions import RevokedSessions
from uptake.audit.writer import AuditLog
from uptake.errors import UptakeInputError
from uptake.serve.config import API_KEY_ENV, CONFIG_ENV, LOCAL_HOSTS, ServeConfig
from uptake.serve.deps import Service
from uptake.serve.metrics import Metrics, Timing
from uptake.serve.middleware import BodyLimit
from uptake.serve.models import load_models
from uptake.serve.routes import docs, meta, monitor, page, predict
from uptake.serve.routes.docs import SWAGGER_UI

HERE = Path(__file__).parent


def create_app(config: ServeConfig, audit: AuditLog | None = None) -> FastAPI:
    """Load the models, open the audit log, and wire the routes. Raises UptakeInputError on bad input."""
    models = load_models(config)
    audit = audit or AuditLog(
        config.db_url,
        batch_rows=config.audit_batch_rows,
        run_migrations=config.run_migrations,
        journal=config.journal_dir(),
        fsync=config.audit_fsync,
    )
    svc = Service(
        models,
        next(iter(models)),
        audit,
        config,
        {"served": 0, "started": time.time()},
        revoked=RevokedSessions(audit.engine),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        # Uvicorn stops accepting requests before this runs; write every queued row.
        await run_in_threadpool(audit.close)

    app = FastAPI(
        title="uptake",
        version=uptake.__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        summary="Who will take up the offer: real-time and batch predictions with an audit log.",
    )
    app.state.service = svc
    app.state.models, app.state.champion, app.state.audit, app.state.config = models, svc.champion, audit, config
    app.mount("/static/swagger", StaticFiles(directory=str(SWAGGER_UI)), name="swagger")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    routers = (predict.router, meta.router, page.router, monitor.router, docs.router)
    for router in routers:
        app.include_router(router)
    svc.metrics = Metrics(audit, endpoints=[getattr(r, "path", "") for router in routers for r in router.routes])

    @app.exception_handler(UptakeInputError)
    async def _input_error(_request: Request, exc: UptakeInputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    app.openapi = lambda: openapi(app, svc)  # type: ignore[method-assign]
    app.add_middleware(
        BodyLimit, default=config.max_body_bytes, upload=config.max_upload_bytes, upload_path="/api/v1/predict/file"
    )
    app.add_middleware(Timing, metrics=svc.metrics)
    # Outermost: a request naming another host (a DNS-rebinding page) is refused before anything else runs.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts or LOCAL_HOSTS))
    return app


def openapi(app: FastAPI, svc: Service) -> dict[str, Any]:
    """OpenAPI with the body schema of the champion's stored Schema and the configured row limit."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        customer = svc.models[svc.champion].requests.customer_schema()
        components.update(customer.pop("$defs", {}))
        components["Customer"] = customer
        body = schema["paths"]["/api/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        body["oneOf"][1]["maxItems"] = svc.config.max_rows
        app.openapi_schema = schema
    return app.openapi_schema


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: the CLI puts the config in the environment."""
    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise RuntimeError(f"{CONFIG_ENV} is not set; start the service with `uptake serve`")
    config = ServeConfig.from_json(text)
    sys.setswitchinterval(0.001)  # as `uptake serve` does for one process: see uptake.cli.serve
    if config.api_key is None:
        config.api_key = os.environ.get(API_KEY_ENV) or None
    return create_app(config)


__all__ = ["app_from_env", "create_app"]
