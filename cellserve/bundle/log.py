"""The request log: the last requests a service answered, with their answers, status and latency.

Off unless the notebook's settings ask for it (``request_log``): requests may hold personal data.
Every replica of every version of a service adds to one small Ray actor named after the service, so
the log outlives a publish (a replay sends the live version's requests to the next one). The actor
reserves no CPU, keeps at most ``max_requests`` entries and bodies up to ``max_body_bytes``, and ends
itself once no version of its service runs any more. Only the owner reads it (``GET /requests``).
"""

import collections
import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import ray

logger = logging.getLogger("ray.serve")
NAMESPACE = "cellserve"
WATCH_S = 30.0


def actor_name(service: str) -> str:
    return f"requests-{service}"


@ray.remote(num_cpus=0, max_restarts=0)
class RequestLog:
    """The entries, newest last; each numbered in the order it came."""

    def __init__(self, service: str, max_requests: int) -> None:
        self.service = service
        self.entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_requests)
        self.count = 0
        threading.Thread(target=self._end_with_service, daemon=True).start()

    def configure(self, max_requests: int) -> None:
        if self.entries.maxlen != max_requests:
            self.entries = collections.deque(self.entries, maxlen=max_requests)

    def add(self, entry: dict[str, Any]) -> None:
        self.count += 1
        self.entries.append({"seq": self.count, **entry})

    def last(self, limit: int) -> dict[str, Any]:
        kept = list(self.entries)[-limit:] if limit > 0 else []
        return {"kept": len(self.entries), "max_requests": self.entries.maxlen, "logged": self.count, "requests": kept}

    def _end_with_service(self) -> None:
        from ray import serve

        prefix = f"{self.service}_v"
        while True:
            time.sleep(WATCH_S)
            with contextlib.suppress(Exception):  # Serve's controller busy or restarting: look again later
                if not any(name.startswith(prefix) for name in serve.status().applications):
                    logger.info("No version of %s runs any more: its request log ends.", self.service)
                    ray.kill(ray.get_runtime_context().current_actor)


def _kept(body: bytes, most: int) -> str | None:
    return body.decode("utf-8", "replace") if len(body) <= most else None


class Logger:
    """What one replica adds to the service's log: each /predict request and its answer, sent without waiting."""

    def __init__(self, service: str, version: str, max_requests: int, max_body_bytes: int) -> None:
        self.version, self.most = version, max_body_bytes
        options = {"name": actor_name(service), "namespace": NAMESPACE, "lifetime": "detached", "get_if_exists": True}
        actor_class: Any = RequestLog  # a Ray actor class (the decorator's type is not visible to mypy)
        self.actor = actor_class.options(**options).remote(service, max_requests)
        self.actor.configure.remote(max_requests)

    def add(self, body: bytes, status: int, answer: bytes, answered_by: str | None, started: float) -> None:
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "version": answered_by or self.version,
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "request": _kept(body, self.most),
            "request_bytes": len(body),
            "response": _kept(answer, self.most),
            "response_bytes": len(answer),
        }
        try:
            self.actor.add.remote(entry)
        except Exception as exc:  # the log is a convenience: a failure to keep an entry never fails a request
            logger.warning("Could not keep a request in the request log: %s: %s", type(exc).__name__, exc)

    async def last(self, limit: int) -> dict[str, Any]:
        found: dict[str, Any] = await self.actor.last.remote(limit)
        return found
