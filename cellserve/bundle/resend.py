"""A request to a service sent once more when Ray Serve's proxy got no answer for it.

A replica that dies while it holds requests (killed, out of memory, its node gone) leaves Ray Serve's
proxy with no answer for them: the proxy's ASGI app returns without a response, and the HTTP server
answers a bare ``500 Internal Server Error``. Where a service runs as one deployment, that replica
is the one that reads the request, so nothing of cellserve's is left to try again (with two
deployments the first one resends to another predict replica itself).

This middleware runs inside the proxy, in front of every route: Ray Serve's proxy imports the
function named by ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`` when it starts, and wraps its app
in the middlewares that function returns. The embedded cluster names :func:`middlewares` there. It
acts only on the prediction routes of cellserve's services (``POST /NAME/predict`` and
``POST /NAME/v/N/predict``); the predict cells answer a request, so running them again for it is
safe. Such a request whose first try got no answer at all is sent once more with the same body (to
another replica, or to the one Ray Serve starts instead); when that try gets none either, the client
gets cellserve's own ``503 unavailable`` JSON with ``Retry-After`` instead of a bare 500. A request
whose client went away, or whose answer had begun, is never sent again.

Standard library and Starlette only: it is imported by the proxy's process, not by a replica.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.middleware import Middleware
from starlette.responses import JSONResponse

from .names import SERVICE_NAME_PATTERN

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CALLBACK = "cellserve.bundle.resend.middlewares"
"""What ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`` names so that a cluster's proxy resends."""

PREDICT_PATH = re.compile(rf"/{SERVICE_NAME_PATTERN}(?:/v/\d+)?/predict/?")
"""A service's prediction route, live or pinned to a version."""

UNANSWERED = (
    "No replica of this service answered the request (it was sent twice): a replica stopped while it held it. "
    "Ray Serve starts another; try again shortly."
)

logger = logging.getLogger("ray.serve")


def middlewares() -> list[Middleware]:
    """The proxy callback: what Ray Serve's proxy wraps its app in."""
    return [Middleware(ResendUnanswered)]


def resends(scope: Scope) -> bool:
    """Whether a request is one this middleware may send again: a POST to a service's prediction route."""
    return (
        scope.get("type") == "http"
        and scope.get("method") == "POST"
        and PREDICT_PATH.fullmatch(scope.get("path", "")) is not None
    )


class _Try:
    """One try of a request through the proxy's app: what it read of the body, and whether it answered."""

    def __init__(self, receive: Receive, send: Send, replay: list[Message]) -> None:
        self._receive, self._send = receive, send
        self._replay = list(replay)
        self.read: list[Message] = list(replay)
        self.answered = False
        self.client_left = False

    async def receive(self) -> Message:
        if self._replay:
            return self._replay.pop(0)
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.client_left = True
        else:
            self.read.append(message)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.answered = True
        await self._send(message)


class ResendUnanswered:
    """Pure ASGI middleware: see the module's docstring."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not resends(scope):
            await self.app(scope, receive, send)
            return
        first = _Try(receive, send, [])
        await self.app(_fresh(scope), first.receive, first.send)
        if first.answered or first.client_left:
            return
        logger.warning("No answer for %s %s; sending it once more.", scope["method"], scope["path"])
        second = _Try(receive, send, first.read)
        await self.app(_fresh(scope), second.receive, second.send)
        if second.answered or second.client_left:
            return
        unanswered = {"error": {"type": "unavailable", "message": UNANSWERED}}
        await JSONResponse(unanswered, status_code=503, headers={"Retry-After": "1"})(scope, receive, send)


def _fresh(scope: Scope) -> Scope:
    """A copy of the request's scope for one try: the proxy rewrites ``path`` and ``root_path`` in place to the
    route it picked, and a middleware may add headers."""
    return {**scope, "headers": list(scope.get("headers", []))}
