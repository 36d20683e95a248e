"""Every error cellserve raises on purpose.

The tree::

    CellserveError
    ├── NotebookError      the file is not a readable nbformat-4 notebook
    ├── SettingsError      notebook metadata ``cellserve`` is invalid
    ├── AnalysisError      the tagged cells cannot become a service
    ├── CaptureError       running the notebook or serializing a value failed
    ├── BundleError        the bundle could not be written
    ├── ClusterError       no Ray cluster to deploy to, or it cannot run the service
    ├── DeployError        a publish, rollback or delete failed at a named step
    ├── ImageError         no Docker engine, or building the service's image failed
    └── ServiceNotFoundError    no such service, or no such version of it

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


class ClusterError(CellserveError):
    """No Ray cluster can be reached, or the cluster can never run the service as set."""


class DeployError(CellserveError):
    """A step of a publish, rollback or delete failed; ``step`` names it, ``cell`` the notebook cell behind it."""

    def __init__(self, message: str, *, step: str, cell: int | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.cell = cell


class ImageError(CellserveError):
    """No Docker engine answers, or the image build failed (the message carries the log's tail)."""


class ServiceNotFoundError(CellserveError):
    """No service of that name has been published, or it has no such version."""


__all__ = [
    "AnalysisError",
    "BundleError",
    "CaptureError",
    "CellserveError",
    "ClusterError",
    "DeployError",
    "ImageError",
    "NotebookError",
    "ServiceNotFoundError",
    "SettingsError",
]
