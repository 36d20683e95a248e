"""Hostile and broken notebooks: a clear error that says what and where (the cell as JupyterLab numbers it),
never a traceback. No kernel: reading and analysing stop them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cellserve.converter import analyse, read_notebook
from cellserve.exceptions import AnalysisError, CellserveError, NotebookError, SettingsError

BASE: dict[str, Any] = {
    "cells": [
        {"cell_type": "code", "id": "a1", "metadata": {}, "source": "payload = {'x': 1}", "outputs": [],
         "execution_count": None},
        {"cell_type": "code", "id": "b2", "metadata": {"tags": ["cellserve:predict"]}, "source": "payload",
         "outputs": [], "execution_count": None},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip


def variant(change: str) -> Any:
    notebook = copy.deepcopy(BASE)
    predict = notebook["cells"][1]
    if change == "tags a string":
        predict["metadata"]["tags"] = "cellserve:predict"
    elif change == "tags of numbers":
        predict["metadata"]["tags"] = [1, None]
    elif change == "cell metadata a string":
        predict["metadata"] = "oops"
    elif change == "cells an object":
        notebook["cells"] = {"0": predict}
    elif change == "a cell a string":
        notebook["cells"][0] = "payload = 1"
    elif change == "notebook metadata a list":
        notebook["metadata"] = ["x"]
    elif change == "source a number":
        predict["source"] = 42
    elif change == "settings a list":
        notebook["metadata"]["cellserve"] = ["predict"]
    elif change == "a name the generated code uses":
        notebook["cells"][0]["source"] = "app = 3\npayload = {'x': 1}"
        predict["source"] = "{'y': app * payload['x']}"
    elif change == "a cell that is not Python":
        predict["source"] = "def broken(:\n    pass"
    return notebook


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        (
            "tags a string",
            NotebookError,
            "invalid notebook at cell 2, metadata/tags: 'cellserve:predict' is not of type",
        ),
        ("tags of numbers", NotebookError, "invalid notebook at cell 2, metadata/tags/0: 1 is not of type 'string'"),
        ("cell metadata a string", NotebookError, "invalid notebook at cell 2: its metadata is a str, not an object"),
        ("cells an object", NotebookError, "invalid notebook: 'cells' is a dict, not a list"),
        ("a cell a string", NotebookError, "invalid notebook at cell 1: it is a str, not an object"),
        ("notebook metadata a list", NotebookError, "invalid notebook: its metadata is a list, not an object"),
        ("source a number", NotebookError, "invalid notebook at cell 2, source:"),
        ("settings a list", SettingsError, "notebook metadata 'cellserve' must be an object, got list"),
        (
            "a name the generated code uses",
            AnalysisError,
            "cell 1: the service needs the name 'app', which the generated",
        ),
        ("a cell that is not Python", AnalysisError, "cell 2 (predict), line 1: syntax error"),
    ],
)
def test_a_broken_notebook_is_named_with_its_cell(
    tmp_path: Path, change: str, error: type[CellserveError], says: str
) -> None:
    path = tmp_path / "hostile.ipynb"
    path.write_text(json.dumps(variant(change)))
    with pytest.raises(error) as caught:
        analyse(read_notebook(path))
    assert str(caught.value).startswith(f"{path}")
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"cells": [\xff\xfe]}', "not a notebook: the file is not UTF-8 text"),
        (b'{"cells": [', "not a notebook: invalid JSON at line 1, column 12"),
        (b"[1, 2]", "not a notebook: the JSON has no 'nbformat' field"),
        (b'{"nbformat": 3, "worksheets": []}', "nbformat 3 is too old"),
    ],
)
def test_a_file_that_is_not_a_notebook_says_why(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotebookError, match=says):
        read_notebook(path)


def test_a_huge_cell_is_read_and_analysed(tmp_path: Path) -> None:
    notebook = copy.deepcopy(BASE)
    notebook["cells"][0]["source"] = "x = 1\n" * 200_000 + "payload = {'x': x}"
    path = tmp_path / "huge.ipynb"
    path.write_text(json.dumps(notebook))
    plan = analyse(read_notebook(path))
    assert [parsed.cell.number for parsed in plan.predict.cells] == [2]
