"""Measure the service surface: the page, the docs, and what an access token costs a prediction.

Publishes examples/digits.ipynb twice on the embedded cluster (public, and as
`digits-token` with access: token), then times sequential requests from one client on
the same machine. Also times rendering the page's notebook parts at convert time.
Run with `make bench`; results go to bench/results/service.json and service.md.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nbformat
from bench_convert import machine

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))


def timed(call: Any, count: int, status: int = 200) -> dict[str, float]:
    """Latency of ``count`` sequential calls, each of which must answer ``status``."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == status, response.text
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "requests": count,
    }


def page_parts_time() -> float:
    from cellserve.converter import read_notebook
    from cellserve.converter._page import cells_html, description_html

    notebook = read_notebook(ROOT / "examples" / "digits.ipynb")
    started = time.perf_counter()
    description_html(notebook)
    cells_html(notebook)
    return round((time.perf_counter() - started) * 1000, 1)


def main() -> None:
    results: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    results["page_parts_render_ms"] = page_parts_time()
    with tempfile.TemporaryDirectory(prefix="cellserve-bench-") as home:
        os.environ["CELLSERVE_HOME"] = home
        os.environ.pop("RAY_ADDRESS", None)
        from cellserve.runtime import _tokens as tokens
        from cellserve.runtime import publish, stop_embedded_cluster

        guarded = Path(home) / "digits-token.ipynb"
        notebook = nbformat.read(ROOT / "examples" / "digits.ipynb", as_version=4)
        notebook.metadata.setdefault("cellserve", {})["access"] = "token"
        nbformat.write(notebook, guarded)
        try:
            public = publish(ROOT / "examples" / "digits.ipynb")
            protected = publish(guarded)
            example = json.loads((Path(home) / "services" / "digits" / "v1" / "example_request.json").read_text())
            token = tokens.read("digits-token")
            with httpx.Client(timeout=60) as client:
                client.get(public.page)  # warm the route
                results["page"] = timed(lambda: client.get(public.page), REQUESTS // 4)
                results["page_bytes"] = len(client.get(public.page).content)
                docs = public.page + "docs"
                results["docs"] = timed(lambda: client.get(docs), REQUESTS // 4)
                results["predict_public"] = timed(lambda: client.post(public.endpoint, json=example), REQUESTS)
                bearer = {"Authorization": f"Bearer {token}"}
                results["predict_token"] = timed(
                    lambda: client.post(protected.endpoint, json=example, headers=bearer), REQUESTS
                )
                results["predict_refused_401"] = timed(
                    lambda: client.post(protected.endpoint, json=example), REQUESTS, status=401
                )
        finally:
            stop_embedded_cluster()
    out = ROOT / "bench" / "results"
    (out / "service.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"Machine: {results['machine']}; {results['date']}; one sequential client on the same machine.",
        f"Rendering digits' description and tagged cells at convert time: {results['page_parts_render_ms']} ms.",
        f"Service page size: {results['page_bytes'] / 1024:.1f} KiB (style and script inline).",
        "",
        "| request | p50 (ms) | p95 (ms) | requests |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in [
        ("page", "GET / (service page)"),
        ("docs", "GET /docs"),
        ("predict_public", "POST /predict, public"),
        ("predict_token", "POST /predict, with a valid token"),
        ("predict_refused_401", "POST /predict, no token (401)"),
    ]:
        row = results[key]
        lines.append(f"| {label} | {row['p50_ms']} | {row['p95_ms']} | {row['requests']} |")
    (out / "service.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
