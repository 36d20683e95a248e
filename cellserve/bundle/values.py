"""JSON conversion and the inferred request schema for a cellserve service.

This file is copied into every service bundle and has no dependency beyond the
standard library (NumPy, torch and pandas values are recognised without importing
them). It also runs inside the notebook's kernel at publish time, so the example
request and the expected response are converted exactly as the service converts.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import math
import re
from typing import Any

Schema = dict[str, Any]


def to_jsonable(value: Any) -> Any:
    """Turn a prediction (NumPy, torch, pandas, dataclass, scalar, ...) into JSON data."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return to_jsonable(float(value))
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    return _library_value(value)


def batch_items(value: Any) -> list[Any] | None:
    """A batch's answers, one item per request: a list's or tuple's items, an array's or a tensor's rows, a
    Series' values or a DataFrame's rows (as records); None for anything else (a dict, a string, a number)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    library = type(value).__module__.split(".")[0]
    if library in ("numpy", "torch") and getattr(value, "ndim", 0) >= 1:
        return list(value)
    if library == "pandas" and hasattr(value, "iloc"):
        records = value.to_dict(orient="records") if hasattr(value, "columns") else value.tolist()
        return list(records)
    return None


def _library_value(value: Any) -> Any:
    library = type(value).__module__.split(".")[0]
    if library == "torch" and hasattr(value, "detach"):
        return to_jsonable(value.detach().cpu().tolist())
    if library == "pandas" and hasattr(value, "to_dict"):
        if hasattr(value, "columns"):
            return to_jsonable(value.to_dict(orient="records"))
        return to_jsonable(value.to_dict())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    raise TypeError(
        f"cannot turn a {type(value).__module__}.{type(value).__qualname__} into JSON: "
        "make the last predict expression a dict, list, number, string, array or tensor"
    )


def infer_schema(example: Any) -> Schema:
    """A JSON Schema with the example's keys and JSON types; list lengths are free."""
    if example is None:
        return {}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, (int, float)):
        return {"type": "number"}
    if isinstance(example, str):
        return {"type": "string"}
    if isinstance(example, list):
        item_schemas = [infer_schema(item) for item in example]
        same = all(schema == item_schemas[0] for schema in item_schemas)
        return {"type": "array", "items": item_schemas[0] if item_schemas and same else {}}
    if isinstance(example, dict):
        return {
            "type": "object",
            "properties": {key: infer_schema(item) for key, item in example.items()},
            "required": list(example),
            "additionalProperties": False,
        }
    raise TypeError(f"the example request holds a {type(example).__name__}, which is not JSON")


_CELL_MARKER = re.compile(r"^\s*# ── cell (\d+) · [^─]*?(?:from line (\d+))? ──$")


def cell_of(app_source: str, lineno: int) -> dict[str, int]:
    """Map a line of app.py back to its notebook cell and line, by the cell markers app.py carries."""
    lines = app_source.splitlines()[:lineno]
    for index in range(len(lines) - 1, -1, -1):
        marker = _CELL_MARKER.match(lines[index])
        if marker:
            first = int(marker.group(2) or 1)
            return {"cell": int(marker.group(1)), "line": lineno - index - 2 + first}
    return {}
