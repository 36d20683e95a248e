"""A KubeRay RayService manifest for a service's image: KubeRay starts a Ray cluster from the image and deploys
the service's own Serve config on it (``kubectl apply -f rayservice.yaml``)."""

from __future__ import annotations

import math
from typing import Any

import ray
import yaml

from cellserve.bundle import RESEND_CALLBACK
from cellserve.exceptions import SettingsError

from ._analysis import Plan
from ._files import HTTP_PORT, serve_config

KUBERAY_VERSION = "1.7.0"
"""The KubeRay release whose RayService (``ray.io/v1``) the manifest is written for."""
RAYSERVICE_NAME_MAX = 53
"""KubeRay names a RayService's Kubernetes services ``<name>-serve-svc`` and so on: 63 characters at most."""
SERVICE_DIR = "/service"
"""Where the image holds the service (its Dockerfile's WORKDIR): on Ray's import path in every node."""
HEAD_CPUS = 2
HEAD_MEMORY_GIB = 4
"""What the head node gets beyond the replicas it runs: Ray's own processes (GCS, dashboard, Serve's controller
and proxy)."""


class _Block(str):
    """A string YAML writes as a literal block (``|``), as RayService's ``serveConfigV2`` is usually written."""


def _block(dumper: yaml.SafeDumper, text: _Block) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Block, _block)


def rayservice(plan: Plan, image: str) -> str:
    """The RayService of ``plan``'s service, its Ray nodes running ``image`` (built by ``cellserve build``)."""
    name = plan.notebook.service_name
    if len(name) > RAYSERVICE_NAME_MAX:
        raise SettingsError(
            f"KubeRay takes RayService names of at most {RAYSERVICE_NAME_MAX} characters; {name!r} has {len(name)}. "
            "Give the service a shorter name (setting 'name')."
        )
    settings = plan.notebook.settings
    stages = [settings.stage(stage.role.value) for stage in plan.stages]
    one = settings.one_deployment()
    counted = stages[-1:] if one else stages  # one deployment asks for what predict asks for, once
    gpus = math.ceil(sum(stage.num_gpus * stage.max_replicas for stage in counted))
    cpus = math.ceil(sum(stage.num_cpus * stage.max_replicas for stage in counted))
    memory_gib = math.ceil(sum((stage.memory or 0) * stage.max_replicas for stage in counted) / 2**30)

    serve = yaml.safe_load(serve_config(plan))
    serve["http_options"]["host"] = "0.0.0.0"  # the pod's own interface, where KubeRay's serve service sends
    head_cpus = HEAD_CPUS + (0 if gpus else cpus)  # with GPUs, the replicas run on the GPU worker instead
    head_memory = HEAD_MEMORY_GIB + (0 if gpus else memory_gib)
    cluster: dict[str, Any] = {
        "rayVersion": ray.__version__,
        "headGroupSpec": {
            "rayStartParams": {},
            "template": {"spec": {"containers": [_container("ray-head", image, head_cpus, head_memory, 0, head=True)]}},
        },
    }
    if gpus:
        cluster["workerGroupSpecs"] = [
            {
                "groupName": "gpu",
                "replicas": 1,
                "minReplicas": 1,
                "maxReplicas": 1,
                "rayStartParams": {},
                "template": {
                    "spec": {
                        "containers": [
                            _container(
                                "ray-worker",
                                image,
                                cpus + 1,
                                memory_gib + 2,
                                gpus,
                                head=False,
                            )
                        ]
                    }
                },
            }
        ]
    manifest = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "cellserve"}},
        "spec": {
            "serveConfigV2": _Block(yaml.safe_dump(serve, sort_keys=False)),
            "rayClusterConfig": cluster,
        },
    }
    header = [
        f"# KubeRay RayService of the cellserve service {name!r} (from {plan.notebook.path.name}), for KubeRay "
        f"{KUBERAY_VERSION}.",
        f"# Its Ray nodes run the image {image}: push it where the cluster pulls from, then",
        "#   kubectl apply -f rayservice.yaml",
        f"# and POST to http://{name}-serve-svc:{HTTP_PORT}/{name}/predict inside the cluster",
        f"# (kubectl port-forward svc/{name}-serve-svc {HTTP_PORT} to try it from here).",
    ]
    if gpus:
        header.append(f"# The stages ask for {gpus} GPU(s): the 'gpu' worker group requests them (nvidia.com/gpu).")
    return "\n".join(header) + "\n" + yaml.dump(manifest, Dumper=_Dumper, sort_keys=False)


def _container(role: str, image: str, cpus: int, memory_gib: int, gpus: int, *, head: bool) -> dict[str, Any]:
    resources: dict[str, Any] = {"cpu": str(cpus), "memory": f"{memory_gib}Gi"}
    if gpus:
        resources["nvidia.com/gpu"] = str(gpus)
    container: dict[str, Any] = {
        "name": role,
        "image": image,
        # Ray's workers import the service's app.py (import_path app:app) and the cellserve.bundle it imports from
        # the image's service folder; Serve's proxy imports from there the middleware that sends a prediction once
        # more when the replica that held it died.
        "env": [
            {"name": "PYTHONPATH", "value": SERVICE_DIR},
            {"name": "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH", "value": RESEND_CALLBACK},
        ],
        "resources": {"requests": dict(resources), "limits": dict(resources)},
    }
    if head:
        container["ports"] = [
            {"containerPort": 6379, "name": "gcs-server"},
            {"containerPort": 8265, "name": "dashboard"},
            {"containerPort": 10001, "name": "client"},
            {"containerPort": HTTP_PORT, "name": "serve"},
        ]
    return container
