"""Shared fixtures: a real Ray cluster, run from an environment where cellserve cannot be imported.

The session runs with a HOME of its own, so that nothing of the user's (``~/.ray/auth_token``,
``~/.cellserve``) is read or written. Its Ray cluster requires Ray's token authentication, with the
token in that HOME's ``~/.ray/auth_token``, where Ray 2.60 puts it on a user's machine, and named by
RAY_AUTH_TOKEN_PATH for processes that get a HOME of their own (pytest-jupyter's servers).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cellserve.runtime._embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
BUNDLE_ENV = ROOT / ".venv-bundle" / "bin"
AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "CELLSERVE_RAY_TOKEN_PATH")


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A HOME and CELLSERVE_HOME of the session's own, with no Ray token setting from outside."""
    home = tmp_path_factory.mktemp("home")
    saved = {name: os.environ.get(name) for name in ("HOME", "CELLSERVE_HOME", "RAY_ADDRESS", *AUTH_VARIABLES)}
    for name in saved:
        os.environ.pop(name, None)
    os.environ["HOME"] = str(home)
    os.environ["CELLSERVE_HOME"] = str(home / ".cellserve")
    try:
        yield home
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def write_ray_token(home: Path) -> str:
    """Put a Ray token in ``home``'s ~/.ray/auth_token, as Ray's first ``ray.init()`` does."""
    token = secrets.token_hex(32)
    (home / ".ray").mkdir(exist_ok=True)
    (home / ".ray" / "auth_token").write_text(token)
    return token


@dataclass
class Cluster:
    """A Ray head started with ``ray start --head`` from the bundle environment."""

    port: int
    dashboard_port: int
    workdir: Path
    num_gpus: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def temp_dir(self) -> Path:
        """Where Ray keeps this cluster's sessions, logs included."""
        return Path(f"/tmp/ray-cellserve-{self.port}")

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{BUNDLE_ENV}{os.pathsep}{os.environ['PATH']}",
            "RAY_ADDRESS": self.address,
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "token",
            "PYTHONPATH": "",
        }

    def start(self, num_gpus: int = 0) -> None:
        """Start the head; ``num_gpus`` declares logical GPUs, which Ray schedules like real ones."""
        self.num_gpus = num_gpus
        command = [
            str(BUNDLE_ENV / "ray"), "start", "--head", f"--port={self.port}",
            f"--dashboard-port={self.dashboard_port}", "--num-cpus=4", f"--num-gpus={num_gpus}",
            "--disable-usage-stats", f"--temp-dir={self.temp_dir}",
        ]  # fmt: skip
        subprocess.run(command, cwd=self.workdir, env=self.env, check=True, capture_output=True, timeout=180)

    def stop(self) -> None:
        subprocess.run([str(BUNDLE_ENV / "ray"), "stop", "--force"], env=self.env, capture_output=True, timeout=120)

    def restart(self, num_gpus: int) -> None:
        if num_gpus != self.num_gpus:
            self.stop()
            self.start(num_gpus)

    def serve(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run Ray's own ``serve`` command line in ``cwd``, against this cluster."""
        return subprocess.run(
            [str(BUNDLE_ENV / "serve"), *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=300
        )

    def serve_bundle(self, bundle: Path) -> None:
        """Serve a bundle as its README says (`serve run serve.yaml` in it), on a fresh Serve instance.

        `serve run` puts its working directory on the replicas' path only when it starts Serve.
        """
        self.stop_serve()
        result = self.serve("run", "--non-blocking", "serve.yaml", cwd=bundle)
        assert result.returncode == 0, result.stderr

    def serve_controllers(self) -> int:
        """How many Serve controllers are alive on the cluster (0 or 1)."""
        found = httpx.get(
            f"{self.dashboard}/api/v0/actors",
            params={"filter_keys": "class_name", "filter_predicates": "=", "filter_values": "ServeController"},
            headers=self.auth_headers,
            timeout=60,
        ).json()
        return sum(1 for row in found["data"]["result"]["result"] if row["state"] == "ALIVE")

    def stop_serve(self) -> None:
        """Stop Serve and every application on it, whoever started it.

        The dashboard's DELETE does nothing when the dashboard still holds a handle to a controller that was
        stopped from elsewhere (Ray 2.60), leaving one that `serve run` started since: a driver of its own
        stops that one.
        """
        url = f"{self.dashboard}/api/serve/applications/"
        httpx.delete(url, headers=self.auth_headers, timeout=120).raise_for_status()
        if self.serve_controllers():
            self.python("import ray; from ray import serve; ray.init(); serve.shutdown()")

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {Path(os.environ['RAY_AUTH_TOKEN_PATH']).read_text()}"}

    def python(self, code: str) -> str:
        """Run Python code in the bundle environment (no cellserve) connected to the cluster."""
        result = subprocess.run(
            [str(BUNDLE_ENV / "python"), "-c", code],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,  # a first driver on a busy 2-core machine can take minutes
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory, isolated_home: Path) -> Iterator[Cluster]:
    """One Ray head for the whole session, started and stopped by the tests; it requires Ray's token."""
    if not (BUNDLE_ENV / "ray").exists():
        pytest.fail("The bundle environment is missing: run the tests with `make test`.")
    write_ray_token(isolated_home)
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(isolated_home / ".ray" / "auth_token")
    cluster = Cluster(free_port(), free_port(), tmp_path_factory.mktemp("ray"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def wait_until_healthy(url: str, timeout: float = 240) -> None:
    """Poll ``url`` until it answers 200; fail with the last answer after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(1)
    pytest.fail(f"{url} did not become healthy in {timeout:.0f} s: {last}")
