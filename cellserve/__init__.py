"""cellserve: turn a tagged Jupyter notebook into a Ray Serve prediction service."""

from cellserve.exceptions import (
    AnalysisError,
    BundleError,
    CaptureError,
    CellserveError,
    NotebookError,
    SettingsError,
)

__version__ = "0.1.0"

__all__ = [
    "AnalysisError",
    "BundleError",
    "CaptureError",
    "CellserveError",
    "NotebookError",
    "SettingsError",
    "__version__",
]
