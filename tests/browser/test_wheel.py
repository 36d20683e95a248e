"""Installing as a user does: the wheel, into a bare virtualenv (no clone, no node, no make), gives the
cellserve command, the server extension and the JupyterLab sidebar, seen in real Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.lab import running_lab

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(*command: str | Path, timeout: float = 900) -> str:
    """Run a command; its output, both streams, without terminal colours."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv (the interpreter's own, not the test environment's) with the wheel installed."""
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, ROOT)
    [wheel] = dist.glob("cellserve-*.whl")
    venv = tmp_path_factory.mktemp("user-venv")
    base = Path(sys.base_prefix) / "bin" / "python3"
    run(base, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel)
    return venv / "bin"


def test_the_wheel_carries_the_sidebar_and_the_server_extension(installed: Path) -> None:
    labextensions = run(installed / "jupyter", "labextension", "list")
    assert "cellserve-jupyterlab v0.1.0" in labextensions
    line = next(line for line in labextensions.splitlines() if "cellserve-jupyterlab" in line)
    assert "enabled" in line
    assert "OK" in line
    assert "(python, cellserve)" in line
    server = run(installed / "jupyter", "server", "extension", "list")
    assert "cellserve.jupyter enabled" in server
    assert "cellserve.jupyter  OK" in server
    assert "0.1.0" in run(installed / "cellserve", "--version")


def test_jupyterlab_from_the_wheel_shows_the_sidebar(
    installed: Path, context: BrowserContext, tmp_path: Path, artifacts: Path
) -> None:
    (tmp_path / "digits.ipynb").write_bytes((EXAMPLES / "digits.ipynb").read_bytes())
    with running_lab(installed / "jupyter", tmp_path, "lab/tree/digits.ipynb") as url:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        if not page.is_visible(".cellserve-panel"):
            page.click("[data-id='cellserve-sidebar']")
        page.wait_for_selector(".cellserve-panel", timeout=30_000)
        # The sidebar shows before it has attached to the notebook; the button comes with the notebook.
        page.get_by_role("button", name="Publish endpoint").wait_for(state="visible", timeout=60_000)
        page.screenshot(path=artifacts / "jupyterlab-from-wheel.png")
