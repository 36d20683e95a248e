"""cellserve's REST API in a real Jupyter server: check, validation, authentication, publish."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient

from cellserve.converter import SERVICE_NAME_RULE, StageSettings
from tests.conftest import Cluster
from tests.notebooks import make_notebook
from tests.runtime.conftest import calc_notebook

Api = Callable[..., Awaitable[tuple[int, Any]]]


async def test_settings_schema_is_the_notebook_settings(api: Api) -> None:
    code, schema = await api("GET", "settings", "schema")
    assert code == 200
    assert {"name", "input_variable", "access", "preprocessing", "predict"} <= set(schema["properties"])


async def test_settings_form_shows_every_setting_of_the_model(api: Api) -> None:
    code, answer = await api("GET", "settings", "form")
    assert code == 200
    form = answer["schema"]
    stage = form["properties"]["predict"]["properties"]
    assert set(stage) == set(StageSettings.model_fields)  # a setting added to the model appears in the form
    assert stage["num_gpus"] == {
        "type": "number",
        "minimum": 0,
        "default": 0,
        "description": StageSettings.model_fields["num_gpus"].description,
    }
    assert stage["memory"] == {  # "int or None": a field that may stay empty
        "type": "integer",
        "minimum": 0,
        "default": None,
        "description": StageSettings.model_fields["memory"].description,
    }
    assert form["properties"]["access"]["enum"] == ["public", "token"]
    assert form["properties"]["batch"]["properties"]["max_size"]["maximum"] == 1024
    assert "request_schema" not in form["properties"]  # a word or a JSON Schema: set in the metadata


async def test_settings_problems_are_the_models_own_words(api: Api) -> None:
    code, answer = await api("POST", "settings", "problems", body={"settings": {"predict": {"num_gpus": 1}}})
    assert (code, answer) == (200, {"problems": []})
    bad = {"name": "My Model", "predict": {"num_gpus": -1}, "preprocessing": {"min_replicas": 3}, "gpus": 1}
    code, answer = await api("POST", "settings", "problems", body={"settings": bad})
    assert code == 200
    assert answer["problems"] == [
        {"path": ["name"], "message": f"use {SERVICE_NAME_RULE}"},
        {"path": ["preprocessing"], "message": "min_replicas (3) is larger than max_replicas (1)"},
        {"path": ["predict", "num_gpus"], "message": "Input should be greater than or equal to 0"},
        {"path": ["gpus"], "message": "unknown setting: remove it or check its spelling"},
    ]
    code, error = await api("POST", "settings", "problems", body={})
    assert code == 400
    assert "settings" in error["message"]


async def test_check_reports_roles_and_what_each_stage_captures(api: Api, digits: str) -> None:
    code, report = await api("POST", "check", body={"path": digits})
    assert code == 200, report
    assert report["ok"] is True
    assert report["service"] == "digits"
    assert report["roles"] == {"setup": [8], "preprocessing": [9], "predict": [10]}
    assert "model" in report["stages"]["predict"]["captured"]
    assert report["problems"] == []


async def test_roles_are_the_converters_in_run_order_with_their_tags(api: Api, jp_root_dir: Path) -> None:
    code, answer = await api("GET", "roles")
    assert code == 200
    assert answer == {
        "roles": [
            {"name": "setup", "tag": "cellserve:setup"},
            {"name": "preprocessing", "tag": "cellserve:preprocessing"},
            {"name": "predict", "tag": "cellserve:predict"},
        ]
    }
    # The sidebar's tests read the same answer.
    assert answer == json.loads((Path(__file__).parents[2] / "extension" / "test" / "roles.json").read_text())
    # A cell tagged as the answer says has that role in the check.
    tag = {role["name"]: role["tag"] for role in answer["roles"]}
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import math", metadata={"tags": [tag["setup"]]}),
        nbformat.v4.new_code_cell("payload = {'x': 2}"),
        nbformat.v4.new_code_cell("x = payload['x']", metadata={"tags": ["mine", tag["preprocessing"]]}),
        nbformat.v4.new_code_cell("{'y': math.sqrt(x)}", metadata={"tags": [tag["predict"]]}),
    ]
    nbformat.write(notebook, jp_root_dir / "tagged.ipynb")
    code, report = await api("POST", "check", body={"path": "tagged.ipynb"})
    assert code == 200, report
    assert report["roles"] == {"setup": [1], "preprocessing": [3], "predict": [4]}


async def test_roles_are_refused_without_the_servers_token(http_server_client: Any, jp_base_url: str) -> None:
    response = await http_server_client.fetch(f"{jp_base_url}cellserve/roles", raise_error=False)
    assert response.code == 403


async def test_check_says_the_default_service_name_by_the_servers_rule(api: Api, jp_root_dir: Path) -> None:
    cells: list[tuple[str, str | None]] = [("payload = 1", None), ("payload + 1", "predict")]
    make_notebook(jp_root_dir / "My Model (v2).ipynb", cells)
    code, report = await api("POST", "check", body={"path": "My Model (v2).ipynb"})
    assert code == 200, report
    assert (report["service"], report["default_service"]) == ("my-model-v2", "my-model-v2")
    make_notebook(jp_root_dir / "Other.ipynb", cells, {"name": "named"})
    code, report = await api("POST", "check", body={"path": "Other.ipynb"})
    assert (report["service"], report["default_service"]) == ("named", "other")  # the settings' name wins
    (jp_root_dir / "Broken.ipynb").write_text("{not json")
    code, report = await api("POST", "check", body={"path": "Broken.ipynb"})
    assert (report["service"], report["default_service"]) == (None, "broken")


async def test_check_lists_the_files_a_publish_ships(api: Api, jp_root_dir: Path) -> None:
    (jp_root_dir / "weights.json").write_text('{"w": 2}')
    cells: list[tuple[str, str | None]] = [
        ("import json\npayload = {'x': 1}", None),
        ("w = json.load(open('weights.json'))['w']", "setup"),
        ("{'y': w * payload['x']}", "predict"),
    ]
    make_notebook(jp_root_dir / "weighted.ipynb", cells)
    code, report = await api("POST", "check", body={"path": "weighted.ipynb"})
    assert code == 200, report
    assert report["files"] == [{"path": "weights.json", "bytes": 8, "cells": [2]}]


async def test_check_of_unsaved_content_points_at_the_problem_cell(api: Api, digits: str, jp_root_dir: Path) -> None:
    notebook = nbformat.read(jp_root_dir / digits, as_version=4)
    notebook.cells[9].source = "undefined_thing(x)"
    code, report = await api("POST", "check", body={"path": digits, "notebook": notebook})
    assert code == 200
    assert report["ok"] is False
    [problem] = report["problems"]
    assert problem["cell"] == 10
    assert "undefined_thing" in problem["message"]

    for cell in notebook.cells:
        cell.metadata.pop("tags", None)
    code, report = await api("POST", "check", body={"path": digits, "notebook": notebook})
    assert report["roles"] == {"setup": [], "preprocessing": [], "predict": []}
    assert "no cell is tagged 'cellserve:predict'" in report["problems"][0]["message"]


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("../outside.ipynb", "without '..'"),
        ("/etc/passwd", "relative"),
        ("models/notes.txt", "not a notebook"),
        ("models/missing.ipynb", "No notebook"),
        (None, "'path' must be"),
    ],
)
async def test_paths_outside_the_root_or_not_notebooks_are_refused(
    api: Api, digits: str, jp_root_dir: Path, path: str | None, says: str
) -> None:
    (jp_root_dir / "models" / "notes.txt").write_text("x")
    (jp_root_dir.parent / "outside.ipynb").write_text("{}")
    code, error = await api("POST", "check", body={"path": path})
    assert code == 400
    assert says in error["message"]


async def test_service_names_that_would_break_a_route_are_refused(api: Api, home: Path) -> None:
    code, error = await api("GET", "services", "Not_A..Name")
    assert code == 400
    assert "not a service name" in error["message"]
    code, error = await api("GET", "services", "never-published")
    assert code == 404
    assert "No service named 'never-published'" in error["message"]


@pytest.mark.parametrize("address", ["", "http://127.0.0.1:8265", "https://ray.example.org:443", "head-node:8265",
                                     "[::1]:8265"])  # fmt: skip
async def test_the_cluster_address_check_accepts_a_dashboard_with_its_port(api: Api, address: str) -> None:
    assert await api("GET", "cluster-address", address=address) == (200, {"error": None})


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("ray://head:10001", "not the Ray client port"),
        ("ftp://head:8265", "scheme 'ftp' is not supported"),
        ("https://ray.example.org", "with its port"),
        ("head-node", "with its port"),
        ("http://head:port", "with its port"),
        ("http://head:99999", "with its port"),
        ("head node:8265", "with its port"),
        ("   ", "with its port"),
    ],
)
async def test_the_cluster_address_check_and_publish_refuse_an_address_alike(
    api: Api, digits: str, address: str, says: str
) -> None:
    """The sidebar shows what the check says as the user types; publish refuses the same address, saying the same."""
    code, answer = await api("GET", "cluster-address", address=address)
    assert code == 200
    assert answer["error"].startswith(f"Got {address!r} for the cluster address: ")
    assert says in answer["error"]
    code, error = await api("POST", "publish", body={"path": digits, "address": address})
    assert (code, error["message"]) == (400, answer["error"])


async def test_requests_without_the_servers_token_are_refused(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str
) -> None:
    client = http_server_client  # the test server's own client, without the server's token
    base = f"{jp_base_url}cellserve"
    for read in ("settings/schema", "settings/form"):
        response = await client.fetch(f"{base}/{read}", raise_error=False)
        assert response.code == 403
    response = await client.fetch(f"{base}/settings/problems", method="POST", body="{}", raise_error=False)
    assert response.code == 403
    response = await client.fetch(f"{base}/check", method="POST", body="{}", raise_error=False)
    assert response.code == 403
    with_cookie_only = await client.fetch(
        f"{base}/publish", method="POST", body="{}", headers={"Cookie": "_xsrf=x"}, raise_error=False
    )
    assert with_cookie_only.code == 403


async def test_a_failing_publish_names_the_step_and_the_cell(api: Api, jp_root_dir: Path, home: Path) -> None:
    make_notebook(
        jp_root_dir / "broken.ipynb",
        [("payload = {'x': 1}", None), ("missing_name + payload['x']", "predict")],
    )
    code, job = await api("POST", "publish", body={"path": "broken.ipynb"})
    assert code == 202
    assert job["capture"] == "headless"
    job = await wait_for(api, job["id"])
    assert job["state"] == "failed"
    assert job["error"]["step"] == "analyse"
    assert job["error"]["cell"] == 2
    assert "missing_name" in job["error"]["message"]


async def wait_for(api: Api, job_id: str, timeout: float = 600) -> Any:
    for _ in range(int(timeout)):
        code, job = await api("GET", "publish", job_id)
        assert code == 200
        if job["state"] != "running":
            return job
        await asyncio.sleep(1)
    raise AssertionError(f"publish {job_id} still running after {timeout} s: {job}")


@pytest.mark.ray
@pytest.mark.kernel
async def test_publish_captures_from_the_live_kernel(
    api: Api, jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path, cluster: Cluster, home: Path
) -> None:
    """The kernel's FACTOR (7, set in the session) is published, not the notebook file's (1)."""
    calc_notebook(jp_root_dir / "calc.ipynb", 1)
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(response.body)["id"]
    connection = jp_serverapp.kernel_manager.get_kernel(kernel_id).get_connection_info(session=False)
    run_in_kernel(connection, "FACTOR = 7\npayload = {'x': [1, 2, 3]}\ntotal = sum(payload['x'])")
    count = run_in_kernel(connection, "{'total': total * FACTOR, 'factor': FACTOR}")
    notebook = nbformat.read(jp_root_dir / "calc.ipynb", as_version=4)
    notebook.cells[-1].execution_count = count  # as JupyterLab saves it after running the cell
    nbformat.write(notebook, jp_root_dir / "calc.ipynb")

    async with deleted_after(api, "calc"):
        code, job = await api(
            "POST", "publish", body={"path": "calc.ipynb", "kernel_id": kernel_id, "address": cluster.dashboard}
        )
        assert code == 202, job
        assert job["capture"] == "live kernel"
        job = await wait_for(api, job["id"])
        assert job["state"] == "succeeded", job["error"]
        assert list(dict.fromkeys(s["step"] for s in job["steps"])) == [
            "analyse", "capture", "bundle", "preflight", "deploy", "smoke-test", "promote",
        ]  # fmt: skip
        endpoint = job["result"]["endpoint"]
        answer = httpx.post(endpoint, json={"x": [1, 2, 3]}, timeout=30).json()
        assert answer == {"total": 42, "factor": 7}

        code, job = await api("POST", "publish", body={"path": "calc.ipynb", "address": cluster.dashboard})
        assert job["capture"] == "headless"  # no kernel: the notebook file runs, with its own FACTOR
        job = await wait_for(api, job["id"])
        assert job["state"] == "succeeded", job["error"]
        assert httpx.post(endpoint, json={"x": [1, 2, 3]}, timeout=30).json() == {"total": 6, "factor": 1}

        code, rolled = await api("POST", "services", "calc", "rollback", body={})
        assert (code, rolled["live"]) == (200, 1)
        assert httpx.post(endpoint, json={"x": [1, 2, 3]}, timeout=30).json() == {"total": 42, "factor": 7}
        code, service = await api("GET", "services", "calc")
        assert code == 200
        assert service["live"] == 1
        assert [(v["version"], v["status"]) for v in service["versions"]] == [(1, "live"), (2, "previous")]
        code, found = await api("GET", "services", "calc", "logs", tail="50")
        assert code == 200
        assert set(found)
        assert all(key.split()[0] == "service" for key in found)  # calc's stages run as one deployment
        # Ray reports a replica's health and the requests it answered some seconds later (10 s by default).
        deadline = time.monotonic() + 90
        while True:
            code, watched = await api("GET", "services", "calc", "traffic", window="1")
            assert code == 200, watched
            seen = watched["versions"]["1"]
            assert seen["live"] is True
            if seen["replicas"] is not None and seen["total_requests"] >= 1:
                break
            assert time.monotonic() < deadline, f"Ray reported no replica or request of version 1 in 90 s: {watched}"
        assert seen["replicas"] == 1
        code, refused = await api("GET", "services", "calc", "traffic", window="600")
        assert code == 400
        assert "from 1 to 60" in refused["message"]
        code, deleted = await api("DELETE", "services", "calc")
        assert (code, deleted["deleted"]) == (200, True)


async def test_canary_and_replay_input_is_checked_before_anything_runs(api: Api, digits: str, home: Path) -> None:
    code, refused = await api("POST", "publish", body={"path": digits, "canary": 1.5})
    assert (code, refused["reason"]) == (400, "invalid input")
    assert "above 0 and below 1" in refused["message"]
    code, refused = await api("POST", "publish", body={"path": digits, "replay": -1})
    assert code == 400
    assert "'replay' must be a whole number" in refused["message"]
    code, refused = await api("POST", "services", "digits", "canary", body={"version": 2})
    assert code == 400
    assert "'share' is needed" in refused["message"]
    code, refused = await api("GET", "services", "digits", "requests", last="0")
    assert code == 400
    assert (await api("GET", "services", "never-published", "requests"))[0] == 404


@pytest.mark.ray
@pytest.mark.kernel
async def test_replay_canary_requests_and_promote_through_the_server(
    api: Api, jp_root_dir: Path, cluster: Cluster, home: Path
) -> None:
    log = {"name": "replayed", "request_log": {"max_requests": 10}}
    async with deleted_after(api, "replayed"):
        calc_notebook(jp_root_dir / "calc.ipynb", 1, settings=log)
        code, job = await api("POST", "publish", body={"path": "calc.ipynb", "address": cluster.dashboard})
        job = await wait_for(api, job["id"])
        assert job["state"] == "succeeded", job["error"]
        endpoint = job["result"]["endpoint"]
        sent = [httpx.post(endpoint, json={"x": [i]}, timeout=30).json() for i in range(4)]
        code, found = await api("GET", "services", "replayed", "requests", last="3")
        assert code == 200, found
        assert [json.loads(entry["response"]) for entry in found["requests"]] == sent[1:]

        # Same answers from changed code, replayed first, then tried as a canary on a quarter of the traffic.
        calc_notebook(jp_root_dir / "calc.ipynb", 1, settings=log, extra=[("changed = True", None)])
        body = {"path": "calc.ipynb", "address": cluster.dashboard, "replay": 4, "canary": 0.25}
        code, job = await api("POST", "publish", body=body)
        job = await wait_for(api, job["id"])
        assert job["state"] == "succeeded", job["error"]
        assert "replay" in [step["step"] for step in job["steps"]]
        assert (job["result"]["replay"]["same"], job["result"]["canary"]) == (4, 0.25)
        code, service = await api("GET", "services", "replayed")
        assert (service["live"], service["canary"]) == (1, {"version": 2, "share": 0.25})
        assert [(v["version"], v["status"]) for v in service["versions"]] == [(1, "live"), (2, "canary")]

        code, promoted = await api("POST", "services", "replayed", "promote", body={})
        assert (code, promoted["live"]) == (200, 2)
        assert httpx.post(endpoint, json={"x": [5]}, timeout=30).headers["x-cellserve-version"] == "2"
        code, split = await api("POST", "services", "replayed", "canary", body={"version": 1, "share": 0.5})
        assert (code, split["canary"]) == (200, {"version": 1, "share": 0.5})
        code, split = await api("POST", "services", "replayed", "canary", body={"version": None})
        assert (code, split["canary"], split["ended"]) == (200, None, {"version": 1, "share": 0.5})


@contextlib.asynccontextmanager
async def deleted_after(api: Api, name: str) -> AsyncIterator[None]:
    """Delete the service ``name`` when the block ends, even when it fails: the module's tests share a home."""
    try:
        yield
    finally:
        await api("DELETE", "services", name)


def run_in_kernel(connection: dict[str, Any], code: str) -> int:
    """Run ``code`` in the kernel as a notebook cell would; returns its execution count."""
    client = BlockingKernelClient()
    client.load_connection_info(connection)
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(code, timeout=60, output_hook=lambda _message: None)
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", reply["content"]
    return int(reply["content"]["execution_count"])
