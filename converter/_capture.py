"""Capture the values a service needs: headlessly with nbclient, or in a live kernel."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from cellserve.exceptions import CaptureError

from ._analysis import Plan

_HERE = Path(__file__).parent
_SYSTEM_FOLDERS = (
    "/usr/",
    "/etc/",
    "/lib/",
    "/lib64/",
    "/bin/",
    "/sbin/",
    "/var/",
    "/run/",
    "/opt/",
    "/snap/",
    "/nix/",
)


@dataclass(frozen=True)
class FileUse:
    """A file that cells opened: its path relative to the notebook's folder (absolute when outside it), the
    cells (numbers) that read it and those that wrote it, and the line of each cell's first read."""

    path: str
    read_by: tuple[int, ...] = ()
    written_by: tuple[int, ...] = ()
    lines: tuple[tuple[int, int | None], ...] = ()

    @property
    def inside(self) -> bool:
        return not Path(self.path).is_absolute()

    @property
    def is_users(self) -> bool:
        """The notebook's or the user's own file: not one of the system's (time zones, certificates under /usr
        or /etc) nor a tool's cache or config in a hidden folder (~/.cache, ~/.config)."""
        if self.inside:
            return True
        return not self.path.startswith(_SYSTEM_FOLDERS) and not any(p.startswith(".") for p in Path(self.path).parts)

    @property
    def is_input(self) -> bool:
        """Read, and not made by the run itself: what the notebook's result depends on."""
        return bool(self.read_by) and not self.written_by

    def line(self, cell: int) -> int | None:
        return dict(self.lines).get(cell)


@dataclass(frozen=True)
class Capture:
    """What the kernel reported: requirements (distribution -> version), local modules, and the files the
    cells opened (None when nobody watched, as in a live kernel)."""

    requirements: dict[str, str]
    local_modules: dict[str, str]
    has_expected: bool
    files: tuple[FileUse, ...] | None = None


CaptureStep = Callable[[Plan, Path], Capture]
"""Runs the notebook's code somewhere and writes the capture into the folder given."""


def capture_code(plan: Plan, out: Path, output_count: int | None) -> str:
    """Python source that, run as a cell in the notebook's kernel, writes the capture into ``out``."""
    spec = {
        "out": str(out),
        "stages": {
            stage.role.value: {name: d.where.cell.number for name, d in stage.captured.items()} for stage in plan.stages
        },
        "imports": sorted({d.module_root for d in plan.imports if d.module_root}),
        "setup_globals": sorted(plan.setup_globals),
        "input_variable": plan.notebook.settings.input_variable,
        "output_count": output_count,
        "batch": _batch_spec(plan),
    }
    values = (_HERE / "bundle_files" / "cellserve_values.py").read_text()
    kernel_side = (_HERE / "_kernel_capture.py").read_text().replace("from __future__ import annotations\n", "")
    library = values + kernel_side
    return (
        "def __cellserve_capture(namespace):\n"
        "    scope = {'__name__': 'cellserve_capture'}\n"
        f"    exec(compile({library!r}, '<cellserve capture>', 'exec'), scope)\n"
        f"    scope['capture'](namespace, __import__('json').loads({json.dumps(spec)!r}))\n"
        "__cellserve_capture(globals())\n"
        "del __cellserve_capture\n"
    )


def _batch_spec(plan: Plan) -> dict[str, Any] | None:
    """What the kernel checks of a batched predict stage: the handed-off names and the cells to name."""
    if plan.notebook.settings.batch is None:
        return None
    return {
        "handoff": plan.predict.params,
        "predict_cell": plan.predict.cells[0].cell.number,
        "output_cell": plan.output_cell.cell.number,
    }


def watch_code() -> str:
    """Python source that, run first in a kernel, records the files its cells open."""
    library = (_HERE / "_kernel_files.py").read_text().replace("from __future__ import annotations\n", "")
    return (
        "def __cellserve_watch():\n"
        "    scope = {'__name__': 'cellserve_watch'}\n"
        f"    exec(compile({library!r}, '<cellserve file watch>', 'exec'), scope)\n"
        "    scope['watch']()\n"
        "__cellserve_watch()\n"
        "del __cellserve_watch\n"
    )


def capture_headless(plan: Plan, out: Path) -> Capture:
    """Run the whole notebook with nbclient, watching the files it opens, then capture from its kernel."""
    notebook = plan.notebook
    node = nbformat.from_dict(json.loads(json.dumps(notebook.node)))
    kernel = node.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        node,
        timeout=notebook.settings.execution_timeout,
        kernel_name=kernel,
        shutdown_kernel="immediate",  # nothing of the kernel is needed after the capture: do not wait on it
        resources={"metadata": {"path": str(notebook.path.parent.resolve())}},
    )
    output_number = plan.output_cell.cell.number
    output_count = None
    cells_by_run: dict[int, int] = {}
    with tempfile.TemporaryFile("w+") as kernel_log:
        try:
            with client.setup_kernel(stderr=kernel_log):
                node.cells.append(nbformat.v4.new_code_cell(watch_code()))
                _run(client, node.cells[-1], len(node.cells) - 1, notebook.path, where="the file watch")
                node.cells.pop()
                for index, cell in enumerate(node.cells):
                    if cell.cell_type != "code":
                        continue
                    _run(client, cell, index, notebook.path)
                    cells_by_run[len(cells_by_run) + 1] = index + 1
                    if index + 1 == output_number:
                        output_count = cell.execution_count
                node.cells.append(nbformat.v4.new_code_cell(capture_code(plan, out, output_count)))
                _run(client, node.cells[-1], len(node.cells) - 1, notebook.path, where="the capture step")
        except CaptureError as exc:
            kernel_log.seek(0)
            tail = [line for line in kernel_log.read().splitlines() if "without encryption" not in line][-15:]
            if exc.dead_kernel and tail:
                raise CaptureError(f"{exc}\nThe kernel's last words:\n" + "\n".join(tail), cell=exc.cell) from None
            raise
    return read_report(plan, out, cells_by_run)


def _run(client: NotebookClient, cell: Any, index: int, path: Path, where: str = "") -> None:
    where = where or f"cell {index + 1}"
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as exc:
        raise CaptureError(
            f"{path}, {where}: running the notebook failed with {exc.ename}: {exc.evalue}", cell=index + 1
        ) from None
    except CellTimeoutError:
        raise CaptureError(
            f"{path}, {where}: the cell ran longer than execution_timeout "
            f"({client.timeout} s); raise it in the cellserve settings if that is expected.",
            cell=index + 1,
        ) from None
    except DeadKernelError as exc:
        error = CaptureError(f"{path}, {where}: the kernel died while running it: {exc}", cell=index + 1)
        error.dead_kernel = True
        raise error from None


def read_report(plan: Plan, out: Path, cells_by_run: dict[int, int] | None = None) -> Capture:
    """Check the capture report the kernel wrote; problems become a CaptureError naming the name and cell.

    ``cells_by_run`` maps the order in which cells ran to their numbers, for the files the watch saw."""
    path = plan.notebook.path
    report = json.loads((out / "capture.json").read_text())
    problems = [
        f"  - {m['name']!r} has no value in the kernel"
        + (f": run cell {m['cell']} (which defines it) first." if m["cell"] else ".")
        for m in report["missing"]
    ]
    problems += [
        f"  - {u['name']!r} (a {u['type']}) cannot be serialized: {u['reason']}. Load it in a "
        "'cellserve:setup' cell instead."
        for u in report["unpicklable"]
    ]
    problems += [f"  - {n['what']} is not JSON: {n['reason']}." for n in report.get("not_json", [])]
    problems += [f"  - cell {b['cell']}: {b['message']}." for b in report.get("batch", [])]
    if problems:
        cells = [m["cell"] for m in report["missing"]] + [b["cell"] for b in report.get("batch", [])]
        first = next((cell for cell in cells if cell), None)
        raise CaptureError(f"{path}: cannot capture the service's values:\n" + "\n".join(problems), cell=first)
    files = _file_uses(report.get("files"), plan.notebook.path.parent.resolve(), cells_by_run or {})
    return Capture(report["requirements"], report["local_modules"], report["has_expected"], files)


def _file_uses(seen: dict[str, Any] | None, folder: Path, cells_by_run: dict[int, int]) -> tuple[FileUse, ...] | None:
    """The watch's record as FileUses, for regular files that still exist, by path."""
    if seen is None:
        return None
    reads, writes = seen["reads"], seen["writes"]

    def cells(runs: list[list[Any]]) -> dict[int, int | None]:
        return {cells_by_run[run]: line for run, line in runs if run in cells_by_run}

    uses = []
    for path in sorted(set(reads) | set(writes)):
        read, written = cells(reads.get(path, [])), cells(writes.get(path, []))
        if Path(path).is_file() and (read or written):
            shown = Path(path).relative_to(folder).as_posix() if Path(path).is_relative_to(folder) else path
            uses.append(FileUse(shown, tuple(sorted(read)), tuple(sorted(written)), tuple(sorted(read.items()))))
    return tuple(uses)
