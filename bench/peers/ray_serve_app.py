"""A notebook model served by a hand-written Ray Serve app, written the way Ray's documentation shows.

One deployment whose ``__call__`` reads the JSON body and returns the notebook's answer, with the
CPU reservation and request limit cellserve gives a stage by default (0.25 CPU, 8 requests):

    serve run --working-dir bench/peers --app-dir bench/peers ray_serve_app:app_builder model=wine
    serve.run(ray_serve_app.app_for("digits"))  # from a driver whose runtime_env carries bench/peers

The replicas import this module and ``models``, so bench/peers must reach them (``--working-dir``
or a runtime_env ``working_dir``). The model cache folder is resolved where the app is built and
passed to the replicas, so they load the same files as the other peers even from a copy of
bench/peers; ``app_for`` trains a missing model where it runs, so no replica trains.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import models
from ray import serve
from ray.serve import Application
from starlette.requests import Request


# cellserve's defaults for a stage: 0.25 CPU reserved per replica, at most 8 requests in a replica at once.
@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=8)
class Predictor:
    """One replica holding one of the example models (torch limited to one thread by ``models.load``)."""

    def __init__(self, name: str, cache: str) -> None:
        self.model = models.load(name, Path(cache))

    async def __call__(self, request: Request) -> Any:
        return self.model.predict(await request.json())


def app_for(name: str) -> Application:
    """The Serve app for the example model ``name`` ("digits" or "wine")."""
    return Predictor.bind(name, str(models.prepare(name).parent))  # type: ignore[attr-defined,no-any-return]


def app_builder(args: dict[str, str]) -> Application:
    """Builder for ``serve run ray_serve_app:app_builder model=NAME`` (default: $CELLSERVE_BENCH_MODEL or digits)."""
    return app_for(args.get("model") or os.environ.get("CELLSERVE_BENCH_MODEL", "digits"))
