"""Start a real JupyterLab for a browser test, from any Python environment."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

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
