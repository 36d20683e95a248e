"""Versions as Serve applications, and the routes that make one live.

Version N of service S is the application ``S_vN`` ('_' never occurs in a service name).
The live version's application has the route ``/S``; every other running version of S
(a warm earlier one, a new one under test) has ``/S/v/N``. The live application also
answers ``/S/v/N/…`` for its own N, so a pinned URL keeps working when N goes live.
Making a version live changes only routes, so Serve moves them without touching a replica.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cellserve.bundle import SERVICE_NAME_PATTERN

AppConfig = dict[str, Any]
_APP = re.compile(rf"(?P<service>{SERVICE_NAME_PATTERN})_v(?P<version>\d+)")


def app_name(service: str, version: int) -> str:
    return f"{service}_v{version}"


def parse_app(name: str) -> tuple[str, int] | None:
    """(service, version) of a cellserve application name, or None for any other application."""
    match = _APP.fullmatch(name)
    return (match["service"], int(match["version"])) if match else None


def live_route(service: str) -> str:
    return f"/{service}"


def pinned_route(service: str, version: int) -> str:
    return f"/{service}/v/{version}"


def version_app(
    bundle: Path, service: str, version: int, uri: str, *, env: dict[str, str], pip: list[str] | None = None
) -> AppConfig:
    """The application config of one version, from the bundle's own serve.yaml, at its pinned route; ``env`` is
    the version's release (the bundle holds nothing that changes per release)."""
    config = yaml.safe_load((bundle / "serve.yaml").read_text())
    app: AppConfig = dict(config["applications"][0])
    runtime_env: dict[str, Any] = {"working_dir": uri, "env_vars": env}
    if pip:
        runtime_env["pip"] = pip
    app.update(name=app_name(service, version), route_prefix=pinned_route(service, version), runtime_env=runtime_env)
    return app


def versions_of(apps: list[AppConfig], service: str) -> dict[int, AppConfig]:
    """The running versions of ``service`` among ``apps``, by number."""
    found = {}
    for app in apps:
        parsed = parse_app(app["name"])
        if parsed and parsed[0] == service:
            found[parsed[1]] = app
    return found


def live_version(apps: list[AppConfig], service: str) -> int | None:
    for number, app in versions_of(apps, service).items():
        if app.get("route_prefix") == live_route(service):
            return number
    return None


def with_app(apps: list[AppConfig], app: AppConfig) -> list[AppConfig]:
    """``apps`` with ``app`` added, or replacing the application of the same name."""
    return [other for other in apps if other["name"] != app["name"]] + [app]


def without(apps: list[AppConfig], names: set[str]) -> list[AppConfig]:
    return [app for app in apps if app["name"] not in names]


def switched(apps: list[AppConfig], service: str, live: int) -> list[AppConfig]:
    """``apps`` with version ``live`` of ``service`` at the live route, its other versions pinned, and no
    canary split any more."""
    result = []
    for app in apps:
        parsed = parse_app(app["name"])
        if parsed and parsed[0] == service:
            route = live_route(service) if parsed[1] == live else pinned_route(service, parsed[1])
            app = {**without_canary(app), "route_prefix": route}
        result.append(app)
    return result


INGRESSES = ("service", "preprocessing")  # the fused deployment, or the first of two


def ingress_of(details: dict[str, Any]) -> str:
    """The HTTP ingress deployment of a running application (Serve's details of it)."""
    names = set(details.get("deployments") or {})
    return next((name for name in INGRESSES if name in names), INGRESSES[-1])


def canary_of(app: AppConfig) -> dict[str, Any] | None:
    """The canary an application's config sets on its ingress: {version, share, url}, or None."""
    for deployment in app.get("deployments") or []:
        found = (deployment.get("user_config") or {}).get("canary")
        if found:
            return dict(found)
    return None


def with_canary(app: AppConfig, ingress: str, canary: dict[str, Any] | None) -> AppConfig:
    """``app`` with its ingress sending a share of its predictions to another version (None: none); the
    ingress keeps every other option the config gives it, so Serve changes nothing else."""
    deployments = list(app.get("deployments") or [])
    for index, deployment in enumerate(deployments):
        if deployment.get("name") == ingress:
            user_config = {**(deployment.get("user_config") or {}), "canary": canary}
            deployments[index] = {**deployment, "user_config": user_config}
            break
    else:
        deployments.append({"name": ingress, "user_config": {"canary": canary}})
    return {**app, "deployments": deployments}


def without_canary(app: AppConfig) -> AppConfig:
    """``app`` sending none of its predictions elsewhere (a promote or a rollback ends a split)."""
    if canary_of(app) is None:
        return app
    deployments = [
        {**d, "user_config": {**d["user_config"], "canary": None}} if d.get("user_config") else d
        for d in app.get("deployments") or []
    ]
    return {**app, "deployments": deployments}


def beyond_warm(apps: list[AppConfig], service: str, live: int, keep: int, previous: int | None) -> set[str]:
    """Names of the versions of ``service`` to stop: all but ``live`` and ``keep`` warm ones, the
    ``previous`` live version (the one a rollback goes back to) first, then the newest."""
    others = sorted((n for n in versions_of(apps, service) if n not in (live, previous)), reverse=True)
    if previous is not None and previous in versions_of(apps, service) and previous != live:
        others.insert(0, previous)
    return {app_name(service, n) for n in others[keep:]}
