"""`cellserve build`: a real image from a real Docker engine, run with host networking."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from cellserve.exceptions import ImageError
from cellserve.runtime import build_image
from tests.conftest import Cluster, wait_until_healthy
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
def running(engine: Any, ray_cluster: Cluster, tag: str) -> Iterator[tuple[Any, Any]]:
    """Image ``tag`` running with host networking, once healthy, and its answer to x = [1, 2, 3]; the
    container and the image are removed afterwards."""
    ray_cluster.python("import ray; from ray import serve; ray.init(); serve.shutdown()")  # frees port 8000
    container = engine.containers.run(tag, detach=True, network_mode="host")
    try:
        wait_until_healthy("http://127.0.0.1:8000/calc/healthz", timeout=400)
        answer = httpx.post("http://127.0.0.1:8000/calc/predict", json={"x": [1, 2, 3]}, timeout=30)
        yield container, answer.json()
    finally:
        container.remove(force=True)
        engine.images.remove(tag, force=True)


def test_build_and_run_the_image(engine: Any, ray_cluster: Cluster, tmp_path: Path) -> None:
    lines: list[str] = []
    result = build_image(calc_notebook(tmp_path / "calc.ipynb", 3), TAG, base_image=BASE_TAG,
                         log=lines.append)  # fmt: skip
    assert result.tag == TAG
    assert result.size_bytes > 0
    assert any("ray[serve]==2.60.0" in line for line in lines)  # the build log was streamed
    with running(engine, ray_cluster, TAG) as (_container, answer):
        assert answer == {"total": 18, "factor": 3}


def test_build_and_run_on_an_image_like_rays_own(engine: Any, ray_cluster: Cluster, tmp_path: Path) -> None:
    """Ray's official image runs as a user of its own (ray, uid 1000) with its Python and Ray outside /usr:
    the service's folder belongs to that user, the service runs as it, and uses the image's Ray."""
    base = ensure_ray_like_image(engine)
    lines: list[str] = []
    tag = "cellserve-test-calc-ray-like:1"
    build_image(calc_notebook(tmp_path / "calc.ipynb", 4), tag, base_image=base, log=lines.append)
    assert any("Requirement already satisfied: ray[serve]==" in line for line in lines), lines[-20:]
    with running(engine, ray_cluster, tag) as (container, answer):
        assert answer == {"total": 24, "factor": 4}
        # The API docs come from fastapi-offline, installed in the service's environment, not in the image's.
        assert httpx.get("http://127.0.0.1:8000/calc/docs", timeout=30).status_code == 200
        whoami = container.exec_run(["sh", "-c", "id -u; stat -c %U /service; command -v python"]).output.decode()
        assert whoami.split() == ["1000", "ray", "/service/.venv/bin/python"]


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
