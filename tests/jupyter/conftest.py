"""A real Jupyter server with cellserve's extension, from pytest-jupyter, one per test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - its fixtures and hooks, for this folder only
from tornado.httpclient import HTTPResponse

from tests.runtime.conftest import cluster, home  # noqa: F401 - shared fixtures of the runtime tests

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"cellserve.jupyter": True}}}


@pytest.fixture
def digits(jp_root_dir: Path) -> str:
    """examples/digits.ipynb in the server's root, by its path relative to the root."""
    (jp_root_dir / "models").mkdir()
    shutil.copy(EXAMPLES / "digits.ipynb", jp_root_dir / "models" / "digits.ipynb")
    return "models/digits.ipynb"


@pytest.fixture
def api(jp_fetch: Fetch) -> Callable[..., Awaitable[tuple[int, Any]]]:
    """Call cellserve's REST API as the browser does (authenticated); returns (status, JSON)."""

    async def call(method: str, *path: str, body: object = None, **params: str) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        if params:
            kwargs["params"] = params
        response = await jp_fetch("cellserve", *path, **kwargs)
        return response.code, json.loads(response.body or b"null")

    return call
