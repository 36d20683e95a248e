"""Publishing to a real Ray cluster: versions at their own routes, an atomic switch, instant rollback,
failures that keep the live version serving, and no request lost under load."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from cellserve.exceptions import DeployError
from cellserve.runtime import _store as store
from cellserve.runtime import delete, embedded_cluster_status, list_services, logs, publish, rollback, status
from cellserve.runtime._clusters import connect
from cellserve.runtime._serve import ServeCluster
from tests.conftest import Cluster
from tests.notebooks import make_notebook
from tests.runtime.conftest import calc_notebook
from tests.runtime.load import Load

pytestmark = [pytest.mark.ray, pytest.mark.kernel]
BASE = "http://127.0.0.1:8000/calc"
URL = f"{BASE}/predict"


def ask(url: str = URL) -> httpx.Response:
    return httpx.post(url, json={"x": [1, 2, 3]}, timeout=30)


def live_calc(cluster: Cluster, tmp_path: Path, factor: int) -> int:
    """Make calc with FACTOR live (a new version, or the live one when it is that already); its number."""
    return publish(calc_notebook(tmp_path / "calc.ipynb", factor), address=cluster.dashboard).version


def calc_apps(cluster: Cluster) -> dict[str, str]:
    """Serve's applications of calc, with their routes (not those being deleted)."""
    apps = ServeCluster(connect(cluster.dashboard)).applications()
    return {
        name: app["route_prefix"]
        for name, app in apps.items()
        if name.startswith("calc_v") and app["status"] != "DELETING"
    }


def test_versions_have_their_own_routes_and_rollback_is_a_switch(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    first = publish(calc_notebook(tmp_path / "calc.ipynb", 1), address=cluster.dashboard)
    assert (first.name, first.endpoint) == ("calc", URL)
    assert ask().json() == {"total": 6, "factor": 1}
    assert set(first.timings) >= {"analyse", "capture", "bundle", "preflight", "deploy", "smoke-test", "promote"}

    second = publish(calc_notebook(tmp_path / "calc.ipynb", 2), address=cluster.dashboard)
    assert second.version > first.version
    assert ask().json() == {"total": 12, "factor": 2}
    # The previous version runs warm at its pinned route; the live one answers its own pinned route too.
    assert ask(f"{BASE}/v/{first.version}/predict").json() == {"total": 6, "factor": 1}
    assert ask(f"{BASE}/v/{second.version}/predict").json() == {"total": 12, "factor": 2}
    missing = ask(f"{BASE}/v/{second.version + 50}/predict")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "version_not_running"
    assert calc_apps(cluster) == {
        f"calc_v{first.version}": f"/calc/v/{first.version}",
        f"calc_v{second.version}": "/calc",
    }

    info = status("calc")
    assert info["live"] == second.version
    rows = {v["version"]: (v["status"], v["route"]) for v in info["versions"]}
    assert rows[first.version] == ("previous", f"/calc/v/{first.version}")
    assert rows[second.version] == ("live", "/calc")
    assert info["status"] == "RUNNING"
    # Both stages ask for the same resources: they run as one deployment.
    assert {stage: [r["state"] for r in d["replicas"]] for stage, d in info["stages"].items()} == {
        "service": ["RUNNING"]
    }

    back = rollback("calc")
    assert (back["live"], back["warm"]) == (first.version, True)
    assert ask().json() == {"total": 6, "factor": 1}
    assert ask(f"{BASE}/v/{second.version}/predict").json()["factor"] == 2  # still warm, pinned
    assert status("calc")["live"] == first.version
    # A second rollback goes back to the version live before, the newer one, again by a switch.
    again = rollback("calc")
    assert (again["live"], again["warm"]) == (second.version, True)
    assert ask().json()["factor"] == 2


def test_an_unchanged_notebook_republished_starts_nothing(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    live = live_calc(cluster, tmp_path, 4)
    serve = ServeCluster(connect(cluster.dashboard))
    replicas = {
        d: [r["replica_id"] for r in dep["replicas"]]
        for d, dep in serve.applications()[f"calc_v{live}"]["deployments"].items()
    }
    versions = len(store.load("calc").versions)

    again = publish(calc_notebook(tmp_path / "calc.ipynb", 4), address=cluster.dashboard)
    assert (again.version, again.unchanged) == (live, True)
    assert "deploy" not in again.timings
    assert len(store.load("calc").versions) == versions
    after = serve.applications()[f"calc_v{live}"]["deployments"]
    assert {d: [r["replica_id"] for r in dep["replicas"]] for d, dep in after.items()} == replicas
    assert ask().json()["factor"] == 4


def scaled_notebook(folder: Path, weight: int) -> Path:
    """A service whose model is a class of the notebook's own, built from a file the notebook reads."""
    (folder / "weights.json").write_text(json.dumps({"w": weight}))
    cells: list[tuple[str, str | None]] = [
        (
            "import json\n"
            "class Scaler:\n"
            "    def __init__(self, w):\n"
            "        self.w = w\n"
            "    def apply(self, values):\n"
            "        return [self.w * v for v in values]\n"
            "scaler = Scaler(json.load(open('weights.json'))['w'])\n"
            "payload = {'x': [1, 2, 3]}",
            None,
        ),
        ("{'y': scaler.apply(payload['x'])}", "predict"),
    ]
    return make_notebook(folder / "scaled.ipynb", cells)


def test_unchanged_inputs_are_recognised_without_running_the_notebook(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    notebook = scaled_notebook(tmp_path, 2)
    first = publish(notebook, address=cluster.dashboard)
    try:
        url = f"http://127.0.0.1:8000/{first.name}/predict"
        assert httpx.post(url, json={"x": [1, 2, 3]}, timeout=30).json() == {"y": [2, 4, 6]}
        assert store.load(first.name).version(first.version).inputs == ["weights.json"]

        again = publish(notebook, address=cluster.dashboard)
        assert (again.version, again.unchanged) == (first.version, True)
        assert "capture" not in again.timings  # nothing ran: the cells, the file and the packages are the same

        # Run anyway: the notebook's own class captures to the same bytes, so the bundle is the same too.
        forced = publish(notebook, address=cluster.dashboard, force=True)
        assert "capture" in forced.timings
        assert (forced.version, forced.unchanged) == (first.version, True)

        # The file the notebook reads changed: a new version, which answers with the new weight.
        changed = publish(scaled_notebook(tmp_path, 5), address=cluster.dashboard)
        assert (changed.unchanged, changed.version > first.version) == (False, True)
        assert httpx.post(url, json={"x": [1, 2, 3]}, timeout=30).json() == {"y": [5, 10, 15]}
    finally:
        delete(first.name)


def test_a_setup_cell_loads_a_model_file_the_notebook_wrote(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    (tmp_path / "lookup.csv").write_text("low,high\n")
    cells: list[tuple[str, str | None]] = [
        # an untagged cell trains and saves the model in a subfolder, through a computed path
        (
            "import json, os\n"
            "folder = 'mod' + 'els'\n"
            "os.makedirs(folder, exist_ok=True)\n"
            "json.dump({'w': 3}, open(os.path.join(folder, 'model.json'), 'w'))\n"
            "payload = {'x': [1, 2]}",
            None,
        ),
        ("model = json.load(open(os.path.join(folder, 'model.json')))", "setup"),
        ("labels = open('lookup.csv').read().strip().split(',')", "preprocessing"),
        ("{'y': [model['w'] * v for v in payload['x']], 'label': labels[sum(payload['x']) > 2]}", "predict"),
    ]
    notebook = make_notebook(tmp_path / "filed.ipynb", cells)
    result = publish(notebook, address=cluster.dashboard)
    try:
        bundle = store.bundle_dir(result.name, result.version)
        assert sorted(p.relative_to(bundle / "files").as_posix() for p in (bundle / "files").rglob("*.*")) == [
            "lookup.csv",
            "models/model.json",
        ]
        url = f"http://127.0.0.1:8000/{result.name}/predict"
        assert httpx.post(url, json={"x": [1, 2]}, timeout=30).json() == {"y": [3, 6], "label": "high"}
        assert httpx.post(url, json={"x": [1]}, timeout=30).json() == {"y": [3], "label": "low"}
    finally:
        delete(result.name)


def test_a_predict_replica_that_dies_or_hangs_gets_json_and_the_service_recovers(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    cells: list[tuple[str, str | None]] = [
        ("import os, time\npayload = {'x': 1}", None),
        (
            "if payload.get('die'):\n    os._exit(1)\ntime.sleep(payload.get('sleep', 0))\n{'y': payload['x'] * 2}",
            "predict",
        ),
    ]
    # Separate stages: the preprocessing stage sends a request once more when the predict replica dies.
    settings = {"request_timeout_s": 2, "request_schema": "off", "stages": "separate"}
    result = publish(make_notebook(tmp_path / "fragile.ipynb", cells, settings), address=cluster.dashboard)
    url = f"http://127.0.0.1:8000/{result.name}/predict"
    try:
        slow = httpx.post(url, json={"x": 1, "sleep": 6}, timeout=30)
        assert slow.status_code == 504
        assert slow.json()["error"] == {
            "type": "timeout",
            "message": "The service did not answer within request_timeout_s (2 s).",
        }

        # The request is sent once more when its replica dies; this one kills that replica too.
        died = httpx.post(url, json={"x": 1, "die": True}, timeout=60)
        assert died.status_code in (503, 504), died.text
        assert died.json()["error"]["type"] in ("unavailable", "timeout")
        deadline = time.monotonic() + 120
        while (answer := httpx.post(url, json={"x": 4}, timeout=30)).status_code != 200:
            # JSON while Ray Serve starts another replica: 503, or 504 for a request that waited 2 s for it
            assert answer.status_code in (503, 504), answer.text
            assert answer.json()["error"]["type"] in ("unavailable", "timeout")
            assert time.monotonic() < deadline, "the service did not recover in 120 s"
            time.sleep(0.5)
        assert answer.json() == {"y": 8}
    finally:
        delete(result.name)


def test_stages_run_as_one_deployment_unless_they_ask_for_different_resources(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    serve = ServeCluster(connect(cluster.dashboard))
    answers = {}
    for stages in ("auto", "separate"):
        path = calc_notebook(tmp_path / f"calc-{stages}.ipynb", 5, settings={"stages": stages})
        result = publish(path, address=cluster.dashboard)
        try:
            deployments = serve.applications()[f"{result.name}_v{result.version}"]["deployments"]
            assert set(deployments) == ({"service"} if stages == "auto" else {"preprocessing", "predict"})
            answers[stages] = httpx.post(result.endpoint, json={"x": [1, 2, 3]}, timeout=30).json()
            page = httpx.get(result.endpoint.removesuffix("/predict") + "/info", timeout=30).json()
            assert set(page["stages"]) == {"preprocessing", "predict"}  # where each stage's cells run
        finally:
            delete(result.name)
    # What the notebook shows, either way: sum([1, 2, 3]) * 5.
    assert answers == {"auto": {"total": 30, "factor": 5}, "separate": {"total": 30, "factor": 5}}


def batched_notebook(path: Path, answer: str, settings: dict[str, object]) -> Path:
    """Preprocessing doubles x; predict, written for a batch, answers each request with ``answer`` (an
    expression of ``x`` and ``doubled``, the batch's lists). The notebook itself runs a batch of one."""
    cells: list[tuple[str, str | None]] = [
        ("payload = {'x': 3}", None),
        ("doubled = payload['x'] * 2", "preprocessing"),
        ("doubled = [doubled]  # a batch of one, as the service hands predict", None),
        (answer, "predict"),
    ]
    return make_notebook(path, cells, settings)


@pytest.mark.parametrize("stages", ["auto", "separate"])
def test_batched_predict_runs_once_per_batch_and_each_request_gets_its_own_answer(
    cluster: Cluster, home: Path, tmp_path: Path, stages: str
) -> None:
    settings = {"batch": {"max_size": 4, "wait_ms": 300}, "stages": stages}
    answer = "[{'doubled': d, 'batch': len(doubled)} for d in doubled]"
    result = publish(batched_notebook(tmp_path / "doubler.ipynb", answer, settings), address=cluster.dashboard)
    try:
        deployments = ServeCluster(connect(cluster.dashboard)).applications()[f"{result.name}_v{result.version}"]
        assert set(deployments["deployments"]) == ({"service"} if stages == "auto" else {"preprocessing", "predict"})
        # Alone, a request is a batch of one: what the notebook's own run showed.
        assert httpx.post(result.endpoint, json={"x": 3}, timeout=30).json() == {"doubled": 6, "batch": 1}

        def send(x: int) -> dict[str, int]:
            response = httpx.post(result.endpoint, json={"x": x}, timeout=30)
            assert response.status_code == 200, response.text
            answer: dict[str, int] = response.json()
            return answer

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(8)))
        # Each request gets the answer to its own x, whatever batch it ran in...
        assert [a["doubled"] for a in answers] == [2 * x for x in range(8)]
        # ...and requests sent together ran together, never more than max_size at once.
        assert all(1 <= a["batch"] <= 4 for a in answers)
        assert max(a["batch"] for a in answers) > 1, answers
    finally:
        delete(result.name)


def test_a_batch_answered_with_the_wrong_number_of_items_is_a_500_naming_the_cell(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    # Right for the notebook's batch of one, wrong for any larger batch: one answer for the whole batch.
    answer = "[{'first': doubled[0]}]"
    settings = {"batch": {"max_size": 4, "wait_ms": 500}}
    result = publish(batched_notebook(tmp_path / "oneanswer.ipynb", answer, settings), address=cluster.dashboard)
    try:
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda x: httpx.post(result.endpoint, json={"x": x}, timeout=30), range(4)))
        wrong = [r for r in responses if r.status_code == 500]
        assert wrong, [r.text for r in responses]
        error = wrong[0].json()["error"]
        assert error["type"] == "BatchContractError"
        assert "answer a list with one item per request" in error["message"]
        assert error["stage"] == "predict"
        assert error["cell"] == 4  # the predict cell
        # The service keeps serving: a request alone is a batch of one, answered right.
        assert httpx.post(result.endpoint, json={"x": 5}, timeout=30).json() == {"first": 10}
    finally:
        delete(result.name)


def test_a_burst_beyond_what_a_replica_keeps_waiting_gets_quick_503s(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    cells: list[tuple[str, str | None]] = [
        ("import time\npayload = {'wait': 0.0}", None),
        ("time.sleep(payload['wait'])\n{'waited': payload['wait']}", "predict"),
    ]
    one_at_a_time = {"max_ongoing_requests": 1, "max_queued_requests": 2}
    settings = {"preprocessing": one_at_a_time, "predict": one_at_a_time}
    result = publish(make_notebook(tmp_path / "narrow.ipynb", cells, settings), address=cluster.dashboard)
    try:

        def send(_: int) -> tuple[httpx.Response, float]:
            response = httpx.post(result.endpoint, json={"wait": 3.0}, timeout=60)
            return response, time.monotonic()

        with ThreadPoolExecutor(8) as pool:
            answered = list(pool.map(send, range(8)))
        by_status: dict[int, list[tuple[httpx.Response, float]]] = {}
        for response, at in answered:
            by_status.setdefault(response.status_code, []).append((response, at))
        # One at work and two waiting are answered; the other five are refused with a 503 that says when to
        # come back, before the first answer (they did not wait in a queue).
        assert sorted(by_status) == [200, 503], [r.text for r, _ in answered]
        assert [r.json() for r, _ in by_status[200]] == [{"waited": 3.0}] * 3
        assert len(by_status[503]) == 5
        assert all(r.headers["retry-after"] == "1" for r, _ in by_status[503])
        assert max(at for _, at in by_status[503]) < min(at for _, at in by_status[200])
        own = [r.json()["error"] for r, _ in by_status[503] if r.headers["content-type"] == "application/json"]
        assert own, "the replica refused none itself (all five were refused by Ray Serve's router)"
        assert all(e["type"] == "overloaded" and "try again shortly" in e["message"] for e in own)
        # The burst is over: the service answers again.
        assert httpx.post(result.endpoint, json={"wait": 0.0}, timeout=30).json() == {"waited": 0.0}
    finally:
        delete(result.name)


def test_republish_and_rollback_under_load_lose_no_request(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    before = live_calc(cluster, tmp_path, 5)
    with Load(URL, {"x": [1, 2, 3]}, concurrency=8, max_seconds=240) as load:
        load.wait_for(str(before))
        after = live_calc(cluster, tmp_path, 6)
        load.wait_for(str(after))
        rollback("calc")
        load.wait_for(str(before))
    assert load.failures == []
    assert load.answers[str(before)] > 40
    assert load.answers[str(after)] >= 20
    assert set(load.answers) == {str(before), str(after)}


def test_failed_publishes_under_load_keep_the_live_version_answering(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    live = live_calc(cluster, tmp_path, 3)
    broken = calc_notebook(
        tmp_path / "broken.ipynb",
        5,
        extra=[("import os\nif 'CELLSERVE_GPU' in os.environ:\n    raise RuntimeError('weights missing')", "setup")],
    )
    random_answer = make_notebook(
        tmp_path / "random.ipynb", [("import random\npayload = {'x': [1, 2, 3]}", None), ("random.random()", "predict")]
    )
    with Load(URL, {"x": [1, 2, 3]}, concurrency=8, max_seconds=400) as load:
        load.wait_for(str(live))
        with pytest.raises(DeployError) as at_deploy:
            publish(broken, name="calc", address=cluster.dashboard, timeout=300)
        with pytest.raises(DeployError) as at_smoke:
            publish(random_answer, name="calc", address=cluster.dashboard)
        load.wait_for(str(live))
    assert load.failures == []
    assert set(load.answers) == {str(live)}

    assert at_deploy.value.step == "deploy"
    message = str(at_deploy.value)
    assert "RuntimeError: weights missing" in message
    assert "raised by notebook cell 3, line 3" in message  # the setup cell (cell 1 is markdown)
    assert f"Version {live} is still live and unchanged" in message
    assert at_smoke.value.step == "smoke-test"
    assert "the notebook showed" in str(at_smoke.value)

    info = status("calc")
    assert info["live"] == live
    assert info["last_error"]["step"] == "smoke-test"
    assert set(calc_apps(cluster)) <= {f"calc_v{v['version']}" for v in info["versions"] if v["status"] != "failed"}
    assert ask().json() == {"total": 18, "factor": 3}


def test_a_version_that_fails_on_the_live_route_is_switched_back(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    live = live_calc(cluster, tmp_path, 3)
    # Its predict replica answers the first request right (the smoke test at its pinned route), then wrong.
    dies = calc_notebook(
        tmp_path / "dies.ipynb",
        9,
        extra=[("import os\nCALLS = []", "setup")],
    )
    notebook = json.loads(dies.read_text())
    predict = notebook["cells"][-1]
    predict["source"] = (
        "CALLS.append(1)\nin_replica = 'CELLSERVE_GPU' in os.environ\n"
        "{'total': total * FACTOR, 'factor': -1 if in_replica and len(CALLS) > 1 else FACTOR}"
    )
    dies.write_text(json.dumps(notebook))
    with pytest.raises(DeployError) as caught:
        publish(dies, name="calc", address=cluster.dashboard)
    assert caught.value.step == "promote"
    assert f"The route /calc was switched back: version {live} is live and answering." in str(caught.value)
    assert ask().json() == {"total": 18, "factor": 3}
    assert status("calc")["live"] == live


@pytest.mark.parametrize(
    ("cells", "step", "reason"),
    [
        ([("payload = {'x': [1]}", None), ("total = 1", "preprocessing")], "analyse", "predict"),
        ([("payload = {'x': [1]}\n1 / 0", None), ("payload", "predict")], "capture", "ZeroDivisionError"),
    ],
)
def test_a_publish_that_fails_before_deploying_names_its_step(
    cluster: Cluster, home: Path, tmp_path: Path, cells: list[tuple[str, str | None]], step: str, reason: str
) -> None:
    live = live_calc(cluster, tmp_path, 3)
    with pytest.raises(DeployError) as caught:
        publish(make_notebook(tmp_path / "bad.ipynb", cells), name="calc", address=cluster.dashboard)
    assert caught.value.step == step
    assert reason in str(caught.value)
    assert f"Version {live} is still live and unchanged" in str(caught.value)
    assert ask().json()["factor"] == 3


def test_a_second_publish_at_once_is_refused(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    live_calc(cluster, tmp_path, 3)
    with store.locked("calc"), pytest.raises(DeployError, match="being published") as caught:
        publish(calc_notebook(tmp_path / "calc.ipynb", 4), address=cluster.dashboard)
    assert caught.value.step == "lock"
    assert ask().json()["factor"] == 3


def test_two_services_published_at_the_same_moment_both_go_live(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    notebooks = {
        name: calc_notebook(tmp_path / f"{name}.ipynb", factor) for name, factor in (("twin-a", 2), ("twin-b", 3))
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda item: publish(item[1], address=cluster.dashboard), notebooks.items()))
    try:
        assert {r.name for r in results} == set(notebooks)
        for result, factor in zip(results, (2, 3), strict=True):
            assert httpx.post(result.endpoint, json={"x": [1, 2, 3]}, timeout=30).json() == {
                "total": 6 * factor,
                "factor": factor,
            }
    finally:
        for name in notebooks:
            delete(name)


def test_a_rollback_during_a_publish_is_refused_and_the_publish_goes_live(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    first = publish(calc_notebook(tmp_path / "busy.ipynb", 6), address=cluster.dashboard)
    deploying = threading.Event()

    def progress(step: str, _message: str) -> None:
        if step == "deploy":
            deploying.set()

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(
                publish, calc_notebook(tmp_path / "busy.ipynb", 7), address=cluster.dashboard, progress=progress
            )
            assert deploying.wait(timeout=300)
            with pytest.raises(DeployError, match="being published, rolled back or deleted right now"):
                rollback(first.name)
            assert second.result(timeout=600).version > first.version
        assert httpx.post(first.endpoint, json={"x": [1]}, timeout=30).json() == {"total": 7, "factor": 7}
        assert rollback(first.name)["live"] == first.version  # once the publish is done, rollback works
        assert httpx.post(first.endpoint, json={"x": [1]}, timeout=30).json() == {"total": 6, "factor": 6}
    finally:
        delete(first.name)


def test_services_live_side_by_side_and_delete_touches_only_one(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    live_calc(cluster, tmp_path, 3)
    other = publish(calc_notebook(tmp_path / "other.ipynb", 10), address=cluster.dashboard)
    assert ask(other.endpoint).json() == {"total": 60, "factor": 10}
    assert ask().json()["factor"] == 3
    assert {row["name"] for row in list_services()} >= {"calc", "other"}
    delete("other")
    assert ask(other.endpoint).status_code == 404
    assert ask(f"http://127.0.0.1:8000/other/v/{other.version}/predict").status_code == 404
    assert ask().json()["factor"] == 3
    assert "other" not in {row["name"] for row in list_services()}


def test_no_room_is_said_before_anything_deploys(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    live_calc(cluster, tmp_path, 3)
    settings = {"preprocessing": {"num_cpus": 1.9}, "predict": {"num_cpus": 1.9}, "stages": "separate"}
    with pytest.raises(DeployError, match="failed at preflight") as caught:
        publish(calc_notebook(tmp_path / "big.ipynb", 2, settings=settings), address=cluster.dashboard)
    message = str(caught.value)
    assert "No room on the cluster" in message
    assert "it needs 3.8 CPU" in message
    assert "calc: " in message  # what is taken, by which service
    assert not [name for name in ServeCluster(connect(cluster.dashboard)).applications() if name.startswith("big_")]
    assert ask().json()["factor"] == 3


def test_logs_of_each_replica(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    live_calc(cluster, tmp_path, 3)
    found = logs("calc", tail=50)
    assert {key.split()[0] for key in found} == {"service"}  # calc's stages run as one deployment
    assert all(text and "log not readable" not in text for text in found.values())


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
    live = live_calc(cluster, tmp_path, 3)
    apps = calc_apps(cluster)
    notebook = calc_notebook(tmp_path / "calc.ipynb", 7, settings=settings)
    with pytest.raises(DeployError, match="failed at preflight") as caught:
        publish(notebook, name="calc", address=cluster.dashboard)
    assert message in str(caught.value)
    assert calc_apps(cluster) == apps
    assert status("calc")["live"] == live
    assert ask().json()["factor"] == 3


def test_cli_publish_prints_the_url_last_and_json(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "cellserve")
    notebook = calc_notebook(tmp_path / "calc.ipynb", 8)
    plain = subprocess.run([cli, "publish", str(notebook), "--address", cluster.dashboard],
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip().splitlines()[-1].split()[0] == URL
    for step in ("analyse", "capture", "deploy", "smoke-test", "promote"):
        assert step in plain.stderr
    as_json = subprocess.run([cli, "status", "calc", "--json"], capture_output=True, text=True, timeout=60)
    shown = json.loads(as_json.stdout)
    assert shown["live"] == shown["versions"][-1]["version"]
    assert shown["versions"][-1]["route"] == "/calc"
    assert ask().json()["factor"] == 8


def test_a_service_that_never_reached_a_cluster_starts_none(home: Path, tmp_path: Path) -> None:
    cells = [("payload = {'x': [1]}\n1 / 0", None), ("payload", "predict")]
    with pytest.raises(DeployError, match="failed at capture"):
        publish(make_notebook(tmp_path / "never.ipynb", cells))
    info = status("never")
    assert info["status"] == "UNREACHABLE"
    assert "has not reached a cluster yet" in info["message"]
    assert embedded_cluster_status() == {"running": False}
