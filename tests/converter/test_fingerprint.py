"""The fingerprint of a headless publish's inputs: what changes it and what does not."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cellserve.converter import inputs_fingerprint
from tests.notebooks import make_notebook


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    return make_notebook(
        tmp_path / "nb.ipynb",
        [("import csv\nrows = list(csv.reader(open('table.csv')))\npayload = {'x': 1}", None), ("payload", "predict")],
    )


def fingerprint(path: Path, files: tuple[str, ...] = ("table.csv",), packages: tuple[str, ...] = ("pytest",)) -> str:
    return inputs_fingerprint(path, name="nb", files=files, packages=packages)


def edit(path: Path, change: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    if change == "ran again":  # what running the notebook in JupyterLab changes
        for count, cell in enumerate(notebook.cells, start=7):
            cell.execution_count = count
            cell.metadata["execution"] = {"iopub.status.busy": f"2026-01-0{count % 9 + 1}"}
    elif change == "code":
        notebook.cells[0].source += "\nrows.append(['3', '4'])"
    elif change == "tags":
        notebook.cells[0].metadata["tags"] = ["cellserve:setup"]
    elif change == "settings":
        notebook.metadata["cellserve"] = {"predict": {"num_cpus": 1}}
    nbformat.write(notebook, path)


def test_running_the_notebook_again_keeps_the_fingerprint(notebook: Path) -> None:
    before = fingerprint(notebook)
    edit(notebook, "ran again")
    assert fingerprint(notebook) == before


@pytest.mark.parametrize("change", ["code", "tags", "settings"])
def test_an_edit_changes_the_fingerprint(notebook: Path, change: str) -> None:
    before = fingerprint(notebook)
    edit(notebook, change)
    assert fingerprint(notebook) != before


def test_a_file_the_notebook_reads_is_part_of_it(notebook: Path) -> None:
    before = fingerprint(notebook)
    assert fingerprint(notebook, files=()) != before
    (notebook.parent / "table.csv").write_text("a,b\n1,3\n")
    changed = fingerprint(notebook)
    assert changed != before
    (notebook.parent / "table.csv").unlink()
    assert fingerprint(notebook) not in (before, changed)


def test_packages_count_with_their_installed_version(notebook: Path) -> None:
    assert fingerprint(notebook, packages=("pytest",)) != fingerprint(notebook, packages=("no-such-distribution",))
    assert fingerprint(notebook, packages=("pytest", "pytest")) == fingerprint(notebook, packages=("pytest",))


def test_the_service_name_is_part_of_it(notebook: Path) -> None:
    assert inputs_fingerprint(notebook, name="a", files=(), packages=()) != inputs_fingerprint(
        notebook, name="b", files=(), packages=()
    )
