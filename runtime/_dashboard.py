"""Every call cellserve makes to a Ray cluster goes through its dashboard's REST API, here,
with Ray's token when the cluster wants one; authentication failures say so plainly."""

from __future__ import annotations

from typing import Any

import httpx

from cellserve.exceptions import ClusterError

from ._auth import RayToken, places


class Dashboard:
    """A Ray dashboard at ``url``; ``token`` is sent on every request when given."""

    def __init__(self, url: str, token: RayToken | None, *, timeout: float = 30) -> None:
        self.url = url
        self.token = token
        self._client = httpx.Client(base_url=url, headers=token.header() if token else {}, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClusterError(f"The Ray dashboard at {self.url} did not answer {method} {path}: {exc}") from None
        if response.status_code in (401, 403):
            raise ClusterError(self.auth_problem(response.status_code))
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ClusterError(
                f"The Ray dashboard at {self.url} answered {method} {path} with HTTP {response.status_code}: "
                f"{response.text[:1000]}"
            )
        return response.json() if response.content else None

    def auth_problem(self, status: int) -> str:
        if status == 401 or self.token is None:
            return (
                f"The Ray cluster at {self.url} requires Ray's authentication token and cellserve found none. "
                f"It looked in {', '.join(places())}. Put the cluster's token in one of them "
                "(`ray get-auth-token` on the cluster prints it)."
            )
        return (
            f"The Ray cluster at {self.url} rejected the authentication token from {self.token.source}. "
            "Use the token of that cluster (`ray get-auth-token` on the cluster prints it)."
        )

    def answers(self) -> bool:
        """Whether a Ray dashboard answers at ``url``; a refused token is an error, not a no."""
        try:
            response = self._client.get("/api/version", timeout=3)
        except httpx.HTTPError:
            return False
        if response.status_code in (401, 403):
            raise ClusterError(self.auth_problem(response.status_code))
        try:
            return bool(response.json().get("ray_version"))
        except (ValueError, AttributeError):
            return False

    def close(self) -> None:
        self._client.close()
