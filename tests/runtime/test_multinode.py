"""A cluster of two nodes: the service's replicas are placed on both."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from cellserve.runtime import delete, publish, status
from cellserve.runtime._clusters import connect
from cellserve.runtime._preflight import node_resources
from tests.conftest import BUNDLE_ENV, Cluster, free_port
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel]


def test_replicas_are_placed_on_more_than_one_node(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    join = [str(BUNDLE_ENV / "ray"), "start", f"--address={cluster.address}", "--num-cpus=2",
            f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats"]  # fmt: skip
    subprocess.run(join, env=cluster.env, check=True, capture_output=True, timeout=180)
    deadline = time.monotonic() + 60
    while len(node_resources(connect(cluster.dashboard))) < 2:
        assert time.monotonic() < deadline, "the second node never joined"
        time.sleep(1)
    # The head has 4 CPUs: preprocessing (1) and one predict replica (2) fit, the second predict needs node 2.
    settings = {"predict": {"num_cpus": 2, "min_replicas": 2, "max_replicas": 2}}
    result = publish(calc_notebook(tmp_path / "spread.ipynb", 1, settings=settings), address=cluster.dashboard)
    replicas = status(result.name)["stages"]["predict"]["replicas"]
    assert [r["state"] for r in replicas] == ["RUNNING", "RUNNING"]
    assert len({r["node_id"] for r in replicas}) == 2
    for _ in range(10):
        assert httpx.post(result.endpoint, json={"x": [1]}, timeout=30).json() == {"total": 1, "factor": 1}
    delete(result.name)
