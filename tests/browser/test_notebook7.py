"""The ipywidgets panel rendered in Jupyter Notebook 7, in real Chromium: run the notebook, publish from the
panel's button, and call the endpoint it links to."""

from __future__ import annotations

import ast
import contextlib
import sys
import time
from pathlib import Path

import httpx
import nbformat
import pytest
from playwright.sync_api import BrowserContext
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from cellserve.exceptions import ServiceNotFoundError
from cellserve.runtime import delete
from tests.browser.lab import running_lab, wait_for_kernel
from tests.conftest import Cluster
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel, pytest.mark.browser]
NAME = "panel-calc"


def test_the_panel_publishes_from_notebook_7(
    context: BrowserContext, cluster: Cluster, home: Path, tmp_path: Path, artifacts: Path
) -> None:
    notebook = calc_notebook(tmp_path / "calc.ipynb", 7, settings={"name": NAME})
    written = nbformat.read(notebook, as_version=4)
    # The panel finds its notebook from the front end (the kernel's session); the cluster is the tests' own.
    written.cells.append(
        nbformat.v4.new_code_cell(f"from cellserve import panel\npanel(address={cluster.dashboard!r})")
    )
    nbformat.write(written, notebook)
    cells = len(written.cells)

    jupyter = Path(sys.executable).parent / "jupyter"
    with running_lab(jupyter, tmp_path, "notebooks/calc.ipynb", app="notebook") as url:
        page = context.new_page()
        page.set_viewport_size({"width": 1200, "height": 1000})
        try:
            page.goto(url)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            wait_for_kernel(page, url, ".jp-Notebook-ExecutionIndicator[data-status='idle']")
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")  # Notebook 7's Run menu
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            button = page.locator(".jupyter-widgets button", has_text="Publish endpoint")
            try:
                button.wait_for(timeout=120_000)  # the panel rendered: the widget manager drew it
            except PlaywrightTimeoutError:
                page.screenshot(path=artifacts / "notebook7-no-panel.png")
                shown = page.locator(".jp-Notebook").inner_text()
                pytest.fail(f"The panel did not render; the notebook shows:\n{shown}")
            panel = page.locator(".jp-Notebook .jp-Cell").nth(cells - 1)
            assert "cellserve · calc.ipynb" in panel.inner_text()
            assert "preprocessing: cell 3" in panel.inner_text().replace("\n", " ")

            # The notebook's own answer is the output saved under its last predict cell: save, as a user does.
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 60
            while not nbformat.read(notebook, as_version=4).cells[cells - 2].get("outputs"):
                assert time.monotonic() < deadline, "Notebook 7 did not save the notebook"
                time.sleep(0.5)
            button.click()
            link = panel.locator(f"a[href$='/{NAME}/predict']")
            try:
                link.wait_for(timeout=300_000)
            except PlaywrightTimeoutError:
                pytest.fail(f"The panel shows no endpoint; it shows:\n{panel.inner_text()}")
            shown = panel.inner_text()
            for step in ("analyse", "capture", "deploy", "smoke-test", "promote"):
                assert step in shown
            panel.screenshot(path=artifacts / "notebook7-panel.png")

            # What the notebook itself showed under its predict cell, and what the endpoint answers.
            predict = page.locator(".jp-Notebook .jp-Cell").nth(cells - 2).locator(".jp-OutputArea-output")
            in_notebook = ast.literal_eval(predict.inner_text().strip())
            endpoint = link.get_attribute("href") or ""
            answer = httpx.post(endpoint, json={"x": [1, 2, 3]}, timeout=60)
            assert answer.status_code == 200, answer.text
            assert answer.json() == in_notebook == {"total": 42, "factor": 7}
        finally:
            page.close()
            with contextlib.suppress(ServiceNotFoundError):  # a publish that never began left nothing
                delete(NAME)
