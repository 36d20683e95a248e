"""`cellserve build`: a real image from a real Docker engine, run with host networking."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cellserve.exceptions import ImageError
from cellserve.runtime import build_image
from tests.conftest import Cluster, free_port, wait_until_healthy
from tests.notebooks import make_notebook
from tests.runtime.conftest import calc_notebook
from tests.runtime.docker_base import BASE_TAG, ensure_base_image, ensure_ray_like_image

pytestmark = [pytest.mark.docker, pytest.mark.kernel]
TAG = "cellserve-test-calc:1"


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    import docker

    client = docker.from_env()
    ensure_base_image(client)
    yield client
    client.close()


@contextmanager
def removed_afterwards(engine: Any, tag: str) -> Iterator[None]:
    try:
        yield
    finally:
        engine.images.remove(tag, force=True)


@contextmanager
def running(
    engine: Any, ray_cluster: Cluster, tag: str, *, deploy: Callable[[], None] | None = None, **options: Any
) -> Iterator[tuple[Any, Any]]:
    """Image ``tag`` running with host networking (``options``: docker's, e.g. another command; ``deploy``: called
    once it runs), once healthy, and its answer to x = [1, 2, 3]; the container is removed afterwards."""
    ray_cluster.python("import ray; from ray import serve; ray.init(); serve.shutdown()")  # frees port 8000
    container = engine.containers.run(tag, detach=True, network_mode="host", **options)
    try:
        if deploy is not None:
            deploy()
        yield container, answer_of(container)
    finally:
        container.remove(force=True)


def answer_of(container: Any) -> Any:
    try:
        wait_until_healthy("http://127.0.0.1:8000/calc/healthz", timeout=400)
    except BaseException:
        print(container.logs(tail=40).decode(errors="replace"))
        raise
    return httpx.post("http://127.0.0.1:8000/calc/predict", json={"x": [1, 2, 3]}, timeout=30).json()


def test_build_and_run_the_image(engine: Any, ray_cluster: Cluster, tmp_path: Path) -> None:
    lines: list[str] = []
    result = build_image(calc_notebook(tmp_path / "calc.ipynb", 3), TAG, base_image=BASE_TAG,
                         log=lines.append)  # fmt: skip
    assert result.tag == TAG
    assert result.size_bytes > 0
    assert any("ray[serve]==2.60.0" in line for line in lines)  # the build log was streamed
    with removed_afterwards(engine, TAG), running(engine, ray_cluster, TAG) as (_container, answer):
        assert answer == {"total": 18, "factor": 3}


def test_build_and_run_on_an_image_like_rays_own(engine: Any, ray_cluster: Cluster, tmp_path: Path) -> None:
    """Ray's official image runs as a user of its own (ray, uid 1000) with its Python and Ray outside /usr:
    the service's folder belongs to that user, the service runs as it, and uses the image's Ray."""
    base = ensure_ray_like_image(engine)
    tag = "cellserve-test-calc-ray-like:1"
    manifest = tmp_path / "rayservice.yaml"
    notebook = calc_notebook(tmp_path / "calc.ipynb", 4)
    command = [sys.executable, "-m", "cellserve", "build", str(notebook), "--image", tag, "--base-image", base,
               "--kuberay", str(manifest)]  # fmt: skip
    built = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    assert "Requirement already satisfied: ray[serve]==" in built.stderr, built.stderr[-3000:]
    # What to run next: the image, and the manifest for a Kubernetes cluster.
    assert built.stdout.splitlines() == [f"docker run --rm --network host {tag}", f"kubectl apply -f {manifest}"]
    with removed_afterwards(engine, tag):
        check_the_image_on_its_own(engine, ray_cluster, tag)
        check_the_image_started_as_kuberay_starts_it(engine, ray_cluster, tag, manifest)


def check_the_image_on_its_own(engine: Any, ray_cluster: Cluster, tag: str) -> None:
    with running(engine, ray_cluster, tag) as (container, answer):
        assert answer == {"total": 24, "factor": 4}
        # The API docs come from fastapi-offline, installed in the service's environment, not in the image's.
        assert httpx.get("http://127.0.0.1:8000/calc/docs", timeout=30).status_code == 200
        whoami = container.exec_run(["sh", "-c", "id -u; stat -c %U /service; command -v python"]).output.decode()
        assert whoami.split() == ["1000", "ray", "/service/.venv/bin/python"]
        assert_the_proxy_resends(container)


def check_the_image_started_as_kuberay_starts_it(engine: Any, ray_cluster: Cluster, tag: str, manifest: Path) -> None:
    """KubeRay runs ``ray start --head --block`` in the head container (bash -c, the image's PATH and working
    folder, the manifest's env), then deploys ``serveConfigV2`` through the dashboard's REST API: the same here,
    on free ports of the host's loopback."""
    spec = yaml.safe_load(manifest.read_text())["spec"]
    head = spec["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["image"] == tag
    dashboard = free_port()
    ports = (f"--port={free_port()} --dashboard-port={dashboard} --ray-client-server-port={free_port()} "
             f"--metrics-export-port={free_port()} --dashboard-agent-listen-port={free_port()}")  # fmt: skip
    start = f"ulimit -n 65536; ray start --head --block --dashboard-host=127.0.0.1 {ports} --num-cpus=2"
    environment = {variable["name"]: variable["value"] for variable in head["env"]}
    with running(
        engine, ray_cluster, tag, command=["/bin/bash", "-c", "--", start], environment=environment,
        deploy=lambda: deploy(f"http://127.0.0.1:{dashboard}", spec["serveConfigV2"]),
    ) as (container, answer):  # fmt: skip
        assert answer == {"total": 24, "factor": 4}
        assert_the_proxy_resends(container)


def assert_the_proxy_resends(container: Any) -> None:
    """Serve's proxy in the container loaded the middleware that sends a prediction once more when its replica
    died (it logs the callback it calls; a callback it cannot import would have stopped it answering)."""
    logs = "/tmp/ray/session_latest/logs/serve"
    found = container.exec_run(["sh", "-c", f"grep -rh 'user-provided callback' {logs}"]).output.decode()
    assert "'cellserve.bundle.resend.middlewares'" in found, found


def deploy(dashboard: str, serve_config: str) -> None:
    wait_until_healthy(f"{dashboard}/api/version", timeout=180)
    body = json.dumps(yaml.safe_load(serve_config))
    response = httpx.put(f"{dashboard}/api/serve/applications/", content=body, timeout=60,
                         headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 200, response.text


def test_a_missing_base_image_is_named(engine: Any, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="'cellserve-no-such-base:0' is neither present locally nor pullable"):
        build_image(calc_notebook(tmp_path / "calc.ipynb", 1), "cellserve-test-never:1",
                    base_image="cellserve-no-such-base:0")  # fmt: skip


def test_a_failing_step_shows_the_log_tail(engine: Any, tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "nb.ipynb",
        [("%pip install cellserve-no-such-package-0==1.0\npayload = 1", None), ("payload", "predict")],
    )
    with pytest.raises(ImageError) as caught:
        build_image(notebook, "cellserve-test-never:1", base_image=BASE_TAG)
    message = str(caught.value)
    assert f"Building image 'cellserve-test-never:1' on '{BASE_TAG}' failed" in message
    assert "cellserve-no-such-package-0" in message
    assert "Last lines of the build log" in message


def test_no_engine_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(ImageError, match="No Docker engine answers"):
        build_image(calc_notebook(tmp_path / "calc.ipynb", 1), "cellserve-test-never:1")
