"""What a headless run records besides values (real Jupyter kernel): the files the cells open, and captures
that are the same bytes when the notebook is the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellserve.converter import FileUse, convert
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
        FileUse("data/table.csv", read_by=(1,)),
        FileUse("model.json", read_by=(3,), written_by=(2,)),
    )
    assert [use.path for use in bundle.files if use.is_input] == ["data/table.csv"]


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
