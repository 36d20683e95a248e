"""Room on the cluster: what each service's running versions reserve, and whether a new version fits.

The figures are Ray's logical resources (what replicas reserve, not what they use).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from cellserve.converter import ServiceSettings, StageSettings
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
    """CPUs and GPUs reserved by the replicas of each application, from Serve's details."""
    found: dict[str, dict[str, float]] = {name: {"CPU": 0.0, "GPU": 0.0} for name in apps}
    for name, _node, cpus, gpus in _replicas(apps):
        found[name]["CPU"] += cpus
        found[name]["GPU"] += gpus
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


def needed(settings: ServiceSettings) -> list[float]:
    """CPUs of each replica one version starts with (each stage's fewest replicas, at least one)."""
    stages: list[StageSettings] = [getattr(settings, name) for name in settings.deployed_stages()]
    return [stage.num_cpus for stage in stages for _ in range(max(1, stage.min_replicas))]


def free_per_node(cluster: Cluster, apps: dict[str, Any]) -> dict[str, float]:
    """CPUs not reserved by Serve's replicas, per alive node."""
    free = {node["node_id"]: float((node.get("resources_total") or {}).get("CPU", 0)) for node in nodes(cluster)}
    for _name, node, cpus, _gpus in _replicas(apps):
        if node in free:
            free[node] -= cpus
    return free


def _replicas(apps: dict[str, Any]) -> Iterator[tuple[str, str, float, float]]:
    """(application, node id, CPUs, GPUs) of every replica that is not stopping."""
    for name, app in apps.items():
        for deployment in (app.get("deployments") or {}).values():
            options = (deployment.get("deployment_config") or {}).get("ray_actor_options") or {}
            for replica in deployment.get("replicas") or []:
                if replica.get("state") != "STOPPING":
                    cpus, gpus = float(options.get("num_cpus", 1) or 0), float(options.get("num_gpus", 0) or 0)
                    yield name, str(replica.get("node_id")), cpus, gpus


def fits(free: dict[str, float], replicas: list[float]) -> bool:
    """Whether the replicas can be placed on the nodes (largest first, each on the first node with room)."""
    left = dict(free)
    for cpus in sorted(replicas, reverse=True):
        node = next((n for n, room in left.items() if room >= cpus - 1e-9), None)
        if node is None:
            return False
        left[node] -= cpus
    return True


def make_room(serve: ServeCluster, cluster: Cluster, service: str, settings: ServiceSettings) -> set[str]:
    """The warm versions of ``service`` to stop so that a new version fits; ClusterError if nothing does."""
    apps = serve.applications()
    free = free_per_node(cluster, apps)
    need = needed(settings)
    declared = serve.declared(apps)
    live = routes.live_version(declared, service)
    drop: set[str] = set()
    for number in sorted(routes.versions_of(declared, service)):
        if fits(free, need):
            break
        if number != live:
            name = routes.app_name(service, number)
            drop.add(name)
            for _app, node, cpus, _gpus in _replicas({name: apps.get(name) or {}}):
                free[node] = free.get(node, 0) + cpus
    if fits(free, need):
        return drop
    taken = ", ".join(_taken(name, row) for name, row in sorted(by_service(apps).items()) if row["CPU"])
    available = sum(max(room, 0) for room in free.values())
    raise ClusterError(
        f"No room on the cluster at {cluster.dashboard} for a new version of {service}: it needs {sum(need):g} CPU "
        f"(replicas of {', '.join(f'{c:g}' for c in need)}) and {available:g} of {total(cluster).get('CPU', 0):g} "
        f"are free. Taken: {taken or 'nothing by Serve'}. "
        "Delete a service (`cellserve delete NAME`), lower warm_versions or the stages' num_cpus, "
        "or use a bigger cluster."
    )


def _taken(service: str, row: dict[str, Any]) -> str:
    versions = f" (versions {', '.join(map(str, sorted(row['versions'])))})" if row["versions"] else ""
    return f"{service}: {row['CPU']:g} CPU{versions}"
