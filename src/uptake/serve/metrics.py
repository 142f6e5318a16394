"""``/metrics`` for operations: Prometheus text from prometheus-client, one registry per app.

- ``uptake_http_requests_total{endpoint,method,status,model}`` and
  ``uptake_http_request_duration_seconds{endpoint,model}`` (a histogram): every
  request, timed by a pure ASGI wrapper (a few microseconds a request). ``endpoint``
  is the route's path, ``other`` for paths no route has (so a scanner cannot grow the
  label set); ``model`` is the version that scored the request, ``-`` for the rest.
- ``uptake_predictions_total{model,source}`` and ``uptake_score{model}``, a histogram
  of the probabilities served, counted with numpy per request (one bucket pass for a
  whole uploaded file, not a Python call per row).
- ``uptake_audit_pending_rows``, ``uptake_audit_written_rows_total`` and
  ``uptake_audit_failed_rows_total``: the audit writer's backlog and failures, read
  from the writer when scraped.

With ``--workers N`` each worker process keeps its own registry, so a scrape sees
the worker that answered it (the ``worker`` label says which).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

#: Latency buckets (seconds): the single-customer path is under a millisecond, files take seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SCORE_BUCKETS = tuple(round(x, 2) for x in np.linspace(0.05, 1.0, 20))
MODEL_KEY = "uptake.model"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The *_created series double the output for nothing a dashboard uses (process-wide, prometheus-client's switch).
disable_created_metrics()


#: HTTP methods counted by name; any other (made up by a client) is counted as ``other``, so a client cannot
#: grow /metrics by inventing methods.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def known_method(method: str) -> str:
    return method if method in METHODS else "other"


class ScoreHistogram(Collector):
    """Score histograms per model, filled with numpy (``np.searchsorted``) per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edges = np.asarray(SCORE_BUCKETS)
        self._counts: dict[str, np.ndarray] = {}
        self._sums: dict[str, float] = {}

    def add(self, model: str, p: np.ndarray) -> None:
        if len(p) == 1:  # the single-customer path: no numpy call
            v = float(p[0])
            i = next((k for k, e in enumerate(SCORE_BUCKETS) if v <= e), len(SCORE_BUCKETS) - 1)
            with self._lock:
                counts = self._counts.setdefault(model, np.zeros(len(SCORE_BUCKETS), dtype=np.int64))
                counts[i] += 1
                self._sums[model] = self._sums.get(model, 0.0) + v
            return
        idx = np.minimum(np.searchsorted(self._edges, p, side="left"), len(SCORE_BUCKETS) - 1)
        found = np.bincount(idx, minlength=len(SCORE_BUCKETS))
        with self._lock:
            counts = self._counts.setdefault(model, np.zeros(len(SCORE_BUCKETS), dtype=np.int64))
            counts += found
            self._sums[model] = self._sums.get(model, 0.0) + float(np.sum(p))

    def collect(self) -> Iterable[Any]:
        family = HistogramMetricFamily("uptake_score", "Probabilities served, per model version.", labels=["model"])
        with self._lock:
            for model, counts in self._counts.items():
                cumulative = np.cumsum(counts)
                buckets = [(f"{e:g}", int(c)) for e, c in zip(SCORE_BUCKETS[:-1], cumulative[:-1])]
                buckets.append(("+Inf", int(cumulative[-1])))
                family.add_metric([model], buckets, self._sums[model])
        yield family


class AuditCollector(Collector):
    """The audit writer's state, read when scraped."""

    def __init__(self, audit: Any) -> None:
        self.audit = audit

    def collect(self) -> Iterable[Any]:
        stats = self.audit.stats()
        yield GaugeMetricFamily(
            "uptake_audit_pending_rows", "Prediction rows waiting for the audit writer.", value=stats["pending"]
        )
        yield CounterMetricFamily(
            "uptake_audit_written_rows", "Prediction rows written to the audit log.", value=stats["written"]
        )
        yield CounterMetricFamily(
            "uptake_audit_failed_rows", "Prediction rows the audit log could not write.", value=stats["failed"]
        )


class Metrics:
    """The service's registry and the instruments the routes and the wrapper use."""

    def __init__(self, audit: Any, endpoints: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self.worker = str(os.getpid())
        self.endpoints = frozenset(endpoints)
        self.requests = Counter(
            "uptake_http_requests",
            "HTTP requests answered.",
            ["endpoint", "method", "status", "model", "worker"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "uptake_http_request_duration_seconds",
            "Time to answer a request.",
            ["endpoint", "model", "worker"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "uptake_predictions", "Customers scored.", ["model", "source", "worker"], registry=self.registry
        )
        self.scores = ScoreHistogram()
        self.registry.register(self.scores)
        self.registry.register(AuditCollector(audit))
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        self._scored: dict[tuple[str, str], Any] = {}

    def scored(self, model: str, source: str, p: np.ndarray) -> None:
        child = self._scored.get((model, source))
        if child is None:  # as in observe(): one labels() lookup per label set, not per request
            child = self._scored[(model, source)] = self.predictions.labels(model, source, self.worker)
        child.inc(len(p))
        self.scores.add(model, p)

    def observe(self, endpoint: str, method: str, status: int, model: str, seconds: float) -> None:
        """Count one request (``method`` one of :data:`METHODS` or ``other``: a label a client cannot grow)."""
        key = (endpoint, method, str(status), model)
        pair = self._children.get(key)
        if pair is None:  # labels() is a dict lookup plus a lock; cache the children per label set
            pair = (
                self.requests.labels(endpoint, method, str(status), model, self.worker),
                self.latency.labels(endpoint, model, self.worker),
            )
            self._children[key] = pair
        pair[0].inc()
        pair[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class Timing:
    """Pure ASGI: time every HTTP request and count it by route, status and model."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def tracking_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            path = scope["path"]
            endpoint = (
                path if path in self.metrics.endpoints else ("/static" if path.startswith("/static/") else "other")
            )
            self.metrics.observe(
                endpoint, known_method(scope["method"]), status, scope.get(MODEL_KEY, "-"), time.perf_counter() - start
            )


__all__ = ["CONTENT_TYPE", "MODEL_KEY", "Metrics", "Timing"]
