"""The files a service ships: those its tagged cells read, at the same paths relative to the notebook.

Two sources name them: the file watch of a headless run (every ``open``, computed paths included) and
the text of the tagged cells and the definitions they carry (string literals naming a file or folder
beside the notebook: the only source for a live kernel, which ran without the watch). A file the
reading cell wrote itself is not shipped: the replica writes it again; nor are the system's files and
tools' caches (see ``FileUse.is_users``). The settings' ``files.include``
adds files and folders, ``files.exclude`` leaves some out; a file outside the notebook's folder, or more
than ``files.max_total_mb`` in all, is an error that names the file, the cell and the line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from cellserve.exceptions import AnalysisError

from ._analysis import Plan
from ._capture import FileUse
from ._settings import FileSettings

MIB = 2**20
_Reads = dict[str, dict[int, int | None]]  # path -> cell -> line


@dataclass(frozen=True)
class ShippedFile:
    """A file that travels with the service: its path relative to the notebook's folder, its size, and the
    tagged cells that read it (none when the settings include it)."""

    path: str
    size: int
    cells: tuple[int, ...] = ()


def files_to_ship(plan: Plan, uses: tuple[FileUse, ...] | None) -> tuple[ShippedFile, ...]:
    """What the service needs of the notebook's files; raises AnalysisError for a file it cannot ship."""
    settings = plan.notebook.settings.files
    folder = plan.notebook.path.parent.resolve()
    reads = _watched_reads(plan, uses)
    for path, named_in, at in _named_files(plan, folder):
        reads.setdefault(path, {}).setdefault(named_in, at)
    shipped: dict[str, ShippedFile] = {}
    for path, cells in sorted(reads.items()):
        if _covered(path, settings.exclude):
            continue
        cell, line = min(cells.items())
        if Path(path).is_absolute():
            raise AnalysisError(_outside(plan, path, cell, line, folder), cell=cell, line=line)
        for file in _expand(folder, path):
            shipped[file] = ShippedFile(file, (folder / file).stat().st_size, tuple(sorted(cells)))
    for entry in settings.include:
        if not (folder / entry).exists():
            raise AnalysisError(f"{plan.notebook.path}: files.include names {entry!r}, which is not in {folder}.")
        for file in _expand(folder, entry):
            shipped.setdefault(file, ShippedFile(file, (folder / file).stat().st_size))
    files = tuple(shipped[path] for path in sorted(shipped) if not _covered(path, settings.exclude))
    _check_size(plan, files, settings, reads)
    return files


def _watched_reads(plan: Plan, uses: tuple[FileUse, ...] | None) -> _Reads:
    tagged = {parsed.cell.number for parsed in plan.setup} | {
        parsed.cell.number for stage in plan.stages for parsed in stage.cells
    }
    reads: _Reads = {}
    for use in uses or ():
        if not use.is_users:
            continue
        for cell in use.read_by:
            if cell in tagged and cell not in use.written_by:
                reads.setdefault(use.path, {})[cell] = use.line(cell)
    return reads


def _named_files(plan: Plan, folder: Path) -> list[tuple[str, int, int]]:
    """(path, cell, line) of each string literal in the tagged cells and carried definitions that names an
    existing file or folder beside the notebook."""
    trees: list[tuple[int, ast.AST]] = [(parsed.cell.number, parsed.tree) for parsed in plan.setup]
    trees += [(parsed.cell.number, parsed.tree) for stage in plan.stages for parsed in stage.cells]
    trees += [(d.where.cell.number, d.statement) for d in plan.carried]
    found = []
    for cell, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _plausible(node.value):
                target = (folder / node.value).resolve()
                if target != folder and target.is_relative_to(folder) and target.exists():
                    found.append((target.relative_to(folder).as_posix(), cell, node.lineno))
    return found


def _plausible(text: str) -> bool:
    return 0 < len(text) < 1024 and "\n" not in text and "\0" not in text and not text.startswith(("/", "~"))


def _expand(folder: Path, path: str) -> list[str]:
    """The regular files at ``path``: itself, or every file under it (caches and checkpoints left out)."""
    target = folder / path
    if target.is_file():
        return [Path(path).as_posix()]
    return sorted(
        file.relative_to(folder).as_posix()
        for file in target.rglob("*")
        if file.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(file.parts)
    )


def _covered(path: str, entries: list[str]) -> bool:
    parts = Path(path).parts
    return any(parts[: len(Path(entry).parts)] == Path(entry).parts for entry in entries)


def _outside(plan: Plan, path: str, cell: int, line: int | None, folder: Path) -> str:
    where = f"cell {cell}" + (f", line {line}" if line else "")
    return (
        f"{plan.notebook.path}, {where}: the cell reads {path}, which is outside the notebook's folder "
        f"{folder}, so the service would not find it. Move it under that folder and open it by a relative "
        "path (it then travels with the service), or load it from a URI in a setup cell. If every node of "
        "the cluster has it at this same path, add it to the setting files.exclude."
    )


def _check_size(plan: Plan, files: tuple[ShippedFile, ...], settings: FileSettings, reads: _Reads) -> None:
    total = sum(file.size for file in files)
    if total <= settings.max_total_mb * MIB:
        return
    largest = max(files, key=lambda file: file.size)
    cell, line = min(reads.get(largest.path, {}).items(), default=(None, None))
    where = f", cell {cell}" + (f", line {line}" if line else "") if cell else ""
    raise AnalysisError(
        f"{plan.notebook.path}{where}: the files the service needs weigh {total / MIB:.1f} MiB, over "
        f"files.max_total_mb ({settings.max_total_mb:g} MiB); the largest is {largest.path} "
        f"({largest.size / MIB:.1f} MiB). Raise the setting (up to 500), or load the file from a URI in a "
        "setup cell and add it to files.exclude.",
        cell=cell,
        line=line,
    )
