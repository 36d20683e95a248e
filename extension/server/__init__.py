"""cellserve's Jupyter server extension: the REST API the JupyterLab sidebar talks to.

Enabled by ``etc/jupyter/jupyter_server_config.d/cellserve.json`` (installed with the
package); every route lives under ``<base_url>/cellserve/`` and is authenticated and
XSRF-protected like the rest of the Jupyter server.
"""

from __future__ import annotations

from typing import Any

from ._handlers import register


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "cellserve.jupyter"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    register(server_app)
    server_app.log.info("cellserve: REST API at %scellserve/", server_app.base_url)
