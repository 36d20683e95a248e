"""What a headless run records besides values (real Jupyter kernel): the files the cells open, and captures
that are the same bytes when the notebook is the same."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager

from cellserve.converter import FileUse, capture_in_kernel, convert
from cellserve.exceptions import AnalysisError
from tests.notebooks import make_notebook

pytestmark = pytest.mark.kernel

FILES_NOTEBOOK = [
    # 1: reads a table through a computed path, in a subfolder; a file outside the folder is not recorded
    (
        "import json, os\n"
        "folder = 'da' + 'ta'\n"
        "rows = open(os.path.join(folder, 'table.csv')).read().split()\n"
        "host = open('/etc/hostname').read()\n"
        "payload = {'row': 0}",
        None,
    ),
    # 2: writes the model file that the setup cell loads
    ("json.dump({'scale': len(rows)}, open('model.json', 'w'))", None),
    ("model = json.load(open('model.json'))", "setup"),
    ("{'value': rows[payload['row']], 'scale': model['scale']}", "predict"),
]


def test_the_files_cells_open_are_recorded_with_their_cells(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table.csv").write_text("a\nb\nc\n")
    notebook = make_notebook(tmp_path / "files.ipynb", FILES_NOTEBOOK)
    bundle = convert(notebook, tmp_path / "bundle")
    assert bundle.files == (
        FileUse("/etc/hostname", read_by=(1,), lines=((1, 4),)),
        FileUse("data/table.csv", read_by=(1,), lines=((1, 3),)),
        FileUse("model.json", read_by=(3,), written_by=(2,), lines=((3, 1),)),
    )
    assert [use.path for use in bundle.files if use.is_input] == ["/etc/hostname", "data/table.csv"]
    # Only what a tagged cell reads travels with the service: the model file the setup cell loads.
    assert [(f.path, f.cells) for f in bundle.shipped] == [("model.json", (3,))]
    assert json.loads((bundle.path / "files" / "model.json").read_text()) == {"scale": 3}
    assert not (bundle.path / "files" / "data").exists()
    assert "| `model.json` | 12 bytes | 3 |" in (bundle.path / "README.md").read_text()


def test_a_tagged_cell_reading_a_file_outside_the_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    outside = tmp_path / "elsewhere" / "weights.txt"
    outside.write_text("3")
    (tmp_path / "project").mkdir()
    cells = [
        ("import os\npayload = {}", None),
        (f"name = os.path.join({str(outside.parent)!r}, 'weights' + '.txt')\nw = int(open(name).read())", "setup"),
        ("open('/etc/hostname').read()  # a system file: not the notebook's\n{'w': w}", "predict"),
    ]
    notebook = make_notebook(tmp_path / "project" / "outside.ipynb", cells)
    with pytest.raises(AnalysisError) as caught:
        convert(notebook, tmp_path / "bundle")
    message = str(caught.value)
    assert f"cell 2, line 2: the cell reads {outside}, which is outside the notebook's folder" in message
    assert "files.exclude" in message
    assert (caught.value.cell, caught.value.line) == (2, 2)

    # Where every node has the file at that path, the settings say so and the service reads it there.
    excluded = make_notebook(
        tmp_path / "project" / "excluded.ipynb", cells, settings={"files": {"exclude": [str(outside)]}}
    )
    assert convert(excluded, tmp_path / "bundle").shipped == ()


def test_files_over_the_size_limit_are_named_with_their_cell(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"w" * 4096)
    notebook = make_notebook(
        tmp_path / "big.ipynb",
        [("payload = {}", None), ("size = len(open('weights.bin', 'rb').read())", "setup"), ("size", "predict")],
        settings={"files": {"max_total_mb": 0.001}},
    )
    with pytest.raises(AnalysisError) as caught:
        convert(notebook, tmp_path / "bundle")
    assert "cell 2, line 1: the files the service needs weigh 0.0 MiB, over files.max_total_mb (0.001 MiB)" in str(
        caught.value
    )
    assert "the largest is weights.bin" in str(caught.value)


CLASS_NOTEBOOK = [
    (
        "class Scaler:\n"
        "    def __init__(self, factor):\n"
        "        self.factor = factor\n"
        "    def apply(self, values):\n"
        "        return [v * self.factor for v in values]\n"
        "scaler = Scaler(3)\n"
        "payload = {'x': [1, 2]}",
        None,
    ),
    ("{'y': scaler.apply(payload['x'])}", "predict"),
]


def test_a_class_of_the_notebook_captures_to_the_same_bytes_in_every_run(tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "scaled.ipynb", CLASS_NOTEBOOK)
    first = convert(notebook, tmp_path / "first").path / "captured" / "predict.pkl"
    second = convert(notebook, tmp_path / "second").path / "captured" / "predict.pkl"
    assert b"Scaler" in first.read_bytes()  # pickled by value, with the id cloudpickle tracks it by
    assert first.read_bytes() == second.read_bytes()


SETUP_FILE_NOTEBOOK = [
    ("import json\npayload = {'x': 2}\njson.dump({'w': 7}, open('model.json', 'w'))", None),
    ("model = json.load(open('model.json'))", "setup"),
    ("lookup = open('data/names.txt').read().split()", "preprocessing"),
    ("{'y': model['w'] * payload['x'], 'name': lookup[0]}", "predict"),
]


def run_in_kernel(notebook: Path) -> KernelManager:
    """A kernel in the notebook's folder that ran the notebook's cells as a user would; the notebook file
    keeps the execution counts the kernel gave them."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(notebook.parent))
    client = manager.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        node = nbformat.read(notebook, as_version=4)
        for cell in node.cells:
            if cell.cell_type == "code":
                reply = client.execute_interactive(cell.source, timeout=60)
                assert reply["content"]["status"] == "ok"
                cell.execution_count = reply["content"]["execution_count"]
        nbformat.write(node, notebook)
    finally:
        client.stop_channels()
    return manager


def test_a_live_kernel_ships_the_same_files_as_a_headless_run(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "names.txt").write_text("ada grace")
    notebook = make_notebook(tmp_path / "live.ipynb", SETUP_FILE_NOTEBOOK)
    headless = convert(notebook, tmp_path / "headless")
    manager = run_in_kernel(notebook)
    try:
        live = convert(notebook, tmp_path / "live", capture=capture_in_kernel(manager.get_connection_info()))
    finally:
        manager.shutdown_kernel(now=True)
    assert live.files is None  # nobody watched the user's kernel: the cells' text names the files
    assert [(f.path, f.cells) for f in live.shipped] == [("data/names.txt", (3,)), ("model.json", (2,))]
    assert [(f.path, f.cells) for f in headless.shipped] == [(f.path, f.cells) for f in live.shipped]
    for bundle in (headless, live):
        assert (bundle.path / "files" / "data" / "names.txt").read_text() == "ada grace"
