"""Capture from a running kernel that does not share cellserve's file system (a remote kernel, a gateway's):
the capture comes back through the kernel's own messages."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from cellserve.converter import analyse, capture_in_kernel, read_notebook
from tests.notebooks import make_notebook

pytestmark = pytest.mark.kernel


def can_hide_folders() -> bool:
    """Whether this machine lets a process have a mount namespace of its own (root, with unshare)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture
def hidden(tmp_path: Path) -> Path:
    """A folder of this side that the kernel below sees as an empty folder of its own."""
    folder = tmp_path / "server-side"
    folder.mkdir()
    return folder


@pytest.fixture
def kernel(tmp_path: Path, hidden: Path) -> Iterator[dict[str, Any]]:
    """An IPython kernel in a mount namespace where ``hidden`` is a private, empty tmpfs."""
    if not can_hide_folders():
        pytest.skip("needs `unshare --mount` (root on Linux) to give the kernel a file system view of its own")
    connection_file, info = write_connection_file(str(tmp_path / "kernel.json"))
    script = f"mount -t tmpfs none {hidden} && exec {sys.executable} -m ipykernel_launcher -f {connection_file}"
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script])
    try:
        yield dict(info)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def execute(connection: dict[str, Any], code: str, expressions: dict[str, str] | None = None) -> dict[str, Any]:
    client = BlockingKernelClient()
    client.load_connection_info(connection)
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            code, timeout=60, user_expressions=expressions or {}, output_hook=lambda _message: None
        )
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", reply["content"]
    return dict(reply["content"])


def test_a_kernel_with_its_own_file_system_sends_the_capture_back(
    kernel: dict[str, Any], hidden: Path, tmp_path: Path
) -> None:
    path = make_notebook(
        tmp_path / "calc.ipynb",
        [
            ("FACTOR = 7\npayload = {'x': [1, 2, 3]}", None),
            ("total = sum(payload['x'])", "preprocessing"),
            ("{'total': total * FACTOR, 'factor': FACTOR}", "predict"),
        ],
    )
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        count = execute(kernel, cell.source)["execution_count"]
        cell.execution_count = count  # as JupyterLab saves it after running the cell
    nbformat.write(notebook, path)
    out = hidden / "bundle"  # a folder of this side, which the kernel cannot see

    captured = capture_in_kernel(kernel)(analyse(read_notebook(path)), out)

    assert captured.has_expected
    assert json.loads((out / "example_request.json").read_text()) == {"x": [1, 2, 3]}
    assert json.loads((out / "expected_response.json").read_text()) == {"total": 42, "factor": 7}  # 6 × 7
    assert pickle.loads((out / "captured" / "predict.pkl").read_bytes()) == {"FACTOR": 7}
    # The kernel saw none of it: on its side the folder is empty, and nothing of the capture stays behind.
    seen = execute(
        kernel,
        "",
        {
            "listed": f"sorted(__import__('os').listdir({str(hidden)!r}))",
            "left": "[name for name in globals() if name.startswith('__cellserve')]",
        },
    )["user_expressions"]
    assert seen["listed"]["data"]["text/plain"] == "[]"
    assert seen["left"]["data"]["text/plain"] == "[]"
