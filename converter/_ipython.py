"""Turn IPython syntax into Python, and find the magics and shell commands in a cell.

IPython's own transformer rewrites ``%magic`` and ``!command`` into calls such as
``get_ipython().run_line_magic('pip', 'install x')``; those calls are found in the
syntax tree. ``pip install`` becomes a requirement; any other magic is reported.
"""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

_MAGIC_METHODS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}
_PIP_OPTIONS_WITH_VALUE = {
    "-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-t", "--target", "--prefix", "--root", "-e", "--editable",
}  # fmt: skip


@dataclass(frozen=True)
class Magic:
    """One magic or shell command: its line and what it runs (``%time``, ``!ls``)."""

    line: int
    text: str
    requirements: tuple[str, ...]

    @property
    def is_pip_install(self) -> bool:
        return bool(self.requirements)


def to_python(source: str) -> str:
    """Source with IPython syntax rewritten as Python (unchanged for plain Python)."""
    return str(TransformerManager().transform_cell(source))


def find_magics(tree: ast.Module) -> dict[int, Magic]:
    """Magics among the top-level statements, keyed by statement index."""
    found: dict[int, Magic] = {}
    for index, statement in enumerate(tree.body):
        for node in ast.walk(statement):
            magic = _as_magic(node)
            if magic is not None:
                plain = isinstance(statement, ast.Expr) and statement.value is node
                found[index] = magic if plain else Magic(magic.line, magic.text, ())
                break
    return found


def _as_magic(node: ast.AST) -> Magic | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (
        node.func.attr in _MAGIC_METHODS
        and isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Name)
        and owner.func.id == "get_ipython"
    ):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if node.func.attr in ("system", "getoutput"):
        command = args[0] if args else ""
        return Magic(node.lineno, "!" + command, _pip_requirements(command))
    name = args[0] if args else "?"
    rest = args[1] if len(args) > 1 else ""
    if node.func.attr == "run_cell_magic":
        return Magic(node.lineno, f"%%{name} {rest}".rstrip(), ())
    requirements = _pip_requirements(f"pip {rest}") if name == "pip" else ()
    return Magic(node.lineno, f"%{name} {rest}".rstrip(), requirements)


def _pip_requirements(command: str) -> tuple[str, ...]:
    """The packages a ``pip install`` command line names; () for any other command."""
    try:
        words = shlex.split(command)
    except ValueError:
        return ()
    for prefix in (["pip"], ["pip3"], ["python", "-m", "pip"], ["python3", "-m", "pip"]):
        if words[: len(prefix)] == prefix and words[len(prefix) : len(prefix) + 1] == ["install"]:
            words = words[len(prefix) + 1 :]
            break
    else:
        return ()
    packages: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in _PIP_OPTIONS_WITH_VALUE:
            skip = True
        elif not word.startswith("-") and not word.startswith(("$", "{")):
            packages.append(word)
    return tuple(packages)
