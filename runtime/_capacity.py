"""Room on the cluster: what each service's running versions reserve, and whether a new version fits.

The figures are Ray's logical resources (what replicas reserve, not what they use).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cellserve.converter import ServiceSettings
from cellserve.exceptions import ClusterError

from . import _routes as routes
from ._clusters import Cluster
from ._serve import ServeCluster


def nodes(cluster: Cluster) -> list[dict[str, Any]]:
    """The alive nodes, with their total resources (the state API, through the dashboard)."""
    found = cluster.api.json("GET", "/api/v0/nodes", params={"detail": "1", "limit": "1000"})
    rows = ((found or {}).get("data") or {}).get("result") or {}
    if isinstance(rows, dict):
        rows = rows.get("result") or []
    return [row for row in rows if row.get("state") == "ALIVE"]


def total(cluster: Cluster) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for node in nodes(cluster):
        for key in ("CPU", "GPU", "memory"):
            sums[key] += float((node.get("resources_total") or {}).get(key, 0))
    return dict(sums)


def reserved(apps: dict[str, Any]) -> dict[str, dict[str, float]]:
    """CPU and GPU reserved by the replicas of each application, from Serve's details."""
    found: dict[str, dict[str, float]] = {}
    for name, app in apps.items():
        sums: dict[str, float] = defaultdict(float)
        for deployment in (app.get("deployments") or {}).values():
            options = (deployment.get("deployment_config") or {}).get("ray_actor_options") or {}
            count = sum(1 for r in deployment.get("replicas") or [] if r.get("state") != "STOPPING")
            sums["CPU"] += count * float(options.get("num_cpus", 1) or 0)
            sums["GPU"] += count * float(options.get("num_gpus", 0) or 0)
        found[name] = dict(sums)
    return found


def by_service(apps: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What each service's running versions reserve: ``{service: {"CPU": …, "GPU": …, "versions": […]}}``."""
    result: dict[str, dict[str, Any]] = {}
    for name, amounts in reserved(apps).items():
        parsed = routes.parse_app(name)
        service = parsed[0] if parsed else name
        row = result.setdefault(service, {"CPU": 0.0, "GPU": 0.0, "versions": []})
        row["CPU"] += amounts.get("CPU", 0)
        row["GPU"] += amounts.get("GPU", 0)
        if parsed:
            row["versions"].append(parsed[1])
    return result


def needed(settings: ServiceSettings) -> float:
    """CPUs the replicas of one version reserve at first (their fewest replicas, at least one each)."""
    return sum(max(1, stage.min_replicas) * stage.num_cpus for stage in (settings.preprocessing, settings.predict))


def make_room(serve: ServeCluster, cluster: Cluster, service: str, settings: ServiceSettings) -> set[str]:
    """The warm versions of ``service`` to stop so that a new version fits; ClusterError if nothing does."""
    apps = serve.applications()
    used = reserved(apps)
    free = total(cluster).get("CPU", 0) - sum(row.get("CPU", 0) for row in used.values())
    need = needed(settings)
    live = routes.live_version(serve.declared(), service)
    drop: set[str] = set()
    for number in sorted(routes.versions_of(serve.declared(), service)):
        if free >= need - 1e-9:
            break
        if number != live:
            name = routes.app_name(service, number)
            drop.add(name)
            free += used.get(name, {}).get("CPU", 0)
    if free >= need - 1e-9:
        return drop
    taken = ", ".join(_taken(name, row) for name, row in sorted(by_service(apps).items()) if row["CPU"])
    raise ClusterError(
        f"No room on the cluster at {cluster.dashboard} for a new version of {service}: it needs {need:g} CPU "
        f"and {max(free, 0):g} of {total(cluster).get('CPU', 0):g} are free. Taken: {taken or 'nothing by Serve'}. "
        "Delete a service (`cellserve delete NAME`), lower warm_versions or the stages' num_cpus, "
        "or use a bigger cluster."
    )


def _taken(service: str, row: dict[str, Any]) -> str:
    versions = f" (versions {', '.join(map(str, sorted(row['versions'])))})" if row["versions"] else ""
    return f"{service}: {row['CPU']:g} CPU{versions}"
