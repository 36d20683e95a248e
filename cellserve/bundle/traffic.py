"""Traffic figures from Ray Serve's own Prometheus metrics: what counts, and percentiles from buckets.

This file is copied into every service bundle (the service page shows its version's traffic) and is
what cellserve's runtime uses too (`cellserve status --window`, the sidebar). Ray Serve's proxies count
each HTTP request by application (one per version of a cellserve service) and status code, and time it
in a histogram; every node exports them in Prometheus' text format. Two readings some seconds apart give
requests per second, the error rate and latency percentiles over that window. The text is parsed with
``prometheus_client``, which every Ray cluster has (Ray's metrics agent uses it).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

REQUESTS = "ray_serve_num_http_requests"
LATENCY = "ray_serve_http_request_latency_ms"
REPLICAS = "ray_serve_deployment_replica_healthy"
CLIENT_GONE = "499"  # the client closed the connection before the answer: not the service's error


@dataclass
class Reading:
    """Cumulative counts by application at one moment (``at``, monotonic seconds)."""

    at: float
    requests: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    errors: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    buckets: dict[str, dict[float, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    replicas: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def add_exposition(reading: Reading, text: str) -> None:
    """Add the prediction requests (by status), their latency buckets and the healthy replicas that one
    Prometheus exposition reports."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        if family.name not in (REQUESTS, LATENCY, REPLICAS):
            continue
        for sample in family.samples:
            labels = sample.labels
            app = labels.get("application")
            if not app:
                continue
            if sample.name == REPLICAS:
                reading.replicas[app] += int(sample.value >= 1)
                continue
            # Predictions only (not the page, the docs or health checks), answered to a client still there.
            if not labels.get("route", "").endswith("/predict") or labels.get("status_code") == CLIENT_GONE:
                continue
            if sample.name == REQUESTS + "_total":
                reading.requests[app] += sample.value
                if labels.get("status_code", "").startswith("5"):
                    reading.errors[app] += sample.value
            elif sample.name == LATENCY + "_bucket":
                reading.buckets[app][float(labels["le"])] += sample.value


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """The ``q`` quantile of a histogram given as cumulative counts by upper bound, interpolated inside the
    bucket it falls in (as Prometheus' histogram_quantile does); None for an empty histogram. A quantile in
    the open last bucket is its lower bound (the largest finite one)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def figures(before: Reading, after: Reading, app: str) -> dict[str, Any]:
    """One application's traffic between two readings: requests per second, error rate, p50/p99 latency (ms)
    and healthy replicas (None before Ray first reports them); ``traffic`` says whether any prediction was
    answered. With none in the window the
    rates are 0 and the percentiles None."""
    seconds = max(after.at - before.at, 1e-9)
    requests = max(after.requests.get(app, 0.0) - before.requests.get(app, 0.0), 0.0)
    errors = max(after.errors.get(app, 0.0) - before.errors.get(app, 0.0), 0.0)
    now, then = after.buckets.get(app, {}), before.buckets.get(app, {})
    window = {bound: max(count - then.get(bound, 0.0), 0.0) for bound, count in now.items()}
    p50, p99 = quantile(0.5, window), quantile(0.99, window)
    return {
        "window_s": round(seconds, 1),
        "requests": int(requests),
        "requests_per_s": round(requests / seconds, 2),
        "error_rate": round(errors / requests, 4) if requests else 0.0,
        "p50_ms": None if p50 is None else round(p50, 1),
        "p99_ms": None if p99 is None else round(p99, 1),
        "replicas": after.replicas.get(app),  # None until Ray has reported the version's replicas
        "total_requests": int(after.requests.get(app, 0.0)),
        "traffic": requests > 0,
    }
