"""The cellserve command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.notebooks import make_notebook

FIXTURES = Path(__file__).parent / "converter" / "notebooks"


def cellserve(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "cellserve"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_version() -> None:
    result = cellserve("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("cellserve ")


def test_help_lists_convert() -> None:
    result = cellserve("--help")
    assert result.returncode == 0
    assert "convert" in result.stdout


@pytest.mark.kernel
def test_convert_prints_the_bundle_path_last(tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "nb.ipynb", [("payload = [1, 2]", None), ("sum(payload)", "predict")])
    result = cellserve("convert", notebook, "-o", tmp_path / "bundle")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "bundle")
    assert "Bundle written" in result.stderr
    assert (tmp_path / "bundle" / "serve.yaml").is_file()


def test_a_broken_notebook_is_a_one_line_error_not_a_traceback(tmp_path: Path) -> None:
    # A long path, as a clone in a deep folder has: the error stays on one line, whatever the width.
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "not_json.ipynb"
    deep.parent.mkdir()
    deep.write_bytes((FIXTURES / "not_json.ipynb").read_bytes())
    result = cellserve("convert", deep, "-o", tmp_path / "bundle")
    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if "error:" in line]
    assert str(deep) in error
    assert "invalid JSON at line 1" in error
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bundle").exists()


def test_an_unresolved_name_names_the_cell(tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "nb.ipynb", [("payload = 1", None), ("payload + mystery", "predict")])
    result = cellserve("convert", notebook, "-o", tmp_path / "bundle")
    assert result.returncode == 1
    assert "cell 2 (predict), line 1: name 'mystery'" in " ".join(result.stderr.split())


def test_a_failed_publish_as_json_names_the_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELLSERVE_HOME", str(tmp_path / "home"))
    notebook = make_notebook(tmp_path / "nb.ipynb", [("payload = 1", None), ("payload + mystery", "predict")])
    result = cellserve("publish", notebook, "--json")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert (error["type"], error["step"]) == ("DeployError", "analyse")
    assert "name 'mystery'" in error["message"]
    shown = json.loads(cellserve("status", "nb", "--json").stdout)
    assert shown["last_error"]["step"] == "analyse"
    assert shown["versions"][-1]["failed_step"] == "analyse"


def test_settings_are_shown_changed_checked_and_removed(tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "nb.ipynb", [("payload = [1, 2]", None), ("sum(payload)", "predict")], {"predict": {"num_cpus": 1}}
    )
    shown = cellserve("settings", notebook)
    assert json.loads(shown.stdout) == {"predict": {"num_cpus": 1}}

    turned_on = cellserve("settings", notebook, "batch.max_size=16", "batch.wait_ms=2.5", "stages=separate")
    assert turned_on.returncode == 0, turned_on.stderr
    wanted = {"predict": {"num_cpus": 1}, "batch": {"max_size": 16, "wait_ms": 2.5}, "stages": "separate"}
    assert json.loads(turned_on.stdout) == wanted
    assert nbformat.read(notebook, as_version=4).metadata["cellserve"] == wanted

    refused = cellserve("settings", notebook, "batch.max_size=1")
    assert refused.returncode == 1
    assert "got 1 for batch.max_size" in refused.stderr
    assert nbformat.read(notebook, as_version=4).metadata["cellserve"] == wanted  # not written

    removed = cellserve("settings", notebook, "--unset", "batch", "--unset", "stages", "--unset", "predict.num_cpus")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout) == {}
    assert "cellserve" not in nbformat.read(notebook, as_version=4).metadata
