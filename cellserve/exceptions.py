"""Every error cellserve raises on purpose.

The tree::

    CellserveError
    ├── NotebookError      the file is not a readable nbformat-4 notebook
    ├── SettingsError      notebook metadata ``cellserve`` is invalid
    ├── AnalysisError      the tagged cells cannot become a service
    ├── CaptureError       running the notebook or serializing a value failed
    └── BundleError        the bundle could not be written

A message says what is wrong, where (file, cell, line, setting) and what to do.
"""

from __future__ import annotations


class CellserveError(Exception):
    """Base of every error cellserve raises on purpose."""


class NotebookError(CellserveError):
    """The notebook file cannot be read or is not a valid nbformat-4 notebook."""


class SettingsError(CellserveError):
    """A service setting in the notebook metadata is invalid."""


class AnalysisError(CellserveError):
    """The tagged cells cannot be turned into a service."""

    def __init__(self, message: str, *, cell: int | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.cell = cell
        self.line = line


class CaptureError(CellserveError):
    """Executing the notebook or serializing a captured value failed."""

    def __init__(self, message: str, *, cell: int | None = None) -> None:
        super().__init__(message)
        self.cell = cell
        self.dead_kernel = False


class BundleError(CellserveError):
    """The service bundle could not be written."""


__all__ = [
    "AnalysisError",
    "BundleError",
    "CaptureError",
    "CellserveError",
    "NotebookError",
    "SettingsError",
]
