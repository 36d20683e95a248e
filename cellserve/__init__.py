"""cellserve: turn a tagged Jupyter notebook into a Ray Serve prediction service."""

from cellserve.exceptions import (
    AnalysisError,
    BundleError,
    CaptureError,
    CellserveError,
    ClusterError,
    DeployError,
    ImageError,
    NotebookError,
    ServiceNotFoundError,
    SettingsError,
)

__version__ = "0.1.0"

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
    "__version__",
]
