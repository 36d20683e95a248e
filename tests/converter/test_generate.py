"""The generated app.py: readable, the cells one for one, valid Python."""

from __future__ import annotations

import ast
from pathlib import Path

from cellserve.converter import analyse, read_notebook
from cellserve.converter._generate import render_app
from cellserve.converter.bundle_files.cellserve_values import cell_of
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
