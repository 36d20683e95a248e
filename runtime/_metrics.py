"""Live figures of a service, from Ray Serve's own Prometheus metrics, read through the dashboard.

Every node of a Ray cluster exports its processes' metrics in Prometheus' text format at
``http://<node ip>:<metrics export port>/metrics``; the dashboard says where (``/nodes?view=summary``).
What counts and how the figures are computed is ``cellserve.bundle``'s (the code a service runs: its service page
shows the same figures); here, where to read them.
"""

from __future__ import annotations

import time

import httpx

from cellserve.bundle import TrafficReading, add_metrics_exposition
from cellserve.exceptions import ClusterError

from ._clusters import Cluster


def metrics_urls(cluster: Cluster) -> list[str]:
    """Where each alive node of the cluster exports its metrics."""
    summary = (cluster.api.json("GET", "/nodes?view=summary") or {}).get("data", {}).get("summary", [])
    urls = []
    for node in summary:
        raylet = node.get("raylet") or {}
        port = raylet.get("metricsExportPort")
        if port and raylet.get("state", "ALIVE") == "ALIVE" and node.get("ip"):
            urls.append(f"http://{node['ip']}:{port}/metrics")
    return urls


def read(cluster: Cluster, *, timeout: float = 10) -> TrafficReading:
    """One reading of every node's Serve metrics, summed over the processes that report them."""
    urls = metrics_urls(cluster)
    if not urls:
        raise ClusterError(f"The Ray cluster at {cluster.dashboard} lists no node exporting metrics.")
    reading = TrafficReading(at=time.monotonic())
    for url in urls:
        try:
            text = httpx.get(url, timeout=timeout).text
        except httpx.HTTPError as exc:
            raise ClusterError(f"The metrics of a node of the Ray cluster did not answer at {url}: {exc}") from None
        add_metrics_exposition(reading, text)
    return reading
