"""Build small notebooks for tests (one code cell per (source, role) pair), and read what a notebook showed."""

from __future__ import annotations

import ast
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


class _Scalars(ast.NodeTransformer):
    """``np.str_('x')``, ``np.float64(0.5)`` (NumPy 2's reprs of its scalars) read as their argument."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if len(node.args) == 1 and not node.keywords and isinstance(node.func, ast.Attribute):
            return self.visit(node.args[0])
        return self.generic_visit(node)


def shown_answer(path: Path) -> Any:
    """The value the notebook's last predict cell showed as its ``Out[]`` when it was saved, read from the
    saved output itself (its text), not from anything cellserve captured."""
    notebook = nbformat.read(path, as_version=4)
    predict = [cell for cell in notebook.cells if "cellserve:predict" in cell.metadata.get("tags", [])]
    [result] = [output for output in predict[-1].outputs if output.output_type == "execute_result"]
    text = result["data"]["text/plain"]
    return ast.literal_eval(_Scalars().visit(ast.parse(text, mode="eval")))
