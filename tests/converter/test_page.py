"""The service page's parts: sanitizing notebook HTML, rendering, access checks and OpenAPI (no cluster)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

from cellserve.converter._notebook import read_notebook
from cellserve.converter._page import cells_html, description_html, sanitize
from tests.notebooks import make_notebook


@pytest.fixture(scope="module")
def bundle_modules() -> tuple[ModuleType, ModuleType]:
    """cellserve.bundle's page and access modules, by the names a service imports them by too."""
    from cellserve.bundle import access, page

    return page, access


@pytest.mark.parametrize(
    ("hostile", "gone"),
    [
        ("<script>alert(1)</script>ok", "alert"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ('<b onclick="steal()">b</b>', "onclick"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<iframe src="https://example.com"></iframe>', "iframe"),
        ("<style>body{display:none}</style>", "display"),
        ('<svg onload="alert(1)"><circle/></svg>', "onload"),
        ('<img src="data:text/html;base64,PHNjcmlwdD4=">', "data:text/html"),
        ('<a href="data:text/html,hi">x</a>', "data:"),
        ('<form action="https://evil"><input name="p"></form>', "form"),
        ('<div style="position:fixed;inset:0">x</div>', "position"),
        ('<object data="x.swf"></object><embed src="y">', "object"),
        ('<meta http-equiv="refresh" content="0;url=https://evil">', "refresh"),
    ],
)
def test_sanitize_removes_what_could_run_or_mislead(hostile: str, gone: str) -> None:
    assert gone not in sanitize(hostile)


def test_sanitize_keeps_ordinary_markup_and_inline_images() -> None:
    html = (
        '<h2>Results</h2><p><em>fine</em> <a href="https://example.com">link</a></p>'
        '<table><tr><th class="x">a</th></tr></table><img src="data:image/png;base64,iVBORw0KGgo=" alt="plot">'
    )
    clean = sanitize(html)
    for kept in ("<h2>", "<em>fine</em>", 'href="https://example.com"', "<th", 'src="data:image/png;base64'):
        assert kept in clean


def hostile_notebook(path: Path) -> Path:
    make_notebook(
        path,
        [("payload = {'x': 1}", None), ("y = payload['x'] + 1", "preprocessing"), ("{'y': y}", "predict")],
        markdown='# Scores <img src=x onerror="alert(1)">\n\nPredicts *scores*. <script>alert(2)</script>',
    )
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[-1].outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": '<b onclick="alert(3)">shown</b><script>x</script>'})
    ]
    nbformat.write(notebook, path)
    return path


def test_description_and_cells_are_rendered_from_the_notebook_and_inert(tmp_path: Path) -> None:
    notebook = read_notebook(hostile_notebook(tmp_path / "scores.ipynb"))
    description = description_html(notebook)
    assert "<em>scores</em>" in description
    assert "Scores" not in description  # the title heading is the page's title, not repeated
    cells = cells_html(notebook)
    assert [m for m in re.findall(r'class="cs-role">(\w+)<', cells)] == ["preprocessing", "predict"]
    assert "cell 3" in cells
    assert "cell 4" in cells
    assert "payload = {'x': 1}" not in cells  # untagged cells are not shown
    assert "<b>shown</b>" in cells  # the output the notebook showed
    for text in (description, cells):
        assert "<script" not in text
        assert not re.search(r"\son\w+=", text)


def info(page: ModuleType, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "name": "scores",
        "title": 'Scores <script>alert("t")</script>',
        "notebook": "scores.ipynb",
        "base": "/scores",
        "example": {"x": [1, 2], "note": "it's <b>"},
        "expected": {"y": 3},
        "access": "public",
        "version": "4",
        "published": "2026-11-24T10:00:00+00:00",
        "parts": Path(__file__).parent / "no-such-folder",
        "stages": page.stage_rows(
            {"predict": {"num_gpus": 0.5, "gpu": "if-available", "min_replicas": 1, "max_replicas": 3}},
            {"predict": {"gpu_ids": []}},
        ),
    }
    return page.PageInfo(**{**values, **overrides})


def test_page_escapes_notebook_values_and_carries_the_nonce(
    bundle_modules: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    page, _ = bundle_modules
    (tmp_path / "description.html").write_text("<p>Scores <em>wines</em>.</p>")
    html = page.render_page(info(page, parts=tmp_path), "http://host:8000", "NONCE123")
    assert "<p>Scores <em>wines</em>.</p>" in html  # the part the converter wrote into the bundle's page/
    assert "No cell was recorded." in html  # cells.html is not there
    assert '<script>alert("t")</script>' not in html
    assert "Scores &lt;script&gt;" in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script nonce="NONCE123">']
    assert 'data-endpoint="/scores/predict"' in html
    assert "version 4" in html
    assert "1–3, autoscaling" in html
    assert "0.5 per replica (if-available)" in html
    assert "$" not in re.sub(r"<pre[^>]*>.*?</pre>", "", html, flags=re.S)  # every placeholder was filled
    headers = page.page_headers("NONCE123")
    assert "script-src 'nonce-NONCE123'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]


def test_curl_snippet_runs_in_a_shell_with_the_example_body(bundle_modules: tuple[ModuleType, ModuleType]) -> None:
    page, _ = bundle_modules
    example = {"text": 'it\'s a "quote" and a $HOME'}
    command = page.curl_command("http://127.0.0.1:9/x/predict", example, True)
    echoed = command.replace("curl -X POST", "printf '%s\\n'", 1)
    environment = {"PATH": "/usr/bin:/bin", "CELLSERVE_TOKEN": "tok"}
    printed = subprocess.run(
        ["bash", "-c", echoed], capture_output=True, text=True, check=True, env=environment
    ).stdout.splitlines()
    assert json.loads(printed[-1]) == example
    assert "Authorization: Bearer tok" in printed  # the token comes from the shell, never from the page
    assert "Authorization" not in page.curl_command("http://127.0.0.1:9/x/predict", example, False)


def test_access_checks(bundle_modules: tuple[ModuleType, ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    _, access = bundle_modules
    monkeypatch.delenv("CELLSERVE_TOKEN", raising=False)
    assert access.Access.configure("public", None).refusal(None, None) is None
    guarded = access.Access.configure("token", access.digest("s3cret"))
    assert "needs an access token" in guarded.refusal(None)
    assert "not valid" in guarded.refusal("Bearer wrong")
    assert "not valid" in guarded.refusal(None, cookie="wrong")
    assert guarded.refusal("Bearer s3cret") is None
    assert guarded.refusal("bearer s3cret", cookie="wrong") is None  # the header wins over the cookie
    assert guarded.refusal(None, cookie="s3cret") is None
    # A token in the URL only opens the page (the share link); anywhere else it is refused, even when right.
    assert "not in the URL" in guarded.refusal(None, "s3cret")
    assert "not in the URL" in guarded.refusal("Bearer s3cret", "s3cret")
    assert guarded.refusal(None, "s3cret", query_allowed=True) is None
    assert "not valid" in guarded.refusal(None, "wrong", query_allowed=True)
    assert "none is configured" in access.Access.configure("token", None).refusal("Bearer anything")
    monkeypatch.setenv("CELLSERVE_TOKEN", "from-env")
    assert access.Access.configure("token", None).refusal("Bearer from-env", None) is None


def test_openapi_gets_the_examples_and_token_security(bundle_modules: tuple[ModuleType, ModuleType]) -> None:
    page, _ = bundle_modules
    spec = page.add_predict_docs(
        {"openapi": "3.1.0", "paths": {}},
        schema={"type": "object"},
        example={"x": [1]},
        expected={"y": 2.5},
        notebook="n.ipynb",
        access="token",
    )
    operation = spec["paths"]["/predict"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["example"] == {"x": [1]}
    assert operation["responses"]["200"]["content"]["application/json"]["example"] == {"y": 2.5}
    assert {"400", "401", "413", "422", "500"} <= set(operation["responses"])
    assert operation["security"] == [{"bearer": []}, {"cookie": []}]
    public = page.add_predict_docs(
        {"paths": {}}, schema=None, example={}, expected=None, notebook="n.ipynb", access="public"
    )
    assert "security" not in public["paths"]["/predict"]["post"]
    assert "401" not in public["paths"]["/predict"]["post"]["responses"]


def test_json_is_shown_compactly_and_times_in_utc(bundle_modules: tuple[ModuleType, ModuleType]) -> None:
    page, _ = bundle_modules
    assert page.pretty({"pixels": [1.0, 2.0], "nested": [[1], [2]]}) == (
        '{\n  "pixels": [1.0, 2.0],\n  "nested": [\n    [1],\n    [2]\n  ]\n}'
    )
    assert page.when("2026-11-24T05:02:04+01:00") == "2026-11-24 04:02 UTC"
