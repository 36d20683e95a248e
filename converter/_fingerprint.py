"""What makes a headless publish the same as an earlier one, known before the notebook runs.

A headless run starts from the notebook file alone, so its result depends on the file's cells and
settings, the files those cells read, the packages they import and the cellserve that converts them.
The fingerprint hashes all of these; equal fingerprints mean the run would build the same service,
and an unchanged notebook can be recognised in a second instead of being run again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._service_code import PACKAGE, service_files

_VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "jupyter")


def inputs_fingerprint(notebook: Path, *, name: str, files: Iterable[str], packages: Iterable[str]) -> str:
    """A hash of what a headless publish of ``notebook`` as ``name`` builds from.

    ``files`` are paths relative to the notebook's folder that the last run read (see ``FileUse``);
    ``packages`` are the distributions the service needs, hashed with the versions installed now.
    """
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("notebook", json.dumps(_normalised(json.loads(notebook.read_bytes())), sort_keys=True).encode())
    add("name", name.encode())
    add("cellserve", _converter_digest().encode())
    add("python", platform.python_version().encode())
    folder = notebook.parent
    for relative in sorted(set(files)):
        path = folder / relative
        add(f"file:{relative}", path.read_bytes() if path.is_file() else b"\0missing")
    for package in sorted(set(packages)):
        add(f"package:{package}", _installed_version(package).encode())
    return digest.hexdigest()


def _normalised(node: dict[str, Any]) -> dict[str, Any]:
    """The notebook without what running it again or opening it changes: execution counts, timings."""
    cells = []
    for cell in node.get("cells", []):
        cell = {key: value for key, value in cell.items() if key != "execution_count"}
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k not in _VOLATILE_CELL_METADATA}
        cell["outputs"] = [{k: v for k, v in o.items() if k != "execution_count"} for o in cell.get("outputs", [])]
        cells.append(cell)
    metadata = {key: value for key, value in node.get("metadata", {}).items() if key != "widgets"}
    return {"cells": cells, "metadata": metadata}


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def _converter_digest() -> str:
    """cellserve's converter itself and the code it puts into a bundle (cellserve.bundle): another cellserve
    may write another bundle from the same notebook."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted(p for p in here.rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".html")):
        digest.update(path.relative_to(here).as_posix().encode() + b"\0" + path.read_bytes())
    for file in service_files():
        digest.update(f"{PACKAGE}/{file.name}".encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
