"""A canary: a share of the live route's predictions answered by another running version of the service.

Each version of a service is its own Ray Serve application; the live one has the route ``/<name>``,
the others ``/<name>/v/<N>``. With a canary set (``cellserve traffic NAME --canary N=10%``, through
the live ingress deployment's ``user_config``, which Serve changes in place), the live version sends
that share of its /predict requests to version N's own route through the node's Serve proxy, with
the caller's credentials, and gives back N's answer as it is (its ``X-Cellserve-Version`` says N).
N's answers are N's, errors included; if N cannot be reached at all, the live version answers.
"""

import logging
import random
from dataclasses import dataclass
from typing import Any

import aiohttp
from fastapi.responses import Response

logger = logging.getLogger("ray.serve")
PASSED_ON = ("authorization", "cookie", "content-type")
FORWARDED = "x-cellserve-forwarded"  # what a canary is sent: it answers it and passes it nowhere else
KEPT = ("content-type", "retry-after", "www-authenticate", "x-cellserve-version")


@dataclass(frozen=True)
class Canary:
    version: int
    share: float
    url: str  # version N's /predict at the node's own Serve proxy
    timeout_s: float = 600.0

    @classmethod
    def of(cls, config: dict[str, Any] | None) -> "Canary | None":
        found = (config or {}).get("canary")
        return cls(int(found["version"]), float(found["share"]), str(found["url"])) if found else None

    def picks(self) -> bool:
        return random.random() < self.share  # noqa: S311 - a traffic split, not a secret


class Forwarder:
    """Sends requests to the canary with one connection pool per replica."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None

    async def forward(self, canary: Canary, body: bytes, headers: dict[str, str]) -> Response | None:
        """The canary's answer, or None when it cannot be reached (then the live version answers)."""
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=canary.timeout_s))
        sent = {key: value for key, value in headers.items() if key.lower() in PASSED_ON}
        sent[FORWARDED] = "1"
        try:
            async with self.session.post(canary.url, data=body, headers=sent) as answer:
                content = await answer.read()
                if answer.status == 404:  # the version stopped: its route is gone
                    return None
                kept = {key: value for key, value in answer.headers.items() if key.lower() in KEPT}
                return Response(content, status_code=answer.status, headers=kept)
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("The canary, version %s, did not answer (%s): the live one answers.", canary.version, exc)
            return None
