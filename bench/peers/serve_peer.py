"""Start one benchmark peer (FastAPI, BentoML or LitServe) on 127.0.0.1, measure it, stop it.

    python bench/peers/serve_peer.py NAME MODEL PORT   # serve until Ctrl-C; NAME: fastapi, bentoml, litserve
    python bench/peers/serve_peer.py floor MODEL       # the in-process floor: predict() with no server

From Python (with bench/peers on sys.path):

    with serve_peer.running("bentoml", "wine", 18081) as peer:
        load.run_wrk(peer.url, peer.body, connections=8, seconds=5)

Each peer runs in its own session (process group) with stdout and stderr in a log file, and is
stopped as a whole: the group, then any process that left it. FastAPI runs with this Python;
BentoML and LitServe with the one in .venv-peers (tools/setup_bench.sh; or $CELLSERVE_BENCH_PEERS_VENV).
Every peer loads the same model files (``models.cache_dir()``) and runs with OMP_NUM_THREADS=1 and
torch on one thread, so each gets the same CPU budget for the model.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import models
import psutil

PEERS_DIR = Path(__file__).resolve().parent
ROOT = PEERS_DIR.parent.parent
if str(PEERS_DIR.parent) not in sys.path:
    sys.path.insert(0, str(PEERS_DIR.parent))
from load import wait_ready  # noqa: E402 (bench/ joins sys.path just above)

PEERS = ("fastapi", "bentoml", "litserve")
HOST = "127.0.0.1"


@dataclass
class Peer:
    """A started peer: its process (a session leader), where it listens, and the example request."""

    name: str
    model: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    body: bytes
    scratch: Path = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/predict"


def _peers_python() -> Path:
    venv = Path(os.environ.get("CELLSERVE_BENCH_PEERS_VENV") or ROOT / ".venv-peers")
    python = venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run tools/setup_bench.sh to make {venv}.")
    return python


def command(name: str, model: str, port: int) -> list[str]:
    """The command line that serves ``model`` with peer ``name`` on 127.0.0.1:``port``."""
    if name == "fastapi":
        return [sys.executable, str(PEERS_DIR / "fastapi_app.py"), model, str(port)]
    if name == "litserve":
        return [str(_peers_python()), str(PEERS_DIR / "litserve_app.py"), model, str(port)]
    if name == "bentoml":
        bentoml = _peers_python().parent / "bentoml"
        target = f"bentoml_service:{model.capitalize()}"
        return [str(bentoml), "serve", target, "--working-dir", str(PEERS_DIR), "--host", HOST, "--port", str(port)]
    raise ValueError(f"Got {name!r} for the peer: it must be one of {', '.join(PEERS)}.")


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def _log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(name: str, model: str, port: int, *, ready_timeout: float = 120.0) -> Peer:
    """Start peer ``name`` serving ``model`` on 127.0.0.1:``port`` and wait until it answers the example.

    Trains the model first if the cache lacks it, so no peer trains. Raises RuntimeError (with the
    end of its log) when the port is taken, or the peer exits or is not ready within ``ready_timeout``.
    """
    if _port_taken(port):
        raise RuntimeError(f"Port {port} already answers on {HOST}: stop what listens there or pick another port.")
    cache = models.prepare(model).parent
    argv = command(name, model, port)
    scratch = Path(tempfile.mkdtemp(prefix=f"cellserve-peer-{name}-{model}-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(PEERS_DIR),
        "CELLSERVE_BENCH_MODELS": str(cache),
        "OMP_NUM_THREADS": "1",  # the same CPU budget for every peer (torch itself is set to 1 thread)
        "BENTOML_HOME": str(scratch / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
    }
    log = Path(tempfile.gettempdir()) / f"cellserve-peer-{name}-{model}-{port}.log"  # kept after the stop
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    peer = Peer(name, model, port, process, log, json.dumps(models.example(model)).encode(), scratch)
    try:
        _wait_started(peer, ready_timeout)
    except BaseException:
        stop(peer)
        raise
    return peer


def _wait_started(peer: Peer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if peer.process.poll() is not None:
            status = peer.process.returncode
            raise RuntimeError(f"{peer.name} ({peer.model}) exited with status {status}:\n{_log_tail(peer.log)}")
        try:
            wait_ready(peer.url, peer.body, timeout=1.0)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                message = f"{peer.name} ({peer.model}) did not answer within {timeout:g} s:\n{_log_tail(peer.log)}"
                raise RuntimeError(message) from None


def stop(peer: Peer, timeout: float = 15.0) -> None:
    """Stop the peer: SIGTERM to its process group, SIGKILL to whatever is left after ``timeout`` seconds."""
    try:
        tree = [psutil.Process(peer.process.pid), *psutil.Process(peer.process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(peer.process.pid, signal.SIGTERM)
    for process in tree:  # children that started their own group or session
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(tree, timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(peer.process.pid, signal.SIGKILL)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=5)
    peer.process.wait(timeout=5)
    shutil.rmtree(peer.scratch, ignore_errors=True)


@contextlib.contextmanager
def running(name: str, model: str, port: int, *, ready_timeout: float = 120.0) -> Iterator[Peer]:
    """``start`` on entry, ``stop`` on exit, whatever happens in between."""
    peer = start(name, model, port, ready_timeout=ready_timeout)
    try:
        yield peer
    finally:
        stop(peer)


def memory(peer: Peer) -> dict[str, float]:
    """Memory of the peer and all its child processes: RSS summed (MiB), PSS summed (MiB), process count.

    RSS counts pages that forked workers share once per process; PSS splits them between sharers.
    """
    root = psutil.Process(peer.process.pid)
    rss = pss = 0
    tree = [root, *root.children(recursive=True)]
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            info = process.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    return {"rss_mib": round(rss / 2**20, 1), "pss_mib": round(pss / 2**20, 1), "processes": len(tree)}


def floor(model: str, calls: int = 5000, warmup: int = 200) -> dict[str, float]:
    """The in-process floor: ``predict(example)`` called ``calls`` times with no server in between.

    Returns p50 and p99 in microseconds and calls per second (one thread, torch on one thread).
    """
    predictor = models.load(model)
    payload = models.example(model)
    for _ in range(warmup):
        predictor.predict(payload)
    times = []
    started = time.perf_counter_ns()
    for _ in range(calls):
        before = time.perf_counter_ns()
        predictor.predict(payload)
        times.append(time.perf_counter_ns() - before)
    total_s = (time.perf_counter_ns() - started) / 1e9
    times.sort()
    return {
        "calls": calls,
        "p50_us": round(statistics.median(times) / 1000, 1),
        "p99_us": round(times[int(len(times) * 0.99) - 1] / 1000, 1),
        "calls_per_s": round(calls / total_s, 1),
    }


def main(argv: list[str]) -> None:
    """``NAME MODEL PORT``: serve until interrupted; ``floor MODEL``: print the in-process floor."""
    if len(argv) == 2 and argv[0] == "floor":
        print(json.dumps(floor(argv[1])))
        return
    if len(argv) != 3:
        sys.exit(__doc__)
    name, model, port = argv
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with running(name, model, int(port)) as peer:
        answer = json.loads(wait_ready(peer.url, peer.body))
        print(f"{name} serves {model} at {peer.url} (log: {peer.log}); the example answers {answer}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while peer.process.poll() is None:
                time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1:])
