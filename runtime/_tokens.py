"""Access tokens, and the release each deploy hands a version in its environment.

The token of a service lives only here, in ``services/<name>/token`` (mode 0600).
The service gets its SHA-256 digest in the release (``CELLSERVE_RELEASE``, an environment
variable of the version's Serve application), beside the version number and publication
time the service page shows. So does the owner key (``owner-key``), which only the
service's request log asks for: callers of a service hold its token, not the key, and do
not see each other's requests. The bundle itself is never changed after it is written.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from cellserve.bundle import token_digest

from . import _store as store

RELEASE = "CELLSERVE_RELEASE"
"""The environment variable that holds a deployed version's release (the bundle's support module reads it)."""
OWNER = "owner-key"


def _path(name: str, kind: str = "token") -> Path:
    return store.service_dir(name) / kind


def read(name: str, kind: str = "token") -> str | None:
    path = _path(name, kind)
    return path.read_text().strip() if path.is_file() else None


def save(name: str, token: str, kind: str = "token") -> None:
    path = _path(name, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    os.replace(temporary, path)


def new() -> str:
    return secrets.token_urlsafe(32)


def ensure(name: str) -> str:
    """The service's token, made on first use."""
    token = read(name)
    if token is None:
        token = new()
        save(name, token)
    return token


def owner_key(name: str) -> str:
    """The key that reads the service's request log, made on first use."""
    key = read(name, OWNER)
    if key is None:
        key = new()
        save(name, key, OWNER)
    return key


def access_of(bundle: Path) -> str:
    """'public' or 'token', as the notebook behind ``bundle`` asked."""
    manifest = json.loads((bundle / "cellserve.json").read_text())
    return str(manifest.get("settings", {}).get("access", "public"))


def release_env(*, name: str, version: int, published: str, token: str | None) -> dict[str, str]:
    """What the deployed version says about itself, as its environment; the token and the owner key only as
    digests."""
    release: dict[str, Any] = {"version": version, "published": published}
    release["owner_sha256"] = token_digest(owner_key(name))
    if token is not None:
        release["token_sha256"] = token_digest(token)
    return {RELEASE: json.dumps(release)}


def share_link(page: str, token: str | None) -> str:
    return f"{page}?token={token}" if token else page
