"""The service's own pages: the shareable service page, its API docs and the OpenAPI document.

Everything is served by the service itself and works offline: the page's style and
script are inline (allowed by a per-response nonce in the Content-Security-Policy,
so nothing else on the page can run), and the API docs use the Swagger UI files of
the fastapi-offline package instead of a CDN. Values from the notebook are escaped
here; the notebook's HTML parts were sanitized when the bundle was made.
"""

import datetime
import functools
import html
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from .values import infer_schema

_TEMPLATE = Template((Path(__file__).with_name("page.html")).read_text(encoding="utf-8"))
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "favicon.png": "image/png"}


def nonce() -> str:
    return secrets.token_urlsafe(18)


def _headers(script_src: str, style_src: str) -> dict[str, str]:
    policy = (
        f"default-src 'none'; script-src {script_src}; style-src {style_src}; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def page_headers(script_nonce: str) -> dict[str, str]:
    """Only the page's own style and script run; data and calls stay on this origin."""
    return _headers(f"'nonce-{script_nonce}'", f"'nonce-{script_nonce}'")


def docs_headers(script_nonce: str) -> dict[str, str]:
    """Swagger UI styles its elements inline; its scripts are ours (nonce) and its bundle (self)."""
    return _headers(f"'self' 'nonce-{script_nonce}'", "'self' 'unsafe-inline'")


@functools.cache
def read_part(folder: Path, name: str) -> str:
    """A part of the page the converter wrote into the bundle's page/ (read once per replica)."""
    path = folder / name
    return path.read_text(encoding="utf-8") if path.is_file() else ""


@dataclass
class StageRow:
    name: str
    replicas: str
    cpus: str
    gpus: str
    runs_on: str


@dataclass
class PageInfo:
    name: str
    title: str
    notebook: str
    base: str
    example: Any
    expected: Any
    access: str
    version: str
    published: str
    parts: Path  # the bundle's page/, where the converter wrote the page's description and cells
    stages: list[StageRow] = field(default_factory=list)


def stage_rows(settings: dict[str, Any], placements: dict[str, dict[str, Any]]) -> list[StageRow]:
    """One row per stage: its replica settings, and where the replica that answered runs."""
    rows = []
    for name in ("preprocessing", "predict"):
        stage = settings.get(name) or {}
        low, high = stage.get("min_replicas", 1), stage.get("max_replicas", 1)
        replicas = f"{low}–{high}, autoscaling" if low != high else str(high)
        gpus = (
            f"{stage['num_gpus']:g} per replica ({stage.get('gpu', 'required')})" if stage.get("num_gpus") else "none"
        )
        placement = placements.get(name) or {}
        gpu_ids = placement.get("gpu_ids") or []
        runs_on = f"GPU {', '.join(gpu_ids)}" if gpu_ids else "CPU"
        if stage.get("num_gpus") and not gpu_ids:
            runs_on += " (the cluster has no GPU)"
        rows.append(StageRow(name, replicas, f"{stage.get('num_cpus', 1):g}", gpus, runs_on))
    return rows


_FLAT_ARRAY = re.compile(r"\[\s+([^\[\]{}]*?)\s+\]")


def pretty(value: Any) -> str:
    """Indented JSON with arrays of plain values on one line, so long vectors stay readable."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _FLAT_ARRAY.sub(lambda m: "[" + ", ".join(part.strip() for part in m.group(1).split(",\n")) + "]", text)


def when(iso: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def curl_command(url: str, example: Any, needs_token: bool) -> str:
    """The curl command for the example; a token service's reads the token from $CELLSERVE_TOKEN."""
    body = json.dumps(example, separators=(",", ":")).replace("'", "'\\''")
    auth = ' \\\n  -H "Authorization: Bearer $CELLSERVE_TOKEN"' if needs_token else ""
    return f"curl -X POST '{url}' \\\n  -H 'Content-Type: application/json'{auth} \\\n  -d '{body}'"


def render_page(info: PageInfo, origin: str, script_nonce: str) -> str:
    """The service page; every value from the notebook or the request is escaped."""
    e = html.escape
    rows = "".join(
        f"<tr><th>{e(s.name)}</th><td>{e(s.replicas)}</td><td>{e(s.cpus)}</td><td>{e(s.gpus)}</td>"
        f"<td>{e(s.runs_on)}</td></tr>"
        for s in info.stages
    )
    expected = pretty(info.expected) if info.expected is not None else "(not recorded)"
    return _TEMPLATE.substitute(
        nonce=e(script_nonce),
        title=e(info.title),
        name=e(info.name),
        notebook=e(info.notebook),
        description=read_part(info.parts, "description.html"),
        cells=read_part(info.parts, "cells.html") or "<p>No cell was recorded.</p>",
        highlight_css=read_part(info.parts, "highlight.css"),
        version=e(info.version),
        published=e(when(info.published)),
        access="token required" if info.access == "token" else "public",
        endpoint=e(f"{info.base}/predict"),
        example=e(pretty(info.example)),
        expected=e(expected),
        curl=e(curl_command(f"{origin}{info.base}/predict", info.example, info.access == "token")),
        stages=rows,
        docs=e(f"{info.base}/docs"),
        openapi=e(f"{info.base}/openapi.json"),
        healthz=e(f"{info.base}/healthz"),
        traffic=e(f"{info.base}/traffic"),
    )


def render_docs(title: str, base: str, script_nonce: str) -> str:
    """Swagger UI from local files; the page's cookie authorizes its 'Try it out' on a token service."""
    e = html.escape
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)} · API docs</title>
<link rel="icon" href="{e(base)}/docs/assets/favicon.png">
<link rel="stylesheet" href="{e(base)}/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{e(base)}/docs/assets/swagger-ui-bundle.js"></script>
<script nonce="{e(script_nonce)}">
const ui = SwaggerUIBundle({{
  url: {json.dumps(base + "/openapi.json")},
  dom_id: "#swagger-ui",
  deepLinking: true,
}});
</script></body></html>
"""


def docs_asset(name: str) -> tuple[bytes, str] | None:
    """A Swagger UI file from fastapi-offline, or None when unknown or not installed."""
    if name not in DOCS_ASSETS:
        return None
    try:
        import fastapi_offline
    except ImportError:
        return None
    path = Path(fastapi_offline.__file__).parent / "static" / name
    return (path.read_bytes(), DOCS_ASSETS[name]) if path.is_file() else None


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "stage": {"type": "string"},
                "cell": {"type": "integer"},
                "line": {"type": "integer"},
            },
            "required": ["type", "message"],
        }
    },
    "required": ["error"],
}


def _error(description: str, kind: str, message: str) -> dict[str, Any]:
    example = {"error": {"type": kind, "message": message}}
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}, "example": example}},
    }


def add_predict_docs(
    spec: dict[str, Any], *, schema: dict[str, Any] | None, example: Any, expected: Any, notebook: str, access: str
) -> dict[str, Any]:
    """Give POST /predict its request body, examples and error answers in an OpenAPI document."""
    request_schema = schema if schema is not None else {}
    ok: dict[str, Any] = {"description": f"The prediction, as the notebook {notebook} computes it."}
    ok["content"] = {"application/json": {"schema": infer_schema(expected) if expected is not None else {}}}
    if expected is not None:
        ok["content"]["application/json"]["example"] = expected
    responses: dict[str, Any] = {
        "200": ok,
        "400": _error("The body is not JSON.", "invalid_json", "The body is not valid JSON: ..."),
        "413": _error("The body is too large.", "payload_too_large", "The body is over ... bytes."),
        "422": _error("The request does not have the example's shape.", "invalid_request", "field: expected ..."),
        "500": _error("The notebook's code raised an exception.", "ValueError", "the exception's message"),
    }
    operation: dict[str, Any] = {
        "summary": "Predict",
        "description": (
            f"Runs the preprocessing and predict cells of {notebook} on the JSON body. "
            "The example is the notebook's own request; the response example is the notebook's output."
        ),
        "operationId": "predict",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": request_schema, "example": example}},
        },
        "responses": responses,
    }
    components = spec.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    if access == "token":
        responses["401"] = _error("No access token, or a wrong one.", "unauthorized", "This service needs a token.")
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "The service's access token."},
            "cookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "cellserve_token",
                "description": "Set by the service page when a share link opens it.",
            },
        }
        operation["security"] = [{"bearer": []}, {"cookie": []}]
    spec.setdefault("paths", {})["/predict"] = {"post": operation}
    return spec


def unauthorized_page(title: str, message: str) -> str:
    e = html.escape
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)} · access token needed</title>'
        "</head><body><h1>Access token needed</h1>"
        f"<p>{e(message)}</p><p>Ask the service's owner for its share link.</p></body></html>"
    )
