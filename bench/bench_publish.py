"""Measure `cellserve publish` on the embedded cluster: cold (no cluster running) and warm.

Run with `make bench`. Uses a CELLSERVE_HOME of its own and stops its cluster at the end.
Results go to bench/results/publish.json and publish.md.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from bench_convert import machine

from cellserve.runtime._embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = os.environ.get("BENCH_EXAMPLE", "digits")
WARM_RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cellserve-bench-") as home:
        os.environ["CELLSERVE_HOME"] = home
        os.environ.pop("RAY_ADDRESS", None)
        os.environ.setdefault("CELLSERVE_HTTP_PORT", str(free_port()))
        from cellserve.runtime import publish, stop_embedded_cluster

        runs = []
        try:
            for index in range(1 + WARM_RUNS):
                started = time.perf_counter()
                result = publish(ROOT / "examples" / f"{EXAMPLE}.ipynb")
                total = round(time.perf_counter() - started, 1)
                runs.append({"kind": "cold" if index == 0 else "warm", "total_s": total, "stages_s": result.timings})
                print(runs[-1], flush=True)
        finally:
            stop_embedded_cluster()
    result_file = {"machine": machine(), "example": EXAMPLE, "date": time.strftime("%Y-%m-%d"), "runs": runs}
    out = ROOT / "bench" / "results"
    (out / "publish.json").write_text(json.dumps(result_file, indent=2) + "\n")
    stages = list(runs[0]["stages_s"])
    lines = [
        f"Machine: {result_file['machine']}; example {EXAMPLE}; {result_file['date']}.",
        "Cold: no cluster running (the embedded cluster starts).",
        "Warm: the cluster runs and serves the previous version.",
        "",
        "| run | total (s) | " + " | ".join(stages) + " |",
        "| --- | --- | " + " | ".join("---" for _ in stages) + " |",
    ]
    for run in runs:
        cells = " | ".join(str(run["stages_s"].get(stage, "")) for stage in stages)
        lines.append(f"| {run['kind']} | {run['total_s']} | {cells} |")
    (out / "publish.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
