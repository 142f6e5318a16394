"""FastAPI dependencies shared by the routes: the service's state, who is calling, which model, the request id.

They read only the request and the service's state, so resolving them costs
microseconds next to scoring one customer.
"""

from __future__ import annotations

import hmac
import re
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from uptake.audit.sessions import RevokedSessions
from uptake.serve.config import PAGE_HEADER, SESSION_COOKIE, ServeConfig
from uptake.serve.models import ServedModel
from uptake.serve.sessions import FailureLimiter, session_valid

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
#: Module level: FastAPI resolves the (string) annotations that name it in this module's globals.
KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="Required when the server sets UPTAKE_API_KEY."
)


@dataclass
class Service:
    """What every route reads: the loaded models (the first is the champion), the audit log, the config."""

    models: dict[str, ServedModel]
    champion: str
    audit: Any
    config: ServeConfig
    counters: dict[str, float] = field(default_factory=dict)
    limiter: FailureLimiter = field(default_factory=FailureLimiter)
    revoked: RevokedSessions | None = None
    metrics: Any = None

    @property
    def api_key(self) -> str | None:
        return self.config.api_key or None

    def signed_in(self, request: Request) -> bool:
        """A valid, not signed-out session cookie (always True when no key is required)."""
        if self.api_key is None:
            return True
        token = request.cookies.get(SESSION_COOKIE)
        if not session_valid(self.api_key, token):
            return False
        return self.revoked is None or not self.revoked.is_revoked(token)

    def check_not_locked_out(self, request: Request) -> str:
        """The client's address; 429 while it has sent too many wrong keys."""
        client = request.client.host if request.client else "unknown"
        wait = self.limiter.retry_after(client)
        if wait:
            raise HTTPException(
                429,
                f"too many wrong API keys from this address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        return client

    def pick(self, version: str | None) -> ServedModel:
        if version is None or version == "champion":
            return self.models[self.champion]
        if version not in self.models:
            raise HTTPException(404, f"model version {version!r} is not loaded; loaded: {', '.join(self.models)}")
        return self.models[version]


async def service(request: Request) -> Service:
    return request.app.state.service


async def caller(request: Request, key: Annotated[str | None, Security(KEY_HEADER)] = None) -> str:
    """The caller's source for the audit log ('api' or 'page'); 401 when a key is needed and missing."""
    svc: Service = request.app.state.service
    page = request.headers.get(PAGE_HEADER) == "1"
    api_key = svc.api_key
    if api_key is None:
        return "page" if page else "api"
    client = svc.check_not_locked_out(request)
    if key is not None and hmac.compare_digest(key.encode(), api_key.encode()):
        return "page" if page else "api"
    # The page's own calls: a signed session cookie *and* a custom header, which a
    # cross-site form or link cannot add (no CORS is configured), so no CSRF.
    if page and await run_in_threadpool(svc.signed_in, request):  # may read the revocations from the database
        return "page"
    if key is not None:
        svc.limiter.failed(client)
    raise HTTPException(
        401, "missing or wrong API key: send it in the X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"}
    )


async def chosen_model(
    request: Request,
    model: Annotated[str | None, Query(description="Model version (default: the champion).", max_length=200)] = None,
) -> ServedModel:
    return request.app.state.service.pick(model)


async def request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    return given if given and REQUEST_ID.match(given) else uuid.uuid4().hex


@dataclass
class Call:
    """Everything a prediction needs about its request, resolved once."""

    svc: Service
    source: str
    served: ServedModel
    rid: str
    reasons: bool


async def prediction_call(request: Request) -> Call:
    """The prediction endpoint's dependencies in one, read straight from the request.

    The same checks as ``caller``, ``chosen_model`` and ``request_id``; one dependency
    instead of four parameters because FastAPI's solving of each costs more than scoring
    one customer (the endpoint documents its parameters itself).
    """
    svc: Service = request.app.state.service
    source = await caller(request, request.headers.get("x-api-key"))
    served = svc.pick(request.query_params.get("model"))
    flag = request.query_params.get("reasons", "false").lower() in ("1", "true", "yes", "on")
    return Call(svc, source, served, await request_id(request), flag)


__all__ = ["KEY_HEADER", "Call", "Service", "caller", "chosen_model", "prediction_call", "request_id", "service"]
