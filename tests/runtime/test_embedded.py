"""The embedded cluster: started by the first publish with no address, secure (its own Ray token, the
proxy on loopback, a port of its own), one per state folder, and restored with its services."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from cellserve.runtime import _store as store
from cellserve.runtime import cluster_status, delete, publish, stop_embedded_cluster
from cellserve.runtime._clusters import connect
from cellserve.runtime._serve import ServeCluster
from cellserve.runtime._smoke import difference
from tests.conftest import Cluster
from tests.notebooks import make_notebook
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel]
CLI = str(Path(sys.executable).parent / "cellserve")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def non_loopback_addresses() -> list[str]:
    return [
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET and not address.address.startswith("127.")
    ]


@pytest.fixture
def two_homes(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Two state folders on one machine; each test stops the clusters it started, even when it fails."""
    homes = (tmp_path / "a", tmp_path / "b")
    yield homes
    with pytest.MonkeyPatch.context() as patch:  # the folder in use before the test is in use after it
        for home in homes:
            patch.setenv("CELLSERVE_HOME", str(home))
            stop_embedded_cluster()


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state folder whose embedded cluster the module's tests that need one cluster share (one start, not
    one per test); the tests leave nothing of theirs on it but what they assert, and it is stopped after the
    module even when a test fails."""
    home = tmp_path_factory.mktemp("shared-embedded") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELLSERVE_HOME", str(home))
        patch.delenv("RAY_ADDRESS", raising=False)
        try:
            yield home
        finally:
            stop_embedded_cluster()


def delete_published(*names: str) -> None:
    """Delete those of the services that were published: the shared cluster keeps running for the module's
    other tests, without them."""
    for name in set(names) & set(store.names()):
        delete(name)


def test_two_embedded_clusters_are_secure_and_apart(
    ray_cluster: Cluster, two_homes: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_home, second_home = two_homes
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # The first with a Ray token of someone else's in ~/.ray/auth_token (the session's), the second with none.
    assert (Path.home() / ".ray" / "auth_token").is_file()
    monkeypatch.setenv("CELLSERVE_HOME", str(first_home))
    # Started from a folder holding a `cellserve` package of its own (a clone, say) and a module that a
    # bundle imports too: neither stands in for the service's code.
    started_here = tmp_path / "started-here"
    (started_here / "cellserve").mkdir(parents=True)
    for decoy in (started_here / "cellserve" / "__init__.py", started_here / "app.py"):
        decoy.write_text('raise ImportError("the copy in the folder cellserve was started from")\n')
    monkeypatch.chdir(started_here)
    first = publish(calc_notebook(tmp_path / "calc.ipynb", 1))
    monkeypatch.setenv("CELLSERVE_HOME", str(second_home))
    (tmp_path / "bare-home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "bare-home"))
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    second = publish(calc_notebook(tmp_path / "calc.ipynb", 2))

    assert first.endpoint != second.endpoint
    for _ in range(20):  # each URL answers its own service, every time
        assert httpx.post(first.endpoint, json={"x": [2, 2]}, timeout=30).json() == {"total": 4, "factor": 1}
        assert httpx.post(second.endpoint, json={"x": [2, 2]}, timeout=30).json() == {"total": 8, "factor": 2}

    for home, result in ((first_home, first), (second_home, second)):
        token_file = home / "ray-auth-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert httpx.get(f"{result.cluster}/api/version", timeout=10).status_code == 401
        headers = {"Authorization": f"Bearer {token_file.read_text()}"}
        assert httpx.get(f"{result.cluster}/api/version", headers=headers, timeout=10).status_code == 200
        port = int(result.endpoint.split(":")[2].split("/")[0])
        listening = {c.laddr.ip for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == port}
        assert listening == {"127.0.0.1"}
        for address in non_loopback_addresses():
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://{address}:{port}/calc/healthz", timeout=5)

    shown = subprocess.run([CLI, "cluster", "status", "--json"], capture_output=True, text=True, timeout=60)
    info = json.loads(shown.stdout)
    assert info["running"] is True
    assert info["services"]["calc"]["versions"] == [second.version]
    assert info["services"]["calc"]["CPU"] == 0.25  # one deployment (both stages ask for the same) of 0.25 CPU
    # another Ray on the machine is left alone
    assert httpx.get(f"{ray_cluster.dashboard}/api/gcs_healthz", timeout=10).status_code == 200


def test_three_examples_fit_and_come_back_after_the_cluster_stops(ray_cluster: Cluster, shared_home: Path) -> None:
    names = ("digits", "wine", "sentences")
    try:
        results = {name: publish(EXAMPLES / f"{name}.ipynb") for name in names}
        stopped = stop_embedded_cluster()
        assert stopped > 0
        gone = cluster_status()
        assert gone["running"] is False
        assert "digits, sentences, wine" in gone["message"]

        started = time.perf_counter()
        shown = subprocess.run([CLI, "cluster", "start"], capture_output=True, text=True, timeout=900)
        assert shown.returncode == 0, shown.stderr
        print(f"restored 3 services in {time.perf_counter() - started:.1f} s")
        for name, result in results.items():
            assert f"{name} version {result.version} is live again" in shown.stderr
        for name, result in results.items():
            bundle = store.bundle_dir(name, result.version)
            example = json.loads((bundle / "example_request.json").read_text())
            answer = httpx.post(result.endpoint, json=example, timeout=60)
            assert answer.status_code == 200, answer.text
            assert difference(answer.json(), json.loads((bundle / "expected_response.json").read_text())) is None
    finally:
        delete_published(*names)


def test_a_prediction_whose_replica_died_is_answered_by_another(shared_home: Path, tmp_path: Path) -> None:
    # The predict cell ends its replica's process the first time it sees a request naming a file that does not
    # exist yet (and creates it): that request's replica dies while holding it.
    cells: list[tuple[str, str | None]] = [
        ("import os\npayload = {'x': 1, 'die_once': ''}", None),
        (
            "marker = payload['die_once']\n"
            "if marker and not os.path.exists(marker):\n"
            "    open(marker, 'w').close()\n"
            "    os._exit(1)\n"
            "{'y': payload['x'] * 2}",
            "predict",
        ),
    ]
    two = {"min_replicas": 2, "max_replicas": 2}
    settings = {"request_schema": "off", "predict": two, "preprocessing": two}
    path = make_notebook(tmp_path / "fragile.ipynb", cells, settings)
    marker = tmp_path / "died-once"
    try:
        result = publish(path)
        deployments = ServeCluster(connect()).applications()[f"{result.name}_v{result.version}"]["deployments"]
        assert set(deployments) == {"service"}  # both stages ask for the same: one deployment
        # What the notebook itself showed for its payload: {'y': 2}.
        assert httpx.post(result.endpoint, json={"x": 1, "die_once": ""}, timeout=60).json() == {"y": 2}

        answer = httpx.post(result.endpoint, json={"x": 4, "die_once": str(marker)}, timeout=120)
        assert marker.exists(), "the request never reached a replica"
        # The replica that held it died; Serve's proxy sent it once more, and another replica answered.
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"y": 8}
        assert answer.headers["x-cellserve-version"] == str(result.version)
    finally:
        delete_published("fragile")
