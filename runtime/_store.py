"""The local record of services and their versions, each version with its bundle.

Layout under CELLSERVE_HOME::

    services/<name>/service.json     the record (ServiceRecord)
    services/<name>/v<k>/            the bundle of version k
    services/<name>/.lock            held while a publish, rollback or delete runs
"""

from __future__ import annotations

import datetime
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field

from cellserve.converter import SERVICE_NAME_RULE, is_service_name
from cellserve.exceptions import DeployError, ServiceNotFoundError, SettingsError

from ._home import home

VersionStatus = Literal["building", "deploying", "canary", "live", "previous", "failed", "rolled-back"]
KEEP_BUNDLES = 10


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class VersionRecord(BaseModel):
    version: int
    status: VersionStatus = "building"
    created: str = Field(default_factory=now)
    notebook: str = ""
    # the publish step it failed at; records written by earlier versions name it failed_stage
    failed_step: str | None = Field(default=None, validation_alias=AliasChoices("failed_step", "failed_stage"))
    error: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    bundle_kept: bool = True
    digest: str = ""
    fingerprint: str = ""  # of the headless run's inputs (converter.inputs_fingerprint); "" for a live kernel's
    inputs: list[str] = Field(default_factory=list)  # the files under the notebook's folder that run read


class ServiceRecord(BaseModel):
    name: str
    address: str
    cluster_kind: str = ""
    endpoint: str = ""
    live: int | None = None
    previous: int | None = None  # the version live before the live one: where a rollback goes back to
    versions: list[VersionRecord] = Field(default_factory=list)

    def version(self, number: int) -> VersionRecord:
        for record in self.versions:
            if record.version == number:
                return record
        known = ", ".join(str(v.version) for v in self.versions) or "none"
        raise ServiceNotFoundError(f"Service {self.name!r} has no version {number}; its versions: {known}.")

    def next_version(self) -> int:
        return max((v.version for v in self.versions), default=0) + 1

    @property
    def last_error(self) -> VersionRecord | None:
        failed = [v for v in self.versions if v.status == "failed"]
        return failed[-1] if failed else None


def services_dir() -> Path:
    path = home() / "services"
    path.mkdir(exist_ok=True)
    return path


def service_dir(name: str) -> Path:
    """The service's folder; a string that is not a whole service name never becomes a path."""
    if not is_service_name(name):
        raise SettingsError(f"{name!r} is not a service name: use {SERVICE_NAME_RULE}.")
    return services_dir() / name


def bundle_dir(name: str, version: int) -> Path:
    return service_dir(name) / f"v{version}"


def load(name: str) -> ServiceRecord:
    path = service_dir(name) / "service.json"
    if not path.is_file():
        known = ", ".join(names()) or "none yet"
        raise ServiceNotFoundError(f"No service named {name!r} has been published here; services: {known}.")
    return ServiceRecord.model_validate_json(path.read_text())


def save(record: ServiceRecord) -> None:
    """Write the record atomically (a crash leaves the old or the new one, never half)."""
    folder = service_dir(record.name)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "service.json.tmp"
    temporary.write_text(record.model_dump_json(indent=2))
    os.replace(temporary, folder / "service.json")


def names() -> list[str]:
    return sorted(p.parent.name for p in services_dir().glob("*/service.json"))


def remove(name: str) -> None:
    shutil.rmtree(service_dir(name), ignore_errors=True)


def prune(record: ServiceRecord, keep: int = KEEP_BUNDLES) -> None:
    """Drop the bundles of all but the newest ``keep`` versions (the live one is always kept)."""
    kept = sorted((v.version for v in record.versions if v.bundle_kept), reverse=True)
    for number in kept[keep:]:
        if number != record.live:
            shutil.rmtree(bundle_dir(record.name, number), ignore_errors=True)
            record.version(number).bundle_kept = False


@contextmanager
def locked(name: str) -> Iterator[None]:
    """Hold the service's lock; a second publish of the same service at once is refused."""
    folder = service_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DeployError(
                f"Service {name!r} is being published, rolled back or deleted right now ({holder}); "
                "wait for it to finish and try again.",
                step="lock",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {now()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
