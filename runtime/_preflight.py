"""Before anything is deployed: can the cluster ever run each stage as set?"""

from __future__ import annotations

from typing import Any

from cellserve.converter import ServiceSettings, StageSettings
from cellserve.exceptions import ClusterError

from ._capacity import nodes
from ._clusters import Cluster


def node_resources(cluster: Cluster) -> list[dict[str, float]]:
    """Total resources of each alive node."""
    return [{k: float(v) for k, v in (node.get("resources_total") or {}).items()} for node in nodes(cluster)]


def check_resources(cluster: Cluster, settings: ServiceSettings) -> list[str]:
    """Raise ClusterError if a stage can never be scheduled; return warnings."""
    nodes = node_resources(cluster)
    total_gpus = sum(node.get("GPU", 0) for node in nodes)
    warnings: list[str] = []
    for stage in settings.deployed_stages():
        wanted: StageSettings = getattr(settings, stage)
        need: dict[str, float] = {"CPU": wanted.num_cpus}
        if wanted.memory:
            need["memory"] = wanted.memory
        if wanted.num_gpus:
            if total_gpus:
                need["GPU"] = wanted.num_gpus
            elif wanted.gpu == "required":
                raise ClusterError(
                    f"{stage}.num_gpus is {wanted.num_gpus:g} (gpu: required) but the cluster at "
                    f"{cluster.dashboard} has no GPU. Deploy to a cluster with GPUs, or set "
                    f"{stage}.gpu to 'if-available' to run on CPU where there is none."
                )
            else:
                warnings.append(f"{stage} asks for {wanted.num_gpus:g} GPU if available; the cluster has none: CPU.")
        if not any(all(node.get(key, 0) >= amount for key, amount in need.items()) for node in nodes):
            raise ClusterError(
                f"{stage} can never be scheduled: one replica needs {_describe(need)}, and the largest node of "
                f"the cluster at {cluster.dashboard} has {_describe(_largest(nodes, need))}. Lower the "
                f"{stage} settings or add a bigger node."
            )
    return warnings


def _largest(nodes: list[dict[str, float]], need: dict[str, Any]) -> dict[str, float]:
    return {key: max((node.get(key, 0) for node in nodes), default=0) for key in need}


def _describe(resources: dict[str, float]) -> str:
    parts = []
    for key, amount in resources.items():
        parts.append(f"{amount / 2**30:.1f} GiB memory" if key == "memory" else f"{amount:g} {key}")
    return ", ".join(parts)
