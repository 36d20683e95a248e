"""Measure `cellserve convert` on the examples: wall time and bundle size.

Run with `make bench`. Results go to bench/results/convert.json and convert.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from cellserve.converter import convert

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["digits", "wine", "sentences"]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 2**20
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Python {platform.python_version()}"


def main() -> None:
    rows = []
    for name in EXAMPLES:
        times = []
        with tempfile.TemporaryDirectory() as scratch:
            for _ in range(RUNS):
                started = time.perf_counter()
                bundle = convert(ROOT / "examples" / f"{name}.ipynb", Path(scratch) / "bundle")
                times.append(time.perf_counter() - started)
            rows.append(
                {
                    "example": name,
                    "convert_s_median": round(statistics.median(times), 2),
                    "convert_s_min": round(min(times), 2),
                    "bundle_bytes": size(bundle.path),
                    "captured_bytes": size(bundle.path / "captured"),
                }
            )
        print(rows[-1], flush=True)
    result = {"machine": machine(), "runs": RUNS, "date": time.strftime("%Y-%m-%d"), "results": rows}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "convert.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"Machine: {result['machine']}; {RUNS} runs each, {result['date']}.",
        "",
        "| example | convert, median (s) | convert, min (s) | bundle (KiB) | captured values (KiB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['example']} | {row['convert_s_median']} | {row['convert_s_min']} | "
            f"{row['bundle_bytes'] / 1024:.0f} | {row['captured_bytes'] / 1024:.0f} |"
        )
    (out / "convert.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
