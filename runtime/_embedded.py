"""The embedded cluster: a Ray head that cellserve starts on demand and keeps between commands.

It starts secure: Ray's token authentication on, with a token of its own kept in the state
folder (mode 0600), whatever ``~/.ray/auth_token`` holds; the Serve proxy on 127.0.0.1
unless opened with ``--host``; an HTTP port of its own, chosen free at start, kept across
restarts while it is free, and checked at every publish. Its processes are found by the
temp dir they were started with, so stopping it never touches another Ray on the machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from cellserve.bundle import RESEND_CALLBACK
from cellserve.exceptions import ClusterError

from . import _auth as auth
from ._clusters import DEFAULT_HTTP_PORT, Cluster, Progress, dashboard_answers, is_loopback
from ._home import home, ray_temp_dir

START_TIMEOUT_S = 120


def logical_cpus() -> int:
    """CPUs the embedded cluster declares: twice the cores (at least 4), so that a new version fits beside
    the live and warm ones on a laptop; they are scheduling slots, not a limit."""
    return max(4, 2 * (os.cpu_count() or 1))


def _record_path() -> Path:
    return home() / "cluster.json"


def _network_path() -> Path:
    """The HTTP port and host, kept when the cluster stops so that a restart keeps its URLs."""
    return home() / "cluster-network.json"


def token() -> auth.RayToken:
    return auth.token_file(home() / "ray-auth-token")


def _port_free(port: int) -> bool:
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def free_port(preferred: int = 0) -> int:
    """``preferred`` if it is free, else any free port on 127.0.0.1."""
    if preferred and _port_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_record() -> dict[str, Any] | None:
    path = _record_path()
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def _network(host: str | None) -> dict[str, Any]:
    path = _network_path()
    kept: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    chosen = host or os.environ.get("CELLSERVE_HTTP_HOST") or kept.get("http_host") or "127.0.0.1"
    return {"http_host": chosen, "http_port": free_port(int(kept.get("http_port") or DEFAULT_HTTP_PORT))}


def _cluster(record: dict[str, Any]) -> Cluster:
    return Cluster("embedded", record["dashboard"], int(record["http_port"]), token(), record["http_host"])


def current() -> Cluster | None:
    """The embedded cluster if it runs, without starting it."""
    record = read_record()
    if record and dashboard_answers(record["dashboard"], token()):
        return _cluster(record)
    return None


def status() -> dict[str, Any]:
    """Whether the embedded cluster runs, and where."""
    record = read_record()
    if record is None:
        return {"running": False}
    running = dashboard_answers(record["dashboard"], token())
    return {**record, "running": running, "processes": len(_processes())}


def ensure_running(progress: Progress | None = None, *, host: str | None = None) -> Cluster:
    """Reuse the embedded head if it answers; otherwise start one and bring its services back."""
    with _start_lock():
        found = current()
        if found is not None:
            if host and host != found.http_host:
                raise ClusterError(
                    f"The embedded cluster runs with its services on {found.http_host}; to listen on {host}, "
                    "run `cellserve cluster stop`, then `cellserve cluster start --host " + host + "`."
                )
            check_port(found)
            return found
        if read_record():
            stop()
        cluster = _start(progress, host)
        from ._recovery import restore

        restore(cluster, progress)
        return cluster


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """One process at a time checks for, or starts, the embedded cluster of a state folder."""
    with open(home() / "cluster.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _working_folder() -> Path:
    """The folder the embedded cluster runs in: empty. Ray puts the current folder of the process that starts
    Serve on its workers' ``sys.path``, ahead of a bundle's own folder, so a cluster started where the user
    happened to be would let a ``cellserve/`` folder or a module there stand in for the service's own code."""
    folder = home() / "cluster-cwd"
    folder.mkdir(exist_ok=True)
    return folder


PROXY_CALLBACK = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
"""Ray Serve's setting: a function, by import path, whose middlewares its HTTP proxy runs in front of every route."""

METRICS_REPORT_MS = 2000
"""How often the embedded cluster's processes report their metrics (Ray's default: 10 s)."""


def _start(progress: Progress | None, host: str | None) -> Cluster:
    say = progress or (lambda _step, _message: None)
    say("cluster", "Starting the embedded Ray cluster (token authentication on)")
    temp = ray_temp_dir()
    gcs, dashboard = free_port(6379), free_port(8265)
    # Ports Ray fixes by default are chosen free, so another Ray on the machine does not clash.
    agent, client = free_port(52365), free_port(10001)
    network = _network(host)
    command = [
        sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
        f"--port={gcs}", f"--dashboard-port={dashboard}", "--dashboard-host=127.0.0.1",
        f"--dashboard-agent-listen-port={agent}", f"--ray-client-server-port={client}",
        f"--temp-dir={temp}", "--disable-usage-stats", f"--num-cpus={logical_cpus()}",
    ]  # fmt: skip
    # Jobs run `python`: make it this environment's, where the notebook's packages are.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    secret = token()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PATH": path}
    # Ray's processes report their metrics every 10 s by default; live traffic figures want them sooner.
    env.setdefault("RAY_metrics_report_interval_ms", str(METRICS_REPORT_MS))
    # Serve's proxy sends a prediction request once more when the replica that held it died (a user's own
    # callback, where one is set, is kept instead).
    env.setdefault(PROXY_CALLBACK, RESEND_CALLBACK)
    env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": secret.source})
    for name in ("RAY_ADDRESS", "RAY_AUTH_TOKEN"):
        env.pop(name, None)
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=_working_folder(), timeout=START_TIMEOUT_S
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise ClusterError(f"Could not start the embedded Ray cluster:\n{tail}")
    url = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not dashboard_answers(url, secret):
        if time.monotonic() > deadline:
            stop()
            raise ClusterError(f"The embedded Ray cluster started, but its dashboard never answered at {url}.")
        time.sleep(0.5)
    record = {"gcs": f"127.0.0.1:{gcs}", "dashboard": url, **network, "temp_dir": str(temp)}
    _record_path().write_text(json.dumps(record, indent=2))
    _network_path().write_text(json.dumps(network, indent=2))
    cluster = _cluster(record)
    say("cluster", f"Starting Ray Serve's proxy on {cluster.http_host}:{cluster.http_port}")
    _start_serve(cluster)
    return cluster


def _start_serve(cluster: Cluster) -> None:
    """Start Serve at once, so that the proxy holds its port from now on."""
    from ._serve import ServeCluster

    ServeCluster(cluster).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _listening(cluster.http_port):
        if time.monotonic() > deadline:
            raise ClusterError(f"Ray Serve's proxy of the embedded cluster never listened on {cluster.http_port}.")
        time.sleep(0.25)
    check_port(cluster)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _listeners(port: int) -> list[tuple[str, int | None]]:
    found = []
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            found.append((connection.laddr.ip, connection.pid))
    return found


def check_port(cluster: Cluster) -> None:
    """The HTTP port must be the embedded cluster's own: another program listening there would get
    half of the requests (Serve's proxy shares its port with SO_REUSEPORT)."""
    ours = _own_pids()
    for ip, pid in _listeners(cluster.http_port):
        if pid is None or pid not in ours:
            who = _describe(pid)
            raise ClusterError(
                f"Another program ({who}) also listens on port {cluster.http_port}, the HTTP port of the embedded "
                f"Ray cluster of {home()}: requests to its URLs would land on either. Stop that program, or run "
                "`cellserve cluster stop` and then `cellserve cluster start` to move to a free port."
            )
        if not is_loopback(ip) and is_loopback(cluster.http_host):
            raise ClusterError(f"The embedded cluster's proxy listens on {ip}, not on {cluster.http_host} as set.")


def _describe(pid: int | None) -> str:
    if pid is None:
        return "a process of another user"
    try:
        return f"pid {pid}: {' '.join(psutil.Process(pid).cmdline())[:120]}"
    except psutil.Error:
        return f"pid {pid}"


def _own_pids() -> set[int]:
    return {process.pid for process in _own_processes()}


def _own_processes() -> list[psutil.Process]:
    """The cluster's processes (found by its temp dir) and all their children (Serve's actors among them)."""
    found = {p.pid: p for p in _processes()}
    for process in list(found.values()):
        found.update({child.pid: child for child in _children(process)})
    return list(found.values())


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


def stop(grace: float = 3) -> int:
    """Stop the embedded cluster's processes (only those); returns how many there were.

    Each is asked to stop (SIGTERM) and what still runs ``grace`` seconds later is killed. Waiting longer buys
    nothing: the dashboard's processes are gone within 2 s, but Ray 2.60's GCS server and autoscaler monitor
    never exit on SIGTERM, and its raylet waits about 10 s for workers that stop only once it has gone. Nothing
    of the cluster needs to outlive it: the services' versions are cellserve's own, and restoring them uses
    none of Ray's state.
    """
    processes = _own_processes()
    for process in processes:
        _signal(process, signal.SIGTERM)
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for process in alive:
        _signal(process, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=10)  # gone, and their ports free, before a start that may follow
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
