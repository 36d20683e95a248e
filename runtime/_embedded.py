"""The embedded cluster: a Ray head that cellserve starts on demand and keeps between commands.

Its processes are found by the temp dir they were started with, so stopping it never
touches another Ray on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from cellserve.exceptions import ClusterError

from ._clusters import Cluster, dashboard_answers, http_port
from ._home import home, ray_temp_dir

START_TIMEOUT_S = 120


def logical_cpus() -> int:
    """CPUs the embedded cluster declares: twice the cores (at least 4), so that a new version's
    staging copy fits beside the live one on a laptop; they are scheduling slots, not a limit."""
    return max(4, 2 * (os.cpu_count() or 1))


def _record_path() -> Path:
    return home() / "cluster.json"


def free_port(preferred: int = 0) -> int:
    """``preferred`` if it is free, else any free port on 127.0.0.1."""
    for port in dict.fromkeys((preferred, 0)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise ClusterError("No free TCP port for the embedded Ray cluster.")


def read_record() -> dict[str, Any] | None:
    path = _record_path()
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def status() -> dict[str, Any]:
    """Whether the embedded cluster runs, and where."""
    record = read_record()
    if record is None:
        return {"running": False}
    return {**record, "running": dashboard_answers(record["dashboard"]), "processes": len(_processes())}


def ensure_running() -> Cluster:
    """Reuse the embedded head if it answers; otherwise start one."""
    record = read_record()
    if record and dashboard_answers(record["dashboard"]):
        return Cluster("embedded", record["dashboard"], int(record["http_port"]))
    if record:
        stop()
    return _start()


def _start() -> Cluster:
    temp = ray_temp_dir()
    gcs, dashboard = free_port(6379), free_port(8265)
    # Ports Ray fixes by default are chosen free, so another Ray on the machine does not clash.
    agent, client = free_port(52365), free_port(10001)
    command = [
        sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
        f"--port={gcs}", f"--dashboard-port={dashboard}", "--dashboard-host=127.0.0.1",
        f"--dashboard-agent-listen-port={agent}", f"--ray-client-server-port={client}",
        f"--temp-dir={temp}", "--disable-usage-stats", f"--num-cpus={logical_cpus()}",
    ]  # fmt: skip
    # Jobs run `python`: make it this environment's, where the notebook's packages are.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PATH": path}
    env.pop("RAY_ADDRESS", None)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=START_TIMEOUT_S)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise ClusterError(f"Could not start the embedded Ray cluster:\n{tail}")
    url = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not dashboard_answers(url):
        if time.monotonic() > deadline:
            stop()
            raise ClusterError(f"The embedded Ray cluster started, but its dashboard never answered at {url}.")
        time.sleep(0.5)
    record = {"gcs": f"127.0.0.1:{gcs}", "dashboard": url, "http_port": http_port(), "temp_dir": str(temp)}
    _record_path().write_text(json.dumps(record, indent=2))
    return Cluster("embedded", url, int(str(record["http_port"])))


def _processes() -> list[psutil.Process]:
    marker = str(ray_temp_dir())
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in process.info["cmdline"] or []):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def stop(timeout: float = 20) -> int:
    """Stop the embedded cluster's processes (only those); returns how many there were."""
    found = {p.pid: p for p in _processes()}
    for process in list(found.values()):
        found.update({child.pid: child for child in _children(process)})
    processes = list(found.values())
    for process in processes:
        _signal(process, signal.SIGTERM)
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        _signal(process, signal.SIGKILL)
    _record_path().unlink(missing_ok=True)
    return len(processes)


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return list(process.children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _signal(process: psutil.Process, number: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(number)
