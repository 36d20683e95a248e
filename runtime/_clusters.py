"""Cluster back ends, looked up by name: ``embedded`` (a local Ray head of cellserve's own) and
``address`` (an existing cluster, reached through its dashboard)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlparse

from cellserve.exceptions import ClusterError

from . import _auth as auth
from ._dashboard import Dashboard

DEFAULT_HTTP_PORT = 8000
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class Cluster:
    """A Ray cluster cellserve can deploy to: its dashboard, its token, and where its Serve proxy listens.

    ``http_host`` is the address the proxy binds when cellserve starts Serve there.
    """

    kind: str
    dashboard: str
    http_port: int = DEFAULT_HTTP_PORT
    token: auth.RayToken | None = None
    http_host: str = "127.0.0.1"

    @property
    def host(self) -> str:
        return urlparse(self.dashboard).hostname or "127.0.0.1"

    def endpoint(self, route: str) -> str:
        return f"http://{self.host}:{self.http_port}{route}"

    @cached_property
    def api(self) -> Dashboard:
        return Dashboard(self.dashboard, self.token)


def http_port() -> int:
    """The Serve HTTP port to start Serve with on an existing cluster (CELLSERVE_HTTP_PORT, default 8000)."""
    raw = os.environ.get("CELLSERVE_HTTP_PORT", str(DEFAULT_HTTP_PORT))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ClusterError(f"Got {raw!r} for CELLSERVE_HTTP_PORT: it must be a port number (1-65535).")
    return int(raw)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dashboard_answers(url: str, token: auth.RayToken | None = None, timeout: float = 3) -> bool:
    """Whether a Ray dashboard answers at ``url`` (with ``token``, or the one :func:`auth.find` finds)."""
    api = Dashboard(url, token if token is not None else auth.find(), timeout=timeout)
    try:
        return api.answers()
    finally:
        api.close()


ADDRESS_RULE = "give the Ray dashboard address with its port, e.g. http://HOST:8265"


def normalise_address(address: str) -> str:
    """A dashboard URL from what a user may type: ``host:8265`` or ``http://host:8265``; a ``ClusterError`` says
    what is wrong with anything else."""
    text = address.strip()
    if text.startswith("ray://"):
        raise ClusterError(
            f"Got {address!r} for the cluster address: cellserve talks to the cluster's dashboard "
            "(http://HOST:8265 by default), not the Ray client port."
        )
    url = text if "://" in text else f"http://{text}"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ClusterError(f"Got {address!r} for the cluster address: scheme {parsed.scheme!r} is not supported; "
                           f"{ADDRESS_RULE}.")  # fmt: skip
    try:
        port = parsed.port
    except ValueError:  # not a number, or out of range
        port = None
    if not parsed.hostname or port is None or any(c.isspace() for c in text):
        raise ClusterError(f"Got {address!r} for the cluster address: {ADDRESS_RULE}.")
    return url.rstrip("/")


def cluster_address_error(address: str) -> str | None:
    """What is wrong with ``address`` as a cluster address, or None where it is usable (empty: the embedded
    local cluster). The sidebar asks the server this as the user types."""
    if address == "":  # what publish takes as the embedded cluster; blanks alone are refused, as publish does
        return None
    try:
        normalise_address(address)
    except ClusterError as exc:
        return str(exc)
    return None


def connect_address(address: str | None, _progress: Progress | None = None) -> Cluster:
    """An existing cluster, by its dashboard address; its token is looked for where Ray looks."""
    assert address is not None
    url = normalise_address(address)
    token = auth.find()
    if not dashboard_answers(url, token):
        raise ClusterError(
            f"No Ray dashboard answers at {url}. --address takes the cluster's dashboard address "
            "(port 8265 by default, not the GCS port 6379); check that the cluster is up and reachable."
        )
    host = urlparse(url).hostname or "127.0.0.1"
    bind = os.environ.get("CELLSERVE_HTTP_HOST") or ("127.0.0.1" if is_loopback(host) else "0.0.0.0")
    return Cluster("address", url, http_port(), token, bind)


def connect_embedded(_: str | None = None, progress: Progress | None = None) -> Cluster:
    """cellserve's own local Ray head, started on first use and kept running; its services come back with it."""
    from . import _embedded

    return _embedded.ensure_running(progress)


BACKENDS: dict[str, Callable[[str | None, Progress | None], Cluster]] = {
    "embedded": connect_embedded,
    "address": connect_address,
}


def backend(name: str) -> Callable[[str | None, Progress | None], Cluster]:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ClusterError(f"Unknown cluster back end {name!r}; known: {', '.join(sorted(BACKENDS))}.") from None


def connect(address: str | None = None, progress: Progress | None = None) -> Cluster:
    """``--address``, else RAY_ADDRESS, else the embedded cluster."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address in (None, "", "local", "auto"):
        return backend("embedded")(None, progress)
    return backend("address")(address, progress)
