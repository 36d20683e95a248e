"""The notebook check: what a publish of the notebook as it is now would capture and ship, or what stops it.

One place for it: JupyterLab's server handler (on every edit), the ipywidgets panel and anything else
that asks use this, and the sidebar shows what it answers rather than deciding roles itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cellserve.exceptions import CellserveError

from ._analysis import Plan, analyse
from ._notebook import Role, notebook_from_json, read_notebook
from ._settings import service_name_from_path
from ._shipping import files_to_ship


def roles_of(raw: object) -> dict[str, list[int]]:
    """Cell numbers (1-based among all cells) per role, read from the tags of notebook JSON."""
    roles: dict[str, list[int]] = {role.value: [] for role in Role}
    cells = raw.get("cells", []) if isinstance(raw, dict) else []
    for number, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell, dict) else []
        for role in Role:
            if isinstance(tags, list) and role.tag in tags:
                roles[role.value].append(number)
    return roles


def check_notebook(path: Path, content: object | None = None) -> dict[str, Any]:
    """Roles, stages and problems of the notebook at ``path``, or of ``content`` (its unsaved JSON); the service
    it publishes to (None when the notebook cannot be read) and the name it has when its settings give none."""
    if content is None:
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            content = None  # read_notebook reports what is wrong with the file
    roles = roles_of(content)
    try:
        notebook = read_notebook(path) if content is None else notebook_from_json(content, path)
    except CellserveError as exc:
        return {
            "ok": False,
            "service": None,
            "default_service": service_name_from_path(path.stem),
            "roles": roles,
            "stages": {},
            "files": [],
            "problems": [_problem(exc)],
        }
    report: dict[str, Any] = {
        "service": notebook.service_name,
        "default_service": service_name_from_path(path.stem),
        "roles": roles,
        "stages": {},
        "files": [],
        "problems": [],
    }
    try:
        plan = analyse(notebook)
    except CellserveError as exc:
        report["problems"].append(_problem(exc))
    else:
        report["stages"] = {
            stage.role.value: {
                "cells": [parsed.cell.number for parsed in stage.cells],
                "inputs": stage.params,
                "captured": sorted(stage.captured),
            }
            for stage in plan.stages
        }
        report["files"] = _files(plan)
    report["ok"] = not report["problems"]
    return report


def _files(plan: Plan) -> list[dict[str, Any]]:
    """The notebook's files a publish ships, as far as the cells' text and the settings tell without running
    them (a headless publish also finds the paths cells compute)."""
    try:
        shipped = files_to_ship(plan, None)
    except CellserveError:
        return []  # the publish says what is wrong, with the file, the cell and the line
    return [{"path": f.path, "bytes": f.size, "cells": list(f.cells)} for f in shipped]


def _problem(exc: CellserveError) -> dict[str, Any]:
    return {"message": str(exc), "cell": getattr(exc, "cell", None), "kind": type(exc).__name__}
