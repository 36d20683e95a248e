"""Service settings, read from the notebook metadata key ``cellserve``.

The same pydantic models give the JSON schema the JupyterLab panel renders.
"""

from __future__ import annotations

import keyword
import re
from pathlib import PurePosixPath
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cellserve.bundle import SERVICE_NAME_RULE, is_service_name
from cellserve.exceptions import SettingsError

JsonSchema = dict[str, Any]


class StageSettings(BaseModel):
    """Resources and scaling of one stage (a Ray Serve deployment)."""

    model_config = ConfigDict(extra="forbid")

    num_gpus: float = Field(0, ge=0, description="GPUs per replica; fractions such as 0.5 share a GPU.")
    gpu: Literal["required", "if-available"] = Field(
        "required",
        description=(
            "'required': the stage only runs where the cluster has GPUs. "
            "'if-available': it runs on CPU, with a warning, where the cluster has none."
        ),
    )
    num_cpus: float = Field(
        0.25,
        ge=0,
        description=(
            "CPUs Ray reserves per replica (a scheduling slot, not a limit); the default fits several small "
            "services and their warm versions on a laptop. Raise it for a stage that computes hard."
        ),
    )
    memory: int | None = Field(None, ge=0, description="Memory per replica in bytes (None: no reservation).")
    min_replicas: int = Field(1, ge=0, description="Fewest replicas; autoscaling when it differs from max_replicas.")
    max_replicas: int = Field(1, ge=1, description="Most replicas.")
    target_ongoing_requests: float = Field(2, gt=0, description="Autoscaling target: ongoing requests per replica.")
    max_ongoing_requests: int = Field(8, ge=1, description="Most requests a replica works on at once.")
    max_queued_requests: int = Field(
        64,
        ge=0,
        description=(
            "Most requests a replica keeps waiting for a turn once it works on max_ongoing_requests; above "
            "that the service answers 503 with Retry-After at once rather than let requests pile up."
        ),
    )

    @model_validator(mode="after")
    def _replica_bounds(self) -> StageSettings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is larger than max_replicas ({self.max_replicas})")
        return self

    @property
    def autoscaling(self) -> bool:
        return self.min_replicas != self.max_replicas

    def deployment_options(self) -> dict[str, Any]:
        """Ray Serve deployment options, one for one (GPUs aside: see ``actor_options``)."""
        options: dict[str, Any] = {
            "max_ongoing_requests": self.ray_max_ongoing_requests,
            # Ray Serve's router refuses a burst over its own limit before it hands any request to a replica:
            # let a burst as large as the replica takes through, for the replica to admit or refuse.
            "max_queued_requests": self.ray_max_ongoing_requests,
            "backpressure_config": {"retry_after_s": 1},  # Ray Serve's own 503s say when to come back too
        }
        if self.autoscaling:
            options["autoscaling_config"] = {
                "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.target_ongoing_requests,
            }
        else:
            options["num_replicas"] = self.max_replicas
        return options

    @property
    def ray_max_ongoing_requests(self) -> int:
        """What Ray Serve may hand one replica at once: those at work, those waiting, and as many again that the
        replica refuses (503) at once. Ray Serve's router queues nothing while a replica has room, and a queue
        in the router collapses throughput (it polls busy replicas with a growing back-off)."""
        return self.max_ongoing_requests + 2 * self.max_queued_requests

    def actor_options(self) -> dict[str, Any]:
        """Ray actor options without GPUs, which depend on the GPU policy and the cluster."""
        options: dict[str, Any] = {"num_cpus": self.num_cpus}
        if self.memory is not None:
            options["memory"] = self.memory
        return options

    def without_optional_gpu(self) -> dict[str, Any]:
        """These settings as a cluster without GPUs runs them (an 'if-available' GPU dropped), as a dict."""
        if not self.gpu_decided_at_start:
            return self.model_dump()
        return {**self.model_dump(), "num_gpus": 0, "gpu": "required"}

    @property
    def gpu_decided_at_start(self) -> bool:
        """An 'if-available' GPU is chosen when the app starts, after looking at the cluster."""
        return self.gpu == "if-available" and self.num_gpus > 0


class BatchSettings(BaseModel):
    """Dynamic batching of the predict stage (Ray Serve's ``@serve.batch``)."""

    model_config = ConfigDict(extra="forbid")

    max_size: int = Field(
        ...,
        ge=2,
        le=1024,
        description=(
            "Most requests in one run of the predict cells. With batching on, each value handed from preprocessing "
            "is a list with one item per request, and the predict cells answer a list of the same length. "
            "predict's max_ongoing_requests is raised to at least this."
        ),
    )
    wait_ms: float = Field(
        10,
        ge=0,
        le=10_000,
        description="Longest a request waits for others to fill its batch, in milliseconds.",
    )


class RequestLogSettings(BaseModel):
    """The service keeps its last requests and answers for its owner (`cellserve requests NAME`, the sidebar).
    Requests may hold personal data: it is off unless set."""

    model_config = ConfigDict(extra="forbid")

    max_requests: int = Field(100, ge=1, le=10_000, description="Most requests kept; the oldest goes first.")
    max_body_bytes: int = Field(
        65_536,
        ge=0,
        le=2**20,
        description="Largest request or answer body kept, in bytes; a larger one is logged by its size alone.",
    )


class ReplaySettings(BaseModel):
    """Replay before promote (`cellserve publish --replay N`)."""

    model_config = ConfigDict(extra="forbid")

    max_mismatch: float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Largest share of replayed requests the new version may answer differently from the live one (or fail) "
            "and still go live; above it the publish stops and the live version stays."
        ),
    )


class FileSettings(BaseModel):
    """Which files travel with the service besides its code and captured values."""

    model_config = ConfigDict(extra="forbid")

    include: list[str] = Field(
        default_factory=list,
        description=(
            "Files or folders under the notebook's folder (paths relative to it) to ship besides those the "
            "tagged cells are seen reading: for paths a cell computes only at request time."
        ),
    )
    exclude: list[str] = Field(
        default_factory=list,
        description=(
            "Files or folders (relative to the notebook's folder, or absolute) not to ship although the tagged "
            "cells read them: every node of the cluster must have them at the same path."
        ),
    )
    max_total_mb: float = Field(
        100,
        gt=0,
        le=500,
        description=(
            "Most the shipped files may weigh together, in MiB. They travel in the bundle's package, which Ray "
            "refuses above its 512 MiB message limit; load larger files from a URI in a setup cell."
        ),
    )

    @field_validator("include", "exclude")
    @classmethod
    def _paths(cls, paths: list[str], info: ValidationInfo) -> list[str]:
        for path in paths:
            if not path.strip():
                raise ValueError("an empty path names nothing")
            pure = PurePosixPath(path)
            if ".." in pure.parts or (pure.is_absolute() and info.field_name == "include"):
                raise ValueError(f"{path!r} must be a path inside the notebook's folder, relative to it")
        return paths


class ServiceSettings(BaseModel):
    """Everything a notebook says about the service it becomes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(
        None,
        description="Service name, used in the route /<name>/; default: from the notebook's file name.",
    )
    input_variable: str = Field("payload", description="Variable the parsed JSON request body is bound to.")
    request_schema: Literal["inferred", "off"] | JsonSchema = Field(
        "inferred",
        description=(
            "'inferred': requests must match the example request's keys and JSON types; "
            "'off': no check; or a JSON Schema object to check against."
        ),
    )
    max_request_bytes: int = Field(10 * 2**20, gt=0, description="Largest accepted request body (413 above).")
    request_timeout_s: float | None = Field(
        None,
        gt=0,
        description=(
            "Seconds a request may take (preprocessing and predict together) before it is answered 504; "
            "None: no limit of cellserve's own."
        ),
    )
    execution_timeout: int = Field(600, gt=0, description="Seconds a cell may run during headless capture.")
    access: Literal["public", "token"] = Field(
        "public",
        description=(
            "'public': anyone who can reach the service may call it. 'token': /predict, the page and the docs "
            "need the service's access token (`cellserve token NAME`); the share link carries it once, to the page."
        ),
    )
    warm_versions: int = Field(
        1,
        ge=0,
        le=5,
        description=(
            "Earlier versions kept running beside the live one while the cluster has room, so that rolling back "
            "is a switch of routes; each reserves its replicas' resources."
        ),
    )
    base_image: str | None = Field(
        None, description="Docker base image; default: the official Ray image for this Ray and Python."
    )
    files: FileSettings = Field(default_factory=FileSettings)
    stages: Literal["auto", "one", "separate"] = Field(
        "auto",
        description=(
            "'auto': preprocessing and predict run as one Ray Serve deployment (no hop and no copy between them) "
            "when their settings ask for the same resources, as two otherwise; 'one': always one deployment, with "
            "predict's settings; 'separate': always two (a predict replica that dies while answering then costs no "
            "request on any cluster: the preprocessing stage sends it again; with one deployment, Serve's proxy does "
            "on the embedded cluster and in images)."
        ),
    )
    preprocessing: StageSettings = Field(default_factory=StageSettings)
    predict: StageSettings = Field(default_factory=StageSettings)
    batch: BatchSettings | None = Field(
        None,
        description=(
            "Dynamic batching of the predict stage: {max_size, wait_ms}. None: the predict cells run once per request."
        ),
    )

    request_log: RequestLogSettings | None = Field(
        None,
        description=(
            "Keep the last requests with their answers, status and latency for the service's owner: "
            "{max_requests, max_body_bytes}. Requests may hold personal data. None: nothing is kept."
        ),
    )
    replay: ReplaySettings = Field(default_factory=ReplaySettings)

    def stage(self, role: str) -> StageSettings:
        """A stage's settings as they are deployed: predict's max_ongoing_requests is at least batch.max_size
        (a replica that may work on fewer requests at once never fills a batch)."""
        settings: StageSettings = getattr(self, role)
        if role == "predict" and self.batch is not None and settings.max_ongoing_requests < self.batch.max_size:
            return settings.model_copy(update={"max_ongoing_requests": self.batch.max_size})
        return settings

    def one_deployment(self) -> bool | None:
        """Whether the two stages run as one deployment; None where an 'if-available' GPU decides it when the
        app starts (on a cluster without GPUs that stage asks for the same as the other, with one it does not)."""
        if self.stages != "auto":
            return self.stages == "one"
        pre, predict = self.preprocessing, self.predict
        if pre.model_dump() == predict.model_dump():
            return True
        if pre.gpu_decided_at_start or predict.gpu_decided_at_start:
            return None if pre.without_optional_gpu() == predict.without_optional_gpu() else False
        return False

    def deployed_stages(self) -> tuple[str, ...]:
        """The stages whose settings become deployments: predict's alone when the stages run as one, both
        otherwise (and both where an 'if-available' GPU decides it at start: the larger of the two cases)."""
        return ("predict",) if self.one_deployment() else ("preprocessing", "predict")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        if value is not None and not is_service_name(value):
            raise ValueError(f"use {SERVICE_NAME_RULE}")
        return value

    @field_validator("request_schema")
    @classmethod
    def _check_schema(cls, value: Any) -> Any:
        if isinstance(value, dict):
            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                raise ValueError(f"it is not a valid JSON Schema: {exc.message}") from None
        return value

    @field_validator("input_variable")
    @classmethod
    def _check_identifier(cls, value: str) -> str:
        if not value.isidentifier() or keyword.iskeyword(value):
            raise ValueError("it must be a Python identifier")
        return value


def service_name_from_path(stem: str) -> str:
    """Derive a valid service name from a notebook's file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:63].strip("-")
    return slug or "service"


def parse_settings(raw: object, *, source: str) -> ServiceSettings:
    """Validate notebook metadata ``cellserve``; errors name the setting."""
    if raw is None:
        return ServiceSettings()
    if not isinstance(raw, dict):
        raise SettingsError(f"{source}: notebook metadata 'cellserve' must be an object, got {type(raw).__name__}.")
    try:
        return ServiceSettings.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise SettingsError(f"{source}: invalid cellserve settings:\n" + "\n".join(problems)) from None


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "cellserve"
    if error["type"] == "extra_forbidden":
        return f"  - unknown setting {key!r}: remove it or check its spelling."
    value = error.get("input")
    return f"  - got {value!r} for {key}: {error['msg'].removeprefix('Value error, ')}."
