"""The packages' seams: imports run one way (converter ← runtime ← jupyter, all ← the CLI and widgets) and
through public names only (those in the package's ``__all__``); no package reaches into another's modules.
The code a service runs (cellserve.bundle) imports nothing of the others: a bundle carries it alone."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "cellserve": ROOT / "cellserve",
    "cellserve.bundle": ROOT / "cellserve" / "bundle",
    "cellserve.converter": ROOT / "converter",
    "cellserve.runtime": ROOT / "runtime",
    "cellserve.jupyter": ROOT / "extension" / "server",
}
MAY_IMPORT = {
    "cellserve.bundle": set(),
    "cellserve.converter": {"cellserve.exceptions", "cellserve.bundle"},
    "cellserve.runtime": {"cellserve.exceptions", "cellserve.bundle", "cellserve.converter"},
    "cellserve.jupyter": {"cellserve.exceptions", "cellserve.bundle", "cellserve.converter", "cellserve.runtime"},
    "cellserve": {
        "cellserve.exceptions",
        "cellserve.bundle",
        "cellserve.converter",
        "cellserve.runtime",
        "cellserve.jupyter",
    },
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
        if owner(module_name(file)) != package:  # a package's folder may hold another's (cellserve/bundle/)
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
            elif rest and rest[0] not in importlib.import_module(target).__all__:
                wrong.append(f"{where}: {name} is private to {target} (not in its __all__)")
    return wrong


def module_name(file: Path) -> str:
    """The dotted name of the module in ``file``, one of the packages' own."""
    package, folder = max(
        ((p, f) for p, f in PACKAGES.items() if file.is_relative_to(f)), key=lambda pf: len(pf[1].parts)
    )
    parts = file.relative_to(folder).with_suffix("").parts
    return ".".join((package, *(p for p in parts if p != "__init__")))


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_between_packages_are_one_way_and_public(package: str) -> None:
    assert crossings(package) == []


def test_the_check_catches_a_private_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.py").write_text(
        "from cellserve.converter._capture import capture_code\n"
        "import cellserve.jupyter\n"
        "from cellserve.bundle.traffic import quantile\n"
        "from cellserve.bundle import cell_of\n"
    )
    monkeypatch.setitem(PACKAGES, "cellserve.runtime", tmp_path)
    assert crossings("cellserve.runtime") == [
        "bad.py:1: cellserve.converter._capture.capture_code is private to cellserve.converter (not in its __all__)",
        "bad.py:2: cellserve.jupyter (package cellserve.runtime may not import cellserve.jupyter)",
        "bad.py:3: cellserve.bundle.traffic.quantile is private to cellserve.bundle (not in its __all__)",
    ]


def test_the_code_a_service_runs_imports_nothing_else_of_cellserve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.py").write_text("from cellserve.exceptions import CellserveError\nfrom .values import cell_of\n")
    monkeypatch.setitem(PACKAGES, "cellserve.bundle", tmp_path)
    assert crossings("cellserve.bundle") == [
        "bad.py:1: cellserve.exceptions.CellserveError (package cellserve.bundle may not import cellserve.exceptions)",
    ]


SERVICE_LIBRARIES = {
    "ray",
    "fastapi",
    "starlette",
    "cloudpickle",
    "jsonschema",
    "prometheus_client",
    "aiohttp",
    "fastapi_offline",
}
"""What cellserve.bundle may import besides the standard library: every Ray cluster with Serve has these, and
the bundle's requirements name fastapi-offline."""


def test_the_code_a_service_runs_needs_only_what_a_ray_cluster_with_serve_has() -> None:
    found = set()
    for file in sorted(PACKAGES["cellserve.bundle"].glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    assert "ray" in found
    assert found - sys.stdlib_module_names - SERVICE_LIBRARIES == set()
