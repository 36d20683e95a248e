"""The generated app.py: readable, the cells one for one, valid Python."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from cellserve.bundle import cell_of
from cellserve.converter import analyse, read_notebook
from cellserve.converter._generate import render_app
from tests.notebooks import make_notebook


def app_source(tmp_path: Path, cells: list[tuple[str, str | None]]) -> str:
    return render_app(analyse(read_notebook(make_notebook(tmp_path / "nb.ipynb", cells))))


def test_cells_appear_one_for_one(tmp_path: Path) -> None:
    source = app_source(
        tmp_path,
        [
            ("import json\nLIMIT = 3", None),
            ("# clean the input\nimport re\nwords = re.findall(r'\\w+', payload['text'])", "preprocessing"),
            ("top = words[:LIMIT]\n{'words': top, 'n': len(words)}", "predict"),
        ],
    )
    ast.parse(source)
    assert "import re\n" in source
    assert "    # import re  (moved to the imports above)" in source
    assert "    # clean the input" in source
    assert "def stage_preprocessing(payload):" in source
    assert '    return {"words": words}  # what predict reads' in source
    assert "def stage_predict(words):" in source
    assert "    return ({'words': top, 'n': len(words)})" in source
    assert "# ── cell 2 · preprocessing ──" in source


def test_multiline_strings_keep_their_text(tmp_path: Path) -> None:
    source = app_source(tmp_path, [('text = """first\nsecond"""\ntext + payload', "predict")])
    tree = ast.parse(source)
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value == "first\nsecond"]
    assert strings == ["first\nsecond"]


def test_semicolon_and_multiline_output_expression(tmp_path: Path) -> None:
    source = app_source(tmp_path, [("x = 1; dict(\n    a=x,\n    b=payload,\n)", "predict")])
    ast.parse(source)
    assert "x = 1; return (dict(" in source


def test_errors_map_back_to_cells(tmp_path: Path) -> None:
    source = app_source(
        tmp_path,
        [("def helper(v):\n    check = 1\n    return 1 / v", None), ("y = payload\nz = helper(y)\nz", "predict")],
    )
    lines = source.splitlines()
    division = next(i for i, line in enumerate(lines, 1) if "return 1 / v" in line)
    call = next(i for i, line in enumerate(lines, 1) if "z = helper(y)" in line)
    assert cell_of(source, division) == {"cell": 1, "line": 3}
    assert cell_of(source, call) == {"cell": 2, "line": 2}


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def undefined_names(source: str, tmp_path: Path) -> str:
    """What a linter reading app.py on its own reports as undefined ("" when nothing)."""
    path = tmp_path / "app.py"
    path.write_text(source)
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F821,F822,F823", str(path)],
        capture_output=True,
        text=True,
    )
    return "" if lint.returncode == 0 else lint.stdout


@pytest.mark.parametrize("example", ["digits", "digits-batched", "wine", "sentences"])
def test_each_example_reads_as_a_ray_serve_app_with_no_undefined_name(example: str, tmp_path: Path) -> None:
    source = render_app(analyse(read_notebook(EXAMPLES / f"{example}.ipynb")))
    assert undefined_names(source, tmp_path) == ""
    tree = ast.parse(source)
    assigned = {
        t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets if hasattr(t, "id")
    }
    assert {"service_spec", "preprocessing_stage", "predict_stage", "app"} <= assigned
    assert "cellserve.bundle.support.Preprocessing.options(" in source  # the ingress deployment, bound into app
    assert ".bind(" in source
    assert "\nimport cellserve.bundle.support\n" in source  # by the name it has outside a bundle too
    assert "import cellserve.bundle.support as" not in source


def test_the_layout_written_is_the_one_the_settings_ask(tmp_path: Path) -> None:
    cells: list[tuple[str, str | None]] = [("n = payload + 1", "preprocessing"), ("n * 2", "predict")]
    one = render_app(analyse(read_notebook(make_notebook(tmp_path / "a.ipynb", cells, {"stages": "one"}))))
    separate = render_app(analyse(read_notebook(make_notebook(tmp_path / "b.ipynb", cells, {"stages": "separate"}))))
    assert "Preprocessing.options(name='service', **predict_options)" in one
    assert "Predict.options" not in one
    assert (
        "predict_deployment = cellserve.bundle.support.Predict.options(**predict_options).bind(predict_stage)"
        in separate
    )
    assert "name='service'" not in separate
    assert "if one_deployment:" not in one + separate  # the choice at start is only for an 'if-available' GPU


def test_captured_values_are_named_in_app_py(tmp_path: Path) -> None:
    source = app_source(tmp_path, [("model = {'k': 2}", None), ("model['k'] * payload", "predict")])
    assert "#   predict: model\n" in source
    assert "\nmodel = None\n" in source
    assert undefined_names(source, tmp_path) == ""
