"""Publishing to a real Ray cluster: versions, rollback, failures that keep the live version, no lost request."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from cellserve.exceptions import DeployError
from cellserve.runtime import _store as store
from cellserve.runtime import delete, list_services, logs, publish, rollback, status
from cellserve.runtime._clusters import connect
from cellserve.runtime._serve import ServeCluster
from tests.conftest import Cluster
from tests.notebooks import make_notebook
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel]
URL = "http://127.0.0.1:8000/calc/predict"


def ask(url: str = URL) -> httpx.Response:
    return httpx.post(url, json={"x": [1, 2, 3]}, timeout=30)


def test_publish_two_versions_and_roll_back(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    first = publish(calc_notebook(tmp_path / "calc.ipynb", 1), address=cluster.dashboard)
    assert (first.name, first.version, first.endpoint) == ("calc", 1, URL)
    assert ask().json() == {"total": 6, "factor": 1}
    assert set(first.timings) >= {"analyse", "capture", "bundle", "preflight", "deploy", "smoke-test", "promote"}

    second = publish(calc_notebook(tmp_path / "calc.ipynb", 2), address=cluster.dashboard)
    assert second.version == 2
    assert ask().json() == {"total": 12, "factor": 2}
    info = status("calc")
    assert info["live"] == 2
    assert [(v["version"], v["status"]) for v in info["versions"]] == [(1, "previous"), (2, "live")]
    assert info["status"] == "RUNNING"
    assert {stage: [r["state"] for r in d["replicas"]] for stage, d in info["stages"].items()} == {
        "preprocessing": ["RUNNING"],
        "predict": ["RUNNING"],
    }

    assert rollback("calc")["live"] == 1
    assert ask().json() == {"total": 6, "factor": 1}
    assert status("calc")["live"] == 1


def test_broken_version_fails_at_deploy_and_the_live_one_keeps_serving(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    broken = calc_notebook(
        tmp_path / "calc.ipynb",
        5,
        extra=[("import os\nif 'CELLSERVE_GPU' in os.environ:\n    raise RuntimeError('weights missing')", "setup")],
    )
    with pytest.raises(DeployError) as caught:
        publish(broken, name="calc", address=cluster.dashboard, timeout=300)
    assert caught.value.stage == "deploy"
    message = str(caught.value)
    assert "RuntimeError: weights missing" in message
    assert "raised by notebook cell 3, line 3" in message  # the setup cell (cell 1 is markdown)
    assert "Version 1 is still live and unchanged" in message
    assert ask().json() == {"total": 6, "factor": 1}
    info = status("calc")
    assert info["live"] == 1
    assert info["last_error"]["stage"] == "deploy"
    assert "weights missing" in info["last_error"]["error"]
    apps = ServeCluster(connect(cluster.dashboard)).applications()
    assert "cellserve_staging_calc" not in apps


def test_an_answer_that_differs_from_the_notebook_fails_the_smoke_test(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    random_answer = [("import random\npayload = {'x': [1, 2, 3]}", None), ("random.random()", "predict")]
    with pytest.raises(DeployError) as caught:
        publish(make_notebook(tmp_path / "nb.ipynb", random_answer), name="calc", address=cluster.dashboard)
    assert caught.value.stage == "smoke-test"
    assert "the notebook showed" in str(caught.value)
    assert ask().json() == {"total": 6, "factor": 1}


def test_an_update_loses_no_request(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    answers: list[int] = []
    failures: list[str] = []
    done = threading.Event()

    def stream() -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(20_000):
                if done.is_set():
                    return
                try:
                    response = client.post(URL, json={"x": [1, 2, 3]})
                    if response.status_code == 200:
                        answers.append(response.json()["factor"])
                    else:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    sender = threading.Thread(target=stream)
    sender.start()
    try:
        publish(calc_notebook(tmp_path / "calc.ipynb", 3), address=cluster.dashboard)
        for _ in range(50):  # a few more answers from the new version
            ask()
    finally:
        done.set()
        sender.join(timeout=60)
    assert failures == []
    assert answers[0] == 1
    assert answers[-1] == 3
    assert len(answers) > 20


def test_a_second_publish_at_once_is_refused(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    with store.locked("calc"), pytest.raises(DeployError, match="being published") as caught:
        publish(calc_notebook(tmp_path / "calc.ipynb", 4), address=cluster.dashboard)
    assert caught.value.stage == "lock"
    assert ask().json()["factor"] == 3


def test_services_live_side_by_side_and_delete_touches_only_one(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    other = publish(calc_notebook(tmp_path / "other.ipynb", 10), address=cluster.dashboard)
    assert ask(other.endpoint).json() == {"total": 60, "factor": 10}
    assert ask().json()["factor"] == 3
    assert {row["name"] for row in list_services()} == {"calc", "other"}
    delete("other")
    assert ask(other.endpoint).status_code == 404
    assert ask().json()["factor"] == 3
    assert {row["name"] for row in list_services()} == {"calc"}


def test_logs_of_each_replica(cluster: Cluster, home: Path) -> None:
    found = logs("calc", tail=50)
    assert {key.split()[0] for key in found} == {"preprocessing", "predict"}
    assert all(text for text in found.values())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"predict": {"num_gpus": 1}}, "predict.num_gpus is 1 (gpu: required) but the cluster"),
        ({"predict": {"num_cpus": 64}}, "predict can never be scheduled: one replica needs 64 CPU"),
    ],
)
def test_impossible_resources_fail_before_anything_is_deployed(
    cluster: Cluster, home: Path, tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    notebook = calc_notebook(tmp_path / "calc.ipynb", 7, settings=settings)
    with pytest.raises(DeployError, match="failed at preflight") as caught:
        publish(notebook, name="calc", address=cluster.dashboard)
    assert message in str(caught.value)
    assert "cellserve_staging_calc" not in ServeCluster(connect(cluster.dashboard)).applications()
    assert ask().json()["factor"] == 3


def test_cli_publish_prints_the_url_last_and_json(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "cellserve")
    notebook = calc_notebook(tmp_path / "calc.ipynb", 8)
    plain = subprocess.run([cli, "publish", str(notebook), "--address", cluster.dashboard],
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip().splitlines()[-1].split()[0] == URL
    for stage in ("analyse", "capture", "deploy", "smoke-test", "promote"):
        assert stage in plain.stderr
    as_json = subprocess.run([cli, "status", "calc", "--json"], capture_output=True, text=True, timeout=60)
    assert json.loads(as_json.stdout)["live"] == json.loads(as_json.stdout)["versions"][-1]["version"]
    assert ask().json()["factor"] == 8
