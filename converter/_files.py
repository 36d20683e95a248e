"""Render the bundle's config files: serve.yaml, requirements.txt, Dockerfile, README.md."""

from __future__ import annotations

import datetime
import platform
from importlib.metadata import version as package_version
from typing import Any

import jinja2
import ray
import yaml
from packaging.requirements import InvalidRequirement, Requirement

from cellserve.bundle import RESEND_CALLBACK

from ._analysis import Plan
from ._capture import Capture
from ._settings import StageSettings
from ._shipping import ShippedFile

HTTP_PORT = 8000
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("cellserve.converter", "templates"),
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - renders a Dockerfile and Markdown, never HTML
)


def _python() -> str:
    return ".".join(platform.python_version_tuple()[:2])


def default_base_image(plan: Plan) -> str:
    """The official Ray image for this Ray and Python; its GPU variant when a stage asks for GPUs."""
    gpu = any(getattr(plan.notebook.settings, s.role.value).num_gpus > 0 for s in plan.stages)
    return f"rayproject/ray:{ray.__version__}-py{_python().replace('.', '')}{'-gpu' if gpu else ''}"


ONE_DEPLOYMENT = "service"
"""The deployment of a service whose two stages run together (app.py names it so too)."""


def serve_config(plan: Plan) -> str:
    """A Serve config file that Ray's own schema (ServeDeploySchema) accepts."""
    name = plan.notebook.service_name
    settings = plan.notebook.settings
    app: dict[str, Any] = {"name": name, "route_prefix": f"/{name}", "import_path": "app:app"}
    header = [
        f"# Ray Serve config of the cellserve service {name!r}, from {plan.notebook.path.name}.",
        "# Run it from this directory: serve run serve.yaml",
    ]
    one = settings.one_deployment()
    if one is None:
        header += [
            "# A stage's GPU is 'if-available': app.py decides when the app starts whether the stages",
            "# run as one deployment, and sets their options, with GPUs only if the cluster has some.",
        ]
    elif one:
        app["deployments"] = [_deployment(ONE_DEPLOYMENT, settings.stage("predict"))]
    else:
        app["deployments"] = [_deployment(s.role.value, settings.stage(s.role.value)) for s in plan.stages]
        header += [
            "# A stage whose GPU is 'if-available' has no ray_actor_options here: app.py sets them",
            "# when the app starts, with GPUs only if the cluster has some.",
        ]
    config = {
        "proxy_location": "EveryNode",
        "http_options": {"host": "127.0.0.1", "port": HTTP_PORT},
        "applications": [app],
    }
    return "\n".join(header) + "\n" + yaml.safe_dump(config, sort_keys=False)


def _deployment(name: str, settings: StageSettings) -> dict[str, Any]:
    deployment: dict[str, Any] = {"name": name, **settings.deployment_options()}
    if not settings.gpu_decided_at_start:
        deployment["ray_actor_options"] = {**settings.actor_options(), "num_gpus": settings.num_gpus}
    return deployment


def requirements(plan: Plan, capture: Capture) -> str:
    """Exact versions from the kernel's environment, then what %pip install lines asked for."""
    lines = [
        f"# What the service of {plan.notebook.path.name} imports, at the versions that ran the notebook.",
        f"# Ray itself is not listed: the cluster provides it (ray[serve]=={ray.__version__}).",
    ]
    pinned = {name.lower() for name in capture.requirements}
    for name, version in sorted(capture.requirements.items(), key=lambda item: item[0].lower()):
        public, _, local = version.partition("+")
        note = f"  # built here as {version}; pick the build for your hardware" if local else ""
        lines.append(f"{name}=={public}{note}")
    for requirement in plan.requirements:
        try:
            bare = Requirement(requirement).name.lower()
        except InvalidRequirement:
            bare = requirement.lower()
        if bare not in pinned:
            lines.append(f"{requirement}  # from %pip install in the notebook")
    if "fastapi-offline" not in pinned:
        lines.append(
            f"fastapi-offline=={package_version('fastapi-offline')}  # the API docs' Swagger UI files, served offline"
        )
    return "\n".join(lines) + "\n"


RAY_IMAGE_USER = "ray"
"""The user Ray's official images run as (uid 1000, home /home/ray)."""


def dockerfile(plan: Plan, base_image: str | None) -> str:
    base = base_image or plan.notebook.settings.base_image or default_base_image(plan)
    return _TEMPLATES.get_template("Dockerfile.j2").render(
        name=plan.notebook.service_name,
        notebook=plan.notebook.path.name,
        base_image=base,
        base_user=RAY_IMAGE_USER if base.startswith("rayproject/ray:") else "root",
        ray=ray.__version__,
        python=_python(),
        port=HTTP_PORT,
        proxy_callback=RESEND_CALLBACK,
    )


def readme(plan: Plan, shipped: tuple[ShippedFile, ...] = ()) -> str:
    settings = plan.notebook.settings
    rows = ["| stage | GPUs | CPUs | replicas |", "| --- | --- | --- | --- |"]
    for stage in plan.stages:
        s: StageSettings = getattr(settings, stage.role.value)
        gpus = f"{s.num_gpus:g} ({s.gpu})" if s.num_gpus else "0"
        replicas = f"{s.min_replicas}-{s.max_replicas} (autoscaling)" if s.autoscaling else str(s.max_replicas)
        rows.append(f"| {stage.role.value} | {gpus} | {s.num_cpus:g} | {replicas} |")
    gpu_note = ""
    if any(getattr(settings, s.role.value).gpu == "if-available" for s in plan.stages):
        gpu_note = "A GPU marked *if-available* is used when the cluster has GPUs; otherwise the stage runs on CPU."
    captured = sorted({name for stage in plan.stages for name in stage.captured})
    return _TEMPLATES.get_template("README.md.j2").render(
        title=plan.notebook.title,
        name=plan.notebook.service_name,
        notebook=plan.notebook.path.name,
        created=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        captured=", ".join(f"`{n}`" for n in captured),
        ray=ray.__version__,
        python=_python(),
        port=HTTP_PORT,
        base_image=settings.base_image or default_base_image(plan),
        resources="\n".join(rows),
        gpu_note=gpu_note,
        files=[(f.path, _size(f.size), ", ".join(str(c) for c in f.cells) or "files.include") for f in shipped],
    )


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    return f"{size / 1024:.1f} KiB" if size < 2**20 else f"{size / 2**20:.1f} MiB"
