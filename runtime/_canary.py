"""Canary: a share of the live route's predictions answered by another running version.

The split is part of the live version's Serve config (its ingress deployment's ``user_config``), which
Serve changes in place: no replica restarts, and the cluster itself says whether a split is on. A
promote or a rollback ends it (:func:`._routes.switched`).
"""

from __future__ import annotations

import time
from typing import Any

from cellserve.exceptions import DeployError

from . import _routes as routes
from ._clusters import Cluster
from ._serve import ServeCluster

SETTLE_TIMEOUT_S = 60.0
_ANY_ADDRESS = {"", "0.0.0.0", "::"}  # compared with, not bound


def proxy_url(cluster: Cluster, service: str, version: int) -> str:
    """Version ``version``'s /predict at the Serve proxy of whichever node asks (every node runs one)."""
    host = "127.0.0.1" if cluster.http_host in _ANY_ADDRESS else cluster.http_host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{cluster.http_port}{routes.pinned_route(service, version)}/predict"


def current(declared: list[routes.AppConfig], service: str) -> dict[str, Any] | None:
    """The split on ``service``'s live route, from the cluster's declared Serve config: {version, share}, or None."""
    live = routes.live_version(declared, service)
    if live is None:
        return None
    found = routes.canary_of(routes.versions_of(declared, service)[live])
    return {"version": int(found["version"]), "share": float(found["share"])} if found else None


def set_split(
    serve: ServeCluster, cluster: Cluster, service: str, version: int | None, share: float, *, step: str
) -> int:
    """Send ``share`` of the live version's predictions to ``version`` (None: end the split); returns the live
    version. The caller holds the cluster lock."""
    declared = serve.declared()
    live = routes.live_version(declared, service)
    if live is None:
        raise DeployError(f"Service {service!r} has no live version on the cluster: there is no traffic to split.",
                          step=step)  # fmt: skip
    running = routes.versions_of(declared, service)
    if version is not None:
        if version == live:
            raise DeployError(f"Version {version} is the live version: a canary is another running version.",
                              step=step)  # fmt: skip
        if version not in running:
            shown = ", ".join(str(n) for n in sorted(running)) or "none"
            raise DeployError(f"Version {version} of {service} is not running (running: {shown}).", step=step)
        if not 0 < share < 1:
            raise DeployError(f"A canary's share is more than 0 % and less than 100 %; got {share * 100:g} %.",
                              step=step)  # fmt: skip
    app_name = routes.app_name(service, live)
    ingress = routes.ingress_of(serve.applications().get(app_name) or {})
    split = None
    if version is not None:
        split = {"version": version, "share": share, "url": proxy_url(cluster, service, version)}
    serve.apply(routes.with_app(declared, routes.with_canary(running[live], ingress, split)), step=step)
    _wait_settled(serve, app_name, ingress, step=step)
    return live


def _wait_settled(serve: ServeCluster, app: str, ingress: str, *, step: str) -> None:
    """Return once Serve has given the ingress's replicas their new config."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    time.sleep(0.5)  # the controller picks the change up on its next loop
    while True:
        found = serve.applications().get(app) or {}
        deployment = (found.get("deployments") or {}).get(ingress) or {}
        if found.get("status") == "RUNNING" and deployment.get("status") == "HEALTHY":
            return
        if time.monotonic() > deadline:
            raise DeployError(f"Serve did not apply the split within {SETTLE_TIMEOUT_S:.0f} s.", step=step)
        time.sleep(0.25)
