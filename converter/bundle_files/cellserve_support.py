"""Ray Serve plumbing for a cellserve service: HTTP routes, stages and errors.

This file is copied into every service bundle; ``app.py`` holds the notebook's
cells and calls :func:`build_app`. Only Ray Serve (with FastAPI) and cloudpickle
are needed to run it: cellserve itself is not.
"""

import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import ray
from cellserve_values import cell_of, check, infer_schema, to_jsonable
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve.handle import DeploymentHandle

logger = logging.getLogger("ray.serve")
HERE = Path(__file__).resolve().parent


def display(*objects: Any, **_: Any) -> None:
    """IPython's display(): in a service, the objects go to the replica's log."""
    for item in objects:
        logger.info("display: %r", item)


@dataclass(frozen=True)
class StageSpec:
    """One stage: the function holding its cells and the resources it asks for."""

    name: str
    function: Callable[..., Any]
    setup: Callable[[], None] | None = None
    num_gpus: float = 0
    gpu: str = "required"
    actor_options: dict[str, Any] = field(default_factory=dict)
    deployment_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    notebook: str
    input_variable: str
    request_schema: str | dict[str, Any] = "inferred"
    max_request_bytes: int = 10 * 2**20

    def example(self) -> Any:
        return json.loads((HERE / "example_request.json").read_text())

    def schema(self) -> dict[str, Any] | None:
        if self.request_schema == "off":
            return None
        if self.request_schema == "inferred":
            inferred: dict[str, Any] = infer_schema(self.example())
            return inferred
        assert isinstance(self.request_schema, dict)
        return dict(self.request_schema)


class Stage:
    """Runs one stage's cells inside a replica."""

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        module = sys.modules[spec.function.__module__]
        captured = HERE / "captured" / f"{spec.name}.pkl"
        if captured.exists():
            module.__dict__.update(cloudpickle.loads(captured.read_bytes()))
        self.gpu_ids = [str(gpu) for gpu in ray.get_gpu_ids()] if ray.is_initialized() else []
        os.environ["CELLSERVE_GPU"] = "1" if self.gpu_ids else "0"
        self.source = Path(module.__file__ or "").resolve()
        if spec.setup is not None:
            spec.setup()

    def placement(self) -> dict[str, Any]:
        """Where this replica runs: the GPUs Ray gave it and what CUDA sees."""
        return {
            "gpu_ids": self.gpu_ids,
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "node": ray.get_runtime_context().get_node_id() if ray.is_initialized() else None,
        }

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """``{"value": ...}``, or ``{"error": ...}`` naming the exception and the cell that raised it."""
        try:
            return {"value": self.spec.function(**inputs)}
        except Exception as exc:  # user code: report it, keep serving
            return {"error": self.describe(exc)}

    def describe(self, exc: BaseException) -> dict[str, Any]:
        error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc), "stage": self.spec.name}
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == self.source]
        if frames and frames[-1].lineno:
            error.update(cell_of(self.source.read_text(), frames[-1].lineno))
        logger.warning("%s raised %s: %s", self.spec.name, error["type"], error["message"])
        return error


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status)


@serve.deployment(name="predict")
class Predict:
    def __init__(self, spec: StageSpec) -> None:
        self.stage = Stage(spec)

    def placement(self) -> dict[str, Any]:
        return self.stage.placement()

    async def __call__(self, handoff: dict[str, Any]) -> dict[str, Any]:
        outcome = await asyncio.to_thread(self.stage.run, handoff)
        if "value" in outcome:
            try:
                outcome["value"] = to_jsonable(outcome["value"])
            except TypeError as exc:
                outcome = {"error": self.stage.describe(exc)}
        return outcome


api = FastAPI()


@serve.deployment(name="preprocessing")
@serve.ingress(api)
class Preprocessing:
    def __init__(self, predict: DeploymentHandle[Any], spec: StageSpec, service: ServiceSpec) -> None:
        self.predict_stage = predict
        self.stage = Stage(spec)
        self.service = service
        self.schema = service.schema()
        api.title = service.title
        api.description = f"Prediction service made by cellserve from {service.notebook}."

    @api.post("/predict")
    async def predict(self, request: Request) -> JSONResponse:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.service.max_request_bytes:
                return _error(413, "payload_too_large", f"The body is over {self.service.max_request_bytes} bytes.")
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, "invalid_json", f"The body is not valid JSON: {exc}.")
        if self.schema is not None:
            problem = check(payload, self.schema)
            if problem:
                field_name, message = problem
                return _error(422, "invalid_request", f"{field_name}: {message}.", field=field_name)
        outcome = await asyncio.to_thread(self.stage.run, {self.service.input_variable: payload})
        if "value" in outcome:
            outcome = await self.predict_stage.remote(outcome["value"])
        if "error" in outcome:
            error = outcome["error"]
            return _error(500, error.pop("type"), error.pop("message"), exception=True, **error)
        return JSONResponse(outcome["value"])

    @api.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        """Healthy when both stages answer; says where each replica that answered runs."""
        predict = await self.predict_stage.placement.remote()
        stages = {"preprocessing": self.stage.placement(), "predict": predict}
        return {"status": "ok", "service": self.service.name, "stages": stages}

    @api.get("/")
    async def index(self) -> dict[str, Any]:
        return {
            "service": self.service.name,
            "title": self.service.title,
            "routes": {
                "POST predict": "JSON request in, prediction out",
                "GET healthz": "health",
                "GET docs": "OpenAPI documentation",
                "GET openapi.json": "OpenAPI schema",
            },
            "example_request": self.service.example(),
        }


def _with_options(deployment: Any, spec: StageSpec) -> Any:
    """Apply the stage's settings; an 'if-available' GPU falls back to CPU on a GPU-less cluster.

    serve.yaml holds the same options: `serve run serve.yaml` and `serve.run(app)` agree.
    """
    options = dict(spec.actor_options)
    if spec.num_gpus:
        available = ray.is_initialized() and ray.cluster_resources().get("GPU", 0) > 0
        where_built = ray.is_initialized() and ray.get_runtime_context().get_actor_id() is None
        if spec.gpu == "if-available" and not available:
            if where_built:  # not again in every replica that imports app.py
                logger.warning("Stage %s asks for a GPU if available; the cluster has none: it runs on CPU.", spec.name)
        else:
            options["num_gpus"] = spec.num_gpus
    return deployment.options(ray_actor_options=options, **spec.deployment_options)


def build_app(service: ServiceSpec, preprocessing: StageSpec, predict: StageSpec) -> Any:
    """The Ray Serve application: the preprocessing stage is the HTTP ingress and calls predict."""
    predict_app = _with_options(Predict, predict).bind(predict)
    return _with_options(Preprocessing, preprocessing).bind(predict_app, preprocessing, service)
