"""Notebook → service bundle: read, analyse, capture, generate, write."""

from cellserve.bundle import SERVICE_NAME_RULE, is_service_name

from ._analysis import Plan, StagePlan, analyse
from ._bundle import STEP_MESSAGES, Bundle, convert, write_bundle
from ._capture import (
    Capture,
    CaptureStep,
    FileUse,
    capture_code,
    capture_headless,
    capture_in_kernel,
    capture_in_namespace,
)
from ._check import check_notebook
from ._edit import edit_settings, setting_value
from ._fingerprint import inputs_fingerprint
from ._form import settings_form_schema, settings_problems
from ._kuberay import KUBERAY_VERSION, rayservice
from ._notebook import Cell, Notebook, Role, notebook_from_json, read_notebook
from ._settings import ServiceSettings, StageSettings, parse_settings
from ._shipping import ShippedFile, files_to_ship

__all__ = [
    "KUBERAY_VERSION",
    "SERVICE_NAME_RULE",
    "STEP_MESSAGES",
    "Bundle",
    "Capture",
    "CaptureStep",
    "Cell",
    "FileUse",
    "Notebook",
    "Plan",
    "Role",
    "ServiceSettings",
    "ShippedFile",
    "StagePlan",
    "StageSettings",
    "analyse",
    "capture_code",
    "capture_headless",
    "capture_in_kernel",
    "capture_in_namespace",
    "check_notebook",
    "convert",
    "edit_settings",
    "files_to_ship",
    "inputs_fingerprint",
    "is_service_name",
    "notebook_from_json",
    "parse_settings",
    "rayservice",
    "read_notebook",
    "setting_value",
    "settings_form_schema",
    "settings_problems",
    "write_bundle",
]
