"""The code that runs inside a service: every bundle carries this package as ``cellserve/bundle/``.

The converter copies it into each bundle beside a ``cellserve/__init__.py`` of one docstring, so a
replica imports it by the same name as everyone else (Ray puts the bundle's folder first on the
replicas' path; where the cluster has cellserve installed too, the bundle's copy wins). It imports
nothing else of cellserve: only the standard library, and Ray (Serve and its actors), FastAPI and its
Starlette, cloudpickle, jsonschema, prometheus_client and aiohttp, which every Ray cluster with Serve
has, and fastapi-offline, which the bundle's requirements name.

Its modules:

- ``support``: the deployments ``app.py`` binds (``Preprocessing``, the HTTP ingress, and
  ``Predict``), its routes and errors; ``app.py`` imports ``cellserve.bundle.support``.
- ``values``: JSON conversion and the inferred request schema (standard library only; it also runs
  in the notebook's kernel when values are captured).
- ``request``: a request's body read and checked before any user code runs.
- ``access``: the access token and the owner key.
- ``page`` (with ``page.html``): the service page, the API docs and the OpenAPI document.
- ``traffic``: traffic figures from Ray Serve's own metrics.
- ``log``: the request log actor.
- ``canary``: the canary split.
- ``names``: the rule a service's name follows.
- ``resend``: run by a cluster's Serve proxy, not by a replica: a prediction request that got no
  answer (its replica died) sent once more.

The rest of cellserve uses the names below, which are what it computes exactly as a service does.
"""

from .access import digest as token_digest
from .names import SERVICE_NAME_PATTERN, SERVICE_NAME_RULE, is_service_name
from .resend import CALLBACK as RESEND_CALLBACK
from .traffic import Reading as TrafficReading
from .traffic import add_exposition as add_metrics_exposition
from .traffic import figures as traffic_figures
from .values import batch_items, cell_of, infer_schema, to_jsonable

__all__ = [
    "RESEND_CALLBACK",
    "SERVICE_NAME_PATTERN",
    "SERVICE_NAME_RULE",
    "TrafficReading",
    "add_metrics_exposition",
    "batch_items",
    "cell_of",
    "infer_schema",
    "is_service_name",
    "to_jsonable",
    "token_digest",
    "traffic_figures",
]
