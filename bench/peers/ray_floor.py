"""Ray Serve's own floor on this machine: one deployment that answers a constant JSON without reading the body.

What no Ray Serve app can beat through Ray Serve's proxy here: every request still crosses the proxy and
one replica. ``max_ongoing_requests`` is large so that the replica never makes a request wait.

    serve run --app-dir bench/peers ray_floor:app
"""

from __future__ import annotations

from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse


@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=256)
class Constant:
    async def __call__(self, request: Request) -> JSONResponse:
        return JSONResponse({"digit": 0})


app = Constant.bind()  # type: ignore[attr-defined]
