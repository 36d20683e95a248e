"""Services after publishing: list, status, traffic, logs, requests, canary, promote, rollback, token, delete,
and the cluster's view."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from cellserve.bundle import traffic_figures
from cellserve.exceptions import CellserveError, ClusterError, DeployError, ServiceNotFoundError

from . import _capacity as capacity
from . import _embedded as embedded
from . import _metrics as metrics
from . import _routes as routes
from . import _store as store
from . import _tokens as tokens
from . import _versions as versions
from ._canary import current as current_split
from ._canary import set_split
from ._clusters import Cluster, connect
from ._replay import read_log
from ._serve import ServeCluster
from ._smoke import smoke_test

Progress = Any


def _cluster_of(record: store.ServiceRecord, *, start: bool, progress: Progress = None) -> Cluster:
    """The cluster a service was published to; the embedded one is started only if ``start``."""
    if not record.address:
        raise ClusterError(f"Service {record.name!r} has not reached a cluster yet: no version got past preflight.")
    if record.cluster_kind == "embedded":
        found = embedded.ensure_running(progress) if start else embedded.current()
        if found is None:
            raise ClusterError("The embedded Ray cluster is not running (`cellserve cluster start` starts it).")
        return found
    return connect(record.address)


def _stages(app: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {
            "status": deployment.get("status"),
            "replicas": [
                {"state": r.get("state"), "node_id": r.get("node_id"), "node_ip": r.get("node_ip")}
                for r in deployment.get("replicas", [])
            ],
        }
        for name, deployment in (app.get("deployments") or {}).items()
    }


def _serve_view(record: store.ServiceRecord) -> dict[str, Any]:
    """The live version's application, and every running version with its route."""
    try:
        serve = ServeCluster(_cluster_of(record, start=False))
        apps = serve.applications()
    except ClusterError as exc:
        return {"status": "UNREACHABLE", "message": str(exc), "stages": {}, "running": {}}
    running = {
        parsed[1]: {"route": app.get("route_prefix"), "status": app.get("status")}
        for name, app in apps.items()
        if (parsed := routes.parse_app(name)) and parsed[0] == record.name and app.get("status") != "DELETING"
    }
    live = apps.get(routes.app_name(record.name, record.live)) if record.live else None
    if live is None:
        return {"status": "NOT_DEPLOYED", "message": "", "stages": {}, "running": running}
    return {
        "status": live.get("status"),
        "message": live.get("message") or "",
        "stages": _stages(live),
        "running": running,
        "canary": current_split(serve.declared(apps), record.name),
    }


def live_endpoint(name: str) -> dict[str, Any]:
    """What a client of the live version needs: its URL, the token (None for a public service), and the
    notebook's example request and answer."""
    record = store.load(name)
    if record.live is None or not record.endpoint:
        raise ServiceNotFoundError(f"Service {name!r} has no live version; publish it first.")
    bundle = store.bundle_dir(name, record.live)
    expected = bundle / "expected_response.json"
    return {
        "name": name,
        "version": record.live,
        "url": f"{record.endpoint}/predict",
        "token": tokens.read(name),
        "example": json.loads((bundle / "example_request.json").read_text()),
        "expected": json.loads(expected.read_text()) if expected.is_file() else None,
    }


def status(name: str) -> dict[str, Any]:
    """Versions, which is live and which run warm (with their routes), replicas per stage, endpoint, last error."""
    record = store.load(name)
    last = record.last_error
    view = _serve_view(record)
    running = view.pop("running")
    split = view.pop("canary", None)
    return {
        "name": name,
        "live": record.live,
        "endpoint": f"{record.endpoint}/predict" if record.endpoint else None,
        "page": f"{record.endpoint}/" if record.endpoint else None,
        "access": tokens.access_of(store.bundle_dir(name, record.live)) if record.live else None,
        "cluster": record.address,
        **view,
        "versions": [
            {**v.model_dump(), "running": v.version in running, "route": (running.get(v.version) or {}).get("route")}
            for v in record.versions
        ],
        "last_error": {"version": last.version, "step": last.failed_step, "error": last.error} if last else None,
        "canary": split,
    }


def traffic(name: str, window_s: float = 10.0) -> dict[str, Any]:
    """Each running version's traffic over the next ``window_s`` seconds, from Ray Serve's own metrics:
    prediction requests per second, error rate (5xx answers), p50/p99 latency in ms, healthy replicas.
    Ray's processes report their metrics every few seconds, so a window shorter than that can miss
    requests; a version with no request in the window says so ("no traffic")."""
    record = store.load(name)
    cluster = _cluster_of(record, start=False)
    serve = ServeCluster(cluster)
    apps = serve.applications()
    running = sorted(parsed[1] for app in apps if (parsed := routes.parse_app(app)) and parsed[0] == name)
    split = current_split(serve.declared(apps), name)
    before = metrics.read(cluster)
    time.sleep(window_s)
    after = metrics.read(cluster)
    versions = {}
    for version in running:
        found = traffic_figures(before, after, routes.app_name(name, version))
        share = split["share"] if split and split["version"] == version else None
        versions[str(version)] = {**found, "live": version == record.live, "canary_share": share}
    return {"name": name, "window_s": window_s, "versions": versions, "canary": split}


def requests(name: str, limit: int = 20) -> dict[str, Any]:
    """The last ``limit`` requests the service logged (newest last), with their answers, status and latency:
    kept only when the live version's notebook sets ``request_log``."""
    record = store.load(name)
    if record.live is None:
        raise ServiceNotFoundError(f"Service {name!r} has no live version; publish it first.")
    found = read_log(_cluster_of(record, start=False), name, limit)
    return {"name": name, "live": record.live, **found}


def canary(name: str, version: int | None, share: float = 0.0) -> dict[str, Any]:
    """Send ``share`` (0 to 1) of the live route's predictions to another running ``version``; None ends the
    split. Serve changes the live version's config in place: no replica restarts."""
    with store.locked(name):
        record = store.load(name)
        cluster = _cluster_of(record, start=False)
        serve = ServeCluster(cluster)
        with versions.cluster_lock(cluster):
            ended = current_split(serve.declared(), name)
            live = set_split(serve, cluster, name, version, share, step="traffic")
        for other in record.versions:
            if other.status == "canary" and other.version != version:
                other.status = "rolled-back"  # it answers none of the live route's requests any more
        if version is not None and record.version(version).status not in ("live", "previous"):
            record.version(version).status = "canary"
        store.save(record)
    split = None if version is None else {"version": version, "share": share}
    return {"name": name, "live": live, "canary": split, "ended": ended if version is None else None}


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
    """The end of each replica's log of the live version, keyed by stage and replica."""
    record = store.load(name)
    serve = ServeCluster(_cluster_of(record, start=False))
    app = serve.applications().get(routes.app_name(name, record.live)) if record.live else None
    if app is None:
        raise ServiceNotFoundError(f"Service {name!r} is not deployed on {record.address}: no replica, no log.")
    found: dict[str, str] = {}
    for stage, deployment in (app.get("deployments") or {}).items():
        for replica in deployment.get("replicas", []):
            key = f"{stage} {replica.get('replica_id')}"
            try:
                found[key] = serve.log(replica["node_id"], replica["log_file_path"], tail)
            except ClusterError as exc:
                found[key] = f"(log not readable: {exc})"
    return found


def rollback(name: str, version: int | None = None, *, timeout: float = 600) -> dict[str, Any]:
    """Make an earlier version live again (default: the one live before the current one).

    A warm version is a switch of routes; one that no longer runs is started again from its stored
    bundle and tested first. Either way the current version keeps serving until the switch, which
    ends a canary split."""
    return _make_live(name, version, step="rollback", timeout=timeout)


def promote(name: str, version: int | None = None, *, timeout: float = 600) -> dict[str, Any]:
    """Make ``version`` live (default: the canary): a switch of routes, which ends the canary split."""
    if version is None:
        with store.locked(name):
            record = store.load(name)
            split = current_split(ServeCluster(_cluster_of(record, start=False)).declared(), name)
        if split is None:
            raise DeployError(f"{name} has no canary to promote: name the version to make live.", step="promote")
        version = int(split["version"])
    return _make_live(name, version, step="promote", timeout=timeout)


def _make_live(name: str, version: int | None, *, step: str, timeout: float) -> dict[str, Any]:
    with store.locked(name):
        record = store.load(name)
        target = record.version(version) if version else _previous(record)
        if not target.bundle_kept:
            raise DeployError(f"Version {target.version}'s bundle is no longer kept; publish again.", step=step)
        if target.status == "failed":
            raise DeployError(
                f"Version {target.version} failed at {target.failed_step} and never served; "
                "make a version live that passed its tests.",
                step=step,
            )
        cluster = _cluster_of(record, start=True)
        serve = ServeCluster(cluster)
        bundle = store.bundle_dir(name, target.version)
        token = tokens.ensure(name) if tokens.access_of(bundle) == "token" else None
        with versions.cluster_lock(cluster):
            warm = target.version in routes.versions_of(serve.declared(), name)
            if not warm:
                env = tokens.release_env(name=name, version=target.version, published=target.created, token=token)
                versions.start_version(serve, name, target.version, bundle, pip=cluster.kind != "embedded",
                                       timeout=timeout, step=step, env=env)  # fmt: skip
                smoke_test(cluster.endpoint(routes.pinned_route(name, target.version)), bundle, step=step, token=token)
            versions.switch(serve, cluster, name, target.version, bundle, token=token, step=step)
        for other in record.versions:
            if other.status == "live":
                other.status = "previous"
            elif other.status == "canary":
                other.status = "rolled-back"
        record.previous = record.live
        target.status, record.live = "live", target.version
        store.save(record)
    return {
        "name": name,
        "live": target.version,
        "warm": warm,
        "endpoint": f"{record.endpoint}/predict",
        "page": tokens.share_link(f"{record.endpoint}/", token),
    }


def token(name: str, *, rotate: bool = False, timeout: float = 600) -> dict[str, Any]:
    """The service's access token and share link; ``rotate`` makes a new one and updates every running version.

    The old token keeps working until Serve's rolling update has replaced every replica; if the
    update fails, the versions are given the old token's digest back and it stays the one in force.
    """
    with store.locked(name):
        record = store.load(name)
        if record.live is None:
            raise DeployError(f"Service {name!r} has no live version; publish it first.", step="token")
        live = record.version(record.live)
        bundle = store.bundle_dir(name, live.version)
        if tokens.access_of(bundle) != "token":
            raise DeployError(
                f"Service {name!r} is public: it takes no token. Set access to 'token' in the notebook's "
                "cellserve settings and publish again.",
                step="token",
            )
        current = tokens.ensure(name)
        if rotate:
            fresh = tokens.new()
            _update_live(_cluster_of(record, start=True), record, bundle, fresh, timeout)
            tokens.save(name, fresh)
            current = fresh
    return {
        "name": name,
        "token": current,
        "rotated": rotate,
        "share_link": tokens.share_link(f"{record.endpoint}/", current),
        "endpoint": f"{record.endpoint}/predict",
    }


def _update_live(cluster: Cluster, record: store.ServiceRecord, bundle: Any, token: str, timeout: float) -> None:
    """Every running version of the service with the new token's digest in its release (a warm one made live
    again by a rollback must not take the old token): Serve replaces their replicas one by one. What else a
    version was deployed with (its requirements, a canary split) stays as it was."""
    assert record.live is not None

    published = {version.version: version.created for version in record.versions}

    def env(number: int) -> dict[str, str]:
        return tokens.release_env(name=record.name, version=number, published=published.get(number, ""), token=token)

    serve = ServeCluster(cluster)
    with versions.cluster_lock(cluster):
        declared = before = serve.declared()
        running = routes.versions_of(declared, record.name)
        updated = [
            {**app, "runtime_env": {**app.get("runtime_env", {}), "env_vars": env(n)}} for n, app in running.items()
        ]
        if record.live not in running:  # not running: start it again from its bundle
            live = routes.version_app(bundle, record.name, record.live, serve.upload(bundle), env=env(record.live))
            updated.append({**live, "route_prefix": routes.live_route(record.name)})
        for app in updated:
            declared = routes.with_app(declared, app)
        serve.apply(declared, step="token")
        try:
            for app in updated:
                serve.wait_running(app["name"], step="token", timeout=timeout, bundle=bundle)
            smoke_test(cluster.endpoint(routes.live_route(record.name)), bundle, step="token", token=token)
        except CellserveError:
            with contextlib.suppress(CellserveError):  # back to the old token's digest, which stays in force
                serve.apply(before, step="token")
            raise


def _previous(record: store.ServiceRecord) -> store.VersionRecord:
    """The version live before the live one; else the newest earlier version that was live."""
    if record.previous is not None and record.previous != record.live:
        found = record.version(record.previous)
        if found.bundle_kept and found.status == "previous":
            return found
    candidates = [v for v in record.versions if v.status == "previous" and v.bundle_kept]
    if record.live is not None:
        candidates = [v for v in candidates if v.version < record.live] or candidates
    if not candidates:
        raise DeployError(f"Service {record.name!r} has no earlier live version to roll back to.", step="rollback")
    return max(candidates, key=lambda v: v.version)


def delete(name: str) -> dict[str, Any]:
    """Stop every version of the service on its cluster, then remove its versions here."""
    with store.locked(name):
        record = store.load(name)
        try:
            cluster = _cluster_of(record, start=False)
        except ClusterError:
            cluster = None  # the embedded cluster is down: nothing serves it any more
        if cluster is not None:
            serve = ServeCluster(cluster)
            with versions.cluster_lock(cluster):
                names = {app["name"] for app in routes.versions_of(serve.declared(), name).values()}
                versions.stop_apps(serve, names, step="delete", wait=True)
    store.remove(name)
    return {"name": name, "deleted": True}


def cluster_status() -> dict[str, Any]:
    """The embedded cluster: running or gone, where, and what each service reserves on it."""
    info = embedded.status()
    cluster = embedded.current() if info.get("running") else None
    if cluster is None:
        waiting = [r.name for r in _restorable()]
        note = "The embedded cluster is not running."
        if waiting:
            note += f" `cellserve cluster start` (or the next publish) brings back: {', '.join(waiting)}."
        return {**info, "running": False, "message": note}
    apps = ServeCluster(cluster).applications()
    return {**info, "resources": capacity.total(cluster), "services": capacity.by_service(apps)}


def _restorable() -> list[store.ServiceRecord]:
    from ._recovery import restorable

    return restorable("embedded")
