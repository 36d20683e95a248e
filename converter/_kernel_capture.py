"""Capture values from a notebook's kernel: the code here runs *inside* the kernel.

It needs nothing but the standard library and cloudpickle, and reads the kernel's
namespace, so the same code serves a headless run (nbclient) and a live JupyterLab
kernel. It writes ``captured/<stage>.pkl``, the example request, the expected
response and ``capture.json`` (requirements, problems) into the output folder.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import pickle
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time, the source of cellserve.bundle's values.py is executed just before this code
    from cellserve.bundle import batch_items, to_jsonable
_EXCLUDED_DISTRIBUTIONS = {"ray", "cellserve"}
_FILE_WATCH = "cellserve_file_watch"  # the module _kernel_files.watch registers, when the run installed it


def capture(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Serialize the values ``spec`` names and report what the service needs."""
    import cloudpickle

    out = Path(spec["out"])
    report: dict[str, Any] = {"missing": [], "unpicklable": [], "modules": sorted(spec["imports"])}
    report["files"] = _files_opened()
    (out / "captured").mkdir(parents=True, exist_ok=True)
    modules: set[str] = set(spec["imports"]) | {"cloudpickle"}
    _stable_class_ids(cloudpickle, namespace)
    for stage, names in spec["stages"].items():
        values = {}
        for name, cell in names.items():
            if name in namespace:
                values[name] = namespace[name]
            else:
                report["missing"].append({"name": name, "cell": cell})
        data = _dumps(cloudpickle, values, report)
        if data is not None:
            modules |= _modules_in(data)
            (out / "captured" / f"{stage}.pkl").write_bytes(data)
    modules |= _modules_of_setup_values(cloudpickle, namespace, spec.get("setup_globals", []))
    report["requirements"], report["local_modules"] = _distributions(modules)
    _write_json(out, "example_request.json", namespace, spec["input_variable"], report)
    outputs = namespace.get("Out", {})
    report["has_expected"] = spec["output_count"] in outputs
    expected = outputs.get(spec["output_count"])
    if spec.get("batch") is not None:
        expected = _check_batch(namespace, spec["batch"], expected, report)
    _write_value(out / "expected_response.json", expected, report, "the last predict cell's output")
    (out / "capture.json").write_text(json.dumps(report, indent=2))
    return report


def _check_batch(namespace: dict[str, Any], batch: dict[str, Any], shown: Any, report: dict[str, Any]) -> Any:
    """With batching on, the notebook's own run must be a batch: each handed-off value a list, one item per
    request, and the last predict cell's output a list of the same length. Problems go to the report, naming
    the cell; the expected response is the output's first item (the example request's answer)."""
    problems: list[dict[str, Any]] = report.setdefault("batch", [])
    sizes = {}
    for name in batch["handoff"]:
        value = namespace.get(name)
        if isinstance(value, list):
            sizes[name] = len(value)
            continue
        problems.append(
            {
                "cell": batch["predict_cell"],
                "message": (
                    f"with batching on, the predict cells are handed a list of {name!r} (one item per request), but "
                    f"in the notebook {name!r} is a {type(value).__name__} when they run. Make it a list before "
                    f"the first predict cell (for the example alone: {name} = [{name}]) and write the predict "
                    "cells for a list"
                ),
            }
        )
    if problems or not report["has_expected"]:
        return shown
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name!r} has {size}" for name, size in sizes.items())
        problems.append({"cell": batch["predict_cell"], "message": f"the handed-off lists differ in length ({listed})"})
        return shown
    items = batch_items(shown)
    size = next(iter(sizes.values()), 1)
    if items is None or len(items) != size:
        got = f"a {type(shown).__name__}" if items is None else f"{len(items)} items"
        problems.append(
            {
                "cell": batch["output_cell"],
                "message": (
                    f"with batching on, the last predict cell answers a list with one item per request: "
                    f"{size} here, but it shows {got}"
                ),
            }
        )
        return shown
    return items[0] if items else None


def _modules_of_setup_values(cloudpickle: Any, namespace: dict[str, Any], names: list[str]) -> set[str]:
    """Modules behind what the setup cells make (a model loaded from a file needs its library installed):
    found from the values the notebook's own run of those cells left."""
    found: set[str] = set()
    for name in names:
        if name in namespace:
            try:
                found |= _modules_in(bytes(cloudpickle.dumps(namespace[name])))
            except Exception:  # noqa: S112 - a value that does not pickle needs no module for a pickle
                continue
    return found


def _files_opened() -> dict[str, Any] | None:
    """What the file watch saw the cells read and write (None: no watch, as in a live kernel)."""
    watch = sys.modules.get(_FILE_WATCH)
    if watch is None:
        return None
    watch.__dict__["active"] = False  # the capture's own files are not the notebook's
    return {"reads": dict(watch.reads), "writes": dict(watch.writes)}


def _stable_class_ids(cloudpickle: Any, namespace: dict[str, Any]) -> None:
    """Give the notebook's own classes ids derived from their definition, not random ones.

    cloudpickle pickles a class defined in the notebook by value and tags it with an id (a fresh uuid
    per process) so that copies of it unpickled in one process are one class. A headless run is a new
    process each time: with random ids an unchanged notebook's capture differed in its bytes from run to
    run, and its republish could not be recognised. (A class redefined while an older copy of the same
    definition is alive keeps a random id: correct, only not byte-stable.)
    """
    track = getattr(getattr(cloudpickle, "cloudpickle", None), "_lookup_class_or_track", None)
    if track is None:  # a cloudpickle without it: captures stay correct, only not byte-stable
        return
    module = namespace.get("__name__", "__main__")
    for value in list(namespace.values()):
        if isinstance(value, type) and value.__module__ == module:
            track(_class_id(value), value)


def _class_id(cls: type) -> str:
    """The same for the same definition in any process: the name and the code of its methods."""
    digest = hashlib.sha256(f"{cls.__module__}.{cls.__qualname__}".encode())
    for key, member in sorted(vars(cls).items()):
        code = getattr(getattr(member, "__func__", member), "__code__", None)
        digest.update(key.encode() + b"\0" + (code.co_code + repr(code.co_names).encode() if code else b""))
    return digest.hexdigest()[:32]


def _dumps(cloudpickle: Any, values: dict[str, Any], report: dict[str, Any]) -> bytes | None:
    try:
        return bytes(cloudpickle.dumps(values))
    except Exception:  # find which value, and say why
        for name, value in values.items():
            try:
                cloudpickle.dumps(value)
            except Exception as exc:
                kind = f"{type(value).__module__}.{type(value).__qualname__}"
                report["unpicklable"].append({"name": name, "type": kind, "reason": f"{type(exc).__name__}: {exc}"})
        return None


class _ModuleRecorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.modules: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.modules.add(module.split(".")[0])
        return super().find_class(module, name)


def _modules_in(data: bytes) -> set[str]:
    """Modules the pickle needs at load time, found by loading it once (which also proves it loads)."""
    recorder = _ModuleRecorder(data)
    recorder.load()
    return recorder.modules


def _distributions(modules: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Installed distributions (name -> version) providing ``modules``; and modules from local files."""
    owners = importlib.metadata.packages_distributions()
    found: dict[str, str] = {}
    local: dict[str, str] = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module in ("__main__", "builtins", ""):
            continue
        for distribution in owners.get(module, []):
            if distribution.lower() not in _EXCLUDED_DISTRIBUTIONS:
                found[distribution] = importlib.metadata.version(distribution)
        if module not in owners and module in sys.modules:
            local[module] = str(getattr(sys.modules[module], "__file__", "") or "")
    return found, local


def _write_json(out: Path, file: str, namespace: dict[str, Any], name: str, report: dict[str, Any]) -> None:
    if name not in namespace:
        report["missing"].append({"name": name, "cell": None})
        return
    _write_value(out / file, namespace[name], report, f"the input variable {name!r}")


def _write_value(path: Path, value: Any, report: dict[str, Any], what: str) -> None:
    try:
        path.write_text(json.dumps(to_jsonable(value), allow_nan=False) + "\n")
    except (TypeError, ValueError) as exc:
        report.setdefault("not_json", []).append({"what": what, "reason": str(exc)})
