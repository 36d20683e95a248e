"""The KubeRay RayService manifest `cellserve build --kuberay` writes (pure: read and analyse the notebook only).
That the image, started the way KubeRay starts a node, serves the manifest's Serve config is checked for real in
tests/runtime/test_image.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from ray.serve.schema import ServeDeploySchema

from cellserve.converter import analyse, rayservice, read_notebook
from cellserve.exceptions import SettingsError
from tests.notebooks import make_notebook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CALC = [("x = payload['x']", "preprocessing"), ("total = sum(x)\n{'total': total}", "predict")]


def manifest(notebook: Path, image: str = "registry.example/digits:1") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(rayservice(analyse(read_notebook(notebook)), image))
    return loaded


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    cluster = spec["rayClusterConfig"]
    groups = [cluster["headGroupSpec"], *cluster.get("workerGroupSpecs", [])]
    return [container for group in groups for container in group["template"]["spec"]["containers"]]


def test_a_gpu_service_gets_a_gpu_worker_group_and_its_serve_config() -> None:
    found = manifest(EXAMPLES / "digits.ipynb")
    assert (found["apiVersion"], found["kind"], found["metadata"]["name"]) == ("ray.io/v1", "RayService", "digits")
    spec = found["spec"]
    serve = ServeDeploySchema.model_validate(yaml.safe_load(spec["serveConfigV2"]))  # Ray's own schema
    assert serve.http_options.host == "0.0.0.0"  # the pod's interface, where KubeRay's serve service sends
    assert [(app.name, app.route_prefix, app.import_path) for app in serve.applications] == [
        ("digits", "/digits", "app:app")
    ]
    assert spec["rayClusterConfig"]["rayVersion"] == ray.__version__
    (worker,) = spec["rayClusterConfig"]["workerGroupSpecs"]
    gpu_container = worker["template"]["spec"]["containers"][0]
    assert gpu_container["resources"]["limits"]["nvidia.com/gpu"] == "1"  # digits' predict asks for half a GPU
    for container in containers(spec):
        assert container["image"] == "registry.example/digits:1"
        assert {"name": "PYTHONPATH", "value": "/service"} in container["env"]
        # Serve's proxy resends a prediction whose replica died, with the middleware the image's bundle carries.
        callback = {"name": "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH", "value": "cellserve.bundle.resend.middlewares"}
        assert callback in container["env"]
        assert container["resources"]["requests"] == container["resources"]["limits"]
    head = spec["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in head["resources"]["limits"]
    assert {"containerPort": 8000, "name": "serve"} in head["ports"]


def test_a_cpu_service_runs_on_the_head_alone_with_room_for_its_replicas(tmp_path: Path) -> None:
    settings = {"predict": {"num_cpus": 2, "max_replicas": 3, "min_replicas": 1, "memory": 2 * 2**30}}
    spec = manifest(make_notebook(tmp_path / "calc.ipynb", CALC, settings=settings))["spec"]
    assert "workerGroupSpecs" not in spec["rayClusterConfig"]
    (head,) = containers(spec)
    # Ray's own processes (2 CPUs, 4 GiB) and the replicas at most: predict 3 × 2 CPUs, 3 × 2 GiB; preprocessing
    # (its own deployment, as its settings differ) 1 × 0.25 CPU.
    assert head["resources"]["limits"] == {"cpu": "9", "memory": "10Gi"}
    deployments = yaml.safe_load(spec["serveConfigV2"])["applications"][0]["deployments"]
    assert {d["name"] for d in deployments} == {"preprocessing", "predict"}


def test_a_name_kuberay_cannot_take_is_refused_with_the_limit(tmp_path: Path) -> None:
    name = "a" * 60  # a valid service name, but KubeRay adds "-serve-svc" to it
    notebook = make_notebook(tmp_path / "calc.ipynb", CALC, settings={"name": name})
    with pytest.raises(SettingsError, match=r"at most 53 characters; 'a{60}' has 60"):
        manifest(notebook)
