"""Start a real JupyterLab for a browser test, from any Python environment."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import free_port


@contextmanager
def running_lab(jupyter: Path, root: Path, page: str = "lab", *, app: str = "lab") -> Iterator[str]:
    """JupyterLab (the ``jupyter`` command given; ``app="notebook"``: Notebook 7) on ``root``; yields the URL
    of ``page`` with the token."""
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(jupyter), app, "--no-browser", f"--port={port}",
        f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}", "--allow-root",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log_path = root / "jupyterlab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/api/status?token={token}", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            else:
                pytest.fail(f"jupyter {app} did not start: {log_path.read_text()[-2000:]}")
            yield f"{url}/{page}?token={token}"
        finally:
            server.terminate()  # JupyterLab shuts its kernels down first; a busy machine can take longer than that
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)


def server_of(url: str) -> tuple[str, dict[str, str]]:
    """The server's base URL and the header that authenticates to it, from a URL ``running_lab`` yielded."""
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}", {"Authorization": f"token {parse_qs(parts.query)['token'][0]}"}


def wait_for_kernel(page: Page, url: str, indicator: str, timeout: float = 120) -> None:
    """Wait until the kernel of the notebook that ``url`` opens has started and is idle, on the server and in
    ``page``'s ``indicator`` (its execution indicator).

    The front end's execution indicator says "idle" before it knows of any kernel, and a cell run before the
    notebook's session exists opens a "Select Kernel" dialog and runs nothing: so the server is asked first.
    """
    base, headers = server_of(url)
    name = unquote(urlparse(url).path).rsplit("/", 1)[-1]
    deadline = time.monotonic() + timeout
    while True:
        sessions = httpx.get(f"{base}/api/sessions", headers=headers, timeout=10).json()
        kernels = [s["kernel"] for s in sessions if str(s["path"]).rsplit("/", 1)[-1] == name]
        if any(isinstance(k, dict) and k.get("execution_state") == "idle" for k in kernels):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"{name}'s kernel did not start and become idle in {timeout:.0f} s; sessions: {sessions}")
        time.sleep(0.5)
    page.wait_for_selector(indicator, timeout=int(max(deadline - time.monotonic(), 10) * 1000))
