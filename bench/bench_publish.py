"""Measure publishing on the embedded cluster: the cluster's own start, a cold publish, a warm republish of
an unchanged notebook, a code-only change, a rollback to the warm previous version, and the requests a client
at concurrency 8 loses while a republish, a rollback and a publish that fails its smoke test happen.

Run with `make bench`. Uses CELLSERVE_HOMEs of its own and stops its clusters at the end.
Results go to bench/results/publish.json and publish.md.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from bench_convert import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLE = os.environ.get("BENCH_EXAMPLE", "digits")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return round(time.perf_counter() - started, 2), result


def changed_copy(source: Path, target: Path, marker: str) -> Path:
    """The notebook with a comment added to its predict cell: a code-only change."""
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if "cellserve:predict" in cell.metadata.get("tags", []):
            cell.source = f"# {marker}\n{cell.source}"
    nbformat.write(notebook, target)
    return target


def failing_copy(source: Path, target: Path) -> Path:
    """The notebook with an expected answer the service cannot give: it fails its smoke test."""
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if "cellserve:predict" in cell.metadata.get("tags", []):
            cell.source = "import random\n" + cell.source + "\nrandom.random()"
    nbformat.write(notebook, target)
    return target


def main() -> None:
    from cellserve.exceptions import DeployError
    from cellserve.runtime import publish, rollback, start_embedded_cluster, stop_embedded_cluster
    from tests.runtime.load import Load

    os.environ.pop("RAY_ADDRESS", None)
    notebook = ROOT / "examples" / f"{EXAMPLE}.ipynb"
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cellserve-bench-") as scratch:
        os.environ["CELLSERVE_HOME"] = f"{scratch}/empty"
        try:
            rows["cluster start (no service)"], _ = timed(start_embedded_cluster)
        finally:
            stop_embedded_cluster()
        os.environ["CELLSERVE_HOME"] = f"{scratch}/home"
        try:
            rows["cold publish (cluster starts)"], first = timed(lambda: publish(notebook))
            rows["cold publish, by step"] = first.timings
            unchanged, changed, back, steps = [], [], [], []
            for run in range(RUNS):
                unchanged.append(timed(lambda: publish(notebook))[0])
                variant = changed_copy(notebook, Path(scratch) / f"{EXAMPLE}.ipynb", f"change {run}")
                seconds, result = timed(lambda variant=variant: publish(variant, name=first.name))
                changed.append(seconds)
                steps.append(result.timings)
                back.append(timed(lambda: rollback(first.name))[0])
            rows["warm republish, unchanged"] = unchanged
            rows["code-only change"] = changed
            rows["rollback to the warm previous version"] = back
            rows["code-only change, by step"] = {
                step: round(sorted(t.get(step, 0.0) for t in steps)[len(steps) // 2], 2) for step in steps[0]
            }

            example = json.loads(
                (Path(scratch) / "home" / "services" / first.name / "v1" / "example_request.json").read_text()
            )
            load_rows: dict[str, Any] = {}
            for label, action in (
                (
                    "republish (code change)",
                    lambda: publish(changed_copy(notebook, Path(scratch) / "load.ipynb", "load"), name=first.name),
                ),
                ("rollback", lambda: rollback(first.name)),
                (
                    "publish failing its smoke test",
                    lambda: _expect_failure(
                        DeployError,
                        lambda: publish(failing_copy(notebook, Path(scratch) / "fail.ipynb"), name=first.name),
                    ),
                ),
            ):
                with Load(first.endpoint, example, concurrency=8, max_seconds=300) as load:
                    time.sleep(2)
                    seconds, _ = timed(action)
                    time.sleep(2)
                load_rows[label] = {
                    "seconds": seconds,
                    "requests": load.total,
                    "failed": len(load.failures),
                    "by_version": dict(load.answers),
                    "first_failures": load.failures[:3],
                }
                print(label, load_rows[label], flush=True)
            rows["under load (concurrency 8)"] = load_rows
        finally:
            stop_embedded_cluster()
    write(rows)


def _expect_failure(kind: type[Exception], action: Callable[[], Any]) -> None:
    try:
        action()
    except kind:
        return
    raise RuntimeError("the publish meant to fail went live")


def write(rows: dict[str, Any]) -> None:
    result = {"machine": machine(), "example": EXAMPLE, "date": time.strftime("%Y-%m-%d"), "results": rows}
    out = ROOT / "bench" / "results"
    (out / "publish.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"Machine: {result['machine']}; example {EXAMPLE}; {result['date']}.",
        "",
        "| step | seconds |",
        "| --- | --- |",
    ]
    for label, value in rows.items():
        if label.startswith("under load") or label.endswith("by step"):
            continue
        shown = ", ".join(f"{v:.2f}" for v in value) if isinstance(value, list) else f"{value:.2f}"
        lines.append(f"| {label} | {shown} |")
    cold, change = rows["cold publish, by step"], rows["code-only change, by step"]
    lines += [
        "",
        "Where the time goes, in seconds per publish step (the cold publish's preflight holds the cluster's",
        "start; the code-only change is the median of its runs):",
        "",
        "| publish | " + " | ".join(change) + " |",
        "| --- | " + " | ".join("---" for _ in change) + " |",
        "| cold | " + " | ".join(f"{cold.get(step, 0.0):.2f}" for step in change) + " |",
        "| code-only change | " + " | ".join(f"{v:.2f}" for v in change.values()) + " |",
    ]
    lines += [
        "",
        "A client at concurrency 8 (Python threads, loopback) posting the example request throughout:",
        "",
        "| during | seconds | requests | failed | answered by version |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, row in rows["under load (concurrency 8)"].items():
        versions = ", ".join(f"v{k}: {v}" for k, v in sorted(row["by_version"].items()))
        lines.append(f"| {label} | {row['seconds']:.2f} | {row['requests']} | {row['failed']} | {versions} |")
    (out / "publish.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
