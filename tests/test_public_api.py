"""The public surface: what the packages export is exactly what ``__all__`` says."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "name", ["cellserve", "cellserve.bundle", "cellserve.converter", "cellserve.runtime", "cellserve.exceptions"]
)
def test_all_matches_exports(name: str) -> None:
    module = importlib.import_module(name)
    public = {n for n in vars(module) if not n.startswith("_") and not _is_submodule(module, n)}
    public -= {"annotations"}
    lazy = {n for n in module.__all__ if n not in vars(module)}  # loaded on first use (cellserve.panel)
    assert set(module.__all__) == public | ({"__version__"} & set(module.__all__)) | lazy
    for name_ in module.__all__:
        assert getattr(module, name_) is not None


def _is_submodule(module: object, name: str) -> bool:
    return type(getattr(module, name)).__name__ == "module"


def test_exception_tree() -> None:
    from cellserve import exceptions

    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.CellserveError)
