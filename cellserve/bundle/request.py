"""Reading a request before any user code runs: its body as JSON, checked against the service's schema.

This file is copied into every service bundle. It needs the standard library and jsonschema (which Ray
itself depends on). Every problem is a :class:`RequestError` that says what is wrong and where, for a
4xx JSON answer: hostile bodies (deep nesting, numbers of thousands of digits, NaN) included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a request may have."""


class RequestError(Exception):
    """Why a request is refused: HTTP status, error type, message and, for a shape error, the field."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse(body: bytes) -> Any:
    """The body's JSON value; RequestError (400) for anything that is not plain, finite JSON."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)  # JSON is UTF-8 (RFC 8259)
    except UnicodeDecodeError:
        raise RequestError(400, "invalid_json", "The body is not UTF-8 text, so it is not JSON.") from None
    except RecursionError:
        raise RequestError(400, "invalid_json", f"The body nests deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of more digits than Python reads
        raise RequestError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None
    if _depth(value) > MAX_DEPTH:
        raise RequestError(400, "invalid_json", f"The body nests deeper than {MAX_DEPTH} levels.")
    return value


def _depth(value: Any) -> int:
    deepest, level = 0, [value]
    while level:
        deepest += 1
        if deepest > MAX_DEPTH:
            return deepest
        level = [
            item
            for node in level
            if isinstance(node, (list, dict))
            for item in (node.values() if isinstance(node, dict) else node)
        ]
    return deepest - 1 if deepest else 0


def check_schema(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` is not a usable JSON Schema (draft 2020-12), or None."""
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # SchemaError, or a schema too odd for the meta-schema check
        return getattr(exc, "message", str(exc))
    return None


class RequestChecker:
    """Checks request values against one JSON Schema (None: no check)."""

    def __init__(self, schema: dict[str, Any] | None) -> None:
        self.validator = Draft202012Validator(schema) if schema is not None else None

    def check(self, value: Any) -> None:
        """Raise RequestError (422) naming the first field that breaks the schema."""
        if self.validator is None:
            return
        error = best_match(self.validator.iter_errors(value))
        if error is not None:
            field, problem = describe(error)
            raise RequestError(422, "invalid_request", f"{field}: {problem}.", field)


def describe(error: ValidationError) -> tuple[str, str]:
    """(field, problem) of a validation error, the field as ``a.b[2]`` ("body" for the whole body)."""
    path = list(error.absolute_path)
    problem = error.message
    expected: Any = error.validator_value
    schema: Any = error.schema
    if error.validator == "type":
        problem = f"expected {_names(expected)}, got {_json_type(error.instance)}"
    elif error.validator == "required" and isinstance(error.instance, dict):
        missing = [key for key in expected if key not in error.instance]
        path, problem = [*path, missing[0]], "is required but missing"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict) and isinstance(schema, dict):
        known = sorted(schema.get("properties", {}))
        extra = sorted(key for key in error.instance if key not in known)
        path, problem = [*path, extra[0]], f"is not expected; the fields are {known}"
    return _field(path), problem


def _field(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _names(types: Any) -> str:
    return " or ".join(types) if isinstance(types, list) else str(types)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    for name, kinds in (("object", dict), ("array", list), ("string", str), ("number", (int, float))):
        if isinstance(value, kinds):
            return name
    return "null" if value is None else type(value).__name__
