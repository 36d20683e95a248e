"""Serving speed side by side: the same model served six ways, measured in one run on one machine.

For the digits and wine examples: the cellserve endpoint as published (defaults: one deployment),
cellserve with its stages forced apart (two deployments, to show the hop), digits with dynamic batching
(examples/digits-batched.ipynb), a hand-written Ray Serve app (bench/peers/ray_serve_app.py), Ray Serve's
own floor here (bench/peers/ray_floor.py: a constant answer, no model, no body read), BentoML, LitServe,
plain FastAPI + uvicorn, and the in-process call. wrk (its own process) posts the notebook's example
request over loopback at concurrency 1, 8 and 32, and once beyond (128) for the overload behaviour. Every
server gets the same CPU budget: one process or replica serving (BentoML and LitServe: one worker), torch on
one thread, all on this machine's cores beside wrk; the Ray cluster is stopped before the peers without Ray
run. Results: bench/results/serving-<date>.json and serving.md. Run with `make bench` (or
`BENCH_SECONDS=4 python bench/bench_serving.py` for a quick look).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import psutil
from bench_convert import machine

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
sys.path[:0] = [str(PEERS)]
import models  # noqa: E402 (bench/peers joins sys.path just above)
import serve_peer  # noqa: E402
from load import run_wrk, wait_ready  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CONCURRENCY = (1, 8, 32)
OVERLOAD = 128
EXAMPLES = ("digits", "wine")
BATCHED = "cellserve, batched"
FLOOR = "Ray Serve floor (constant answer)"
WAYS = (
    "cellserve",
    "cellserve, two deployments",
    BATCHED,
    "Ray Serve by hand",
    FLOOR,
    "BentoML",
    "LitServe",
    "FastAPI",
)
BATCHED_EXAMPLES = {"digits": "digits-batched"}  # the example notebooks written for a batch
BASELINE = "Ray Serve by hand"


def measure(url: str, body: bytes, rss: Callable[[], float]) -> dict[str, Any]:
    """wrk at each concurrency (after a short warm-up), then once beyond; the server's memory around it."""
    run_wrk(url, body, connections=8, seconds=2)
    found: dict[str, Any] = {"rss_mib_at_rest": rss()}
    for connections in (*CONCURRENCY, OVERLOAD):
        result = run_wrk(url, body, connections=connections, seconds=SECONDS)
        answered = result["requests"] - result["non_2xx"]
        found[f"c{connections}"] = {
            "requests_per_s": result["requests_per_s"],
            "answered_per_s": round(answered / result["seconds"], 1),
            "p50_ms": result["p50_ms"],
            "p99_ms": result["p99_ms"],
            "non_2xx": result["non_2xx"],
            "timeouts": result["socket_errors"]["timeout"],
        }
    found["rss_mib_after_load"] = rss()
    return found


def replica_rss(serve: Any, app: str) -> Callable[[], float]:
    """The summed RSS (MiB) of the running replicas of one Serve application."""

    def rss() -> float:
        total = 0
        for deployment in serve.applications()[app]["deployments"].values():
            for replica in deployment["replicas"]:
                if replica.get("pid") and replica["state"] == "RUNNING":
                    total += psutil.Process(replica["pid"]).memory_info().rss
        return round(total / 2**20, 1)

    return rss


def notebook_copy(example: str, folder: Path, settings: dict[str, Any]) -> Path:
    notebook = nbformat.read(ROOT / "examples" / f"{example}.ipynb", as_version=4)
    notebook.metadata["cellserve"] = {**notebook.metadata.get("cellserve", {}), **settings}
    path = folder / f"{example}.ipynb"
    nbformat.write(notebook, path)
    return path


def on_ray(results: dict[str, dict[str, Any]], folder: Path) -> None:
    """cellserve (one deployment and two) and the hand-written Ray Serve app, on the embedded cluster."""
    from cellserve.runtime import delete, publish
    from cellserve.runtime._embedded import ensure_running, stop
    from cellserve.runtime._serve import ServeCluster

    cluster = ensure_running()
    serve = ServeCluster(cluster)
    try:
        for example in EXAMPLES:
            body = json.dumps(models.example(example)).encode()
            ways: list[tuple[str, str, dict[str, Any]]] = [
                ("cellserve", example, {}),
                ("cellserve, two deployments", example, {"stages": "separate"}),
            ]
            if example in BATCHED_EXAMPLES:  # its own settings: batch of up to 32, 5 ms wait
                ways.append((BATCHED, BATCHED_EXAMPLES[example], {}))
            for way, notebook, settings in ways:
                name = {"cellserve": f"bench-{example}", BATCHED: f"bench-{example}-batched"}.get(
                    way, f"bench-{example}-two"
                )
                (folder / name).mkdir(exist_ok=True)
                path = notebook_copy(notebook, folder / name, {"name": name, **settings})
                result = publish(path)
                try:
                    print(f"{way}: {example} at {result.endpoint}", flush=True)
                    app = f"{result.name}_v{result.version}"
                    results[example][way] = measure(result.endpoint, body, replica_rss(serve, app))
                finally:
                    delete(result.name)
            results[example][BASELINE] = by_hand(serve, example, body)
        floor = by_hand(serve, "floor", b'{"pixels": [0]}', import_path="ray_floor:app")
        for example in EXAMPLES:
            results[example][FLOOR] = floor
    finally:
        stop()


def by_hand(serve: Any, example: str, body: bytes, import_path: str = "ray_serve_app:app_builder") -> dict[str, Any]:
    """Deploy bench/peers/ray_serve_app.py for ``example`` (or another app of bench/peers) beside nothing else,
    measure it, remove it."""
    name = f"by-hand-{example}"
    declared = serve.declared()
    app = {
        "name": name,
        "route_prefix": f"/{name}",
        "import_path": import_path,
        **({"args": {"model": example}} if import_path.endswith(":app_builder") else {}),
        "runtime_env": {
            "working_dir": serve.upload(PEERS),
            "env_vars": {"CELLSERVE_BENCH_MODELS": str(models.cache_dir()), "OMP_NUM_THREADS": "1"},
        },
    }
    serve.apply([*declared, app], step="bench")
    try:
        serve.wait_running(name, step="bench", timeout=300)
        url = f"http://127.0.0.1:8000/{name}"
        wait_ready(url, body, timeout=60)
        print(f"{import_path}: {example} at {url}", flush=True)
        return measure(url, body, replica_rss(serve, name))
    finally:
        serve.apply(declared, step="bench")
        serve.wait_gone({name})


def without_ray(results: dict[str, dict[str, Any]]) -> None:
    """BentoML, LitServe and FastAPI, one at a time, each on its own port; then the in-process floor."""
    names = {"BentoML": "bentoml", "LitServe": "litserve", "FastAPI": "fastapi"}
    for example in EXAMPLES:
        for offset, (way, peer_name) in enumerate(names.items()):
            with serve_peer.running(peer_name, example, 18090 + offset) as peer:
                print(f"{way}: {example} at {peer.url}", flush=True)
                results[example][way] = measure(peer.url, peer.body, lambda: serve_peer.memory(peer)["rss_mib"])
        results[example]["in-process call"] = serve_peer.floor(example)


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown: per example, each way's throughput and latency at each concurrency, with ratios to Ray by hand."""
    lines = []
    for example in EXAMPLES:
        found = results[example]
        base = found.get(BASELINE, {})
        lines += [
            f"### {example}",
            "",
            "| served by | c | answered/s | × by hand | p50 ms | × by hand | p99 ms | memory MiB (rest → after) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for way in WAYS:
            if way not in found:
                continue
            row = found[way]
            memory = f"{row['rss_mib_at_rest']} → {row['rss_mib_after_load']}"
            for connections in CONCURRENCY:
                cell, ref = row[f"c{connections}"], base.get(f"c{connections}")
                speed = f"{cell['answered_per_s'] / ref['answered_per_s']:.2f}" if ref else "-"
                latency = f"{cell['p50_ms'] / ref['p50_ms']:.2f}" if ref else "-"
                lines.append(
                    f"| {way} | {connections} | {cell['answered_per_s']} | {speed} | {cell['p50_ms']} | {latency} "
                    f"| {cell['p99_ms']} | {memory if connections == 1 else ''} |"
                )
        floor = found.get("in-process call")
        if floor:
            lines.append(
                f"| in-process call | 1 | {floor['calls_per_s']} | | {floor['p50_us'] / 1000:.3f} | "
                f"| {floor['p99_us'] / 1000:.3f} | |"
            )
        lines += ["", f"At concurrency {OVERLOAD} (overload): answered/s, and refusals (non-2xx) in {SECONDS:g} s:", ""]
        lines += [
            f"- {way}: {found[way][f'c{OVERLOAD}']['answered_per_s']} answered/s, "
            f"{found[way][f'c{OVERLOAD}']['non_2xx']} refused, {found[way][f'c{OVERLOAD}']['timeouts']} timed out "
            f"(p50 {found[way][f'c{OVERLOAD}']['p50_ms']} ms)"
            for way in WAYS
            if way in found
        ]
        lines.append("")
    return lines


@contextmanager
def isolated_home() -> Iterator[None]:
    with tempfile.TemporaryDirectory(prefix="cellserve-bench-") as home:
        saved = {key: os.environ.get(key) for key in ("CELLSERVE_HOME", "RAY_ADDRESS")}
        os.environ["CELLSERVE_HOME"] = home
        os.environ.pop("RAY_ADDRESS", None)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def main() -> None:
    date = time.strftime("%Y-%m-%d")
    results: dict[str, dict[str, Any]] = {example: {} for example in EXAMPLES}
    for example in EXAMPLES:
        models.prepare(example)
    with isolated_home(), tempfile.TemporaryDirectory(prefix="cellserve-bench-nb-") as folder:
        on_ray(results, Path(folder))
    without_ray(results)
    document = {"machine": machine(), "date": date, "seconds_per_run": SECONDS, "results": results}
    out = ROOT / "bench" / "results"
    (out / f"serving-{date}.json").write_text(json.dumps(document, indent=2) + "\n")
    text = [f"# Serving side by side ({date})", "", f"Machine: {machine()}", "", *table(results)]
    (out / "serving.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
