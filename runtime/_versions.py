"""Running versions on a cluster: start one at its pinned route, test it there, switch the live route
to it in one config change (and back, should the switch fail), and stop those beyond the warm ones.

Every change is a read-modify-write of the cluster's whole Serve config, so it is made under a lock
held per cluster: two publishes of different services at once do not undo each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from cellserve.exceptions import CellserveError, DeployError

from . import _routes as routes
from ._clusters import Cluster
from ._home import home
from ._serve import AppConfig, ServeCluster
from ._smoke import smoke_test

SWITCH_TIMEOUT_S = 30.0
_NOT_SERVED = {"README.md"}  # does not change what the service answers


def bundle_digest(bundle: Path) -> str:
    """A hash of what the service runs: an unchanged notebook republished gives the same digest."""
    digest = hashlib.sha256()
    for path in sorted(p for p in bundle.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = path.relative_to(bundle).as_posix()
        if relative not in _NOT_SERVED:
            digest.update(relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@contextmanager
def cluster_lock(cluster: Cluster) -> Iterator[None]:
    """Held while cellserve changes ``cluster``'s Serve config; waits for another holder."""
    folder = home() / "locks"
    folder.mkdir(exist_ok=True)
    name = hashlib.sha256(cluster.dashboard.encode()).hexdigest()[:16]
    with open(folder / f"cluster-{name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def requirements(bundle: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in (bundle / "requirements.txt").read_text().splitlines())
    return [line for line in lines if line]


def start_version(
    serve: ServeCluster,
    service: str,
    number: int,
    bundle: Path,
    *,
    pip: bool,
    timeout: float,
    step: str,
    env: dict[str, str],
    drop: set[str] | None = None,
) -> AppConfig:
    """Upload the bundle and run it as version ``number`` at its pinned route, with ``env`` (its release);
    returns once it runs.

    ``drop`` names applications to stop in the same change (warm versions that make room)."""
    uri = serve.upload(bundle)
    app = routes.version_app(bundle, service, number, uri, env=env, pip=requirements(bundle) if pip else None)
    serve.apply(routes.with_app(routes.without(serve.declared(), drop or set()), app), step=step)
    serve.wait_running(app["name"], step=step, timeout=timeout, bundle=bundle)
    return app


def stop_apps(serve: ServeCluster, names: set[str], *, step: str, wait: bool = False) -> None:
    """Stop the applications ``names``; with ``wait``, return only once Serve has removed them."""
    current = serve.declared()
    if names & {app["name"] for app in current}:
        serve.apply(routes.without(current, names), step=step)
    if wait:
        serve.wait_gone(names)


def answering_version(cluster: Cluster, service: str, token: str | None) -> str | None:
    """The version that answers the live route's health check, from the header every answer carries."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(cluster.endpoint(f"{routes.live_route(service)}/healthz"), headers=headers, timeout=10)
    except httpx.HTTPError:
        return None
    return response.headers.get("x-cellserve-version") if response.status_code == 200 else None


def switch(
    serve: ServeCluster, cluster: Cluster, service: str, number: int, bundle: Path, *, token: str | None, step: str
) -> None:
    """Make version ``number`` live: one config change moves ``/service`` to it and pins the others.

    Then the live route must answer from ``number`` with the notebook's output; if the change is refused
    or that check fails, the routes are put back as they were and the error says so.
    """
    before = serve.declared()
    previous = routes.live_version(before, service)
    try:
        serve.apply(routes.switched(before, service, number), step=step)
        _wait_answering(cluster, service, str(number), token)
        smoke_test(cluster.endpoint(routes.live_route(service)), bundle, step=step, token=token)
    except CellserveError as exc:
        raise DeployError(f"{exc} {_restore(serve, cluster, service, before, previous, token)}", step=step) from None


def _wait_answering(cluster: Cluster, service: str, version: str, token: str | None) -> None:
    deadline = time.monotonic() + SWITCH_TIMEOUT_S
    while (found := answering_version(cluster, service, token)) != version:
        if time.monotonic() > deadline:
            raise DeployError(
                f"switch: after {SWITCH_TIMEOUT_S:.0f} s the live route still answers from version {found or 'none'}.",
                step="promote",
            )
        time.sleep(0.1)


def _restore(
    serve: ServeCluster,
    cluster: Cluster,
    service: str,
    before: list[AppConfig],
    previous: int | None,
    token: str | None,
) -> str:
    """Put the routes back as they were; says truthfully what serves now."""
    try:
        serve.apply(before, step="restore")
        if previous is not None:
            _wait_answering(cluster, service, str(previous), token)
    except CellserveError as exc:
        return f"Putting the previous routes back failed too: {exc}"
    if previous is None:
        return f"The route /{service} was taken back; nothing is live."
    return f"The route /{service} was switched back: version {previous} is live and answering."
