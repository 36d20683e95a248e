"""Live figures of a service from Ray Serve's own metrics, on a real cluster; and the pure arithmetic."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cellserve.bundle import TrafficReading as Reading
from cellserve.bundle import add_metrics_exposition as add_exposition
from cellserve.bundle import traffic_figures as figures
from cellserve.bundle.traffic import quantile
from cellserve.runtime import delete, publish, traffic
from cellserve.runtime._clusters import connect
from cellserve.runtime._metrics import read
from tests.conftest import Cluster
from tests.notebooks import make_notebook


def test_quantiles_interpolate_inside_their_bucket() -> None:
    buckets = {1.0: 0.0, 2.0: 50.0, 5.0: 90.0, 10.0: 100.0, math.inf: 100.0}
    assert quantile(0.5, buckets) == 2.0
    assert quantile(0.25, buckets) == 1.5  # half way through the (1, 2] bucket
    assert quantile(0.99, buckets) == pytest.approx(9.5)
    assert quantile(0.5, {1.0: 0.0, math.inf: 0.0}) is None  # no request, no percentile
    assert quantile(0.99, {10.0: 1.0, math.inf: 4.0}) == 10.0  # in the open bucket: its lower bound


EXPOSITION = """
# TYPE ray_serve_num_http_requests_total counter
ray_serve_num_http_requests_total{application="meter_v1",method="POST",route="/meter/predict",status_code="200"} 30.0
ray_serve_num_http_requests_total{application="meter_v1",method="POST",route="/meter/predict",status_code="500"} 10.0
ray_serve_num_http_requests_total{application="meter_v1",method="POST",route="/meter/predict",status_code="499"} 7.0
ray_serve_num_http_requests_total{application="meter_v1",method="GET",route="/meter/healthz",status_code="200"} 9.0
ray_serve_num_http_requests_total{application="",method="GET",route="",status_code="404"} 4.0
# TYPE ray_serve_http_request_latency_ms histogram
ray_serve_http_request_latency_ms_bucket{application="meter_v1",le="5.0",route="/meter/predict",status_code="200"} 20.0
ray_serve_http_request_latency_ms_bucket{application="meter_v1",le="10.0",route="/meter/predict",status_code="200"} 30.0
ray_serve_http_request_latency_ms_bucket{application="meter_v1",le="+Inf",route="/meter/predict",status_code="200"} 30.0
ray_serve_http_request_latency_ms_bucket{application="meter_v1",le="5.0",route="/meter/predict",status_code="500"} 10.0
ray_serve_http_request_latency_ms_bucket{application="meter_v1",le="10.0",route="/meter/predict",status_code="500"} 10.0
ray_serve_http_request_latency_ms_bucket{application="meter_v1",le="+Inf",route="/meter/predict",status_code="500"} 10.0
ray_serve_http_request_latency_ms_count{application="meter_v1",route="/meter/predict",status_code="200"} 30.0
# TYPE ray_serve_deployment_replica_healthy gauge
ray_serve_deployment_replica_healthy{application="meter_v1",deployment="service",replica="a"} 1.0
ray_serve_deployment_replica_healthy{application="meter_v1",deployment="service",replica="b"} 0.0
"""


def test_a_reading_counts_predictions_by_version_and_leaves_out_what_is_not_one() -> None:
    before, after = Reading(at=0.0), Reading(at=10.0)
    add_exposition(after, EXPOSITION)
    found = figures(before, after, "meter_v1")
    # 40 predictions (health checks, unrouted 404s and clients that left are not), a quarter of them 5xx.
    assert found["requests"] == 40
    assert found["requests_per_s"] == 4.0
    assert found["error_rate"] == 0.25
    assert found["p50_ms"] == 3.3  # rank 20 of the 30 in the (0, 5] bucket: 5 × 20 / 30
    assert found["p99_ms"] == 9.8  # rank 39.6: 5 + 5 × 9.6 / 10 in the (5, 10] bucket
    assert found["replicas"] == 1  # one healthy, one not
    quiet = figures(after, after, "meter_v1")
    assert (quiet["requests"], quiet["p50_ms"], quiet["error_rate"]) == (0, None, 0.0)


def settled(target: Any, app: str) -> Reading:
    """A reading once the app's count stops moving (Ray's processes report their metrics every few seconds)."""
    last = read(target)
    deadline = time.monotonic() + 60
    while True:
        time.sleep(6)
        now = read(target)
        if now.requests.get(app) == last.requests.get(app) and app in now.requests:
            return now
        assert time.monotonic() < deadline, "the metrics did not settle in 60 s"
        last = now


@pytest.mark.ray
@pytest.mark.kernel
def test_the_metrics_move_with_traffic_and_say_when_there_is_none(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    cells: list[tuple[str, str | None]] = [("payload = {'d': 2}", None), ("{'y': 10 / payload['d']}", "predict")]
    result = publish(make_notebook(tmp_path / "meter.ipynb", cells, {"name": "meter"}), address=cluster.dashboard)
    app = f"meter_v{result.version}"
    target = connect(cluster.dashboard)
    try:
        before = settled(target, app)  # the publish's own requests counted, so that only the test's are new
        sent = time.monotonic()
        statuses = [httpx.post(result.endpoint, json={"d": 0 if i % 10 == 0 else 2}, timeout=30).status_code
                    for i in range(40)]  # fmt: skip
        assert statuses.count(500) == 4  # ZeroDivisionError, the notebook's own
        while (found := figures(before, read(target), app))["requests"] < 40:
            assert time.monotonic() - sent < 90, f"the metrics did not show 40 requests in 90 s: {found}"
            time.sleep(0.5)
        delay = time.monotonic() - sent
        print(f"metrics showed the 40 requests {delay:.1f} s after the first was sent")
        assert found["requests"] == 40  # every prediction the service answered, and no more
        assert found["error_rate"] == 0.1
        assert found["p50_ms"] is not None
        assert found["p99_ms"] is not None
        assert 0 < found["p50_ms"] <= found["p99_ms"]
        assert found["replicas"] == 1

        # Nothing sent: the window says there is no traffic rather than a rate of noise.
        quiet = traffic("meter", window_s=3)["versions"][str(result.version)]
        assert quiet["live"] is True
        assert (quiet["traffic"], quiet["requests"], quiet["p50_ms"]) == (False, 0, None)
        assert quiet["total_requests"] >= 40

        command = [str(Path(sys.executable).parent / "cellserve"), "status", "meter", "--window", "2"]
        shown = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        assert "no traffic" in shown.stdout
        as_json = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=120)
        assert json.loads(as_json.stdout)["traffic"]["versions"][str(result.version)]["replicas"] == 1
    finally:
        delete("meter")
