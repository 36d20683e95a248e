"""Capture values from a notebook's kernel: the code here runs *inside* the kernel.

It needs nothing but the standard library and cloudpickle, and reads the kernel's
namespace, so the same code serves a headless run (nbclient) and a live JupyterLab
kernel. It writes ``captured/<stage>.pkl``, the example request, the expected
response and ``capture.json`` (requirements, problems) into the output folder.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import pickle
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time, cellserve_values' source is executed just before this code
    from cellserve.converter.bundle_files.cellserve_values import to_jsonable
_EXCLUDED_DISTRIBUTIONS = {"ray", "cellserve"}


def capture(namespace: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Serialize the values ``spec`` names and report what the service needs."""
    import cloudpickle

    out = Path(spec["out"])
    (out / "captured").mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"missing": [], "unpicklable": [], "modules": sorted(spec["imports"])}
    modules: set[str] = set(spec["imports"]) | {"cloudpickle"}
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
    report["requirements"], report["local_modules"] = _distributions(modules)
    _write_json(out, "example_request.json", namespace, spec["input_variable"], report)
    outputs = namespace.get("Out", {})
    report["has_expected"] = spec["output_count"] in outputs
    expected = outputs.get(spec["output_count"])
    _write_value(out / "expected_response.json", expected, report, "the last predict cell's output")
    (out / "capture.json").write_text(json.dumps(report, indent=2))
    return report


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
