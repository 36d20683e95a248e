"""The packages' seams: imports run one way (converter ← runtime ← jupyter, all ← the CLI and widgets) and
through public names only; no package reaches into another's private modules or its bundle files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "cellserve": ROOT / "cellserve",
    "cellserve.converter": ROOT / "converter",
    "cellserve.runtime": ROOT / "runtime",
    "cellserve.jupyter": ROOT / "extension" / "server",
}
MAY_IMPORT = {
    "cellserve.converter": {"cellserve.exceptions"},
    "cellserve.runtime": {"cellserve.exceptions", "cellserve.converter"},
    "cellserve.jupyter": {"cellserve.exceptions", "cellserve.converter", "cellserve.runtime"},
    "cellserve": {"cellserve.exceptions", "cellserve.converter", "cellserve.runtime", "cellserve.jupyter"},
}


def owner(module: str) -> str:
    return max((p for p in PACKAGES if module == p or module.startswith(p + ".")), key=len)


def imported(tree: ast.AST) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return [(name, line) for name, line in found if name == "cellserve" or name.startswith("cellserve.")]


def crossings(package: str) -> list[str]:
    """Imports from ``package``'s own code into another package that break the rules."""
    wrong = []
    folder = PACKAGES[package]
    for file in sorted(folder.rglob("*.py")):
        if "bundle_files" in file.parts:  # runs inside a service; imports its siblings by their bare names
            continue
        for name, line in imported(ast.parse(file.read_text(encoding="utf-8"))):
            target = owner(name)
            rest = name[len(target) :].lstrip(".").split(".") if name != target else []
            if target == "cellserve" and rest[:1] == ["exceptions"]:
                target, rest = "cellserve.exceptions", rest[1:]
            if target == package:
                continue
            where = f"{file.relative_to(folder)}:{line}"
            if target not in MAY_IMPORT[package]:
                wrong.append(f"{where}: {name} (package {package} may not import {target})")
            elif any(part.startswith("_") or part == "bundle_files" for part in rest):
                wrong.append(f"{where}: {name} is private to {target}")
    return wrong


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_between_packages_are_one_way_and_public(package: str) -> None:
    assert crossings(package) == []


def test_the_check_catches_a_private_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.py").write_text(
        "from cellserve.converter._capture import capture_code\nimport cellserve.jupyter\n"
    )
    monkeypatch.setitem(PACKAGES, "cellserve.runtime", tmp_path)
    assert crossings("cellserve.runtime") == [
        "bad.py:1: cellserve.converter._capture.capture_code is private to cellserve.converter",
        "bad.py:2: cellserve.jupyter (package cellserve.runtime may not import cellserve.jupyter)",
    ]
