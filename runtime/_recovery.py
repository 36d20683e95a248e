"""After the embedded cluster starts again (a reboot, an OOM kill, `cellserve cluster stop`), every
service comes back: the live version of each, from its stored bundle, at its live route."""

from __future__ import annotations

import time
from collections.abc import Callable

from cellserve.exceptions import CellserveError

from . import _routes as routes
from . import _store as store
from . import _tokens as tokens
from ._clusters import Cluster
from ._serve import ServeCluster

RESTORE_TIMEOUT_S = 600.0
Progress = Callable[[str, str], None]


def restorable(kind: str) -> list[store.ServiceRecord]:
    """Services published to a cluster of ``kind`` whose live version's bundle is kept."""
    found = []
    for name in store.names():
        record = store.load(name)
        if record.cluster_kind == kind and record.live is not None and record.version(record.live).bundle_kept:
            found.append(record)
    return found


def restore(cluster: Cluster, progress: Progress | None = None) -> dict[str, str]:
    """Deploy the live version of every service of this cluster in one config change; returns the
    outcome per service ("restored", or why not)."""
    say = progress or (lambda _step, _message: None)
    records = restorable(cluster.kind)
    if not records:
        return {}
    started = time.perf_counter()
    say("cluster", f"Restoring {len(records)} service(s): {', '.join(r.name for r in records)}")
    serve = ServeCluster(cluster)
    apps = serve.declared()
    for record in records:
        assert record.live is not None
        bundle = store.bundle_dir(record.name, record.live)
        live = record.version(record.live)
        token = tokens.read(record.name) if tokens.access_of(bundle) == "token" else None
        env = tokens.release_env(name=record.name, version=live.version, published=live.created, token=token)
        app = routes.version_app(bundle, record.name, record.live, serve.upload(bundle), env=env)
        apps = routes.with_app(apps, {**app, "route_prefix": routes.live_route(record.name)})
    serve.apply(apps, step="restore")
    outcome: dict[str, str] = {}
    for record in records:
        assert record.live is not None
        name = routes.app_name(record.name, record.live)
        try:
            serve.wait_running(
                name, step="restore", timeout=RESTORE_TIMEOUT_S, bundle=store.bundle_dir(record.name, record.live)
            )
        except CellserveError as exc:
            outcome[record.name] = str(exc)
            say("cluster", f"{record.name} version {record.live} did not come back: {exc}")
            continue
        outcome[record.name] = "restored"
        record.endpoint = cluster.endpoint(routes.live_route(record.name))
        store.save(record)
        say("cluster", f"{record.name} version {record.live} is live again at {record.endpoint}")
    say("cluster", f"Restored in {time.perf_counter() - started:.1f} s")
    return outcome
