"""Replay before promote, and the request log it reads.

The live version keeps its last requests when its notebook turns ``request_log`` on. Before a new
version goes live, ``publish --replay N`` sends the last N logged requests to both the new version
and the live one (each at its pinned route, marked as cellserve's checks, which neither logs) and
compares the answers with the smoke test's tolerance: the same, different, or failed (no answer, or
a 5xx the live version did not give). Too many that differ (``replay.max_mismatch``) stop the
publish; the live version is untouched.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from cellserve.exceptions import ClusterError, DeployError

from . import _routes as routes
from . import _tokens as tokens
from ._clusters import Cluster
from ._smoke import CHECK_HEADER, difference

CONCURRENCY = 8
SHOWN = 3  # differences shown side by side


def read_log(cluster: Cluster, service: str, limit: int) -> dict[str, Any]:
    """The live version's request log (the last ``limit`` entries, newest last), read with the owner key."""
    url = cluster.endpoint(f"{routes.live_route(service)}/requests")
    headers = {"Authorization": f"Bearer {tokens.owner_key(service)}"}
    try:
        response = httpx.get(url, params={"limit": limit}, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise ClusterError(f"The live version of {service} did not answer at {url}: {exc}") from None
    if response.status_code == 404:
        raise ClusterError(f"{service} has no live version answering at {url}.")
    if response.status_code != 200:
        message = response.json().get("error", {}).get("message", response.text[:300])
        raise ClusterError(f"The request log of {service} could not be read (HTTP {response.status_code}): {message}")
    found: dict[str, Any] = response.json()
    return found


@dataclass
class ReplaySummary:
    requests: int = 0
    same: int = 0
    different: int = 0
    failed: int = 0
    skipped: int = 0  # logged by size alone (over max_body_bytes): nothing to send
    seconds: float = 0.0
    max_mismatch: float = 0.0
    differences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mismatch(self) -> float:
        return (self.different + self.failed) / self.requests if self.requests else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "mismatch": round(self.mismatch, 4)}

    def line(self) -> str:
        return (
            f"{self.requests} requests replayed in {self.seconds:.1f} s: {self.same} same, {self.different} different, "
            f"{self.failed} failed" + (f", {self.skipped} too large to replay" if self.skipped else "")
        )

    def report(self, live: int, new: int) -> str:
        """The summary and the first differences, the live version's answer beside the new one's."""
        lines = [self.line()]
        for shown in self.differences:
            lines.append(f"  request #{shown['seq']}: {_short(shown['request'])}")
            lines.append(f"    version {live} (live): HTTP {shown['live_status']} {_short(shown['live'])}")
            lines.append(f"    version {new} (new):  HTTP {shown['new_status']} {_short(shown['new'])}")
            lines.append(f"    {shown['why']}")
        return "\n".join(lines)


def _short(text: str | None, most: int = 160) -> str:
    text = "(no answer)" if text is None else " ".join(text.split())
    return text if len(text) <= most else text[: most - 3] + "..."


Answer = tuple[int | None, str | None]  # status (None: no answer) and body or what went wrong


def _send(client: httpx.Client, url: str, body: str) -> Answer:
    try:
        response = client.post(url, content=body.encode("utf-8"))
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return text


def _verdict(live: Answer, new: Answer) -> tuple[str, str]:
    """'same', 'different' or 'failed', and why."""
    (live_status, live_text), (new_status, new_text) = live, new
    if new_status is None or (new_status >= 500 and (live_status or 500) < 500):
        return "failed", f"the new version failed: {_short(new_text, 200)}"
    if live_status != new_status:
        return "different", f"the live version answered HTTP {live_status}, the new one HTTP {new_status}"
    if new_status != 200:
        return "same", ""
    found = difference(_json(new_text), _json(live_text), shown="the live version answered")
    return ("different", found) if found else ("same", "")


def replay(
    entries: list[dict[str, Any]], live_url: str, new_url: str, *, token: str | None, max_mismatch: float
) -> ReplaySummary:
    """Send each logged request to both versions' /predict and compare the answers."""
    summary = ReplaySummary(max_mismatch=max_mismatch)
    sendable = [entry for entry in entries if entry.get("request") is not None]
    summary.skipped = len(entries) - len(sendable)
    headers = {"Content-Type": "application/json", CHECK_HEADER: "replay"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    with httpx.Client(headers=headers, timeout=120) as client, ThreadPoolExecutor(CONCURRENCY) as pool:

        def both(entry: dict[str, Any]) -> tuple[Answer, Answer]:
            body = entry["request"]
            return _send(client, f"{live_url}/predict", body), _send(client, f"{new_url}/predict", body)

        for entry, (live, new) in zip(sendable, pool.map(both, sendable), strict=True):
            summary.requests += 1
            verdict, why = _verdict(live, new)
            setattr(summary, verdict, getattr(summary, verdict) + 1)
            if verdict != "same" and len(summary.differences) < SHOWN:
                shown = {"seq": entry.get("seq"), "request": entry["request"], "why": why}
                shown.update(live_status=live[0], live=live[1], new_status=new[0], new=new[1])
                summary.differences.append(shown)
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def check(summary: ReplaySummary, live: int, new: int, *, step: str = "replay") -> None:
    """Stop the publish when more than ``max_mismatch`` of the replayed requests differ or fail."""
    if summary.mismatch > summary.max_mismatch:
        raise DeployError(
            f"{summary.mismatch:.1%} of the replayed requests were answered differently or failed, more "
            f"than replay.max_mismatch ({summary.max_mismatch:.1%}); version {new} does not go live.\n"
            + summary.report(live, new),
            step=step,
        )
