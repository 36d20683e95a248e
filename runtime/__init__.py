"""Bundle → live endpoint on a Ray cluster: publish, versions, status, logs, rollback, delete."""

from ._clusters import Cluster, cluster_address_error, connect
from ._embedded import ensure_running as start_embedded_cluster
from ._embedded import status as embedded_cluster_status
from ._embedded import stop as stop_embedded_cluster
from ._image import ImageResult, build_image
from ._manage import (
    canary,
    cluster_status,
    delete,
    list_services,
    live_endpoint,
    logs,
    promote,
    requests,
    rollback,
    status,
    token,
    traffic,
)
from ._publish import STEPS, PublishResult, publish

__all__ = [
    "STEPS",
    "Cluster",
    "ImageResult",
    "PublishResult",
    "build_image",
    "canary",
    "cluster_address_error",
    "cluster_status",
    "connect",
    "delete",
    "embedded_cluster_status",
    "list_services",
    "live_endpoint",
    "logs",
    "promote",
    "publish",
    "requests",
    "rollback",
    "start_embedded_cluster",
    "status",
    "stop_embedded_cluster",
    "token",
    "traffic",
]
