"""Converting notebooks headlessly (real Jupyter kernel): the bundle's files and capture errors."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

import cellserve.bundle
from cellserve.converter import analyse, capture_code, capture_in_namespace, convert, read_notebook
from cellserve.converter._capture import read_report
from cellserve.exceptions import BundleError, CaptureError
from tests.notebooks import make_notebook

pytestmark = pytest.mark.kernel
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(EXAMPLES / "digits.ipynb", tmp_path_factory.mktemp("digits") / "bundle").path


def test_bundle_has_the_fixed_files(digits: Path) -> None:
    for name in ("serve.yaml", "requirements.txt", "Dockerfile", "example_request.json",
                 "expected_response.json", "README.md", "app.py", "captured/predict.pkl"):  # fmt: skip
        assert (digits / name).is_file(), name


def test_the_bundle_carries_cellserve_bundle_under_a_cellserve_that_imports_nothing(digits: Path) -> None:
    source = Path(cellserve.bundle.__file__).parent
    modules = sorted(p.name for p in source.iterdir() if p.suffix in (".py", ".html"))
    carried = sorted(p.relative_to(digits).as_posix() for p in (digits / "cellserve").rglob("*") if p.is_file())
    assert carried == ["cellserve/__init__.py", *(f"cellserve/bundle/{name}" for name in modules)]
    for name in modules:
        assert (digits / "cellserve" / "bundle" / name).read_bytes() == (source / name).read_bytes(), name
    top = ast.parse((digits / "cellserve" / "__init__.py").read_text())
    assert [type(node) for node in top.body] == [ast.Expr]  # a docstring, nothing else


def test_a_replica_imports_the_bundles_cellserve_where_cellserve_is_installed_too(digits: Path) -> None:
    """Ray puts the bundle's folder first on a replica's path; this Python has the real cellserve installed. app.py
    and everything of cellserve it imports come from the bundle."""
    script = (
        "import importlib.util, json, sys\n"
        "installed = importlib.util.find_spec('cellserve').origin\n"
        f"sys.path.insert(0, {str(digits)!r})\n"
        "import app\n"
        "ours = [m for m in sys.modules if m.split('.')[0] == 'cellserve']\n"
        "loaded = {m: getattr(sys.modules[m], '__file__', None) for m in ours}\n"
        "print(json.dumps({'installed': installed, 'app': app.__file__, 'loaded': loaded}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=digits.parent, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert not Path(found["installed"]).is_relative_to(digits)  # the check means something: cellserve is installed
    assert Path(found["app"]) == digits / "app.py"
    assert {"cellserve", "cellserve.bundle", "cellserve.bundle.support"} <= set(found["loaded"])
    assert all(Path(file).is_relative_to(digits / "cellserve") for file in found["loaded"].values()), found["loaded"]


def test_serve_config_is_accepted_by_rays_schema(digits: Path) -> None:
    config = ServeDeploySchema.model_validate(yaml.safe_load((digits / "serve.yaml").read_text()))
    app = config.applications[0]
    assert app.name == "digits"
    assert app.route_prefix == "/digits"
    assert app.import_path == "app:app"
    # predict's GPU is "if-available": app.py decides when the app starts whether the stages run as one
    # deployment (no GPU in the cluster) or two, and sets their options; the file says so.
    assert app.deployments == []
    assert "app.py decides when the app starts" in (digits / "serve.yaml").read_text()


@pytest.mark.parametrize(
    ("settings", "deployments"),
    [
        ({}, {"service": 0.25}),
        ({"predict": {"num_cpus": 1}}, {"preprocessing": 0.25, "predict": 1}),
        ({"stages": "separate"}, {"preprocessing": 0.25, "predict": 0.25}),
        ({"stages": "one", "predict": {"num_cpus": 1}}, {"service": 1}),
    ],
)
def test_serve_config_lists_one_deployment_or_two(tmp_path: Path, settings: dict[str, Any], deployments: Any) -> None:
    cells: list[tuple[str, str | None]] = [
        ("payload = 1", None),
        ("x = payload", "preprocessing"),
        ("x * 2", "predict"),
    ]
    path = make_notebook(tmp_path / "calc.ipynb", cells, settings)
    bundle = convert(path, tmp_path / "bundle").path
    app = ServeDeploySchema.model_validate(yaml.safe_load((bundle / "serve.yaml").read_text())).applications[0]
    assert {d.name: d.ray_actor_options.num_cpus for d in app.deployments} == deployments


def test_example_request_and_expected_response(digits: Path) -> None:
    example = json.loads((digits / "example_request.json").read_text())
    expected = json.loads((digits / "expected_response.json").read_text())
    assert len(example["pixels"]) == 64
    assert set(expected) == {"digit", "probabilities"}
    assert len(expected["probabilities"]) == 10


def test_requirements_are_exact_versions_of_what_the_cells_use(digits: Path) -> None:
    lines = [line.split("#")[0].strip() for line in (digits / "requirements.txt").read_text().splitlines()]
    pins = dict(line.split("==") for line in lines if line)
    assert set(pins) == {"cloudpickle", "numpy", "torch", "fastapi-offline"}  # the last: the API docs' files
    assert pins["torch"] == "2.13.0"


def test_dockerfile_uses_the_ray_gpu_image_when_a_stage_asks_for_gpus(digits: Path) -> None:
    dockerfile = (digits / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=rayproject/ray:2.60.0-py311-gpu" in dockerfile
    assert 'CMD ["python", "-m", "ray.serve.scripts", "run", "serve.yaml"]' in dockerfile  # the venv's Python
    # Ray's image runs as its user ray, who owns the service's folder and runs the service.
    assert "ARG BASE_USER=ray" in dockerfile
    assert "COPY --chown=${BASE_USER} requirements.txt /service/" in dockerfile
    assert dockerfile.index("USER ${BASE_USER}") < dockerfile.index("RUN python3 -m venv")


def test_base_image_is_configurable(tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "nb.ipynb", [("payload = 1", None), ("payload * 2", "predict")])
    bundle = convert(notebook, tmp_path / "out", base_image="python:3.11-slim")
    assert "ARG BASE_IMAGE=python:3.11-slim" in (bundle.path / "Dockerfile").read_text()
    assert "ARG BASE_USER=root" in (bundle.path / "Dockerfile").read_text()  # `cellserve build` asks the image
    assert json.loads((bundle.path / "expected_response.json").read_text()) == 2


def test_a_failing_cell_is_named_and_the_old_bundle_survives(tmp_path: Path) -> None:
    good = make_notebook(tmp_path / "nb.ipynb", [("payload = {'a': 1}", None), ("payload['a'] + 1", "predict")])
    out = convert(good, tmp_path / "out").path
    before = (out / "app.py").read_text()
    make_notebook(tmp_path / "nb.ipynb", [("payload = {'a': 1}", None), ("x = 1 / 0", None), ("payload", "predict")])
    with pytest.raises(CaptureError, match=r"cell 2: running the notebook failed with ZeroDivisionError"):
        convert(good, out)
    assert (out / "app.py").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out-")] == []


def test_unpicklable_value_is_named(tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "nb.ipynb",
        [("import threading\nlock = threading.Lock()\npayload = 1", None), ("lock.locked() or payload", "predict")],
    )
    with pytest.raises(CaptureError, match=r"'lock' \(a _thread.lock\) cannot be serialized"):
        convert(notebook, tmp_path / "out")


def test_capture_code_runs_in_a_live_namespace_and_names_missing_values(tmp_path: Path) -> None:
    """The code the JupyterLab extension runs in a live kernel: a value never computed is named."""
    notebook = make_notebook(
        tmp_path / "nb.ipynb", [("payload = 1\nif False:\n    offset = 3", None), ("payload + offset", "predict")]
    )
    plan = analyse(read_notebook(notebook))
    out = tmp_path / "capture"
    namespace: dict[str, object] = {"payload": 1, "Out": {7: 8}}
    exec(capture_code(plan, out, 7), namespace)
    assert set(namespace) == {"payload", "Out", "__builtins__"}
    with pytest.raises(
        CaptureError, match=r"'offset' has no value in the kernel: run cell 1 \(which defines it\)"
    ) as caught:
        read_report(plan, out)
    assert caught.value.cell == 1  # the panel links to it
    namespace["offset"] = 3
    exec(capture_code(plan, out, 7), namespace)
    assert read_report(plan, out).has_expected
    assert json.loads((out / "expected_response.json").read_text()) == 8


def test_output_that_is_not_json_is_named(tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "nb.ipynb", [("payload = 1", None), ("object()", "predict")])
    with pytest.raises(CaptureError, match="the last predict cell's output is not JSON"):
        convert(notebook, tmp_path / "out")


def test_refuses_to_overwrite_a_directory_that_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    notebook = make_notebook(tmp_path / "nb.ipynb", [("payload = 1", None), ("payload", "predict")])
    with pytest.raises(BundleError, match="not a cellserve bundle"):
        convert(notebook, tmp_path / "out")
    assert (tmp_path / "out" / "thesis.tex").read_text() == "precious"


def test_local_modules_travel_with_the_bundle(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def double(v):\n    return 2 * v\n")
    notebook = make_notebook(
        tmp_path / "nb.ipynb", [("from helpers import double\npayload = 4", None), ("double(payload)", "predict")]
    )
    bundle = convert(notebook, tmp_path / "out").path
    assert (bundle / "helpers.py").read_text().startswith("def double")
    assert "from helpers import double" in (bundle / "app.py").read_text()


def test_a_cell_that_kills_the_kernel_is_named(tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "nb.ipynb",
        [
            ("payload = 1", None),
            ("import os, sys\nprint('going', file=sys.stderr)\nos._exit(3)", None),
            ("payload", "predict"),
        ],
    )
    with pytest.raises(CaptureError, match="cell 2: the kernel died while running it"):
        convert(notebook, tmp_path / "out")


def test_a_cell_over_the_time_limit_is_named(tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "nb.ipynb",
        [("import time\npayload = 1", None), ("time.sleep(30)", None), ("payload", "predict")],
        settings={"execution_timeout": 2},
    )
    with pytest.raises(CaptureError, match=r"cell 2: the cell ran longer than execution_timeout \(2 s\)"):
        convert(notebook, tmp_path / "out")


def test_capture_from_inside_the_kernel_needs_the_predict_cells_output(tmp_path: Path) -> None:
    """The ipywidgets panel's capture: values from its own namespace, and the output the notebook showed."""
    notebook = nbformat.read(
        make_notebook(tmp_path / "nb.ipynb", [("payload = 2", None), ("payload * 10", "predict")]), as_version=4
    )
    notebook.cells[1].execution_count = 4  # as saved after running it in the kernel
    nbformat.write(notebook, tmp_path / "nb.ipynb")
    plan = analyse(read_notebook(tmp_path / "nb.ipynb"))
    with pytest.raises(CaptureError, match="no output of the last predict cell") as caught:
        capture_in_namespace({"payload": 2, "Out": {}})(plan, tmp_path / "first")
    assert caught.value.cell == 2
    captured = capture_in_namespace({"payload": 2, "Out": {4: 20}})(plan, tmp_path / "second")
    assert captured.has_expected
    assert json.loads((tmp_path / "second" / "expected_response.json").read_text()) == 20


def _batched_capture(tmp_path: Path, namespace: dict[str, object]) -> Path:
    """Run the capture code of a batched notebook in ``namespace`` (as in a live kernel); its folder."""
    cells: list[tuple[str, str | None]] = [
        ("payload = {'x': 3}", None),
        ("doubled = payload['x'] * 2", "preprocessing"),
        ("doubled = [doubled]", None),
        ("[{'doubled': d} for d in doubled]", "predict"),
    ]
    notebook = make_notebook(tmp_path / "nb.ipynb", cells, {"batch": {"max_size": 4}})
    out = tmp_path / "capture"
    exec(capture_code(analyse(read_notebook(notebook)), out, 7), namespace)
    return out


def test_a_batched_notebook_must_hand_predict_lists_and_answer_one_item_each(tmp_path: Path) -> None:
    # The notebook forgot to make its example a batch: 'doubled' is an int when predict runs.
    out = _batched_capture(tmp_path, {"payload": {"x": 3}, "doubled": 6, "Out": {7: [{"doubled": 6}]}})
    plan = analyse(read_notebook(tmp_path / "nb.ipynb"))
    handed = r"cell 4: with batching on, the predict cells are handed a list of 'doubled' \(one item per request\)"
    with pytest.raises(CaptureError, match=handed + r", but in the notebook 'doubled' is a int") as caught:
        read_report(plan, out)
    assert caught.value.cell == 4
    # A list handed, but one answer for a batch of two.
    out = _batched_capture(tmp_path, {"payload": {"x": 3}, "doubled": [6, 8], "Out": {7: [{"doubled": 6}]}})
    answers = r"cell 4: with batching on, the last predict cell answers a list with one item per request: 2 here"
    with pytest.raises(CaptureError, match=answers + ", but it shows 1 items") as caught:
        read_report(plan, out)
    assert caught.value.cell == 4
    # Right: the expected answer of the example request is the first item of the notebook's batch.
    out = _batched_capture(tmp_path, {"payload": {"x": 3}, "doubled": [6], "Out": {7: [{"doubled": 6}]}})
    assert read_report(plan, out).has_expected
    assert json.loads((out / "expected_response.json").read_text()) == {"doubled": 6}


def test_the_batched_example_expects_the_first_answer_of_the_batch_the_notebook_showed(tmp_path: Path) -> None:
    notebook = nbformat.read(EXAMPLES / "digits-batched.ipynb", as_version=4)
    shown = notebook.cells[-1].outputs[0]["data"]["text/plain"]
    bundle = convert(EXAMPLES / "digits-batched.ipynb", tmp_path / "bundle").path
    expected = json.loads((bundle / "expected_response.json").read_text())
    assert shown.startswith("[{'digit': ")  # a batch of one, as saved
    assert shown.count("'digit'") == 1
    assert f"'digit': {expected['digit']}," in shown
    assert "batch=cellserve.bundle.support.Batch(max_size=32, wait_ms=5.0)" in (bundle / "app.py").read_text()
