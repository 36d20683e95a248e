"""Read a notebook with nbformat and find the cells' roles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.validator import ValidationError as NbValidationError

from cellserve.exceptions import AnalysisError, NotebookError

from ._settings import ServiceSettings, parse_settings, service_name_from_path

TAG_PREFIX = "cellserve:"
METADATA_KEY = "cellserve"
"""The notebook metadata key of the service's settings."""


class Role(StrEnum):
    SETUP = "setup"
    PREPROCESSING = "preprocessing"
    PREDICT = "predict"

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.value


@dataclass(frozen=True)
class Cell:
    """A code cell: its 1-based position among all cells, role and source."""

    number: int
    source: str
    role: Role | None
    execution_count: int | None

    @property
    def label(self) -> str:
        role = f" ({self.role.value})" if self.role else ""
        return f"cell {self.number}{role}"


@dataclass(frozen=True)
class Notebook:
    path: Path
    node: NotebookNode
    cells: list[Cell]
    settings: ServiceSettings

    @property
    def service_name(self) -> str:
        return self.settings.name or service_name_from_path(self.path.stem)

    def tagged(self, role: Role) -> list[Cell]:
        return [cell for cell in self.cells if cell.role is role]

    @property
    def title(self) -> str:
        """The first markdown heading, or the file name."""
        for cell in self.node.cells:
            if cell.cell_type == "markdown":
                for line in cell.source.splitlines():
                    if line.startswith("#"):
                        return str(line).lstrip("#").strip()
        return self.path.stem


def read_notebook(path: str | Path) -> Notebook:
    """Read and validate ``path``; find roles from tags and settings from metadata."""
    path = Path(path)
    return notebook_from_node(_load(path), path)


def notebook_from_json(raw: object, path: str | Path) -> Notebook:
    """The same as :func:`read_notebook` for notebook JSON already in memory (an editor's unsaved model)."""
    path = Path(path)
    return notebook_from_node(_validated(raw, path), path)


def notebook_from_node(node: NotebookNode, path: Path) -> Notebook:
    cells = [
        Cell(index + 1, cell.source, _role(cell, path, index + 1), cell.get("execution_count"))
        for index, cell in enumerate(node.cells)
        if cell.cell_type == "code"
    ]
    settings = parse_settings(node.metadata.get(METADATA_KEY), source=str(path))
    notebook = Notebook(path, node, cells, settings)
    if not notebook.tagged(Role.PREDICT):
        raise AnalysisError(
            f"{path}: no cell is tagged {Role.PREDICT.tag!r}. Tag the cell(s) that compute the "
            "prediction: the last expression of the last one is the response."
        )
    return notebook


def _load(path: Path) -> NotebookNode:
    if not path.is_file():
        raise NotebookError(f"{path}: no such notebook file.")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not a notebook: the file is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path}: not a notebook: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from None
    return _validated(raw, path)


def _validated(raw: object, path: Path) -> NotebookNode:
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise NotebookError(f"{path}: not a notebook: the JSON has no 'nbformat' field.")
    if not isinstance(raw["nbformat"], int) or raw["nbformat"] < 4:
        raise NotebookError(
            f"{path}: nbformat {raw['nbformat']} is too old; cellserve reads nbformat 4. "
            "Open and save it in JupyterLab to upgrade it."
        )
    _check_shape(raw, path)
    try:
        node: NotebookNode = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(node)
    except NbValidationError as exc:
        raise NotebookError(f"{path}: invalid notebook at {_place(list(exc.absolute_path))}: {exc.message}.") from None
    return node


def _check_shape(raw: dict[str, Any], path: Path) -> None:
    """What nbformat would stumble on before it can say where: cells and metadata that are not objects."""
    if not isinstance(raw.get("metadata", {}), dict):
        raise NotebookError(
            f"{path}: invalid notebook: its metadata is a {type(raw['metadata']).__name__}, not an object."
        )
    cells = raw.get("cells", [])
    if not isinstance(cells, list):
        raise NotebookError(f"{path}: invalid notebook: 'cells' is a {type(cells).__name__}, not a list.")
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise NotebookError(
                f"{path}: invalid notebook at cell {number}: it is a {type(cell).__name__}, not an object."
            )
        if not isinstance(cell.get("metadata", {}), dict):
            kind = type(cell["metadata"]).__name__
            raise NotebookError(f"{path}: invalid notebook at cell {number}: its metadata is a {kind}, not an object.")


def _place(parts: list[Any]) -> str:
    """A schema error's place, cells by their number as JupyterLab shows it (cells/1/source → cell 2, source)."""
    if len(parts) >= 2 and parts[0] == "cells" and isinstance(parts[1], int):
        rest = "/".join(str(part) for part in parts[2:])
        return f"cell {parts[1] + 1}" + (f", {rest}" if rest else "")
    return "/".join(str(part) for part in parts) or "top level"


def _role(cell: NotebookNode, path: Path, number: int) -> Role | None:
    tags = [t for t in cell.metadata.get("tags", []) if isinstance(t, str) and t.startswith(TAG_PREFIX)]
    roles = {Role(t.removeprefix(TAG_PREFIX)) for t in tags if t.removeprefix(TAG_PREFIX) in Role._value2member_map_}
    unknown = [t for t in tags if t.removeprefix(TAG_PREFIX) not in Role._value2member_map_]
    if unknown:
        known = ", ".join(role.tag for role in Role)
        raise AnalysisError(f"{path}, cell {number}: unknown tag {unknown[0]!r}; the tags are {known}.", cell=number)
    if len(roles) > 1:
        names = " and ".join(sorted(role.tag for role in roles))
        raise AnalysisError(f"{path}, cell {number}: tagged both {names}; a cell has one role.", cell=number)
    return roles.pop() if roles else None
