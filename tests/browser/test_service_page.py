"""The service page, API docs and access tokens of published services, in real Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from playwright.sync_api import BrowserContext, Dialog, Page

from cellserve.runtime import PublishResult, delete, publish
from cellserve.runtime import _store as store
from cellserve.runtime import _tokens as tokens
from cellserve.runtime._smoke import difference
from tests.conftest import Cluster
from tests.notebooks import make_notebook
from tests.runtime.load import Load

pytestmark = [pytest.mark.ray, pytest.mark.kernel, pytest.mark.browser]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOSTILE_MARKDOWN = (
    '# Hostile <img src=x onerror="window.pwned=1">\n\n'
    'A <b onmouseover="window.pwned=2">bold</b> claim. <script>window.pwned=3</script> '
    '<a href="javascript:window.pwned=4">link</a> <iframe src="https://example.com"></iframe>'
)
HOSTILE_OUTPUT = (
    '<b onclick="window.pwned=5">shown</b><script>window.pwned=6</script>'
    '<img src="data:image/png;base64,iVBORw0KGgo=" onerror="window.pwned=7">'
    '<svg onload="window.pwned=8"></svg><style>body{display:none}</style>'
)


def share_link(result: PublishResult) -> str:
    """The service page's share link with the service's token as it is now (a test may have rotated it)."""
    return tokens.share_link(result.page.split("?")[0], tokens.read(result.name))


def bundle_json(result: PublishResult, name: str) -> Any:
    return json.loads((store.bundle_dir(result.name, result.version) / name).read_text())


@pytest.fixture(scope="module")
def digits(cluster: Cluster, home: Path) -> Iterator[PublishResult]:
    yield publish(EXAMPLES / "digits.ipynb", address=cluster.dashboard)
    delete("digits")  # free the cluster's CPUs for the tests that follow


@pytest.fixture(scope="module")
def hostile(cluster: Cluster, home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublishResult]:
    """A token-protected service whose notebook carries script in its markdown and in an output."""
    path = make_notebook(
        tmp_path_factory.mktemp("hostile") / "hostile.ipynb",
        [("payload = {'x': 1}", None), ("y = payload['x'] + 1", "preprocessing"), ("{'y': y}", "predict")],
        {"access": "token"},
        markdown=HOSTILE_MARKDOWN,
    )
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[-1].outputs = [nbformat.v4.new_output("display_data", data={"text/html": HOSTILE_OUTPUT})]
    nbformat.write(notebook, path)
    yield publish(path, address=cluster.dashboard)
    delete("hostile")


def open_page(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    """Open ``url``, recording every request the page makes and failing on any dialog."""
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def refuse(dialog: Dialog) -> None:
        raise AssertionError(f"the page opened a {dialog.type} dialog: {dialog.message}")

    page.on("dialog", refuse)
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, response.text()
    return page, requested


def submit_try_it(page: Page) -> tuple[str, Any]:
    page.click("#cs-send")
    page.wait_for_selector("#cs-status.ok, #cs-status.bad", timeout=30_000)
    return page.inner_text("#cs-status"), json.loads(page.inner_text("#cs-answer"))


def test_try_it_form_gets_the_notebooks_answer_offline(
    digits: PublishResult, context: BrowserContext, artifacts: Path
) -> None:
    page, requested = open_page(context, digits.page)
    assert page.inner_text("h1") == "Handwritten digits"
    assert "version 1" in page.inner_text("#cs-version")
    assert json.loads(page.input_value("#cs-request")) == bundle_json(digits, "example_request.json")
    roles = page.locator(".cs-cell .cs-role").all_inner_texts()
    assert {role.lower() for role in roles} >= {"preprocessing", "predict"}
    status, answer = submit_try_it(page)
    assert re.fullmatch(r"HTTP 200 · \d+ ms", status), status
    assert difference(answer, bundle_json(digits, "expected_response.json")) is None
    page.screenshot(path=artifacts / "service-page-digits.png", full_page=True)
    origin = digits.page.removesuffix("/digits/")
    outside = [url for url in requested if not url.startswith(origin) and not url.startswith("data:")]
    assert outside == [], "the page must not load anything from elsewhere"


def test_the_page_shows_its_versions_live_traffic(digits: PublishResult, context: BrowserContext) -> None:
    page, _ = open_page(context, digits.page)
    example = bundle_json(digits, "example_request.json")
    with Load(digits.endpoint, example, concurrency=1, max_requests=20_000, max_seconds=150) as load:
        # Traffic, and the replica once Ray has reported it (both trail the requests by its report interval).
        page.wait_for_function(
            "() => { const p = document.getElementById('cs-traffic');"
            " return p.dataset.traffic === 'yes' && p.textContent.endsWith(' 1 replica'); }",
            timeout=120_000,
        )
        shown = page.inner_text("#cs-traffic")
    assert load.failures == []
    assert re.fullmatch(r"[\d.]+ req/s · p50 [\d.]+ ms · p99 [\d.]+ ms · 0 % errors · 1 replica", shown), shown
    found = httpx.get(digits.page + "traffic", timeout=30).json()
    assert found["version"] == digits.version
    assert found["total_requests"] > 0


def test_curl_snippet_on_the_page_works(digits: PublishResult, context: BrowserContext) -> None:
    page, _ = open_page(context, digits.page)
    snippet = page.inner_text("#cs-curl")
    answered = subprocess.run(["bash", "-c", snippet + " --silent"], capture_output=True, text=True, timeout=60)
    assert answered.returncode == 0, answered.stderr
    assert difference(json.loads(answered.stdout), bundle_json(digits, "expected_response.json")) is None


def test_docs_are_served_offline_with_the_notebooks_examples(
    digits: PublishResult, context: BrowserContext, artifacts: Path
) -> None:
    spec = httpx.get(digits.page + "openapi.json", timeout=30).json()
    operation = spec["paths"]["/predict"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    assert example == bundle_json(digits, "example_request.json")
    expected = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert expected == bundle_json(digits, "expected_response.json")

    page, requested = open_page(context, digits.page)
    page.click("text=API docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    assert page.inner_text(".opblock-summary-path") == "/predict"
    page.click(".opblock-summary")
    page.wait_for_selector(".body-param__example, .example", timeout=30_000)
    page.screenshot(path=artifacts / "service-docs-digits.png")
    origin = digits.page.removesuffix("/digits/")
    assert [url for url in requested if not url.startswith(origin) and not url.startswith("data:")] == []


def test_a_hostile_notebooks_page_runs_no_script(hostile: PublishResult, context: BrowserContext) -> None:
    assert "?token=" in hostile.page
    page, _ = open_page(context, share_link(hostile))
    page.wait_for_timeout(500)  # let any image error or load handler fire
    page.hover("text=bold")
    page.click("text=shown")
    assert page.evaluate("window.pwned") is None
    handlers = page.evaluate(
        "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))"
        ".filter(n => n.startsWith('on'))"
    )
    assert handlers == []
    assert page.locator("script").count() == 1  # the page's own, allowed by its nonce
    assert page.locator("iframe").count() == 0
    assert page.is_visible("text=shown")  # the output is shown, without its script
    # The share link's token left the address for a cookie that only the service's path gets and no script reads.
    assert page.url.endswith("/hostile/")
    assert "token" not in page.url
    [cookie] = [c for c in context.cookies() if c["name"] == "cellserve_token"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/hostile")
    assert page.evaluate("document.cookie") == ""
    status, answer = submit_try_it(page)  # the try-it form's request carries the cookie
    assert status.startswith("HTTP 200")
    assert answer == {"y": 2}


def test_token_is_required_and_accepted(hostile: PublishResult, context: BrowserContext, cluster: Cluster) -> None:
    token = tokens.read("hostile")
    assert token is not None
    url = hostile.endpoint
    missing = httpx.post(url, json={"x": 1}, timeout=30)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "unauthorized"
    assert "access token" in missing.json()["error"]["message"]
    wrong = httpx.post(url, json={"x": 1}, headers={"Authorization": "Bearer not-the-token"}, timeout=30)
    assert wrong.status_code == 401
    assert httpx.post(url, json={"x": 1}, headers={"Authorization": f"Bearer {token}"}, timeout=30).json() == {"y": 2}
    in_url = httpx.post(f"{url}?token={token}", json={"x": 1}, timeout=30)
    assert in_url.status_code == 401
    assert "not in the URL" in in_url.json()["error"]["message"]
    assert httpx.get(url.replace("/predict", "/openapi.json"), timeout=30).status_code == 401
    assert httpx.get(url.replace("/predict", "/traffic"), timeout=30).status_code == 401
    health = httpx.get(url.replace("/predict", "/healthz"), timeout=30)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})  # healthy, and nothing more

    page = context.new_page()
    response = page.goto(hostile.page.split("?")[0])
    assert response is not None
    assert response.status == 401
    assert page.inner_text("h1") == "Access token needed"

    logs = [p for p in cluster.temp_dir.rglob("*") if p.is_file() and p.suffix in (".log", ".out", ".err")]
    assert logs, "the cluster's logs were not found"
    leaked = [p for p in logs if token in p.read_text(errors="replace")]
    assert leaked == [], f"the token was written to {leaked}"


def test_cli_shows_and_rotates_the_token(hostile: PublishResult, home: Path) -> None:
    command = [str(Path(sys.executable).parent / "cellserve"), "token", "hostile"]
    old = tokens.read("hostile")
    shown = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert f"share link: {hostile.page}" in shown.stdout

    rotated = subprocess.run([*command, "--rotate", "--json"], capture_output=True, text=True, timeout=600)
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)["token"]
    assert new != old
    assert tokens.read("hostile") == new
    answer = httpx.post(hostile.endpoint, json={"x": 1}, headers={"Authorization": f"Bearer {new}"}, timeout=30)
    assert answer.json() == {"y": 2}
    refused = httpx.post(hostile.endpoint, json={"x": 1}, headers={"Authorization": f"Bearer {old}"}, timeout=30)
    assert refused.status_code == 401


def test_public_service_refuses_nobody(digits: PublishResult) -> None:
    assert "?token=" not in digits.page
    example = bundle_json(digits, "example_request.json")
    assert httpx.post(digits.endpoint, json=example, timeout=30).status_code == 200
