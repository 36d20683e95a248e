"""JSON conversion and request checks for a cellserve service.

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


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    for name in ("object", "array", "string", "number", "null"):
        if isinstance(value, _JSON_TYPES[name]):
            return name
    return type(value).__name__


def check(value: Any, schema: Schema, field: str = "") -> tuple[str, str] | None:
    """The first place where ``value`` breaks ``schema``, as (field, problem); None if it fits.

    Supports the JSON Schema keywords type, properties, required, additionalProperties,
    items, enum, minItems, maxItems, minimum and maximum.
    """
    where = field or "body"
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        actual = _json_type(value)
        fits = any(
            actual == name or (name == "integer" and actual == "number" and float(value).is_integer()) for name in names
        )
        if not fits:
            return where, f"expected {' or '.join(names)}, got {actual}"
    if "enum" in schema and value not in schema["enum"]:
        return where, f"must be one of {schema['enum']}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return where, f"must be at least {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return where, f"must be at most {schema['maximum']}"
    if isinstance(value, dict):
        return _check_object(value, schema, field)
    if isinstance(value, list):
        return _check_array(value, schema, field)
    return None


def _check_object(value: dict[str, Any], schema: Schema, field: str) -> tuple[str, str] | None:
    prefix = f"{field}." if field else ""
    for key in schema.get("required", []):
        if key not in value:
            return prefix + key, "is required but missing"
    properties = schema.get("properties", {})
    for key, item in value.items():
        if key in properties:
            problem = check(item, properties[key], prefix + key)
            if problem:
                return problem
        elif schema.get("additionalProperties", True) is False:
            return prefix + key, f"is not expected; the fields are {sorted(properties)}"
    return None


def _check_array(value: list[Any], schema: Schema, field: str) -> tuple[str, str] | None:
    where = field or "body"
    if "minItems" in schema and len(value) < schema["minItems"]:
        return where, f"needs at least {schema['minItems']} items, got {len(value)}"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return where, f"takes at most {schema['maxItems']} items, got {len(value)}"
    items = schema.get("items")
    if isinstance(items, dict) and items:
        for index, item in enumerate(value):
            problem = check(item, items, f"{where}[{index}]")
            if problem:
                return problem
    return None


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
