"""Publish, roll back and delete services: the steps, the versions, and safety.

A publish deploys the new version under a staging route first, smoke-tests it there,
removes it, and only then updates the live application in place (Ray Serve's rolling
update, which keeps serving throughout). If any step before that fails, the live
application was never touched. The staging copy needs room on the cluster beside the
live version while it is tested.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cellserve.converter import STEP_MESSAGES, CaptureStep, convert, read_notebook
from cellserve.converter._settings import SERVICE_NAME, SERVICE_NAME_RULE
from cellserve.exceptions import CellserveError, DeployError, ServiceNotFoundError, SettingsError

from . import _store as store
from . import _tokens as tokens
from ._clusters import Cluster, connect
from ._preflight import check_resources
from ._serve import ServeCluster
from ._smoke import smoke_test

Progress = Callable[[str, str], None]
STAGES = ("analyse", "capture", "bundle", "preflight", "deploy", "smoke-test", "promote")
_CONVERT_STAGES = {"read": "analyse", "analyse": "analyse", "capture": "capture", "generate": "bundle"}
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def staging_app(name: str) -> tuple[str, str]:
    """Application name and route of a version under test; '_' cannot occur in service names."""
    return f"cellserve_staging_{name}", f"/_cellserve_staging/{name}"


class _Steps:
    """Reports each stage as it starts and times it."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress or (lambda _stage, _message: None)
        self.current = "analyse"
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()

    def start(self, stage: str, message: str) -> None:
        if stage == self.current and stage in self.timings:
            return
        self._finish()
        self.current = stage
        self.timings[stage] = 0.0
        self.progress(stage, message)

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
) -> PublishResult:
    """analyse → capture → bundle → preflight → deploy → smoke-test → promote: a new live version.

    ``capture`` replaces the headless run of the notebook (JupyterLab passes its live kernel's).
    """
    name = _service_name(notebook, name)
    steps = _Steps(progress)
    with store.locked(name):
        record = _load_or_new(name)
        version = store.VersionRecord(version=record.next_version(), notebook=str(Path(notebook).resolve()))
        record.versions.append(version)
        store.save(record)
        staging, staging_route = staging_app(name)
        cluster: Cluster | None = None
        try:
            steps.start("analyse", f"Reading and analysing {Path(notebook).name}")
            bundle = store.bundle_dir(name, version.version)
            converted = convert(
                notebook,
                bundle,
                progress=lambda step: steps.start(_CONVERT_STAGES.get(step, "bundle"), STEP_MESSAGES[step]),
                name=name,
                capture=capture,
            )
            steps.start("preflight", "Connecting to the cluster and checking its resources")
            cluster = connect(address)
            record.address, record.cluster_kind = cluster.dashboard, cluster.kind
            warnings = check_resources(cluster, converted.plan.notebook.settings)
            access = converted.plan.notebook.settings.access
            token = tokens.ensure(name) if access == "token" else None
            tokens.write_release(bundle, version=version.version, published=version.created, token=token)
            serve = ServeCluster(cluster)
            pip = cluster.kind != "embedded" if install_requirements is None else install_requirements
            version.status = "deploying"
            store.save(record)
            steps.start("deploy", f"Deploying version {version.version} under {staging_route} for a test")
            serve.deploy(bundle, staging, staging_route, stage="deploy", timeout=timeout, pip=pip)
            steps.start("smoke-test", "Sending the example request; the answer must be the notebook's output")
            smoke_test(cluster.endpoint(staging_route), bundle, token=token)
            steps.start("promote", f"Making version {version.version} live at /{name}")
            _delete_quietly(serve, staging)  # frees its resources for the live update
            serve.deploy(bundle, name, f"/{name}", stage="promote", timeout=timeout, pip=pip)
            smoke_test(cluster.endpoint(f"/{name}"), bundle, stage="promote", token=token)
        except CellserveError as exc:
            stage = getattr(exc, "stage", None) or steps.current
            version.status, version.failed_stage, version.error = "failed", stage, str(exc)
            version.timings = steps.done()
            store.save(record)
            if cluster is not None and steps.current in ("deploy", "smoke-test", "promote"):
                _delete_quietly(ServeCluster(cluster), staging)
            raise _failed(record, version, stage, exc) from None
        for other in record.versions:
            if other.status == "live":
                other.status = "previous"
        version.status, record.live = "live", version.version
        record.endpoint = cluster.endpoint(f"/{name}")
        version.timings = steps.done()
        store.prune(record)
        store.save(record)
    return PublishResult(
        name=name,
        version=version.version,
        endpoint=f"{record.endpoint}/predict",
        page=tokens.share_link(f"{record.endpoint}/", token),
        cluster=cluster.dashboard,
        access=access,
        timings=version.timings,
        warnings=warnings,
    )


def _service_name(notebook: str | Path, name: str | None) -> str:
    if name is None:
        return read_notebook(notebook).service_name
    if not SERVICE_NAME.match(name):
        raise SettingsError(f"Got {name!r} for --name: use {SERVICE_NAME_RULE}.")
    return name


def _load_or_new(name: str) -> store.ServiceRecord:
    try:
        return store.load(name)
    except ServiceNotFoundError:
        return store.ServiceRecord(name=name, address="")


def _failed(record: store.ServiceRecord, version: store.VersionRecord, stage: str, exc: Exception) -> DeployError:
    still = (
        f"Version {record.live} is still live and unchanged."
        if record.live
        else "Nothing was live before; nothing is live now."
    )
    return DeployError(
        f"Publishing {record.name} version {version.version} failed at {stage}: {exc}\n{still}",
        stage=stage,
        cell=getattr(exc, "cell", None),
    )


def _delete_quietly(serve: ServeCluster, app: str) -> None:
    try:
        with deploy_script_dir() as folder:
            serve.delete(folder, app, stage="clean-up")
    except CellserveError:
        pass


@contextmanager
def deploy_script_dir() -> Iterator[Path]:
    """A folder holding only the deploy script: enough for a delete job."""
    source = resources.files("cellserve.converter.bundle_files") / "cellserve_deploy.py"
    with tempfile.TemporaryDirectory(prefix="cellserve-job-") as folder:
        (Path(folder) / "cellserve_deploy.py").write_bytes(source.read_bytes())
        yield Path(folder)
