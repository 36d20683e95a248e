"""Parse code cells into syntax trees, with their magics, and index top-level definitions."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Literal

from cellserve.exceptions import AnalysisError

from ._ipython import Magic, find_magics, to_python
from ._names import block_flow
from ._notebook import Cell, Notebook

Kind = Literal["import", "function", "value"]


@dataclass
class ParsedCell:
    cell: Cell
    python: str
    tree: ast.Module
    magics: dict[int, Magic] = field(default_factory=dict)

    @property
    def code(self) -> list[ast.stmt]:
        """Top-level statements, without the magics."""
        return [s for i, s in enumerate(self.tree.body) if i not in self.magics]

    def first_line(self, statement: ast.stmt) -> int:
        """The statement's first line, decorators included."""
        decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
        return min([statement.lineno, *(d.lineno for d in decorators)])

    def segment(self, statement: ast.stmt) -> str:
        """The statement's source lines, decorators included."""
        lines = self.python.splitlines()[self.first_line(statement) - 1 : statement.end_lineno]
        return "\n".join(lines)


@dataclass(frozen=True)
class Definition:
    """A top-level statement that binds ``name``."""

    name: str
    kind: Kind
    where: ParsedCell
    statement: ast.stmt

    def import_line(self) -> str:
        """The import of just this name, e.g. ``from sklearn import svm``."""
        return import_line(self.statement, self.name)

    @property
    def module_root(self) -> str:
        statement = self.statement
        if isinstance(statement, ast.ImportFrom):
            return (statement.module or "").split(".")[0]
        assert isinstance(statement, ast.Import)
        for alias in statement.names:
            if (alias.asname or alias.name.split(".")[0]) == self.name:
                return alias.name.split(".")[0]
        return self.name


def parse_cells(notebook: Notebook) -> list[ParsedCell]:
    """Every code cell that parses; a tagged cell that doesn't is an error."""
    parsed: list[ParsedCell] = []
    for cell in notebook.cells:
        python = to_python(cell.source)
        try:
            tree = ast.parse(python)
        except SyntaxError as exc:
            if cell.role is None:
                continue
            raise AnalysisError(
                f"{notebook.path}, {cell.label}, line {exc.lineno}: syntax error: {exc.msg}.",
                cell=cell.number,
                line=exc.lineno,
            ) from None
        parsed.append(ParsedCell(cell, python, tree, find_magics(tree)))
    return parsed


def index_definitions(cells: list[ParsedCell]) -> dict[str, Definition]:
    """The last top-level definition of each name, in notebook order."""
    found: dict[str, Definition] = {}
    for parsed in cells:
        for statement in parsed.code:
            kind: Kind
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                kind = "import"
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kind = "function"
            else:
                kind = "value"
            for name in block_flow([statement]).stores:
                found[name] = Definition(name, kind, parsed, statement)
    return found


def import_line(statement: ast.stmt, name: str) -> str:
    """The part of an import statement that binds ``name`` (``*``: the whole statement)."""
    assert isinstance(statement, (ast.Import, ast.ImportFrom))
    if name == "*":
        return ast.unparse(statement)
    for alias in statement.names:
        if (alias.asname or alias.name.split(".")[0]) == name:
            single = ast.alias(alias.name, alias.asname)
            if isinstance(statement, ast.Import):
                return ast.unparse(ast.Import([single]))
            return ast.unparse(ast.ImportFrom(statement.module, [single], statement.level))
    raise AssertionError(f"{name} is not imported by this statement")
