"""Operations on a cluster's Ray Serve: through the Jobs API (code travels as the job's
working_dir) and the dashboard's REST API. Nothing of cellserve runs on the cluster."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ray.job_submission import JobStatus, JobSubmissionClient

from cellserve.converter.bundle_files.cellserve_values import cell_of
from cellserve.exceptions import ClusterError, DeployError

from ._clusters import Cluster

JOB_POLL_S = 1.0
AGENT_WAIT_S = 60.0
SCHEDULE_TIMEOUT_S = 90.0  # Serve reports replicas unscheduled after 30 s; give an autoscaler some time too


class ServeCluster:
    """Deploy, delete and inspect Serve applications on one cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.jobs = JobSubmissionClient(cluster.dashboard)

    def deploy(self, bundle: Path, app: str, route: str, *, stage: str, timeout: float, pip: bool) -> None:
        """Deploy ``bundle`` as application ``app`` at ``route``; returns once it runs."""
        runtime_env: dict[str, Any] = {"working_dir": str(bundle)}
        if pip:
            runtime_env["pip"] = _requirements(bundle / "requirements.txt")
        args = f"deploy {app} {route} {self.cluster.http_port}"
        self._job(f"python cellserve_deploy.py {args}", runtime_env, stage=stage, timeout=timeout, app=app)

    def delete(self, bundle: Path, app: str, *, stage: str, timeout: float = 120) -> None:
        self._job(
            f"python cellserve_deploy.py delete {app}", {"working_dir": str(bundle)}, stage=stage, timeout=timeout
        )

    def _job(self, entrypoint: str, runtime_env: dict[str, Any], *, stage: str, timeout: float, app: str = "") -> str:
        bundle = Path(runtime_env["working_dir"])
        job = self._submit(entrypoint, runtime_env, stage)
        deadline = time.monotonic() + timeout
        unscheduled_since: float | None = None
        while not (state := self.jobs.get_job_status(job)).is_terminal():
            waiting = bool(app) and "to be scheduled" in (message := self.app_message(app))
            unscheduled_since = (unscheduled_since or time.monotonic()) if waiting else None
            if unscheduled_since is not None and time.monotonic() - unscheduled_since > SCHEDULE_TIMEOUT_S:
                self.jobs.stop_job(job)
                raise DeployError(
                    f"{stage}: the cluster has no room for the replicas (waited {SCHEDULE_TIMEOUT_S:.0f} s); "
                    f"free resources or lower the stage settings. Ray Serve says: {message}",
                    stage=stage,
                )
            if time.monotonic() > deadline:
                self.jobs.stop_job(job)
                why = self.app_message(app) if app else ""
                raise DeployError(
                    f"{stage}: not running after {timeout:.0f} s" + (f"; Ray Serve says: {why}" if why else "."),
                    stage=stage,
                )
            time.sleep(JOB_POLL_S)
        logs = self.jobs.get_job_logs(job)
        if state != JobStatus.SUCCEEDED:
            summary = failure_summary(logs, bundle)
            cell = re.search(r"raised by notebook cell (\d+)", summary)
            raise DeployError(f"{stage} failed:\n{summary}", stage=stage, cell=int(cell.group(1)) if cell else None)
        return logs

    def _submit(self, entrypoint: str, runtime_env: dict[str, Any], stage: str) -> str:
        """Submit a job; a cluster that has just started may not take jobs for some seconds yet."""
        deadline = time.monotonic() + AGENT_WAIT_S
        while True:
            try:
                return str(self.jobs.submit_job(entrypoint=entrypoint, runtime_env=runtime_env))
            except Exception as exc:  # the SDK raises RuntimeError for HTTP errors
                if "try again later" not in str(exc) or time.monotonic() > deadline:
                    raise DeployError(f"The cluster refused the {stage} job: {exc}", stage=stage) from None
            time.sleep(JOB_POLL_S)

    def applications(self) -> dict[str, Any]:
        """Serve's view of every application (GET /api/serve/applications/)."""
        try:
            with urllib.request.urlopen(f"{self.cluster.dashboard}/api/serve/applications/", timeout=10) as answer:  # noqa: S310
                data: dict[str, Any] = json.load(answer)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ClusterError(f"Cannot read Serve's status from {self.cluster.dashboard}: {exc}") from None
        apps: dict[str, Any] = data.get("applications") or {}
        return apps

    def app_message(self, app: str) -> str:
        try:
            found = self.applications().get(app) or {}
        except ClusterError:
            return ""
        messages = [found.get("message") or ""]
        messages += [d.get("message") or "" for d in (found.get("deployments") or {}).values()]
        return " ".join(m.strip() for m in messages if m.strip())[-2000:]

    def log(self, node_id: str, filename: str, tail: int) -> str:
        from ray.util.state import get_log

        lines = get_log(address=self.cluster.dashboard, node_id=node_id, filename=filename.lstrip("/"), tail=tail)
        return "".join(lines)


def _requirements(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ACTOR_PREFIX = re.compile(r"^\(\S+ pid=\d+(?:, ip=\S+)?\)\s?")
_EXCEPTION = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception))(?::\s|$)")
_APP_LINE = re.compile(r'File "[^"]*app\.py", line (\d+)')


def failure_summary(logs: str, bundle: Path | None = None) -> str:
    """The useful part of a failed job's log: the exceptions raised, and the notebook cell behind them."""
    lines = [_ACTOR_PREFIX.sub("", _ANSI.sub("", line)).rstrip() for line in logs.splitlines()]
    lines = [line for line in lines if line.strip()]
    exceptions = list(dict.fromkeys(line.strip() for line in lines if _EXCEPTION.match(line)))
    summary = "\n".join(exceptions[-4:]) or "\n".join(lines[-10:]) or "the job printed nothing"
    app_lines = [int(m.group(1)) for line in lines if (m := _APP_LINE.search(line))]
    if app_lines and bundle is not None and (bundle / "app.py").is_file():
        where = cell_of((bundle / "app.py").read_text(), app_lines[-1])
        if where:
            summary += f"\n(raised by notebook cell {where['cell']}, line {where['line']})"
    return summary
