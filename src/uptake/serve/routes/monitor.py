"""``/monitor``: the audit log read back, behind the page's sign-in.

Traffic per model version, the score distribution per week, drift lights per column
for the champion against its training reference, and, once outcomes are imported,
realised against promised precision and profit (and fairness by a chosen column).
The work runs in a worker thread and is kept for ``CACHE_S`` seconds per window, so
a page left open and reloaded does not re-read the log each time.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from uptake.audit.read import parse_since
from uptake.errors import UptakeInputError
from uptake.monitor.activity import activity
from uptake.monitor.fairness import fairness_log
from uptake.monitor.page import drift_context, scores_png, traffic_png
from uptake.monitor.run import monitor, realised_report
from uptake.serve.deps import Service, service
from uptake.serve.routes.page import TEMPLATES, secure

router = APIRouter(include_in_schema=False)
CACHE_S = 60.0
WINDOWS = {
    "1d": "the last day",
    "7d": "the last 7 days",
    "30d": "the last 30 days",
    "365d": "the last year",
    "all": "everything logged",
}
_cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def build(svc: Service, window: str, group: str | None) -> dict[str, Any]:
    """Everything the page shows, for the champion and the audit log of this service."""
    key = (id(svc), window, group)
    with _lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
    served = svc.models[svc.champion]
    url = svc.audit.url
    since = None if window == "all" else parse_since(window)
    svc.audit.flush(5)  # what was just served is on the page
    found: dict[str, Any] = {
        "activity": activity(url, since),
        "drift": None,
        "drift_note": None,
        "outcomes": None,
        "outcomes_note": None,
        "fairness": None,
    }
    try:
        # the version this server serves (the folder may have been retrained in place since it loaded it)
        result = monitor(served.model.version_dir, db=url, since=since, model_version=served.key)
        found["drift"] = drift_context(result.to_dict(), result.reference, result.now)
    except UptakeInputError as exc:
        found["drift_note"] = str(exc)
    try:
        found["outcomes"] = realised_report(
            served.model.version_dir, url, since, model_version=served.key, served_as=served.key
        )
        if group:
            found["fairness"] = [fairness_log(url, served.model, group, since=since)]
    except UptakeInputError as exc:
        found["outcomes_note"] = str(exc)
    found["traffic_png"], found["scores_png"] = traffic_png(found["activity"]), scores_png(found["activity"])
    with _lock:
        _cache[key] = (time.monotonic(), found)
    return found


@router.get("/monitor")
async def monitor_page(
    request: Request,
    svc: Annotated[Service, Depends(service)],
    window: Annotated[str, Query(max_length=8)] = "30d",
    group: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if not await run_in_threadpool(svc.signed_in, request):
        return secure(TEMPLATES.TemplateResponse(request, "login.html", {"error": None}))
    served = svc.models[svc.champion]
    if window not in WINDOWS:
        window = "30d"
    if group is not None and group not in served.model.schema.feature_names:
        group = None  # only the model's own columns, never a client's free text, reach the queries
    found = await run_in_threadpool(build, svc, window, group)
    context = {
        "model": served.summary(True),
        "window": window,
        "windows": WINDOWS,
        "group": group,
        "columns": served.model.schema.feature_names,
        "positive_name": served.model.positive_name,
        "login": svc.api_key is not None,
        **found,
    }
    return secure(TEMPLATES.TemplateResponse(request, "monitor.html", context))


__all__ = ["CACHE_S", "router"]
