"""The JupyterLab sidebar in real Chromium against a real JupyterLab: tag, run, publish, open the link."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from playwright.sync_api import BrowserContext, Locator, Page
from pydantic import ValidationError

from cellserve.converter import ServiceSettings
from cellserve.runtime import _store as store
from cellserve.runtime import delete, publish
from cellserve.runtime._smoke import difference
from tests.browser.lab import running_lab, server_of, wait_for_kernel
from tests.conftest import Cluster
from tests.runtime.conftest import calc_notebook
from tests.runtime.load import Load

pytestmark = [pytest.mark.ray, pytest.mark.kernel, pytest.mark.browser]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROLES = {8: "setup", 9: "preprocessing", 10: "predict"}  # digits.ipynb's cells, by number
# The notebook in front: JupyterLab restores the notebooks an earlier test opened, in tabs behind it.
SHOWN = ".jp-NotebookPanel >> visible=true"
CELLS = f"{SHOWN} >> .jp-Cell"
IDLE = f"{SHOWN} >> .jp-Notebook-ExecutionIndicator[data-status='idle']"


def labextension_installed() -> bool:
    prefix = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "cellserve-jupyterlab" / "package.json"
    return prefix.is_file()


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder JupyterLab opens; tests add their notebooks to it."""
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def lab(home: Path, lab_root: Path) -> Iterator[str]:
    """JupyterLab with cellserve on a folder holding digits.ipynb with its cellserve tags removed."""
    if not labextension_installed():
        pytest.fail("The cellserve JupyterLab extension is not installed: run the tests with `make test`.")
    root = lab_root
    notebook = nbformat.read(EXAMPLES / "digits.ipynb", as_version=4)
    for cell in notebook.cells:
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if not t.startswith("cellserve:")]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, root / "digits.ipynb")
    with running_lab(Path(sys.executable).parent / "jupyter", root, "lab/tree/digits.ipynb") as url:
        yield url


def open_sidebar(context: BrowserContext, url: str) -> Page:
    """A notebook open in JupyterLab, its kernel idle, and the cellserve panel showing."""
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(url)
    page.wait_for_selector(CELLS, timeout=60_000)
    wait_for_kernel(page, url, IDLE)
    if not page.is_visible(".cellserve-panel"):
        page.click("[title='cellserve'], [data-id='cellserve-sidebar']")
    page.wait_for_selector(".cellserve-panel", timeout=30_000)
    return page


def widen_sidebar(page: Page, by: int) -> None:
    """Drag the handle between the side panel and the notebook ``by`` pixels to the right."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + by, y, steps=5)
    page.mouse.up()


def run_all(page: Page, cells: int) -> None:
    """Run every cell from the Run menu and wait until the last one has run."""
    select_cell(page, 1)  # the notebook in front takes the command
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")  # the menu bar's Run menu (not any text with "run" in it)
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    last = page.locator(CELLS).nth(cells - 1).locator(".jp-InputPrompt")
    page.wait_for_function("el => /\\[\\d+\\]/.test(el.textContent)", arg=last.element_handle(), timeout=120_000)
    page.wait_for_selector(IDLE, timeout=120_000)


def select_cell(page: Page, number: int) -> None:
    """Click the cell's prompt area: the cell becomes active, in command mode."""
    cell = page.locator(CELLS).nth(number - 1)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()


def test_tag_run_publish_and_open_the_link(
    lab: str, context: BrowserContext, cluster: Cluster, home: Path, artifacts: Path
) -> None:
    page = open_sidebar(context, lab)

    for number, role in ROLES.items():
        select_cell(page, number)
        page.click(f"[data-cellserve-action='tag-{role}']")
        page.wait_for_selector(f".cellserve-role-group[data-role='{role}'] .cellserve-cell-link[data-cell='{number}']")
    marked = page.locator(CELLS).nth(9)
    assert "cellserve-role-predict" in (marked.get_attribute("class") or "")
    page.wait_for_selector(".cellserve-check-status.cellserve-mod-ok", timeout=30_000)

    address = page.locator("input[name='cluster_address']")
    address.fill("ray://127.0.0.1:10001")  # the Ray client port: the server's rule, shown as it is typed
    shown = page.wait_for_selector("#cellserve-cluster-address-error", timeout=30_000)
    assert "not the Ray client port" in shown.inner_text()
    assert page.locator("[data-cellserve-action='publish']").is_disabled()
    address.fill(cluster.dashboard)
    page.wait_for_selector("#cellserve-cluster-address-error", state="detached", timeout=30_000)
    # Publishing before running the notebook: the kernel has no model yet. The panel says at
    # which step it failed and links to the cell that defines what is missing.
    page.click("[data-cellserve-action='publish']")
    error = page.wait_for_selector(".cellserve-publish-error", timeout=120_000)
    assert error is not None
    assert "capture" in error.inner_text().lower()
    assert "has no value in the kernel" in error.inner_text()
    link = page.locator(".cellserve-publish-error .cellserve-cell-link")
    missing_cell = int(link.get_attribute("data-cell") or 0)
    assert 1 <= missing_cell <= 10
    link.click()
    active = page.locator(CELLS).nth(missing_cell - 1)
    assert "jp-mod-active" in (active.get_attribute("class") or "")

    run_all(page, 10)

    page.click("[data-cellserve-action='publish']")
    page.wait_for_selector(".cellserve-progress li[data-step='deploy']", timeout=120_000)
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


def test_opening_an_example_leaves_it_unmodified(lab: str, lab_root: Path, context: BrowserContext) -> None:
    """An example opened as it is, its kernel started and the sidebar's check done, is not marked modified,
    and nothing is written back to it."""
    example = lab_root / "example-digits.ipynb"
    example.write_bytes((EXAMPLES / "digits.ipynb").read_bytes())
    before = example.read_bytes()
    page = open_sidebar(
        context, lab.replace("lab/tree/digits.ipynb", "lab/workspaces/unmodified/tree/example-digits.ipynb")
    )
    page.wait_for_selector(".cellserve-check-status.cellserve-mod-ok", timeout=60_000)
    assert setting(page, "predict.num_gpus").input_value() == "0.5"  # the sidebar read its settings
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert tab.inner_text() == "example-digits.ipynb"
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or "")
    page.close()
    assert example.read_bytes() == before
    base, headers = server_of(lab)
    for session in httpx.get(f"{base}/api/sessions", headers=headers).json():  # end the example's kernel
        if session["path"].endswith("example-digits.ipynb"):
            httpx.delete(f"{base}/api/sessions/{session['id']}", headers=headers).raise_for_status()


def setting(page: Page, path: str) -> Locator:
    """The settings form's input of ``path`` (``predict.num_gpus``)."""
    return page.locator(f"[name='cellserve-setting.{path}']")


def saved_settings(page: Page, notebook: Path) -> dict[str, object]:
    """Save the notebook in front from JupyterLab and read its settings back from the file."""
    select_cell(page, 1)  # the notebook takes the command
    page.keyboard.press("Control+s")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)")
    tab.wait_for(timeout=30_000)
    settings: dict[str, object] = nbformat.read(notebook, as_version=4).metadata.get("cellserve", {})
    return settings


def model_message(settings: dict[str, object]) -> str:
    """What the settings model itself says of ``settings`` (their one problem)."""
    with pytest.raises(ValidationError) as caught:
        ServiceSettings.model_validate(settings)
    (error,) = caught.value.errors()
    return str(error["msg"]).removeprefix("Value error, ")


def test_a_bad_setting_shows_the_models_message_and_never_reaches_the_notebook(
    lab: str, lab_root: Path, context: BrowserContext, artifacts: Path
) -> None:
    notebook = calc_notebook(lab_root / "form.ipynb", 2, settings={"predict": {"num_gpus": 0.5}})
    page = open_sidebar(context, lab.replace("lab/tree/digits.ipynb", "lab/workspaces/form/tree/form.ipynb"))
    gpus = setting(page, "predict.num_gpus")
    gpus.wait_for(timeout=30_000)
    assert gpus.input_value() == "0.5"
    # A field the form draws from the model's schema, with the model's default as its placeholder.
    assert setting(page, "predict.max_queued_requests").get_attribute("placeholder") == "default: 64"

    gpus.fill("-1")
    error = page.locator(".cellserve-field[data-field='predict.num_gpus'] .cellserve-field-error")
    error.wait_for(timeout=30_000)
    assert error.inner_text() == model_message({"predict": {"num_gpus": -1}})
    page.locator(".cellserve-fieldset[data-group='predict']").screenshot(path=artifacts / "jupyterlab-settings.png")
    panel = page.locator(".cellserve-panel").bounding_box()
    assert panel is not None
    for field in page.locator(".cellserve-settings input:visible, .cellserve-settings select:visible").all():
        box = field.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= panel["x"] + panel["width"], field.get_attribute("name")  # nothing cut off
    assert page.locator(".cellserve-invalid-count").inner_text() == "1 invalid"
    assert page.locator("button.cellserve-publish-button").is_disabled()
    assert page.locator(".cellserve-publish-blocker").inner_text() == "Correct the settings marked in red first."
    assert saved_settings(page, notebook) == {"predict": {"num_gpus": 0.5}}  # the valid value stayed

    setting(page, "name").fill("My Service")
    name_error = page.locator(".cellserve-field[data-field='name'] .cellserve-field-error")
    name_error.wait_for(timeout=30_000)
    assert name_error.inner_text() == model_message({"name": "My Service"})

    gpus.fill("2")
    setting(page, "name").fill("form-svc")
    page.wait_for_selector(".cellserve-field-error", state="detached", timeout=30_000)
    assert page.locator(".cellserve-invalid-count").count() == 0
    assert saved_settings(page, notebook) == {"name": "form-svc", "predict": {"num_gpus": 2}}
    page.close()


def answered(endpoint: str, x: list[int]) -> tuple[str, int]:
    """The version that answered (its header) and the factor it multiplied by (its answer)."""
    response = httpx.post(endpoint, json={"x": x}, timeout=60)
    assert response.status_code == 200, response.text
    return response.headers["x-cellserve-version"], response.json()["factor"]


def test_replay_a_canary_and_the_request_log_from_the_sidebar(
    lab: str, lab_root: Path, context: BrowserContext, cluster: Cluster, artifacts: Path
) -> None:
    """Version 1 multiplies by 1 and logs its requests; the notebook then multiplies by 10. Replay stops
    it; as a 10 % canary it answers a share of the live route; Make live promotes it."""
    settings: dict[str, object] = {"name": "sidebar-calc", "request_log": {"max_requests": 50}}
    notebook = lab_root / "calc.ipynb"
    first = publish(calc_notebook(notebook, 1, settings=settings), address=cluster.dashboard)
    try:
        sent = [answered(first.endpoint, [i, 1]) for i in range(5)]
        assert sent == [("1", 1)] * 5
        calc_notebook(notebook, 10, settings=settings)
        page = open_sidebar(context, lab.replace("lab/tree/digits.ipynb", "lab/tree/calc.ipynb"))
        page.locator("input[name='cluster_address']").fill(cluster.dashboard)
        page.wait_for_selector(".cellserve-version[data-version='1'][data-status='live']", timeout=60_000)
        run_all(page, 4)

        # Replay: the new version answers the five logged requests ten times larger, so it does not go live.
        page.check("input[name='replay']")
        page.click("[data-cellserve-action='publish']")
        error = page.wait_for_selector(".cellserve-publish-error", timeout=300_000)
        assert error is not None
        shown = error.inner_text()
        assert "5 requests replayed" in shown
        assert "0 same, 5 different" in shown
        assert "version 1 (live)" in shown
        assert answered(first.endpoint, [7]) == ("1", 1)

        # Canary: version 3 answers about a tenth of the live route's predictions.
        page.uncheck("input[name='replay']")
        page.check("input[name='canary']")
        page.click("[data-cellserve-action='publish']")
        page.wait_for_selector(".cellserve-canary-summary", timeout=300_000)
        page.wait_for_selector(".cellserve-canary[data-version='3']", timeout=60_000)
        assert "answers 10 % of the predictions" in page.inner_text(".cellserve-canary")
        seen = [answered(first.endpoint, [i]) for i in range(300)]
        assert set(seen) == {("1", 1), ("3", 10)}  # each answer is its own version's
        to_canary = seen.count(("3", 10))
        assert 5 <= to_canary <= 70  # 30 expected; the bounds are over 4.5 standard deviations (5.2) away

        # The request log, read on demand: the newest first, with the version that answered each.
        page.click("[data-cellserve-action='requests']")
        page.wait_for_selector(".cellserve-logged-request", timeout=60_000)
        newest = page.locator(".cellserve-logged-request").first
        cells = [newest.locator("td").nth(i).inner_text() for i in range(5)]
        assert cells[1:3] == [seen[-1][0], "200"]
        request_and_answer = cells[4].replace(" ", "")  # the bodies as sent and answered, spacing aside
        assert '{"x":[299]}→' in request_and_answer
        assert f'"factor":{seen[-1][1]}' in request_and_answer
        page.set_viewport_size({"width": 1400, "height": 1300})
        widen_sidebar(page, 260)
        page.locator(".cellserve-section[data-section='versions']").screenshot(path=artifacts / "jupyterlab-canary.png")

        # Make live: version 3 takes the live route, the split ends.
        page.click("[data-cellserve-action='promote'][data-version='3']")
        page.wait_for_selector(".cellserve-version[data-version='3'][data-status='live']", timeout=120_000)
        assert page.locator(".cellserve-canary").count() == 0
        assert {answered(first.endpoint, [i]) for i in range(20)} == {("3", 10)}
    finally:
        delete("sidebar-calc")
