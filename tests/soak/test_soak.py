"""Long runs, bounded in requests and time, on loopback (`make soak`): a published example under load at
concurrency 32, and a replica killed in the middle of a load (a predict replica of two deployments, and a replica
of one, on the embedded cluster). Figures go to test-artifacts/soak.json."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from cellserve.runtime import delete, publish, stop_embedded_cluster
from cellserve.runtime._clusters import connect
from cellserve.runtime._home import ray_temp_dir
from cellserve.runtime._serve import ServeCluster
from tests.conftest import Cluster
from tests.runtime.load import Load

pytestmark = [pytest.mark.ray, pytest.mark.kernel, pytest.mark.soak]
ROOT = Path(__file__).resolve().parents[2]
REQUESTS = int(os.environ.get("CELLSERVE_SOAK_REQUESTS", "20000"))
CONCURRENCY = 32


def wine_copy(folder: Path, settings: dict[str, Any] | None = None) -> Path:
    """examples/wine.ipynb in ``folder``, with ``settings`` as its cellserve metadata."""
    notebook = nbformat.read(ROOT / "examples" / "wine.ipynb", as_version=4)
    if settings:
        notebook.metadata["cellserve"] = settings
    nbformat.write(notebook, folder / "wine.ipynb")
    return folder / "wine.ipynb"


def replica_pids(address: str | None, app: str, deployment: str | None = None) -> list[int]:
    """The running replicas' processes of one deployment of ``app`` (None: of all of them), on the cluster whose
    dashboard is at ``address`` (None: the embedded cluster)."""
    deployments = ServeCluster(connect(address)).applications()[app]["deployments"]
    return [
        r["pid"]
        for name, details in deployments.items()
        if deployment in (None, name)
        for r in details["replicas"]
        if r.get("pid") and r["state"] == "RUNNING"
    ]


def rss_mib(pids: list[int]) -> float:
    return round(sum(psutil.Process(pid).memory_info().rss for pid in pids) / 2**20, 1)


def record(name: str, figures: dict[str, Any]) -> None:
    path = ROOT / "test-artifacts" / "soak.json"
    path.parent.mkdir(exist_ok=True)
    found = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**found, name: figures}, indent=2) + "\n")


def test_20000_requests_at_concurrency_32_all_answered_and_memory_flat(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    result = publish(wine_copy(tmp_path), address=cluster.dashboard)  # the defaults: one replica, no tuning
    app = f"{result.name}_v{result.version}"
    example = json.loads((home / "services" / result.name / f"v{result.version}" / "example_request.json").read_text())
    deadline = time.monotonic() + 60
    while not (pids := replica_pids(cluster.dashboard, app)) and time.monotonic() < deadline:
        time.sleep(0.5)  # Serve reports a new replica's process a moment after it runs
    assert pids, f"Serve reported no running replica process of {app} in 60 s"
    memory: dict[str, float] = {"at rest": rss_mib(pids)}
    try:
        started = time.monotonic()
        with Load(result.endpoint, example, concurrency=CONCURRENCY, max_requests=REQUESTS // CONCURRENCY,
                  max_seconds=900) as load:  # fmt: skip
            for quarter in (1, 4):
                while load.total < REQUESTS * quarter // 4 - CONCURRENCY and time.monotonic() - started < 900:
                    time.sleep(0.2)
                memory[f"after quarter {quarter}"] = rss_mib(pids)
            while load.running:
                time.sleep(0.2)
        seconds = round(time.monotonic() - started, 1)
        figures = {
            "requests": load.total,
            "failed": len(load.failures),
            "seconds": seconds,
            "requests_per_second": round(load.total / seconds, 1),
            "replica_rss_mib": memory,
        }
        record("load", figures)
        print(figures)
        assert load.failures[:3] == []
        assert load.total == REQUESTS // CONCURRENCY * CONCURRENCY
        # Flat: from the first quarter to the last, the replicas grow by less than 10 % (and 30 MiB).
        growth = memory["after quarter 4"] - memory["after quarter 1"]
        assert growth < max(30.0, 0.1 * memory["after quarter 1"]), memory
    finally:
        delete(result.name)


def kill_a_replica_during_a_load(
    address: str | None, home: Path, tmp_path: Path, settings: dict[str, Any], deployment: str
) -> dict[str, Any]:
    """Publish wine with two replicas of ``deployment`` to the cluster at ``address`` (None: the embedded one,
    with ``home`` its state folder), kill one (SIGKILL) during a load of 8 x 400 requests, and say how many
    failed and how soon Ray Serve had two replicas running again."""
    result = publish(wine_copy(tmp_path, settings), address=address)
    app = f"{result.name}_v{result.version}"
    example = json.loads((home / "services" / result.name / f"v{result.version}" / "example_request.json").read_text())
    deadline = time.monotonic() + 120  # Serve calls the app running once one replica is; wait for both
    while len(victims := replica_pids(address, app, deployment)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(victims) == 2
    try:
        with Load(result.endpoint, example, concurrency=8, max_requests=400, max_seconds=300) as load:
            while load.total < 400 and load.running:
                time.sleep(0.05)
            killed_at = load.total
            psutil.Process(victims[0]).kill()
            killed = time.monotonic()
            recovered_s = None
            while time.monotonic() - killed < 180:
                if len(set(replica_pids(address, app, deployment)) - {victims[0]}) == 2:
                    recovered_s = round(time.monotonic() - killed, 1)
                    break
                time.sleep(0.5)
            while load.running:
                time.sleep(0.2)
        figures = {
            "requests": load.total,
            "failed": len(load.failures),
            "first_failures": load.failures[:3],
            "killed_after_requests": killed_at,
            "replica_replaced_in_s": recovered_s,
        }
        print(figures)
        assert recovered_s is not None, "Ray Serve did not start a replica in place of the killed one in 180 s"
        assert load.total == 8 * 400
        return figures
    finally:
        delete(result.name)


def test_a_predict_replica_killed_during_a_load_loses_no_request(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    # Two predict replicas beside one preprocessing replica: two deployments, and a request whose predict
    # replica dies is sent once more by the preprocessing stage. The cluster is one the user started (Serve's
    # proxy runs as Ray configures it).
    settings = {"predict": {"min_replicas": 2, "max_replicas": 2}}
    figures = kill_a_replica_during_a_load(cluster.dashboard, home, tmp_path, settings, "predict")
    record("replica killed", figures)
    assert figures["first_failures"] == []


@pytest.fixture
def embedded_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A state folder of the test's own, whose embedded cluster the test starts; stopped even when it fails."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("CELLSERVE_HOME", str(tmp_path / "embedded-home"))
    try:
        yield tmp_path / "embedded-home"
    finally:
        stop_embedded_cluster()


def test_a_replica_of_a_one_deployment_service_killed_during_a_load_loses_no_request(
    embedded_home: Path, tmp_path: Path
) -> None:
    # Both stages with two replicas: one deployment, whose replica reads the requests itself. The embedded
    # cluster's Serve proxy sends a prediction that got no answer (its replica died holding it) once more.
    two = {"min_replicas": 2, "max_replicas": 2}
    settings = {"preprocessing": two, "predict": two}
    figures = kill_a_replica_during_a_load(None, embedded_home, tmp_path, settings, "service")
    # How many requests the proxy sent once more (it logs each).
    logs = (ray_temp_dir() / "session_latest" / "logs" / "serve").glob("proxy_*.log")
    figures["resent_by_the_proxy"] = sum(f.read_text(errors="replace").count("sending it once more") for f in logs)
    print(figures)
    record("replica of one deployment killed", figures)
    assert figures["first_failures"] == []
