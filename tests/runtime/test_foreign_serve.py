"""A cluster where a user's own program started Serve (`serve run` in a bundle's folder, as its README says).

Ray builds every application in the job that started Serve, with that program's working directory ahead of
the application's own files: the bundle served by `serve run` shadows the app.py of every service published
after it. Publish names the program and what to do; once Serve is stopped, cellserve starts it and publishes.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cellserve.converter import convert
from cellserve.exceptions import DeployError
from cellserve.runtime import delete, publish
from tests.conftest import Cluster, wait_until_healthy
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel]


def test_publish_names_the_program_that_started_serve(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    # Another service, its stages as two deployments, served from its own folder: `serve run` starts Serve.
    (tmp_path / "other").mkdir()
    other = calc_notebook(tmp_path / "other" / "adder.ipynb", 5, settings={"stages": "separate"})
    cluster.serve_bundle(convert(other, tmp_path / "adder-bundle").path)
    wait_until_healthy("http://127.0.0.1:8000/adder/healthz")
    assert httpx.post("http://127.0.0.1:8000/adder/predict", json={"x": [1, 2, 3]}, timeout=30).json() == {
        "total": 30,
        "factor": 5,
    }
    notebook = calc_notebook(tmp_path / "calc.ipynb", 3)
    try:
        with pytest.raises(DeployError) as failed:
            publish(notebook, address=cluster.dashboard)
        message = str(failed.value)
        assert failed.value.step == "deploy"
        assert "serve run --non-blocking serve.yaml`" in message  # the program that started Serve, by its command
        assert "app.py" in message
        assert "`serve shutdown`" in message
        assert "Nothing was live before; nothing is live now." in message
    finally:
        cluster.stop_serve()

    result = publish(notebook, address=cluster.dashboard)
    try:
        assert not any("started by" in warning for warning in result.warnings)
        answer = httpx.post(result.endpoint, json={"x": [1, 2, 3]}, timeout=30)
        assert answer.json() == {"total": 18, "factor": 3}  # sum([1, 2, 3]) * FACTOR, FACTOR = 3 in the notebook
    finally:
        delete("calc")
