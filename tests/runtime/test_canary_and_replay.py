"""The request log, replay before promote and canaries, on a real Ray cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from cellserve.exceptions import DeployError
from cellserve.runtime import canary, delete, promote, publish, requests, status, traffic
from cellserve.runtime._replay import ReplaySummary, _verdict, check
from tests.conftest import Cluster
from tests.runtime.conftest import calc_notebook

CLI = str(Path(sys.executable).parent / "cellserve")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    wide = {**os.environ, "COLUMNS": "250"}  # tables unwrapped
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600, env=wide)


def logged_calc(path: Path, factor: int, *, name: str, extra: str = "", **log: int) -> Path:
    """The calculator with its request log on; ``extra`` changes its code, not its answers."""
    settings: dict[str, object] = {"name": name, "request_log": {"max_requests": 100, **log}}
    return calc_notebook(path, factor, settings=settings, extra=[(extra, None)] if extra else None)


def answered_by(endpoint: str, x: list[int]) -> tuple[str, int]:
    """The version that answered (its header) and the factor it multiplied by (from its answer)."""
    response = httpx.post(endpoint, json={"x": x}, timeout=60)
    assert response.status_code == 200, response.text
    return response.headers["x-cellserve-version"], response.json()["factor"]


def test_the_replay_verdicts() -> None:
    assert _verdict((200, '{"y": 1.0}'), (200, '{"y": 1.00000001}'))[0] == "same"  # the smoke test's tolerance
    verdict, why = _verdict((200, '{"y": 1}'), (200, '{"y": 2}'))
    assert (verdict, why) == ("different", "response.y is 2, the live version answered 1")
    assert _verdict((200, "{}"), (500, '{"error": {}}'))[0] == "failed"
    assert _verdict((200, "{}"), (None, "ConnectError"))[0] == "failed"
    assert _verdict((422, "{}"), (422, "{}"))[0] == "same"  # refused alike
    assert _verdict((422, "{}"), (200, "{}"))[0] == "different"
    summary = ReplaySummary(requests=20, same=19, different=1, max_mismatch=0.05)
    check(summary, 1, 2)  # 5 % differ: allowed
    summary.failed, summary.same = 1, 18
    with pytest.raises(DeployError, match=r"10\.0% of the replayed requests"):
        check(summary, 1, 2)


@pytest.mark.ray
@pytest.mark.kernel
def test_the_request_log_holds_what_was_sent_within_its_caps_for_the_owner_only(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    notebook = logged_calc(tmp_path / "ledger.ipynb", 3, name="ledger", max_requests=5, max_body_bytes=40)
    result = publish(notebook, address=cluster.dashboard)
    try:
        sent = [{"x": [i, i + 1]} for i in range(7)] + [{"x": list(range(30))}]  # the last one is over 40 bytes
        answers = [httpx.post(result.endpoint, json=body, timeout=30) for body in sent]
        assert [a.json()["total"] for a in answers] == [3 * sum(body["x"]) for body in sent]  # the notebook's sums

        found = requests("ledger", 100)
        assert found["enabled"] is True
        assert (found["kept"], found["max_requests"], found["logged"]) == (5, 5, 8)  # the smoke test is not logged
        entries = found["requests"]
        assert [json.loads(e["request"]) for e in entries[:4]] == sent[3:7]  # the oldest went first
        assert [json.loads(e["response"]) for e in entries[:4]] == [a.json() for a in answers[3:7]]
        assert all(e["status"] == 200 and e["latency_ms"] > 0 and e["version"] == "1" for e in entries)
        large = entries[-1]
        assert large["request"] is None  # over max_body_bytes: kept by its size alone
        assert large["request_bytes"] == len(answers[-1].request.content)
        assert json.loads(large["response"]) == answers[-1].json()  # the answer is small enough to keep

        # Only the owner reads it: not an anonymous caller, not a holder of a made-up key.
        url = result.endpoint.removesuffix("/predict") + "/requests"
        assert httpx.get(url, timeout=30).status_code == 403
        assert httpx.get(url, headers={"Authorization": "Bearer guess"}, timeout=30).status_code == 403

        shown = cli("requests", "ledger", "--last", "2")
        assert shown.returncode == 0, shown.stderr
        assert "(" + str(large["request_bytes"]) + " bytes, not kept)" in shown.stdout
        assert "2 shown of 5 kept" in shown.stderr
    finally:
        delete("ledger")


@pytest.mark.ray
@pytest.mark.kernel
def test_without_a_request_log_nothing_is_kept_and_replay_says_why(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    result = publish(calc_notebook(tmp_path / "quiet.ipynb", 2, settings={"name": "quiet"}), address=cluster.dashboard)
    try:
        httpx.post(result.endpoint, json={"x": [1]}, timeout=30).raise_for_status()
        assert requests("quiet", 10) == {"name": "quiet", "live": 1, "enabled": False, "requests": []}
        shown = cli("requests", "quiet")
        assert shown.returncode == 0
        assert "keeps no request log" in shown.stderr
        changed = calc_notebook(tmp_path / "quiet2.ipynb", 5, settings={"name": "quiet"})
        with pytest.raises(DeployError, match="version 1 keeps no request log") as refused:
            publish(changed, address=cluster.dashboard, replay=10)
        assert refused.value.step == "preflight"
        assert status("quiet")["live"] == 1
    finally:
        delete("quiet")


@pytest.mark.ray
@pytest.mark.kernel
def test_replay_stops_a_version_whose_answers_differ_and_promotes_one_whose_do_not(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    first = publish(logged_calc(tmp_path / "a.ipynb", 2, name="replayed"), address=cluster.dashboard)
    try:
        for i in range(12):
            httpx.post(first.endpoint, json={"x": [i, 2 * i]}, timeout=30).raise_for_status()

        # Factor 7 answers every request differently: the publish stops before going live (through the CLI).
        differs = logged_calc(tmp_path / "b.ipynb", 7, name="replayed")
        refused = cli("publish", str(differs), "--address", cluster.dashboard, "--replay", "10")
        assert refused.returncode == 1
        assert "failed at replay" in refused.stderr
        assert "10 requests replayed" in refused.stderr
        assert "0 same, 10 different" in refused.stderr
        assert "version 1 (live): HTTP 200" in refused.stderr  # the first differences, side by side
        assert "Version 1 is still live and unchanged." in refused.stderr
        assert answered_by(first.endpoint, [1, 1]) == ("1", 2)
        assert status("replayed")["versions"][-1]["failed_step"] == "replay"

        # The same answers from changed code: it goes live, with the summary.
        same = logged_calc(tmp_path / "c.ipynb", 2, name="replayed", extra="unused = 'a changed notebook'")
        result = publish(same, address=cluster.dashboard, replay=10)
        assert result.replay is not None
        assert (result.replay["requests"], result.replay["same"], result.replay["different"]) == (10, 10, 0)
        print(f"replay of 10 requests: {result.replay['seconds']} s")
        assert answered_by(first.endpoint, [1, 1]) == (str(result.version), 2)
    finally:
        delete("replayed")


@pytest.mark.ray
@pytest.mark.kernel
def test_a_canary_answers_its_share_of_live_traffic_until_promoted(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    publish(calc_notebook(tmp_path / "a.ipynb", 1, settings={"name": "split"}), address=cluster.dashboard)
    second = publish(calc_notebook(tmp_path / "b.ipynb", 10, settings={"name": "split"}), address=cluster.dashboard)
    try:
        assert answered_by(second.endpoint, [1]) == ("2", 10)
        shown = cli("traffic", "split", "--canary", "1=10%")
        assert shown.returncode == 0, shown.stderr
        assert "version 1 answers 10% of the predictions" in shown.stderr
        assert status("split")["canary"] == {"version": 1, "share": 0.1}

        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(lambda i: answered_by(second.endpoint, [i]), range(1000)))
        # Each answer is the version's own (version 1 multiplies by 1, version 2 by 10).
        assert set(seen) == {("1", 1), ("2", 10)}
        to_canary = sum(1 for version, _ in seen if version == "1")
        print(f"canary 10 %: version 1 answered {to_canary} of 1,000 requests")
        assert 60 <= to_canary <= 140  # 100 expected; the bounds are over 4 standard deviations (9.5) away
        # A pinned route answers from its own version, the live one's too: only the live route is split.
        pinned = second.endpoint.replace("/split/predict", "/split/v/2/predict")
        assert {answered_by(pinned, [i]) for i in range(60)} == {("2", 10)}
        figures = traffic("split", window_s=1)
        assert figures["canary"] == {"version": 1, "share": 0.1}
        assert figures["versions"]["1"]["canary_share"] == 0.1

        ended = promote("split")
        assert ended["live"] == 1
        assert status("split")["canary"] is None
        assert {answered_by(second.endpoint, [i]) for i in range(30)} == {("1", 1)}

        canary("split", 2, 0.5)
        assert canary("split", None)["ended"] == {"version": 2, "share": 0.5}
        assert {answered_by(second.endpoint, [i]) for i in range(30)} == {("1", 1)}
        with pytest.raises(DeployError, match="Version 1 is the live version"):
            canary("split", 1, 0.5)
        with pytest.raises(DeployError, match="Version 9 of split is not running"):
            canary("split", 9, 0.5)
    finally:
        delete("split")
