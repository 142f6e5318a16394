"""The page for people, and its sign-in when the service requires an API key."""

from __future__ import annotations

import hmac
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from uptake.serve.config import SESSION_COOKIE
from uptake.serve.deps import Service, service
from uptake.serve.sessions import session_expiry, session_token, session_valid

#: The page's templates, and the monitoring sections it shares with `uptake monitor --html`.
TEMPLATES = Jinja2Templates(
    directory=[
        str(Path(__file__).resolve().parents[1] / "templates"),
        str(Path(__file__).resolve().parents[2] / "monitor" / "templates"),
    ]
)
router = APIRouter(include_in_schema=False)


def secure(response: Response) -> Response:
    """The page runs only its own script and styles; nothing may frame it."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@router.get("/", response_class=HTMLResponse)
async def page(request: Request, svc: Annotated[Service, Depends(service)]) -> Response:
    if not await run_in_threadpool(svc.signed_in, request):
        return secure(TEMPLATES.TemplateResponse(request, "login.html", {"error": None}))
    served = svc.models[svc.champion]
    context = {
        "model": served.summary(True),
        "fields": [asdict(f) for f in served.requests.fields],
        "defaults": served.defaults,
        "models": list(svc.models),
        "max_upload_mb": svc.config.max_upload_bytes / (1 << 20),
        "login": svc.api_key is not None,
    }
    return secure(TEMPLATES.TemplateResponse(request, "index.html", context))


@router.post("/login")
async def login(
    request: Request,
    svc: Annotated[Service, Depends(service)],
    api_key_field: Annotated[str, Form(alias="api_key", max_length=500)] = "",
) -> Response:
    if svc.api_key is None:
        return RedirectResponse("/", status_code=303)
    client = svc.check_not_locked_out(request)
    if not hmac.compare_digest(api_key_field.encode(), svc.api_key.encode()):
        svc.limiter.failed(client)
        return secure(
            TEMPLATES.TemplateResponse(request, "login.html", {"error": "That key is not right."}, status_code=401)
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_token(svc.api_key, svc.config.session_hours),
        max_age=int(svc.config.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, svc: Annotated[Service, Depends(service)]) -> Response:
    """Sign out: the cookie is deleted and its token revoked, so a copy of it no longer works either."""
    token = request.cookies.get(SESSION_COOKIE)
    if svc.api_key is not None and svc.revoked is not None and session_valid(svc.api_key, token):
        await run_in_threadpool(svc.revoked.revoke, token, session_expiry(token))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


__all__ = ["TEMPLATES", "router", "secure"]
