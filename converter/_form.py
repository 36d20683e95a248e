"""The service settings as a form shows them, and the model's own word on values typed into it.

The sidebar draws its settings form from :func:`settings_form_schema` and asks :func:`settings_problems`
about every change, so that the pydantic models in ``_settings`` are the one place the rules live: a setting
added there appears in the form, with its description, default and bounds, and its errors read as the
model words them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ._settings import JsonSchema, ServiceSettings

# Keywords a form field keeps: its kind, the values it takes, its bounds, its help and its default.
_KEPT = frozenset(
    {
        "type",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "description",
        "default",
    }
)
_SCALARS = frozenset({"string", "number", "integer", "boolean"})


def settings_form_schema() -> JsonSchema:
    """The settings' JSON schema shaped for a form: references resolved, an optional value (``X or None``)
    shown as ``X`` that may stay empty (its default ``None``), and titles left out (a field is labelled with its
    key, the name the notebook metadata, the docs and the error messages use).

    A setting whose value is a choice between shapes (``request_schema``: a word or a JSON Schema object) has
    no field: it is set in the notebook metadata.
    """
    full = ServiceSettings.model_json_schema()
    form = _shape(full, full)
    if form is None:  # pragma: no cover - the settings are an object of simple fields
        raise AssertionError("the settings model has no form")
    return form


def settings_problems(raw: object) -> list[dict[str, Any]]:
    """What the settings model says of ``raw`` (the notebook metadata ``cellserve``): one entry per problem,
    ``{"path": [...keys], "message": ...}``; empty when the settings are valid. A rule across fields
    (``min_replicas`` above ``max_replicas``) is reported at the object that holds both."""
    if not isinstance(raw, dict):
        return [{"path": [], "message": f"the settings must be an object, got {type(raw).__name__}"}]
    try:
        ServiceSettings.model_validate(raw)
    except ValidationError as exc:
        return [_problem(error) for error in exc.errors()]
    return []


def _problem(error: Any) -> dict[str, Any]:
    path = [str(part) for part in error["loc"]]
    if error["type"] == "extra_forbidden":
        message = "unknown setting: remove it or check its spelling"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return {"path": path, "message": message}


def _shape(node: Any, root: JsonSchema) -> JsonSchema | None:
    """The form schema of one schema node, or None where a form has no field for it."""
    node = _resolve(node, root)
    if not isinstance(node, dict):
        return None
    default = node.get("default")
    members = node.get("anyOf")
    if isinstance(members, list):
        others = [member for member in members if _resolve(member, root) != {"type": "null"}]
        if len(others) != 1:
            return None
        inner = _shape(others[0], root)
        if inner is None:
            return None
        if "description" in node:
            inner["description"] = node["description"]
        if "default" in node:
            inner["default"] = default  # None where leaving it empty means "none"
        return inner
    if node.get("type") == "object":
        properties: dict[str, JsonSchema] = {}
        for key, child in (node.get("properties") or {}).items():
            shaped = _shape(child, root)
            if shaped is not None:
                properties[key] = shaped
        shaped_object: JsonSchema = {"type": "object", "properties": properties, "additionalProperties": False}
        if "description" in node:
            shaped_object["description"] = node["description"]
        return shaped_object
    if node.get("type") == "array":
        items = _shape(node.get("items", {}), root)
        if items is None or items.get("type") not in _SCALARS:
            return None
        shaped_array: JsonSchema = {"type": "array", "items": items}
        if "description" in node:
            shaped_array["description"] = node["description"]
        return shaped_array
    if node.get("type") in _SCALARS or "enum" in node:
        return {key: value for key, value in node.items() if key in _KEPT}
    return None


def _resolve(node: Any, root: JsonSchema) -> Any:
    """``node`` with a local ``$ref`` (``#/$defs/Name``) followed, keeping the referring node's own keywords."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        rest = {key: value for key, value in node.items() if key != "$ref"}
        node = {**target, **rest} if isinstance(target, dict) else None
    return node
