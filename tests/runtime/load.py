"""A bounded load on loopback: N clients posting the same request until stopped, counting every answer."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

import httpx


@dataclass
class Load:
    """``concurrency`` clients, each sending at most ``max_requests`` requests within ``max_seconds``."""

    url: str
    body: object
    concurrency: int = 8
    max_requests: int = 5_000
    max_seconds: float = 300
    answers: Counter[str] = field(default_factory=Counter)  # by the version that answered
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(timeout=30) as client:
            for _ in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    response = client.post(self.url, json=self.body)
                    outcome = None if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"
                    version = response.headers.get("x-cellserve-version", "?")
                except httpx.HTTPError as exc:
                    outcome, version = repr(exc), "?"
                with self._lock:
                    if outcome is None:
                        self.answers[version] += 1
                    else:
                        self.failures.append(outcome)

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.concurrency)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    @property
    def running(self) -> bool:
        """Whether any client is still sending."""
        return any(thread.is_alive() for thread in self._threads)

    @property
    def total(self) -> int:
        return sum(self.answers.values()) + len(self.failures)

    def wait_for(self, version: str, count: int = 20, timeout: float = 60) -> None:
        """Until ``count`` more answers came from ``version``."""
        target = self.answers[version] + count
        deadline = time.monotonic() + timeout
        while self.answers[version] < target and time.monotonic() < deadline:
            time.sleep(0.05)
