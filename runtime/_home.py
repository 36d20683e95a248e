"""Where cellserve keeps its state: CELLSERVE_HOME, default ~/.cellserve."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def home() -> Path:
    """The state folder: services, their versions' bundles, the embedded cluster's record."""
    path = Path(os.environ.get("CELLSERVE_HOME") or Path.home() / ".cellserve").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def ray_temp_dir() -> Path:
    """The embedded cluster's Ray temp dir: short, as Ray's socket paths must stay under 108 bytes."""
    digest = hashlib.sha256(str(home()).encode()).hexdigest()[:10]
    return Path("/tmp") / f"cellserve-ray-{digest}"
