"""Change a notebook's cellserve settings from outside JupyterLab: what the sidebar's form does, for the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from cellserve.exceptions import NotebookError, SettingsError

from ._notebook import METADATA_KEY
from ._settings import parse_settings


def setting_value(text: str) -> Any:
    """A value as typed after ``KEY=``: JSON where it is JSON (``32``, ``null``, ``{"max_size": 8}``), else
    the text itself (``auto``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def edit_settings(path: Path, assign: dict[str, Any], unset: list[str]) -> dict[str, Any]:
    """Set (``batch.max_size`` → 32) and remove dotted keys of the notebook's ``cellserve`` metadata, check
    the result as a publish would, and write the notebook only if it passes. Returns the new metadata."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        raise NotebookError(f"{path}: cannot read the notebook: {exc}") from None
    raw = notebook.metadata.get(METADATA_KEY, {})
    settings: dict[str, Any] = json.loads(json.dumps(raw)) if isinstance(raw, dict) else {}
    for key in unset:
        *parents, last = key.split(".")
        owner = _owner(settings, parents, key, create=False)
        if owner is not None:
            owner.pop(last, None)
    for key, value in assign.items():
        *parents, last = key.split(".")
        owner = _owner(settings, parents, key, create=True)
        assert owner is not None
        owner[last] = value
    _drop_empty(settings)
    parse_settings(settings, source=str(path))
    if settings:
        notebook.metadata[METADATA_KEY] = settings
    else:
        notebook.metadata.pop(METADATA_KEY, None)
    nbformat.write(notebook, path)
    return settings


def _owner(settings: dict[str, Any], parents: list[str], key: str, *, create: bool) -> dict[str, Any] | None:
    owner = settings
    for part in parents:
        child = owner.get(part)
        if child is None and create:
            child = owner[part] = {}
        if child is None:
            return None
        if not isinstance(child, dict):
            raise SettingsError(f"{key}: {part!r} is not a group of settings (it is {child!r}).")
        owner = child
    return owner


_GROUPS = ("preprocessing", "predict", "files", "batch")


def _drop_empty(settings: dict[str, Any]) -> None:
    """A group left with no setting goes (its defaults apply); an empty request_schema stays (it accepts all)."""
    for key in _GROUPS:
        if settings.get(key) == {}:
            del settings[key]
