"""Ray's token authentication: the token a cluster call carries, and where it was found.

Ray 2.60 turns token authentication on for every local cluster once a token exists
(``~/.ray/auth_token``, written by the first ``ray.init()`` or ``serve run``). A cluster
that wants a token answers 401 without one and 403 with a wrong one. cellserve looks
where Ray's own SDKs look, in the same order, after its own setting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cellserve.exceptions import ClusterError

TOKEN_PATH_SETTING = "CELLSERVE_RAY_TOKEN_PATH"  # noqa: S105 - the variable's name, not a secret


@dataclass(frozen=True)
class RayToken:
    """A token and where it came from (said in errors, never the token itself)."""

    value: str
    source: str

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}


def places() -> list[str]:
    """Where a token is looked for, in order."""
    return [
        f"${TOKEN_PATH_SETTING}",
        "$RAY_AUTH_TOKEN",
        "$RAY_AUTH_TOKEN_PATH",
        str(Path.home() / ".ray" / "auth_token"),
    ]


def _read(path: Path, source: str) -> RayToken | None:
    try:
        value = path.expanduser().read_text().strip()
    except OSError:
        return None
    return RayToken(value, source) if value else None


def find() -> RayToken | None:
    """The first token found in :func:`places`, or None."""
    setting = os.environ.get(TOKEN_PATH_SETTING)
    if setting:
        found = _read(Path(setting), f"{TOKEN_PATH_SETTING} ({setting})")
        if found is None:
            raise ClusterError(f"{TOKEN_PATH_SETTING} is {setting!r}, but no token can be read from that file.")
        return found
    value = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    if value:
        return RayToken(value, "$RAY_AUTH_TOKEN")
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path:
        return _read(Path(path), f"RAY_AUTH_TOKEN_PATH ({path})")
    default = Path.home() / ".ray" / "auth_token"
    return _read(default, str(default))


def token_file(path: Path) -> RayToken:
    """A token kept in ``path`` (mode 0600), made on first use: the embedded cluster's own."""
    found = _read(path, str(path))
    if found is not None:
        return found
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    return RayToken(value, str(path))
