"""The proxy middleware that sends a prediction request once more when no replica answered it, driven through
the ASGI interface the way Ray Serve's proxy and its HTTP server drive it (the real cluster's case is in
test_embedded.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from cellserve.bundle.resend import ResendUnanswered, middlewares

Message = dict[str, Any]


class Proxy:
    """Stands for Ray Serve's proxy app: reads the whole body, then answers it back, or returns without an
    answer (what the proxy does when the replica holding the request died) for the first ``silent`` tries."""

    def __init__(self, silent: int) -> None:
        self.silent = silent
        self.bodies: list[bytes] = []
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Like Ray Serve's proxy, route on the path, then rewrite it in place to the rest after the route.
        self.paths.append(scope["path"])
        route, _, rest = scope["path"].rpartition("/")
        scope["path"], scope["root_path"] = f"/{rest}", route
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        if len(self.bodies) <= self.silent:
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def call(app: Any, path: str, chunks: list[bytes], method: str = "POST", leave: bool = False) -> list[Message]:
    """The messages a client gets for a request whose body comes in ``chunks``; ``leave``: the client goes
    away once the body is sent."""
    scope = {"type": "http", "method": method, "path": path, "headers": []}
    incoming: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    if leave:
        incoming.append({"type": "http.disconnect"})
    sent: list[Message] = []

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # the HTTP server waits for the client's disconnect
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize("path", ["/digits/predict", "/digits/v/3/predict"])
def test_a_prediction_nobody_answered_is_sent_once_more_with_its_whole_body(path: str) -> None:
    proxy = Proxy(silent=1)
    sent = call(ResendUnanswered(proxy), path, [b'{"x": ', b"[1, 2]}"])
    assert proxy.bodies == [b'{"x": [1, 2]}', b'{"x": [1, 2]}']
    assert proxy.paths == [path, path]  # each try routed on the path the client asked for
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"x": [1, 2]}'


def test_a_prediction_unanswered_twice_gets_a_503_json_with_retry_after() -> None:
    proxy = Proxy(silent=2)
    sent = call(ResendUnanswered(proxy), "/digits/predict", [b"{}"])
    assert len(proxy.bodies) == 2  # never a third time
    start, body = sent
    assert start["status"] == 503
    assert (b"retry-after", b"1") in start["headers"]
    assert (b"content-type", b"application/json") in start["headers"]
    error = json.loads(body["body"])["error"]
    assert error["type"] == "unavailable"
    assert "sent twice" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/digits/predict"), ("POST", "/digits/info"), ("POST", "/other/app/predict"), ("POST", "/Digits/predict")],
)
def test_requests_other_than_a_services_prediction_are_never_sent_again(method: str, path: str) -> None:
    proxy = Proxy(silent=1)
    assert call(ResendUnanswered(proxy), path, [b"{}"], method=method) == []  # the server's own 500 follows
    assert len(proxy.bodies) == 1


def test_a_request_whose_client_left_is_not_sent_again() -> None:
    class Waits(Proxy):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await super().__call__(scope, receive, send)
            while (await receive())["type"] != "http.disconnect":
                pass  # the proxy watches for the client leaving while the replica works

    proxy = Waits(silent=1)
    assert call(ResendUnanswered(proxy), "/digits/predict", [b"{}"], leave=True) == []
    assert len(proxy.bodies) == 1


def test_the_proxy_callback_gives_rays_proxy_this_middleware() -> None:
    (middleware,) = middlewares()
    assert middleware.cls is ResendUnanswered
