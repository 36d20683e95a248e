"""Capture the values a service needs, behind one interface (:data:`CaptureStep`), from three sources: a
headless run of the notebook (nbclient), the user's running kernel (its messages carry the capture back as
bytes, so the kernel need not share cellserve's file system), or the namespace of the kernel cellserve itself
runs in (the ipywidgets panel). The kernel side of every capture is ``_kernel_capture.py``."""

from __future__ import annotations

import ast
import base64
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import KernelConnectionInfo
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from cellserve.exceptions import CaptureError

from ._analysis import Plan
from ._service_code import service_source

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
    """Python source that, run as a cell in the notebook's kernel, writes the capture into ``out`` (a folder the
    kernel and cellserve share: a kernel cellserve started, or the kernel cellserve itself runs in)."""
    return (
        "def __cellserve_capture(namespace):\n"
        "    scope = {'__name__': 'cellserve_capture'}\n"
        f"    exec(compile({_library()!r}, '<cellserve capture>', 'exec'), scope)\n"
        f"    scope['capture'](namespace, __import__('json').loads({json.dumps(_spec(plan, out, output_count))!r}))\n"
        "__cellserve_capture(globals())\n"
        "del __cellserve_capture\n"
    )


def archive_code(plan: Plan, output_count: int | None, chunk_bytes: int) -> str:
    """Python source that, run in a kernel which may not share cellserve's file system, writes the capture into
    a temporary folder of the kernel's own, keeps it as a zip archive in memory and removes the folder.

    It leaves two names behind for the caller to read with user expressions, then delete: ``__cellserve_size``
    (the archive's bytes) and ``__cellserve_chunk(i)`` (the i-th ``chunk_bytes`` of it, base64)."""
    return (
        "def __cellserve_capture(namespace):\n"
        "    import base64, io, pathlib, shutil, tempfile, zipfile\n"
        "    scope = {'__name__': 'cellserve_capture'}\n"
        f"    exec(compile({_library()!r}, '<cellserve capture>', 'exec'), scope)\n"
        "    out = pathlib.Path(tempfile.mkdtemp(prefix='cellserve-capture-'))\n"
        "    try:\n"
        f"        spec = __import__('json').loads({json.dumps(_spec(plan, None, output_count))!r})\n"
        "        scope['capture'](namespace, {**spec, 'out': str(out)})\n"
        "        buffer = io.BytesIO()\n"
        "        with zipfile.ZipFile(buffer, 'w') as archive:\n"
        "            for path in sorted(out.rglob('*')):\n"
        "                archive.write(path, path.relative_to(out).as_posix())\n"
        "    finally:\n"
        "        shutil.rmtree(out, ignore_errors=True)\n"
        "    data = buffer.getvalue()\n"
        f"    return len(data), lambda i: base64.b64encode(data[i * {chunk_bytes}:(i + 1) * {chunk_bytes}]).decode()\n"
        "__cellserve_size, __cellserve_chunk = __cellserve_capture(globals())\n"
        "del __cellserve_capture\n"
    )


def _library() -> str:
    """The kernel side of a capture: the bundle's value conversions, then the capture itself."""
    values = service_source("values.py")
    kernel_side = (_HERE / "_kernel_capture.py").read_text().replace("from __future__ import annotations\n", "")
    return values + kernel_side


def _spec(plan: Plan, out: Path | None, output_count: int | None) -> dict[str, Any]:
    return {
        "out": None if out is None else str(out),
        "stages": {
            stage.role.value: {name: d.where.cell.number for name, d in stage.captured.items()} for stage in plan.stages
        },
        "imports": sorted({d.module_root for d in plan.imports if d.module_root}),
        "setup_globals": sorted(plan.setup_globals),
        "input_variable": plan.notebook.settings.input_variable,
        "output_count": output_count,
        "batch": _batch_spec(plan),
    }


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


READY_TIMEOUT_S = 30.0
CHUNK_BYTES = 8 * 2**20
"""The capture travels from a running kernel in chunks of this size (before base64)."""


def capture_in_kernel(connection_info: KernelConnectionInfo, *, timeout: float = 600) -> CaptureStep:
    """A capture step that runs in the kernel ``connection_info`` describes, outside its history.

    The kernel writes the capture in a folder of its own and sends it back through its messages (replies to
    this client alone, in chunks): a remote kernel, or one behind a gateway, works as a local one does."""

    def run(plan: Plan, out: Path) -> Capture:
        output_cell = plan.output_cell.cell
        client = BlockingKernelClient()
        client.load_connection_info(connection_info)
        client.start_channels()
        errors: list[str] = []

        def keep_errors(message: dict[str, Any]) -> None:
            content = message.get("content", {})
            if message.get("msg_type") == "stream" and content.get("name") == "stderr":
                errors.append(content.get("text", ""))

        try:
            client.wait_for_ready(timeout=READY_TIMEOUT_S)
            code = archive_code(plan, output_cell.execution_count, CHUNK_BYTES)
            reply = client.execute_interactive(code, store_history=False, timeout=timeout, output_hook=keep_errors)
            content = reply["content"]
            if content["status"] != "ok":
                raise CaptureError(
                    f"{plan.notebook.path}: capturing from the running kernel failed with "
                    f"{content.get('ename')}: {content.get('evalue')}"
                    + ("\n" + "".join(errors)[-2000:] if errors else "")
                )
            try:
                archive = _fetch_archive(client, timeout)
            finally:
                client.execute_interactive(
                    "del __cellserve_size, __cellserve_chunk", silent=True, store_history=False, timeout=READY_TIMEOUT_S
                )
        except (RuntimeError, TimeoutError) as exc:
            raise CaptureError(f"{plan.notebook.path}: the running kernel did not answer the capture: {exc}") from None
        finally:
            client.stop_channels()
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(archive)) as files:
            files.extractall(out)
        return _live_report(plan, out)

    return run


def _fetch_archive(client: BlockingKernelClient, timeout: float) -> bytes:
    """The capture archive the kernel holds, read chunk by chunk through user expressions."""

    def evaluate(expression: str) -> Any:
        reply = client.execute_interactive(
            "", silent=True, store_history=False, user_expressions={"value": expression}, timeout=timeout
        )
        value = reply["content"]["user_expressions"]["value"]
        if value.get("status") != "ok":
            raise CaptureError(f"the running kernel could not send the capture: {value.get('evalue')}")
        return ast.literal_eval(value["data"]["text/plain"])

    size = int(evaluate("__cellserve_size"))
    chunks = [base64.b64decode(evaluate(f"__cellserve_chunk({i})")) for i in range(-(-size // CHUNK_BYTES))]
    archive = b"".join(chunks)
    if len(archive) != size:
        raise CaptureError(f"the running kernel sent {len(archive)} bytes of a {size}-byte capture")
    return archive


def capture_in_namespace(namespace: dict[str, Any]) -> CaptureStep:
    """A capture step for code that runs inside the kernel itself (the ipywidgets panel)."""

    def run(plan: Plan, out: Path) -> Capture:
        exec(capture_code(plan, out, plan.output_cell.cell.execution_count), namespace)  # noqa: S102 - cellserve's own code
        return _live_report(plan, out)

    return run


def _live_report(plan: Plan, out: Path) -> Capture:
    """The capture report; a live kernel must also hold the output of the last predict cell."""
    captured = read_report(plan, out)
    if not captured.has_expected:
        output_cell = plan.output_cell.cell
        raise CaptureError(
            f"{plan.notebook.path}, cell {output_cell.number}: the running kernel has no output of the last "
            "predict cell: run it (and save the notebook) before publishing.",
            cell=output_cell.number,
        )
    return captured
