"""Publish: the steps, the versions, and safety.

A new version starts as its own Serve application at ``/<name>/v/<N>`` beside the live one,
is smoke-tested there, and becomes live by one change of routes (:mod:`._versions`): the
replicas that were tested are the ones that serve, and the previous version keeps running,
warm, at its pinned route. Until that switch the live version is never touched; if the
switch itself fails, the routes are put back. An unchanged notebook starts nothing new.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from cellserve.converter import (
    SERVICE_NAME_RULE,
    STEP_MESSAGES,
    Bundle,
    CaptureStep,
    convert,
    inputs_fingerprint,
    is_service_name,
    read_notebook,
)
from cellserve.exceptions import CellserveError, DeployError, ServiceNotFoundError, SettingsError

from . import _routes as routes
from . import _store as store
from . import _tokens as tokens
from . import _versions as versions
from ._canary import set_split
from ._capacity import make_room
from ._clusters import Cluster, connect, is_loopback
from ._preflight import check_resources
from ._replay import ReplaySummary, read_log
from ._replay import check as check_replay
from ._replay import replay as replay_requests
from ._serve import ServeCluster
from ._smoke import smoke_test

Progress = Callable[[str, str], None]
STEPS = ("analyse", "capture", "bundle", "preflight", "deploy", "smoke-test", "replay", "promote")
_CONVERT_STEPS = {  # the converter's own steps, as the publish step each belongs to
    "read": "analyse",
    "analyse": "analyse",
    "capture": "capture",
    "capture-kernel": "capture",
    "generate": "bundle",
}
DEPLOY_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class PublishResult:
    name: str
    version: int
    endpoint: str
    page: str
    cluster: str
    access: str = "public"
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unchanged: bool = False
    replay: dict[str, Any] | None = None  # the replay's summary, when one ran
    canary: float | None = None  # the share of the live route's predictions the new version answers, when set

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Steps:
    """Reports each step as it starts (and each further message of it) and times it."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress or (lambda _step, _message: None)
        self.current = "analyse"
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()

    def start(self, step: str, message: str) -> None:
        if step != self.current or step not in self.timings:
            self._finish()
            self.current = step
            self.timings.setdefault(step, 0.0)
        self.progress(step, message)

    def _finish(self) -> None:
        now = time.perf_counter()
        if self.current in self.timings:
            self.timings[self.current] = round(self.timings[self.current] + now - self._started, 2)
        self._started = now

    def done(self) -> dict[str, float]:
        self._finish()
        return self.timings


def publish(
    notebook: str | Path,
    *,
    name: str | None = None,
    address: str | None = None,
    progress: Progress | None = None,
    timeout: float = DEPLOY_TIMEOUT_S,
    install_requirements: bool | None = None,
    capture: CaptureStep | None = None,
    force: bool = False,
    replay: int = 0,
    canary: float | None = None,
) -> PublishResult:
    """analyse → capture → bundle → preflight → deploy → smoke-test → replay → promote: a new live version.

    ``capture`` replaces the headless run of the notebook (JupyterLab passes its live kernel's). A headless
    publish whose inputs (cells, settings, files read, packages) are those of the live version starts
    nothing and runs nothing, unless ``force``. ``replay``: first send the live version's last ``replay``
    logged requests to the new version, and stop if too many answers differ. ``canary``: instead of going
    live, the new version answers that share (0 to 1) of the live route's predictions.
    """
    name = _service_name(notebook, name)
    steps = Steps(progress)
    with store.locked(name):
        record = _load_or_new(name)
        if capture is None and not force and not replay and canary is None:
            same = _same_inputs(record, Path(notebook), name, address, steps)
            if same is not None:
                return same
        version = store.VersionRecord(version=record.next_version(), notebook=str(Path(notebook).resolve()))
        record.versions.append(version)
        store.save(record)
        bundle = store.bundle_dir(name, version.version)
        serve: ServeCluster | None = None
        starter: str | None = None
        replayed: dict[str, Any] | None = None
        try:
            steps.start("analyse", f"Reading and analysing {Path(notebook).name}")
            converted = convert(
                notebook,
                bundle,
                progress=lambda step: steps.start(_CONVERT_STEPS.get(step, "bundle"), STEP_MESSAGES[step]),
                name=name,
                capture=capture,
            )
            settings = converted.plan.notebook.settings
            steps.start("preflight", "Connecting to the cluster and checking its resources")
            cluster = connect(address, progress=lambda _step, message: steps.start("preflight", message))
            record.address, record.cluster_kind = cluster.dashboard, cluster.kind
            warnings = check_resources(cluster, settings) + _exposure(name, cluster)
            token = tokens.ensure(name) if settings.access == "token" else None
            release = tokens.release_env(name=name, version=version.version, published=version.created, token=token)
            version.digest = versions.bundle_digest(bundle)
            _remember_inputs(version, converted, name)
            serve = ServeCluster(cluster)
            starter = _serve_starter(serve)
            if starter is not None:
                warnings.append(_foreign_serve(starter))
            logged = _logged(record, cluster, name, replay, steps) if replay else None
            pip = cluster.kind != "embedded" if install_requirements is None else install_requirements
            with versions.cluster_lock(cluster):
                if _unchanged(record, version, serve):
                    return _unchanged_result(record, version, cluster, token, steps, warnings)
                drop = make_room(serve, cluster, name, settings)
                version.status = "deploying"
                store.save(record)
                pinned = routes.pinned_route(name, version.version)
                steps.start("deploy", f"Starting version {version.version} at {pinned}, beside the live one")
                versions.start_version(serve, name, version.version, bundle, pip=pip, timeout=timeout,
                                       step="deploy", env=release, drop=drop)  # fmt: skip
                steps.start("smoke-test", "Sending the example request; the answer must be the notebook's output")
                smoke_test(cluster.endpoint(pinned), bundle, token=token)
                if logged is not None and record.live is not None:
                    summary = _replay(logged, cluster, name, (record.live, version.version), token, steps,
                                      settings.replay.max_mismatch)  # fmt: skip
                    replayed = summary.to_json()
                    check_replay(summary, record.live, version.version)
                if canary is not None:
                    steps.start("promote", f"Version {version.version} answers {canary:.0%} of /{name}'s predictions; "
                                f"version {record.live} stays live")  # fmt: skip
                    set_split(serve, cluster, name, version.version, canary, step="promote")
                    version.status = "canary"
                else:
                    steps.start("promote", f"Switching /{name} to version {version.version}")
                    versions.switch(serve, cluster, name, version.version, bundle, token=token, step="promote")
                    previous = record.live
                    _mark_live(record, version.version)
                    warnings += _trim(serve, name, version.version, settings.warm_versions, previous)
        except CellserveError as exc:
            step = getattr(exc, "step", None) or steps.current
            if starter is not None and step in ("deploy", "smoke-test"):
                exc = DeployError(f"{exc}\n{_foreign_serve(starter)}", step=step, cell=getattr(exc, "cell", None))
            version.status, version.failed_step, version.error = "failed", step, str(exc)
            version.timings = steps.done()
            store.save(record)
            if serve is not None and step in ("deploy", "smoke-test", "replay", "promote"):
                _stop_quietly(serve, routes.app_name(name, version.version))
            raise _failed(record, version, step, exc) from None
        record.endpoint = cluster.endpoint(routes.live_route(name))
        version.timings = steps.done()
        store.prune(record)
        store.save(record)
    result = _result(record, version.version, cluster, token, version.timings, warnings)
    return replace(result, replay=replayed, canary=canary)


def _logged(record: store.ServiceRecord, cluster: Cluster, name: str, count: int, steps: Steps) -> list[dict[str, Any]]:
    """The live version's last ``count`` logged requests, read before anything starts: a replay that cannot
    run stops the publish at once."""
    if record.live is None:
        raise DeployError(f"--replay: {name} has no live version whose requests could be replayed.", step="preflight")
    steps.start("preflight", f"Reading the last {count} requests version {record.live} logged")
    try:
        found = read_log(cluster, name, count)
    except CellserveError as exc:
        raise DeployError(f"--replay: {exc}", step="preflight") from None
    if not found.get("enabled"):
        raise DeployError(
            f"--replay: version {record.live} keeps no request log. Set request_log in the notebook's cellserve "
            f"settings (`cellserve settings NB request_log.max_requests=100`) and publish it, so that it logs "
            f"requests to replay.",
            step="preflight",
        )
    entries: list[dict[str, Any]] = found.get("requests") or []
    return entries


def _replay(
    logged: list[dict[str, Any]],
    cluster: Cluster,
    name: str,
    versions_compared: tuple[int, int],
    token: str | None,
    steps: Steps,
    max_mismatch: float,
) -> ReplaySummary:
    live, new = versions_compared
    steps.start("replay", f"Sending the {len(logged)} logged requests to version {new} and version {live}")
    summary = replay_requests(
        logged,
        cluster.endpoint(routes.pinned_route(name, live)),
        cluster.endpoint(routes.pinned_route(name, new)),
        token=token,
        max_mismatch=max_mismatch,
    )
    steps.start("replay", summary.line())
    return summary


def _remember_inputs(version: store.VersionRecord, converted: Bundle, name: str) -> None:
    """Keep what the headless run built from, so that the next publish can tell it changed nothing."""
    if converted.files is None:
        return
    version.inputs = [use.path for use in converted.files if use.is_input and use.is_users]
    packages = _packages(converted.path)
    version.fingerprint = inputs_fingerprint(
        converted.plan.notebook.path, name=name, files=version.inputs, packages=packages
    )


def _packages(bundle: Path) -> list[str]:
    """The distributions a bundle's requirements.txt names."""
    return [Requirement(line).name for line in versions.requirements(bundle)]


def _same_inputs(
    record: store.ServiceRecord, notebook: Path, name: str, address: str | None, steps: Steps
) -> PublishResult | None:
    """The unchanged result, when the live version was built from exactly these inputs and still answers."""
    if record.live is None or not record.version(record.live).fingerprint:
        return None
    live = record.version(record.live)
    steps.start(
        "analyse", f"Comparing {notebook.name}, the files it reads and its packages with version {live.version}"
    )
    bundle = store.bundle_dir(name, live.version)
    packages = _packages(bundle) if bundle.is_dir() else None
    if (
        packages is None
        or inputs_fingerprint(notebook, name=name, files=live.inputs, packages=packages) != live.fingerprint
    ):
        return None
    cluster = connect(address, progress=lambda _step, message: steps.start("preflight", message))
    if cluster.dashboard != record.address:
        return None
    if routes.live_version(ServeCluster(cluster).declared(), name) != live.version:
        return None
    settings = read_notebook(notebook).settings
    token = tokens.ensure(name) if settings.access == "token" else None
    steps.start(
        "promote", f"Nothing changed since version {live.version}: it stays live, nothing ran, nothing new starts"
    )
    return _result(record, live.version, cluster, token, steps.done(), _exposure(name, cluster), unchanged=True)


def _serve_starter(serve: ServeCluster) -> str | None:
    """Who started Serve on the cluster, where a user's program did; the question is advice, never a failure."""
    try:
        return serve.started_by()
    except (CellserveError, ValueError, TypeError, AttributeError):  # an answer of another shape: no advice
        return None


def _foreign_serve(starter: str) -> str:
    return (
        f"Serve on this cluster was started by `{starter}`. Ray builds every application in that program's job, "
        "with its working directory ahead of the application's own files: a file there named like one of the "
        "service's modules (app.py, the package cellserve) is imported in its place. If the service fails or answers "
        "wrongly, stop Serve there (`serve shutdown`: it stops every application, cellserve's too) and publish "
        "again; cellserve then starts Serve itself."
    )


def _exposure(name: str, cluster: Cluster) -> list[str]:
    if is_loopback(cluster.http_host):
        return []
    return [f"{name} listens on {cluster.http_host}: other machines on the network can reach it."]


def _unchanged(record: store.ServiceRecord, version: store.VersionRecord, serve: ServeCluster) -> bool:
    """The live version runs the same bundle and answers at the live route."""
    if record.live is None:
        return False
    live = record.version(record.live)
    same = live.digest == version.digest and routes.live_version(serve.declared(), record.name) == record.live
    if same and version.fingerprint and not live.fingerprint:
        live.fingerprint, live.inputs = version.fingerprint, version.inputs  # these inputs build it too
    return same


def _unchanged_result(
    record: store.ServiceRecord,
    version: store.VersionRecord,
    cluster: Cluster,
    token: str | None,
    steps: Steps,
    warnings: list[str],
) -> PublishResult:
    assert record.live is not None
    steps.start("promote", f"Nothing changed since version {record.live}: it stays live, nothing new starts")
    record.versions.remove(version)
    shutil.rmtree(store.bundle_dir(record.name, version.version), ignore_errors=True)
    store.save(record)
    return _result(record, record.live, cluster, token, steps.done(), warnings, unchanged=True)


def _result(
    record: store.ServiceRecord,
    number: int,
    cluster: Cluster,
    token: str | None,
    timings: dict[str, float],
    warnings: list[str],
    *,
    unchanged: bool = False,
) -> PublishResult:
    endpoint = cluster.endpoint(routes.live_route(record.name))
    return PublishResult(
        name=record.name,
        version=number,
        endpoint=f"{endpoint}/predict",
        page=tokens.share_link(f"{endpoint}/", token),
        cluster=cluster.dashboard,
        access="token" if token else "public",
        timings=timings,
        warnings=warnings,
        unchanged=unchanged,
    )


def _mark_live(record: store.ServiceRecord, number: int) -> None:
    record.previous = record.live
    for other in record.versions:
        if other.status == "live":
            other.status = "previous"
    record.version(number).status, record.live = "live", number


def _trim(serve: ServeCluster, name: str, live: int, keep: int, previous: int | None) -> list[str]:
    """Stop the versions beyond the warm ones; a failure here leaves an extra one running, nothing worse."""
    extra = routes.beyond_warm(serve.declared(), name, live, keep, previous)
    try:
        versions.stop_apps(serve, extra, step="promote")
    except CellserveError as exc:
        return [f"Version {live} is live, but stopping the older versions failed: {exc}"]
    return []


def _service_name(notebook: str | Path, name: str | None) -> str:
    if name is None:
        return read_notebook(notebook).service_name
    if not is_service_name(name):
        raise SettingsError(f"Got {name!r} for --name: use {SERVICE_NAME_RULE}.")
    return name


def _load_or_new(name: str) -> store.ServiceRecord:
    try:
        return store.load(name)
    except ServiceNotFoundError:
        return store.ServiceRecord(name=name, address="")


def _failed(record: store.ServiceRecord, version: store.VersionRecord, step: str, exc: Exception) -> DeployError:
    if step == "promote":
        still = ""  # the switch says itself what serves now
    elif record.live:
        still = f"\nVersion {record.live} is still live and unchanged."
    else:
        still = "\nNothing was live before; nothing is live now."
    return DeployError(
        f"Publishing {record.name} version {version.version} failed at {step}: {exc}{still}",
        step=step,
        cell=getattr(exc, "cell", None),
    )


def _stop_quietly(serve: ServeCluster, app: str) -> None:
    with contextlib.suppress(CellserveError):
        versions.stop_apps(serve, {app}, step="clean-up")
