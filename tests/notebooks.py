"""Build small notebooks for tests: one code cell per (source, role) pair."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat


def make_notebook(
    path: Path,
    cells: list[tuple[str, str | None]],
    settings: dict[str, Any] | None = None,
    markdown: str | None = None,
) -> Path:
    """Write a notebook at ``path``; each cell is (source, role or None)."""
    notebook = nbformat.v4.new_notebook()
    if markdown:
        notebook.cells.append(nbformat.v4.new_markdown_cell(markdown))
    for source, role in cells:
        cell = nbformat.v4.new_code_cell(source)
        if role:
            cell.metadata["tags"] = [f"cellserve:{role}"]
        notebook.cells.append(cell)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    if settings is not None:
        notebook.metadata["cellserve"] = settings
    nbformat.write(notebook, path)
    return path
