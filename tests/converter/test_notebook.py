"""Reading notebooks: anything that is not a valid nbformat-4 notebook is named as such."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cellserve.converter import Role, read_notebook
from cellserve.exceptions import AnalysisError, NotebookError
from tests.notebooks import make_notebook

FIXTURES = Path(__file__).parent / "notebooks"


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("not_json.ipynb", "invalid JSON at line 1"),
        ("v3.ipynb", "nbformat 3 is too old"),
        ("no_nbformat.ipynb", "no 'nbformat' field"),
        ("bad_cell.ipynb", "invalid notebook at cell 1"),
    ],
)
def test_broken_notebooks_are_named(file: str, message: str) -> None:
    with pytest.raises(NotebookError) as caught:
        read_notebook(FIXTURES / file)
    assert file in str(caught.value)
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="no such notebook file"):
        read_notebook(tmp_path / "absent.ipynb")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.ipynb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(NotebookError, match="not UTF-8"):
        read_notebook(path)


def test_roles_come_from_tags(tmp_path: Path) -> None:
    path = make_notebook(
        tmp_path / "nb.ipynb",
        [("a = 1", None), ("b = 2", "setup"), ("c = payload", "preprocessing"), ("c", "predict")],
        markdown="# My model\n\nText.",
    )
    notebook = read_notebook(path)
    assert [c.role for c in notebook.cells] == [None, Role.SETUP, Role.PREPROCESSING, Role.PREDICT]
    assert [c.number for c in notebook.cells] == [2, 3, 4, 5]
    assert notebook.title == "My model"
    assert notebook.service_name == "nb"


def test_no_predict_cell(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "nb.ipynb", [("x = 1", "preprocessing")])
    with pytest.raises(AnalysisError, match="no cell is tagged 'cellserve:predict'"):
        read_notebook(path)


def test_unknown_tag_is_named(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "nb.ipynb", [("x = 1", "postprocess"), ("x", "predict")])
    with pytest.raises(AnalysisError, match="cell 1: unknown tag 'cellserve:postprocess'"):
        read_notebook(path)


def test_two_roles_on_one_cell(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "nb.ipynb", [("x = 1", "predict")])
    raw = json.loads(path.read_text())
    raw["cells"][0]["metadata"]["tags"] = ["cellserve:predict", "cellserve:setup"]
    path.write_text(json.dumps(raw))
    with pytest.raises(AnalysisError, match="tagged both"):
        read_notebook(path)


def test_other_tags_are_ignored(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "nb.ipynb", [("x = 1\nx", "predict")])
    raw = json.loads(path.read_text())
    raw["cells"][0]["metadata"]["tags"].append("hide-input")
    path.write_text(json.dumps(raw))
    assert read_notebook(path).cells[0].role is Role.PREDICT


def test_service_name_from_file_name(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "My Model (v2).ipynb", [("1", "predict")])
    assert read_notebook(path).service_name == "my-model-v2"
