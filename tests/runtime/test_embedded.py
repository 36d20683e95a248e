"""The embedded cluster: started by the first publish with no address, reused, stopped on its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cellserve.runtime import embedded_cluster_status, publish, stop_embedded_cluster
from cellserve.runtime._clusters import dashboard_answers
from tests.conftest import Cluster, free_port
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel]


def test_publish_with_no_address_starts_reuses_and_stops_an_embedded_cluster(
    ray_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELLSERVE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    port = free_port()  # the session's cluster holds 8000
    monkeypatch.setenv("CELLSERVE_HTTP_PORT", str(port))
    assert embedded_cluster_status() == {"running": False}
    try:
        first = publish(calc_notebook(tmp_path / "calc.ipynb", 1))
        assert first.endpoint == f"http://127.0.0.1:{port}/calc/predict"
        assert httpx.post(first.endpoint, json={"x": [2, 2]}, timeout=30).json() == {"total": 4, "factor": 1}
        assert first.cluster != ray_cluster.dashboard
        info = embedded_cluster_status()
        assert info["running"] is True
        assert info["processes"] > 0

        second = publish(calc_notebook(tmp_path / "calc.ipynb", 2))
        assert second.cluster == first.cluster  # reused, not started again
        assert httpx.post(second.endpoint, json={"x": [2, 2]}, timeout=30).json()["factor"] == 2

        cli = [str(Path(sys.executable).parent / "cellserve"), "cluster", "status", "--json"]
        shown = subprocess.run(cli, capture_output=True, text=True, timeout=60)
        assert json.loads(shown.stdout)["dashboard"] == first.cluster
    finally:
        stopped = stop_embedded_cluster()
    assert stopped > 0
    assert embedded_cluster_status() == {"running": False}
    assert not dashboard_answers(first.cluster)
    assert dashboard_answers(ray_cluster.dashboard)  # another Ray on the machine is left alone
