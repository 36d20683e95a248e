"""The code that runs inside a service: the package cellserve.bundle, which every bundle carries.

A bundle holds it as ``cellserve/bundle/`` under a ``cellserve/__init__.py`` that imports nothing, so
``app.py`` imports ``cellserve.bundle.support`` by the same name as code outside a bundle does. The
bundle's folder comes first on the replicas' path: where the cluster has cellserve installed too, the
bundle's copy is the one imported, and it needs nothing else of cellserve.
"""

from __future__ import annotations

from importlib.resources import files as package_files
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "cellserve.bundle"
_TOP_INIT = (
    '"""The part of cellserve that a service carries: cellserve.bundle, nothing else.\n\n'
    "The bundle's folder comes first on the replicas' path, so this is the cellserve they import,\n"
    'whether or not the cluster has cellserve installed."""\n'
)


def service_files() -> list[Traversable]:
    """cellserve.bundle's files that a bundle carries: its modules and the service page's template."""
    package = package_files(PACKAGE)
    return sorted(
        (f for f in package.iterdir() if f.is_file() and f.name.endswith((".py", ".html"))), key=lambda f: f.name
    )


def service_source(name: str) -> str:
    """The text of one of cellserve.bundle's files (``values.py``: the capture runs it in the kernel)."""
    return package_files(PACKAGE).joinpath(name).read_text(encoding="utf-8")


def copy_service_code(out: Path) -> None:
    """cellserve/__init__.py (a docstring) and cellserve/bundle/ into the bundle folder ``out``."""
    target = out.joinpath(*PACKAGE.split("."))
    target.mkdir(parents=True)
    (target.parent / "__init__.py").write_text(_TOP_INIT, encoding="utf-8")
    for file in service_files():
        (target / file.name).write_bytes(file.read_bytes())
