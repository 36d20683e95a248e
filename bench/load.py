"""Load against a local HTTP endpoint: wrk at a fixed number of connections, and a readiness wait.

    wait_ready("http://127.0.0.1:18080/predict", body, timeout=60)
    run_wrk("http://127.0.0.1:18080/predict", body, connections=8, seconds=5)
    # {"requests_per_s": ..., "p50_ms": ..., "p99_ms": ..., "requests": ..., "non_2xx": 0, "socket_errors": {...}}

wrk (apt-get install -y wrk; tools/setup_bench.sh installs it) sends the same JSON POST on every
request; a small Lua script sets the method, headers and body and prints wrk's summary as JSON.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TypedDict

_MARK = "CELLSERVE_WRK "

# wrk's done() hook runs once, after the run; latency percentiles come in microseconds, the
# duration too. errors.status counts answers with a status of 400 or more ("Non-2xx or 3xx").
_LUA = """
wrk.method = "POST"
local file = assert(io.open( {body_path} , "rb"))
wrk.body = file:read("*a")
file:close()
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{mark}{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "status": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect, e.read, e.write, e.timeout))
end
"""


class SocketErrors(TypedDict):
    """wrk's socket errors; a request that outlived ``--timeout`` counts only here."""

    connect: int
    read: int
    write: int
    timeout: int


class WrkResult(TypedDict):
    """One wrk run: throughput, latency percentiles and everything that went wrong.

    ``non_2xx`` is wrk's "Non-2xx or 3xx responses": answers with a status of 400 or more.
    """

    url: str
    connections: int
    threads: int
    seconds: int
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: SocketErrors


def _lua_string(text: str) -> str:
    """``text`` as a Lua long-bracket literal that nothing inside it can close."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def _script(body_path: Path, headers: dict[str, str]) -> str:
    lines = [f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}" for name, value in headers.items()]
    return _LUA.format(body_path=_lua_string(str(body_path)), headers="\n".join(lines), mark=_MARK)


def run_wrk(
    url: str,
    body: bytes,
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """POST ``body`` to ``url`` over ``connections`` kept-alive connections for ``seconds`` (whole seconds, ≥ 1).

    wrk runs with min(2, connections) threads, ``--latency`` and ``--timeout 5s``; the body goes as
    ``Content-Type: application/json`` unless ``headers`` says otherwise. Raises RuntimeError when wrk
    is missing or fails (it stops at once when nothing listens at ``url``).
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not on PATH: run tools/setup_bench.sh (or apt-get install -y wrk).")
    if connections < 1:
        raise ValueError(f"Got {connections} for connections: it must be at least 1.")
    duration = max(1, math.ceil(seconds - 1e-9))
    threads = min(2, connections)
    with tempfile.TemporaryDirectory(prefix="cellserve-wrk-") as folder:
        body_path = Path(folder, "body.json")
        body_path.write_bytes(body)
        script = Path(folder, "post.lua")
        script.write_text(_script(body_path, {"Content-Type": "application/json", **(headers or {})}))
        command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "--latency"]
        process = subprocess.Popen(
            [*command, "-s", str(script), url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            output, _ = process.communicate(timeout=duration + 30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # wrk prints its summary on SIGINT, not on SIGTERM
            output, _ = process.communicate(timeout=10)
    summary = next((line[len(_MARK) :] for line in output.splitlines() if line.startswith(_MARK)), None)
    if process.returncode != 0 or summary is None:
        raise RuntimeError(f"wrk against {url} failed (exit status {process.returncode}):\n{output.strip()}")
    figures = json.loads(summary)
    return {
        "url": url,
        "connections": connections,
        "threads": threads,
        "seconds": duration,
        "requests": figures["requests"],
        "requests_per_s": round(figures["requests"] / (figures["duration_us"] / 1e6), 1),
        "p50_ms": round(figures["p50_us"] / 1000, 3),
        "p99_ms": round(figures["p99_us"] / 1000, 3),
        "non_2xx": figures["status"],
        "socket_errors": {key: figures[key] for key in ("connect", "read", "write", "timeout")},  # type: ignore[typeddict-item]
    }


def wait_ready(url: str, body: bytes, timeout: float = 60.0, headers: dict[str, str] | None = None) -> bytes:
    """POST ``body`` to ``url`` until it answers 200 and return that answer's body.

    Raises TimeoutError, with the last failure, when no 200 came within ``timeout`` seconds.
    """
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"Got {url!r} for the URL: it must start with http:// or https://.")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    request_headers = {"Content-Type": "application/json", **(headers or {})}
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")  # noqa: S310 (checked)
        try:
            with opener.open(request, timeout=5) as response:
                answer: bytes = response.read()
                if response.status == 200:
                    return answer
                last = f"status {response.status}"
        except urllib.error.HTTPError as error:
            last = f"status {error.code}: {error.read()[:200]!r}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:g} s (last: {last}).")
        time.sleep(0.2)
