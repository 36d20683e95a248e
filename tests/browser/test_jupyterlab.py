"""The JupyterLab sidebar in real Chromium against a real JupyterLab: tag, run, publish, open the link."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from playwright.sync_api import BrowserContext, Page

from cellserve.runtime import _store as store
from cellserve.runtime import delete
from cellserve.runtime._smoke import difference
from tests.browser.lab import running_lab
from tests.conftest import Cluster
from tests.runtime.load import Load

pytestmark = [pytest.mark.ray, pytest.mark.kernel, pytest.mark.browser]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROLES = {8: "setup", 9: "preprocessing", 10: "predict"}  # digits.ipynb's cells, by number


def labextension_installed() -> bool:
    prefix = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "cellserve-jupyterlab" / "package.json"
    return prefix.is_file()


@pytest.fixture(scope="module")
def lab(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab with cellserve on a folder holding digits.ipynb with its cellserve tags removed."""
    if not labextension_installed():
        pytest.fail("The cellserve JupyterLab extension is not installed: run the tests with `make test`.")
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.read(EXAMPLES / "digits.ipynb", as_version=4)
    for cell in notebook.cells:
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if not t.startswith("cellserve:")]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, root / "digits.ipynb")
    with running_lab(Path(sys.executable).parent / "jupyter", root, "lab/tree/digits.ipynb") as url:
        yield url


def select_cell(page: Page, number: int) -> None:
    """Click the cell's prompt area: the cell becomes active, in command mode."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(number - 1)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()


def test_tag_run_publish_and_open_the_link(
    lab: str, context: BrowserContext, cluster: Cluster, home: Path, artifacts: Path
) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(lab)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    if not page.is_visible(".cellserve-panel"):
        page.click("[title='cellserve'], [data-id='cellserve-sidebar']")
    page.wait_for_selector(".cellserve-panel", timeout=30_000)

    for number, role in ROLES.items():
        select_cell(page, number)
        page.click(f"[data-cellserve-action='tag-{role}']")
        page.wait_for_selector(f".cellserve-role-group[data-role='{role}'] .cellserve-cell-link[data-cell='{number}']")
    marked = page.locator(".jp-Notebook .jp-Cell").nth(9)
    assert "cellserve-role-predict" in (marked.get_attribute("class") or "")
    page.wait_for_selector(".cellserve-check-status.cellserve-mod-ok", timeout=30_000)

    address = page.locator("input[name='cluster_address']")
    address.fill(cluster.dashboard)
    # Publishing before running the notebook: the kernel has no model yet. The panel says at
    # which stage it failed and links to the cell that defines what is missing.
    page.click("[data-cellserve-action='publish']")
    error = page.wait_for_selector(".cellserve-publish-error", timeout=120_000)
    assert error is not None
    assert "capture" in error.inner_text().lower()
    assert "has no value in the kernel" in error.inner_text()
    link = page.locator(".cellserve-publish-error .cellserve-cell-link")
    missing_cell = int(link.get_attribute("data-cell") or 0)
    assert 1 <= missing_cell <= 10
    link.click()
    active = page.locator(".jp-Notebook .jp-Cell").nth(missing_cell - 1)
    assert "jp-mod-active" in (active.get_attribute("class") or "")

    page.click("text=Run >> nth=0")  # the menu bar's Run menu
    page.click("text=Run All Cells")
    last = page.locator(".jp-Notebook .jp-Cell").nth(9).locator(".jp-InputPrompt")
    page.wait_for_function("el => /\\[\\d+\\]/.test(el.textContent)", arg=last.element_handle(), timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)

    page.click("[data-cellserve-action='publish']")
    page.wait_for_selector(".cellserve-progress li[data-stage='deploy']", timeout=120_000)
    page.wait_for_selector("a.cellserve-endpoint", timeout=300_000)
    page.locator(".cellserve-panel").screenshot(path=artifacts / "jupyterlab-sidebar.png")
    page.screenshot(path=artifacts / "jupyterlab.png")
    assert page.locator(".cellserve-capture-note").get_attribute("data-live-kernel") == "true"

    endpoint = page.get_attribute("a.cellserve-endpoint", "href") or ""
    service_page = page.get_attribute("a.cellserve-page", "href") or ""
    live = store.load("digits").live
    assert live == 2  # version 1 is the failed attempt above
    bundle = store.bundle_dir("digits", live)
    example = json.loads((bundle / "example_request.json").read_text())
    expected = json.loads((bundle / "expected_response.json").read_text())
    answer = httpx.post(endpoint, json=example, timeout=60)
    assert answer.status_code == 200, answer.text
    assert difference(answer.json(), expected) is None

    # Live traffic: requests sent now show up in the sidebar, read from Ray Serve's own metrics.
    with Load(endpoint, example, concurrency=1, max_requests=20_000, max_seconds=200) as load:
        # Traffic, and the replica once Ray has reported it (both trail the requests by its report interval).
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll(\".cellserve-traffic-version[data-traffic='yes']\"))"
            ".some(row => row.textContent.includes('1 replica'))",
            timeout=120_000,
        )
        shown = page.inner_text(".cellserve-traffic-version[data-traffic='yes']")
        assert f"Version {live} (live)" in shown
        assert "req/s" in shown
        assert "p50" in shown
        assert "1 replica" in shown
        # A few windows later the sparkline has a line of them.
        page.wait_for_function(
            "() => (document.querySelector(\".cellserve-traffic-version[data-traffic='yes'] path\")"
            "?.getAttribute('d') || '').split('L').length >= 3",
            timeout=60_000,
        )
        page.locator(".cellserve-section[data-section='versions']").screenshot(
            path=artifacts / "jupyterlab-traffic.png"
        )
    assert load.failures == []

    opened = context.new_page()
    response = opened.goto(service_page)
    assert response is not None
    assert response.status == 200
    assert opened.inner_text("h1") == "Handwritten digits"
    delete("digits")  # free the cluster's CPUs for the tests that follow
