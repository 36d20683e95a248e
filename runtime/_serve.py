"""A cluster's Ray Serve, through the dashboard's REST API: its declarative config, package uploads,
application status and replica logs. Nothing of cellserve runs on the cluster.

Bundles travel the way Ray's job SDK sends a working_dir: zipped, named by the hash of their
content (``gcs://_ray_pkg_<hash>.zip``) and uploaded only when the cluster lacks them.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

from cellserve.bundle import cell_of
from cellserve.exceptions import ClusterError, DeployError

from ._clusters import Cluster

POLL_S = 0.25
SCHEDULE_TIMEOUT_S = 90.0  # Serve reports replicas unscheduled after 30 s; give an autoscaler some time too
AppConfig = dict[str, Any]


class ServeCluster:
    """Declare, inspect and read the logs of Serve applications on one cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.api = cluster.api

    def details(self) -> dict[str, Any]:
        """Serve's view of the cluster (GET /api/serve/applications/)."""
        found = self.api.json("GET", "/api/serve/applications/")
        return found if isinstance(found, dict) else {}

    def applications(self) -> dict[str, Any]:
        apps: dict[str, Any] = self.details().get("applications") or {}
        return apps

    def declared(self, apps: dict[str, Any] | None = None) -> list[AppConfig]:
        """The declarative config of every application deployed through the REST API (of ``apps``, the
        answer of :meth:`applications`, when the caller already holds it)."""
        return [
            dict(app["deployed_app_config"])
            for app in (self.applications() if apps is None else apps).values()
            if app.get("source") != "imperative" and app.get("deployed_app_config")
        ]

    def apply(self, apps: list[AppConfig], *, step: str) -> None:
        """Make ``apps`` the cluster's declarative Serve config, in one request (Serve applies it as a whole)."""
        body = {
            "proxy_location": "EveryNode",
            "http_options": {"host": self.cluster.http_host, "port": self.cluster.http_port},
            "applications": apps,
        }
        response = self.api.request("PUT", "/api/serve/applications/", json=body, timeout=120)
        if response.status_code != 200:
            raise DeployError(
                f"{step}: Ray Serve refused the new config (HTTP {response.status_code}): {response.text[:1500]}",
                step=step,
            )

    def started_by(self) -> str | None:
        """The command line of the program that started Serve here, where a user's program did (``serve run``,
        ``serve.run`` in a notebook); None where the dashboard did (cellserve, ``serve deploy``, KubeRay) or
        Serve is not running.

        Ray builds every application in the job that started Serve, with that program's working directory on
        the path ahead of the application's own files (the dashboard's own job is not listed among the jobs).
        """
        found = self.api.json(
            "GET",
            "/api/v0/actors",
            params={"filter_keys": "class_name", "filter_predicates": "=", "filter_values": "ServeController"},
        )
        rows = (((found or {}).get("data") or {}).get("result") or {}).get("result") or []
        alive = {row.get("job_id") for row in rows if row.get("state") == "ALIVE"}
        jobs = self.api.json("GET", "/api/jobs/")
        for job in jobs if isinstance(jobs, list) else []:
            if job.get("type") == "DRIVER" and job.get("job_id") in alive:
                command = str(job.get("entrypoint") or f"the driver of Ray job {job['job_id']}")
                return command if len(command) <= 200 else command[:199] + "…"
        return None

    def start(self) -> None:
        """Start Serve with the cluster's HTTP host and port, keeping whatever is declared."""
        self.apply(self.declared(), step="cluster")

    def upload(self, bundle: Path) -> str:
        """The bundle's content-addressed package URI, uploaded if the cluster does not hold it yet."""
        from ray._private.runtime_env.packaging import create_package, get_uri_for_directory

        uri = get_uri_for_directory(str(bundle), include_gitignore=False)
        name = uri.removeprefix("gcs://")
        if self.api.request("GET", f"/api/packages/gcs/{name}").status_code == 200:
            return uri
        with tempfile.TemporaryDirectory(prefix="cellserve-package-") as folder:
            package = Path(folder) / name
            create_package(str(bundle), package, include_gitignore=False, logger=None)
            response = self.api.request("PUT", f"/api/packages/gcs/{name}", content=package.read_bytes(), timeout=300)
        if response.status_code != 200:
            raise ClusterError(
                f"The cluster refused the bundle's package (HTTP {response.status_code}): {response.text[:500]}"
            )
        return uri

    def wait_running(self, app: str, *, step: str, timeout: float, bundle: Path | None = None) -> None:
        """Return once ``app`` runs; raise DeployError with Serve's reason if it fails or never fits."""
        deadline = time.monotonic() + timeout
        unscheduled_since: float | None = None
        while True:
            found = self.applications().get(app) or {}
            state = found.get("status")
            if state == "RUNNING":
                return
            message = app_message(found)
            if state == "DEPLOY_FAILED":
                summary = failure_summary(message, bundle)
                cell = re.search(r"raised by notebook cell (\d+)", summary)
                raise DeployError(f"{step} failed:\n{summary}", step=step, cell=int(cell.group(1)) if cell else None)
            waiting = "to be scheduled" in message
            unscheduled_since = (unscheduled_since or time.monotonic()) if waiting else None
            if unscheduled_since is not None and time.monotonic() - unscheduled_since > SCHEDULE_TIMEOUT_S:
                raise DeployError(
                    f"{step}: the cluster has no room for the replicas (waited {SCHEDULE_TIMEOUT_S:.0f} s); "
                    f"free resources or lower the stages' settings. Ray Serve says: {message}",
                    step=step,
                )
            if time.monotonic() > deadline:
                raise DeployError(
                    f"{step}: not running after {timeout:.0f} s" + (f"; Ray Serve says: {message}" if message else "."),
                    step=step,
                )
            time.sleep(POLL_S)

    def wait_gone(self, names: set[str], *, timeout: float = 120) -> None:
        """Return once none of ``names`` is an application any more (Serve deletes them gracefully)."""
        deadline = time.monotonic() + timeout
        while names & set(self.applications()):
            if time.monotonic() > deadline:
                left = ", ".join(sorted(names & set(self.applications())))
                raise ClusterError(f"Ray Serve is still removing {left} after {timeout:.0f} s.")
            time.sleep(POLL_S)

    def log(self, node_id: str, filename: str, tail: int) -> str:
        params: dict[str, str | int] = {"node_id": node_id, "filename": filename.lstrip("/"), "lines": tail}
        response = self.api.request("GET", "/api/v0/logs/file", params=params, timeout=30)
        if response.status_code != 200:
            raise ClusterError(f"Cannot read {filename} (HTTP {response.status_code}): {response.text[:300]}")
        return response.text


def app_message(found: dict[str, Any]) -> str:
    """Serve's messages about an application and its deployments, joined."""
    messages = [found.get("message") or ""]
    messages += [d.get("message") or "" for d in (found.get("deployments") or {}).values()]
    return " ".join(m.strip() for m in messages if m.strip())[-4000:]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ACTOR_PREFIX = re.compile(r"^\(\S+ pid=\d+(?:, ip=\S+)?\)\s?")
_EXCEPTION = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception))(?::\s|$)")
_APP_LINE = re.compile(r'File "[^"]*app\.py", line (\d+)')


def failure_summary(logs: str, bundle: Path | None = None) -> str:
    """The useful part of a failure's text: the exceptions raised, and the notebook cell behind them."""
    lines = [_ACTOR_PREFIX.sub("", _ANSI.sub("", line)).rstrip() for line in logs.splitlines()]
    lines = [line for line in lines if line.strip()]
    exceptions = list(dict.fromkeys(line.strip() for line in lines if _EXCEPTION.match(line)))
    summary = "\n".join(exceptions[-4:]) or "\n".join(lines[-10:]) or "Ray Serve gave no reason"
    app_lines = [int(m.group(1)) for line in lines if (m := _APP_LINE.search(line))]
    if app_lines and bundle is not None and (bundle / "app.py").is_file():
        where = cell_of((bundle / "app.py").read_text(), app_lines[-1])
        if where:
            summary += f"\n(raised by notebook cell {where['cell']}, line {where['line']})"
    return summary
