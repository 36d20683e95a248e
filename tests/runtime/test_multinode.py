"""A cluster of two nodes: the service's replicas are placed on both."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from cellserve.runtime import delete, publish, status
from cellserve.runtime._clusters import connect
from cellserve.runtime._preflight import node_resources
from tests.conftest import BUNDLE_ENV, Cluster, free_port
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel]


def alive_nodes(cluster: Cluster) -> int:
    return len(node_resources(connect(cluster.dashboard)))


@pytest.fixture
def second_node(cluster: Cluster) -> Iterator[None]:
    """A second node joined to the session's cluster; its processes are stopped afterwards, even on failure."""
    before = {p.pid for p in psutil.process_iter()}
    join = [str(BUNDLE_ENV / "ray"), "start", f"--address={cluster.address}", "--num-cpus=2",
            f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats"]  # fmt: skip
    subprocess.run(join, env=cluster.env, check=True, capture_output=True, timeout=180)
    started = [p for p in psutil.process_iter() if p.pid not in before]
    try:
        deadline = time.monotonic() + 60
        while alive_nodes(cluster) < 2:
            assert time.monotonic() < deadline, "the second node never joined"
            time.sleep(1)
        yield
    finally:
        for process in started:
            try:
                process.terminate()
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(started, timeout=30)
        deadline = time.monotonic() + 120
        while alive_nodes(cluster) > 1 and time.monotonic() < deadline:
            time.sleep(1)


def test_replicas_are_placed_on_more_than_one_node(
    cluster: Cluster, second_node: None, home: Path, tmp_path: Path
) -> None:
    # The head has 4 CPUs: preprocessing (0.25) and one predict replica (2) fit, the second predict needs node 2.
    settings = {"predict": {"num_cpus": 2, "min_replicas": 2, "max_replicas": 2}}
    result = publish(calc_notebook(tmp_path / "spread.ipynb", 1, settings=settings), address=cluster.dashboard)
    replicas = status(result.name)["stages"]["predict"]["replicas"]
    assert [r["state"] for r in replicas] == ["RUNNING", "RUNNING"]
    assert len({r["node_id"] for r in replicas}) == 2
    for _ in range(10):
        assert httpx.post(result.endpoint, json={"x": [1]}, timeout=30).json() == {"total": 1, "factor": 1}
    delete(result.name)
