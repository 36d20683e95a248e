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


def __getattr__(name: str) -> object:
    """``panel`` and ``endpoint`` load ipywidgets only when a notebook asks for them."""
    if name in ("panel", "endpoint"):
        from cellserve import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'cellserve' has no attribute {name!r}")


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
    "endpoint",
    "panel",
]
