"""Services after publishing: list, status, logs, rollback, delete."""

from __future__ import annotations

from typing import Any

from cellserve.exceptions import ClusterError, DeployError, ServiceNotFoundError

from . import _store as store
from . import _tokens as tokens
from ._clusters import Cluster, connect, dashboard_answers
from ._publish import deploy_script_dir
from ._serve import ServeCluster
from ._smoke import smoke_test


def _cluster_of(record: store.ServiceRecord, *, start: bool) -> Cluster:
    """The cluster a service was published to; the embedded one is started only if ``start``."""
    if record.cluster_kind == "embedded":
        if start:
            return connect(None)
        if not dashboard_answers(record.address):
            raise ClusterError("The embedded Ray cluster is not running (`cellserve publish` starts it).")
        from . import _embedded

        found = _embedded.read_record() or {}
        return Cluster("embedded", record.address, int(found.get("http_port", 8000)))
    return connect(record.address)


def _serve_view(record: store.ServiceRecord) -> dict[str, Any]:
    try:
        app = ServeCluster(_cluster_of(record, start=False)).applications().get(record.name)
    except ClusterError as exc:
        return {"status": "UNREACHABLE", "message": str(exc), "stages": {}}
    if app is None:
        return {"status": "NOT_DEPLOYED", "message": "", "stages": {}}
    stages = {
        name: {
            "status": deployment.get("status"),
            "replicas": [
                {"state": r.get("state"), "node_id": r.get("node_id"), "node_ip": r.get("node_ip")}
                for r in deployment.get("replicas", [])
            ],
        }
        for name, deployment in (app.get("deployments") or {}).items()
    }
    return {"status": app.get("status"), "message": app.get("message") or "", "stages": stages}


def status(name: str) -> dict[str, Any]:
    """Versions, which is live, replicas per stage and their state, endpoint, last error."""
    record = store.load(name)
    last = record.last_error
    return {
        "name": name,
        "live": record.live,
        "endpoint": f"{record.endpoint}/predict" if record.endpoint else None,
        "page": tokens.share_link(f"{record.endpoint}/", tokens.read(name)) if record.endpoint else None,
        "cluster": record.address,
        **_serve_view(record),
        "versions": [v.model_dump() for v in record.versions],
        "last_error": {"version": last.version, "stage": last.failed_stage, "error": last.error} if last else None,
    }


def list_services() -> list[dict[str, Any]]:
    rows = []
    for name in store.names():
        record = store.load(name)
        rows.append(
            {
                "name": name,
                "live": record.live,
                "versions": len(record.versions),
                "endpoint": f"{record.endpoint}/predict" if record.endpoint else None,
                "status": _serve_view(record)["status"],
            }
        )
    return rows


def logs(name: str, tail: int = 200) -> dict[str, str]:
    """The end of each replica's log, keyed by stage and replica."""
    record = store.load(name)
    serve = ServeCluster(_cluster_of(record, start=False))
    app = serve.applications().get(name)
    if app is None:
        raise ServiceNotFoundError(f"Service {name!r} is not deployed on {record.address}: no replica, no log.")
    found: dict[str, str] = {}
    for stage, deployment in (app.get("deployments") or {}).items():
        for replica in deployment.get("replicas", []):
            key = f"{stage} {replica.get('replica_id')}"
            try:
                found[key] = serve.log(replica["node_id"], replica["log_file_path"], tail)
            except Exception as exc:  # the state API raises several kinds
                found[key] = f"(log not readable: {exc})"
    return found


def rollback(name: str, version: int | None = None, *, timeout: float = 600) -> dict[str, Any]:
    """Make an earlier version live again (default: the one live before the current one)."""
    with store.locked(name):
        record = store.load(name)
        target = record.version(version) if version else _previous(record)
        if not target.bundle_kept:
            raise DeployError(f"Version {target.version}'s bundle is no longer kept; publish again.", stage="rollback")
        if target.status == "failed":
            raise DeployError(
                f"Version {target.version} failed at {target.failed_stage} and never served; "
                "roll back to a version that was live.",
                stage="rollback",
            )
        cluster = _cluster_of(record, start=True)
        token = _redeploy(cluster, record, target, stage="rollback", timeout=timeout)
        for other in record.versions:
            if other.status == "live":
                other.status = "previous"
        target.status, record.live = "live", target.version
        store.save(record)
    return {
        "name": name,
        "live": target.version,
        "endpoint": f"{record.endpoint}/predict",
        "page": tokens.share_link(f"{record.endpoint}/", token),
    }


def _redeploy(
    cluster: Cluster,
    record: store.ServiceRecord,
    target: store.VersionRecord,
    *,
    stage: str,
    timeout: float,
    token: str | None = None,
) -> str | None:
    """Deploy a kept version again as the live app (a rolling update); returns the token it now takes."""
    bundle = store.bundle_dir(record.name, target.version)
    protected = tokens.access_of(bundle) == "token"
    token = (token or tokens.ensure(record.name)) if protected else None
    tokens.write_release(bundle, version=target.version, published=target.created, token=token)
    ServeCluster(cluster).deploy(bundle, record.name, f"/{record.name}", stage=stage, timeout=timeout, pip=False)
    smoke_test(cluster.endpoint(f"/{record.name}"), bundle, stage=stage, token=token)
    return token


def token(name: str, *, rotate: bool = False, timeout: float = 600) -> dict[str, Any]:
    """The service's access token and share link; ``rotate`` makes a new one and redeploys the live version.

    The old token keeps working until the rolling update has replaced every replica; if the
    update fails, the old token stays the one in force.
    """
    with store.locked(name):
        record = store.load(name)
        if record.live is None:
            raise DeployError(f"Service {name!r} has no live version; publish it first.", stage="token")
        live = record.version(record.live)
        bundle = store.bundle_dir(name, live.version)
        if tokens.access_of(bundle) != "token":
            raise DeployError(
                f"Service {name!r} is public: it takes no token. Set access to 'token' in the notebook's "
                "cellserve settings and publish again.",
                stage="token",
            )
        current = tokens.ensure(name)
        if rotate:
            fresh = tokens.new()
            try:
                _redeploy(_cluster_of(record, start=True), record, live, stage="token", timeout=timeout, token=fresh)
            except Exception:
                tokens.write_release(bundle, version=live.version, published=live.created, token=current)
                raise
            tokens.save(name, fresh)
            current = fresh
    return {
        "name": name,
        "token": current,
        "rotated": rotate,
        "share_link": tokens.share_link(f"{record.endpoint}/", current),
        "endpoint": f"{record.endpoint}/predict",
    }


def _previous(record: store.ServiceRecord) -> store.VersionRecord:
    candidates = [v for v in record.versions if v.status == "previous" and v.bundle_kept]
    if record.live is not None:
        candidates = [v for v in candidates if v.version < record.live] or candidates
    if not candidates:
        raise DeployError(f"Service {record.name!r} has no earlier live version to roll back to.", stage="rollback")
    return max(candidates, key=lambda v: v.version)


def delete(name: str) -> dict[str, Any]:
    """Remove the service from its cluster, then its versions here."""
    with store.locked(name):
        record = store.load(name)
        try:
            cluster = _cluster_of(record, start=False)
        except ClusterError:
            cluster = None  # the embedded cluster is down: nothing serves it any more
        if cluster is not None:
            with deploy_script_dir() as folder:
                ServeCluster(cluster).delete(folder, name, stage="delete")
    store.remove(name)
    return {"name": name, "deleted": True}
