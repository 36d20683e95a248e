"""Measure trying a version on real traffic, on the embedded cluster: a replay of the live version's last 100
logged requests before a code-only change goes live, a publish as a 10 % canary, changing and ending a split,
promoting the canary, and the share of requests the canary answered.

Run with `make bench`. Uses a CELLSERVE_HOME of its own and stops its cluster at the end.
Results go to bench/results/trials.json and trials.md.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nbformat
from bench_convert import machine
from bench_publish import changed_copy, timed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPLAYED = 100
SPLIT_REQUESTS = 1_000


def logged_copy(source: Path, target: Path) -> Path:
    """digits with its request log on (100 requests kept)."""
    notebook = nbformat.read(source, as_version=4)
    notebook.metadata.setdefault("cellserve", {})["request_log"] = {"max_requests": REPLAYED}
    nbformat.write(notebook, target)
    return target


def main() -> None:
    from cellserve.runtime import canary, promote, publish, start_embedded_cluster, stop_embedded_cluster

    os.environ.pop("RAY_ADDRESS", None)
    rows: dict[str, Any] = {}
    rng = random.Random(7)  # noqa: S311 - inputs for a benchmark, not secrets
    with tempfile.TemporaryDirectory(prefix="cellserve-bench-") as scratch:
        os.environ["CELLSERVE_HOME"] = f"{scratch}/home"
        try:
            start_embedded_cluster()
            notebook = logged_copy(ROOT / "examples" / "digits.ipynb", Path(scratch) / "digits.ipynb")
            first = publish(notebook)
            with httpx.Client(timeout=60) as client:
                for _ in range(REPLAYED):  # digits of random ink: each answer its own
                    pixels = [float(rng.randint(0, 16)) for _ in range(64)]
                    client.post(first.endpoint, json={"pixels": pixels}).raise_for_status()

            variant = changed_copy(notebook, Path(scratch) / "changed.ipynb", "replayed")
            seconds, replayed = timed(lambda: publish(variant, name=first.name, replay=REPLAYED))
            summary = replayed.replay or {}
            rows["replay"] = {
                "publish seconds": seconds,
                "replay step seconds": replayed.timings.get("replay"),
                "requests": summary.get("requests"),
                "same": summary.get("same"),
                "replay seconds": summary.get("seconds"),
            }

            variant = changed_copy(notebook, Path(scratch) / "canary.ipynb", "canary")
            seconds, trial = timed(lambda: publish(variant, name=first.name, canary=0.1))
            rows["publish as a 10 % canary (seconds)"] = seconds
            with httpx.Client(timeout=60) as client:
                versions = [
                    client.post(first.endpoint, json={"pixels": [0.0] * 64}).headers["x-cellserve-version"]
                    for _ in range(SPLIT_REQUESTS)
                ]
            rows["canary split observed"] = {
                "requests": SPLIT_REQUESTS,
                "answered by the canary": versions.count(str(trial.version)),
            }
            rows["change the split to 25 % (seconds)"], _ = timed(lambda: canary(first.name, trial.version, 0.25))
            rows["end the split (seconds)"], _ = timed(lambda: canary(first.name, None))
            canary(first.name, trial.version, 0.1)
            rows["promote the canary (seconds)"], _ = timed(lambda: promote(first.name))
        finally:
            stop_embedded_cluster()
    write(rows)


def write(rows: dict[str, Any]) -> None:
    result = {"machine": machine(), "example": "digits", "date": time.strftime("%Y-%m-%d"), "results": rows}
    out = ROOT / "bench" / "results"
    (out / "trials.json").write_text(json.dumps(result, indent=2) + "\n")
    replay, split = rows["replay"], rows["canary split observed"]
    lines = [
        f"Machine: {result['machine']}; example digits (request log on); {result['date']}.",
        "",
        "| step | figure |",
        "| --- | --- |",
        f"| replay of {replay['requests']} logged requests (both versions, 8 at a time) "
        f"| {replay['replay seconds']:.2f} s ({replay['same']} same) |",
        f"| code-only change with --replay {REPLAYED}, in all | {replay['publish seconds']:.2f} s |",
        f"| publish as a 10 % canary | {rows['publish as a 10 % canary (seconds)']:.2f} s |",
        f"| canary split observed | {split['answered by the canary']} of {split['requests']} requests |",
        f"| change the split to 25 % | {rows['change the split to 25 % (seconds)']:.2f} s |",
        f"| end the split | {rows['end the split (seconds)']:.2f} s |",
        f"| promote the canary | {rows['promote the canary (seconds)']:.2f} s |",
    ]
    (out / "trials.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
