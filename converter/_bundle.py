"""Convert a notebook into a bundle directory: read → analyse → capture → generate → write."""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ray

from cellserve.exceptions import BundleError

from ._analysis import Plan, analyse
from ._capture import Capture, CaptureStep, FileUse, capture_headless
from ._files import dockerfile, readme, requirements, serve_config
from ._generate import render_app
from ._notebook import read_notebook
from ._page import write_page_parts
from ._service_code import copy_service_code
from ._shipping import ShippedFile, files_to_ship

MANIFEST = "cellserve.json"
FILES = "files"  # the notebook's files the service reads; the replicas run in this folder
Progress = Callable[[str], None]
STEP_MESSAGES = {
    "read": "Reading the notebook",
    "analyse": "Analysing the tagged cells",
    "capture": "Running the notebook and capturing its values",
    "capture-kernel": "Capturing the values from the running kernel",
    "generate": "Writing the service bundle",
    "write": "Moving the bundle into place",
}
"""What each step ``convert`` reports through ``progress`` is doing, for people."""


@dataclass(frozen=True)
class Bundle:
    """A written service bundle."""

    path: Path
    name: str
    plan: Plan
    files: tuple[FileUse, ...] | None = None
    """The files the run opened (None: not watched, as in a live kernel)."""
    shipped: tuple[ShippedFile, ...] = ()
    """The notebook's files that travel with the service, under ``files/``."""

    @property
    def serve_config(self) -> Path:
        return self.path / "serve.yaml"


def convert(
    notebook_path: str | Path,
    out_dir: str | Path,
    *,
    base_image: str | None = None,
    progress: Progress | None = None,
    name: str | None = None,
    capture: CaptureStep | None = None,
) -> Bundle:
    """Turn ``notebook_path`` into a service bundle in ``out_dir``.

    The bundle is built in a staging folder and moved into place at the end, so a
    failure at any step leaves an existing bundle in ``out_dir`` untouched. ``name``
    overrides the service name the notebook's settings give. ``capture`` takes the
    values from elsewhere than a headless run (a live kernel: :func:`capture_in_kernel`).
    """
    say = progress or (lambda _step: None)
    out = Path(out_dir).resolve()
    _check_target(out)
    say("read")
    notebook = read_notebook(notebook_path)
    if name is not None:
        notebook = dataclasses.replace(notebook, settings=notebook.settings.model_copy(update={"name": name}))
    say("analyse")
    plan = analyse(notebook)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as staging_name:
        staging = Path(staging_name) / "bundle"
        staging.mkdir()
        say("capture" if capture is None else "capture-kernel")
        captured = (capture or capture_headless)(plan, staging)
        say("generate")
        shipped = write_bundle(plan, captured, staging, base_image=base_image)
        say("write")
        _replace(staging, out)
    return Bundle(out, notebook.service_name, plan, captured.files, shipped)


def write_bundle(plan: Plan, capture: Capture, out: Path, *, base_image: str | None = None) -> tuple[ShippedFile, ...]:
    """Write the generated files and the notebook's files the service reads beside what the capture step put
    into ``out``; returns the latter."""
    shipped = files_to_ship(plan, capture.files)
    files = {
        "app.py": render_app(plan),
        "serve.yaml": serve_config(plan),
        "requirements.txt": requirements(plan, capture),
        "Dockerfile": dockerfile(plan, base_image),
        "README.md": readme(plan, shipped),
        ".dockerignore": "__pycache__/\n*.pyc\n",
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    copy_service_code(out)
    write_page_parts(plan.notebook, out)
    _copy_local_modules(plan, capture, out)
    _copy_files(plan, shipped, out)
    (out / "capture.json").unlink(missing_ok=True)
    (out / MANIFEST).write_text(json.dumps(_manifest(plan, capture, shipped), indent=2) + "\n")
    return shipped


def _copy_files(plan: Plan, shipped: tuple[ShippedFile, ...], out: Path) -> None:
    """The notebook's files, at their paths relative to the notebook, under files/ (the replicas' folder)."""
    home = plan.notebook.path.parent.resolve()
    for file in shipped:
        target = out / FILES / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(home / file.path, target)


def _copy_local_modules(plan: Plan, capture: Capture, out: Path) -> None:
    """Modules imported from files beside the notebook travel with the bundle."""
    home = plan.notebook.path.parent.resolve()
    for module, file in capture.local_modules.items():
        source = Path(file).resolve() if file else None
        if source is None or not source.is_relative_to(home):
            continue
        if source.name == "__init__.py":
            shutil.copytree(source.parent, out / module, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, out / f"{module}.py")


def _manifest(plan: Plan, capture: Capture, shipped: tuple[ShippedFile, ...]) -> dict[str, object]:
    return {
        "format": 1,
        "service": plan.notebook.service_name,
        "title": plan.notebook.title,
        "notebook": plan.notebook.path.name,
        "ray": ray.__version__,
        "python": platform.python_version(),
        "settings": plan.notebook.settings.model_dump(mode="json"),
        "stages": {
            stage.role.value: {
                "cells": [p.cell.number for p in stage.cells],
                "inputs": stage.params,
                "captured": sorted(stage.captured),
                "runs_setup": stage.runs_setup,
            }
            for stage in plan.stages
        },
        "carried": [d.name for d in plan.carried],
        "imports": [d.import_line() for d in plan.imports],
        "has_expected_response": capture.has_expected,
        "files": [{"path": f.path, "bytes": f.size, "read_by_cells": list(f.cells)} for f in shipped],
    }


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise BundleError(
            f"{out} is a non-empty directory that is not a cellserve bundle; choose another output directory."
        )


def _replace(staging: Path, out: Path) -> None:
    """Swap the new bundle in; the old one, if any, is removed only once the new one is in place."""
    old = staging.parent / "previous"
    if out.exists():
        out.rename(old)
    staging.rename(out)
