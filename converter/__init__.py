"""Notebook → service bundle: read, analyse, capture, generate, write."""

from ._analysis import Plan, StagePlan, analyse
from ._bundle import Bundle, convert, write_bundle
from ._capture import Capture, capture_code, capture_headless
from ._notebook import Cell, Notebook, Role, read_notebook
from ._settings import ServiceSettings, StageSettings, parse_settings

__all__ = [
    "Bundle",
    "Capture",
    "Cell",
    "Notebook",
    "Plan",
    "Role",
    "ServiceSettings",
    "StagePlan",
    "StageSettings",
    "analyse",
    "capture_code",
    "capture_headless",
    "convert",
    "parse_settings",
    "read_notebook",
    "write_bundle",
]
