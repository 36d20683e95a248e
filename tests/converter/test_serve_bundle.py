"""Bundles served by plain Ray (`serve run serve.yaml`) on a real cluster where cellserve cannot be imported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from cellserve.converter import convert
from cellserve.runtime._smoke import difference
from tests.conftest import Cluster, wait_until_healthy
from tests.notebooks import shown_answer

pytestmark = [pytest.mark.ray, pytest.mark.kernel]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVE_URL = "http://127.0.0.1:8000"


@dataclass
class Served:
    name: str
    bundle: Path
    url: str

    def post(self, body: bytes | str | Any, **headers: str) -> httpx.Response:
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return httpx.post(f"{self.url}/predict", content=content, headers=headers, timeout=60)

    def json_file(self, name: str) -> Any:
        return json.loads((self.bundle / name).read_text())


def assert_close(actual: Any, expected: Any) -> None:
    """Equal JSON, floats within the smoke test's tolerance."""
    assert difference(actual, expected) is None, difference(actual, expected)


@pytest.fixture(scope="module", params=["digits", "digits-batched", "wine", "sentences"])
def served(
    request: pytest.FixtureRequest, ray_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """Convert an example, then serve it exactly as its README says: `serve run serve.yaml` in the bundle.

    Serve is stopped afterwards: its controller would build later applications with this bundle on the path.
    """
    name = request.param
    bundle = convert(EXAMPLES / f"{name}.ipynb", tmp_path_factory.mktemp(name) / "bundle").path
    ray_cluster.restart(num_gpus=0)
    ray_cluster.serve_bundle(bundle)
    try:
        served = Served(name, bundle, f"{SERVE_URL}/{name}")
        wait_until_healthy(f"{served.url}/healthz")
        yield served
    finally:
        ray_cluster.stop_serve()


def test_cellserve_cannot_be_imported_on_the_cluster(ray_cluster: Cluster) -> None:
    code = (
        "import importlib.util, ray; ray.init()\n"
        "print(ray.get(ray.remote(num_cpus=0)(lambda: importlib.util.find_spec('cellserve') is None).remote()))"
    )
    assert ray_cluster.python(code).strip().endswith("True")


def test_example_request_gets_the_notebooks_answer(served: Served) -> None:
    response = served.post(served.json_file("example_request.json"))
    assert response.status_code == 200, response.text
    assert_close(response.json(), served.json_file("expected_response.json"))


def test_example_request_gets_the_answer_the_notebook_shows(served: Served) -> None:
    """Checked against the Out[] saved in the example notebook, not against cellserve's own capture."""
    notebook = EXAMPLES / f"{served.name}.ipynb"
    shown = shown_answer(notebook)
    if nbformat.read(notebook, as_version=4).metadata.get("cellserve", {}).get("batch"):
        [shown] = shown  # the notebook ran a batch of one; one request gets that batch's answer
    response = served.post(served.json_file("example_request.json"))
    assert response.status_code == 200, response.text
    assert_close(response.json(), shown)


def test_routes(served: Served) -> None:
    assert httpx.get(f"{served.url}/healthz", timeout=10).json() == {"status": "ok"}  # and nothing more
    info = httpx.get(f"{served.url}/info", timeout=10).json()
    assert info["service"] == served.name
    # The test cluster has no GPU: digits' "if-available" predict stage runs on CPU.
    assert info["stages"]["predict"]["gpu_ids"] == []
    assert info["stages"]["preprocessing"]["gpu_ids"] == []
    spec = httpx.get(f"{served.url}/openapi.json", timeout=10).json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == served.json_file("example_request.json")
    docs = httpx.get(f"{served.url}/docs", timeout=10).text
    assert "swagger-ui-bundle.js" in docs
    asset = httpx.get(f"{served.url}/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert asset.status_code == 200
    assert len(asset.content) > 100_000
    info = httpx.get(f"{served.url}/info", timeout=10).json()
    assert info["service"] == served.name
    assert info["example_request"] == served.json_file("example_request.json")
    assert info["version"] is None  # served by `serve run`, not published: no release
    page = httpx.get(f"{served.url}/", timeout=10)
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'nonce-" in page.headers["content-security-policy"]
    assert "version unversioned" in page.text


def test_unparsable_body_is_a_400(served: Served) -> None:
    response = served.post(b'{"oops": ')
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_json"
    assert "not valid JSON" in response.json()["error"]["message"]


def test_wrong_shape_is_a_422_naming_the_field(served: Served) -> None:
    example = served.json_file("example_request.json")
    key = next(iter(example))
    wrong_type: Any = 12345 if isinstance(example[key], str) else "not the right type"
    response = served.post({**example, key: wrong_type})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == key
    missing = served.post({"unexpected": 1})
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == key


def test_too_large_body_is_a_413(served: Served) -> None:
    response = served.post(b"[" + b"0," * (6 * 2**20) + b"0]")
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "payload_too_large"


def test_exception_in_user_code_is_a_500_naming_it_and_the_replica_keeps_serving(served: Served) -> None:
    bad = {
        "digits": {"pixels": [1, 2, 3]},  # preprocessing cannot reshape 3 values to 64
        "digits-batched": {"pixels": [1, 2, 3]},
        "wine": {"wines": []},  # predict gets an empty frame
        "sentences": {"query": "q", "candidates": []},  # preprocessing refuses an empty list
    }[served.name]
    response = served.post(bad)
    assert response.status_code == 500, response.text
    error = response.json()["error"]
    assert error["exception"] is True
    assert error["type"] == "ValueError"
    assert error["message"]
    stage = {"digits": "preprocessing", "wine": "predict", "sentences": "preprocessing"}[served.name.split("-")[0]]
    assert error["stage"] == stage
    assert isinstance(error.get("cell"), int)
    again = served.post(served.json_file("example_request.json"))
    assert again.status_code == 200
    assert_close(again.json(), served.json_file("expected_response.json"))


HOSTILE: list[tuple[bytes, int, str]] = [
    (b"[" * 5000 + b"]" * 5000, 400, "nests deeper than"),
    (b"9" * 5000, 400, "not valid JSON"),
    (b'{"x": NaN}', 400, "NaN is not a JSON number"),
    (b"[Infinity]", 400, "Infinity is not a JSON number"),
    (b"\xff\xfe\x00{", 400, "not UTF-8"),
    (b"null", 422, "expected object, got null"),
    (b'"just text"', 422, "expected object, got string"),
    (b"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", 422, "expected object, got array"),
]


@pytest.mark.parametrize(("body", "status", "says"), HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_a_hostile_body_gets_a_4xx_json_that_says_why(served: Served, body: bytes, status: int, says: str) -> None:
    response = served.post(body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert says in response.json()["error"]["message"]
    assert served.post(served.json_file("example_request.json")).status_code == 200  # still serving


def test_an_unknown_unicode_key_is_named(served: Served) -> None:
    response = served.post({**served.json_file("example_request.json"), "ключ ✓": 1})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "ключ ✓"
    assert "is not expected" in response.json()["error"]["message"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(JSON_VALUES.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64)))
def test_any_body_gets_a_json_answer_and_never_a_failure_of_cellserves_own(served: Served, body: bytes) -> None:
    """Generated bodies: JSON of every shape and plain bytes. The answer is JSON; a 500 only ever reports an
    exception of the notebook's code, never one of cellserve's."""
    response = served.post(body)
    error = response.json().get("error") if response.status_code != 200 else None
    assert response.status_code in (200, 400, 422, 500), response.text
    if response.status_code == 500:
        assert error["exception"] is True, error
    elif error is not None:
        assert error["message"]


@pytest.fixture(scope="module")
def openapi_operation(served: Served) -> Any:
    """POST /predict as the service's own /openapi.json describes it, loaded by schemathesis."""
    return schemathesis.openapi.from_url(f"{served.url}/openapi.json")["/predict"]["POST"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
def test_requests_generated_from_the_services_openapi_document(
    served: Served, openapi_operation: Any, mode: GenerationMode
) -> None:
    """schemathesis makes requests from the service's own OpenAPI document: bodies that fit its request schema
    (positive) and bodies that break it, or are not JSON at all (negative). Every answer is JSON; a fitting body
    is never refused as malformed, a breaking one is a 4xx that says why, and no answer is a failure of
    cellserve's own code (a 500 only ever reports an exception of the notebook's cells)."""
    seen: list[int] = []

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=openapi_operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(base_url=served.url, timeout=60)
        seen.append(response.status_code)
        body = response.json()
        if mode is GenerationMode.POSITIVE:
            assert response.status_code in (200, 500), response.text
        else:
            assert response.status_code in (400, 413, 415, 422, 500), response.text
        if response.status_code >= 400:
            assert body["error"]["message"], response.text
        if response.status_code == 500:
            assert body["error"]["exception"] is True, response.text

    check()
    assert seen, "schemathesis generated no request"
    assert served.post(served.json_file("example_request.json")).status_code == 200  # still serving
