"""Build a service's Docker image from its bundle, with the docker SDK against a real engine."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cellserve.converter import convert, rayservice
from cellserve.exceptions import ImageError

LOG_TAIL = 30


@dataclass(frozen=True)
class ImageResult:
    tag: str
    image_id: str
    size_bytes: int
    base_image: str
    kuberay: str | None = None
    """Where the KubeRay RayService manifest was written, if asked for."""


def _engine() -> Any:
    import docker
    from docker.errors import DockerException

    client = None
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        if client is not None:
            client.close()
        raise ImageError(
            f"No Docker engine answers ({exc}). Start Docker (or set DOCKER_HOST) and try again."
        ) from None
    return client


def build_image(
    notebook: str | Path,
    tag: str,
    *,
    base_image: str | None = None,
    log: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
    kuberay: str | Path | None = None,
) -> ImageResult:
    """Convert ``notebook`` and build its bundle's Dockerfile as image ``tag``, streaming the build log;
    ``kuberay``: also write a KubeRay RayService manifest there, its Ray nodes running the image."""
    from docker.errors import APIError, BuildError

    say = log or (lambda _line: None)
    client = _engine()
    with contextlib.closing(client), tempfile.TemporaryDirectory(prefix="cellserve-image-") as scratch:
        converted = convert(notebook, Path(scratch) / "bundle", base_image=base_image, progress=progress)
        bundle = converted.path
        manifest = rayservice(converted.plan, tag) if kuberay is not None else None
        base = _base_image(bundle)
        if progress:
            progress("build")
        user = _ensure_base(client, base, say)
        tail: list[str] = []
        try:
            chunks = client.api.build(
                path=str(bundle), tag=tag, rm=True, decode=True, network_mode="host", buildargs={"BASE_USER": user}
            )
            for chunk in chunks:
                text = chunk.get("stream") or chunk.get("status") or ""
                for line in text.splitlines():
                    if line.strip():
                        tail = [*tail[-LOG_TAIL + 1 :], line]
                        say(line)
                if "error" in chunk:
                    raise ImageError(_failed(tag, base, str(chunk["error"]), tail))
        except (APIError, BuildError) as exc:
            raise ImageError(_failed(tag, base, str(exc), tail)) from None
        image = client.images.get(tag)
    written = None
    if manifest is not None and kuberay is not None:
        Path(kuberay).write_text(manifest, encoding="utf-8")
        written = str(Path(kuberay).resolve())
    return ImageResult(
        tag=tag, image_id=image.id, size_bytes=int(image.attrs.get("Size", 0)), base_image=base, kuberay=written
    )


def _ensure_base(client: Any, base: str, say: Callable[[str], None]) -> str:
    """The base image must be present, or pullable: say which, before a long build starts. Returns the user it
    runs as (root when it names none), who then owns and runs the service."""
    from docker.errors import APIError, ImageNotFound

    try:
        image = client.images.get(base)
    except ImageNotFound:
        say(f"Pulling the base image {base} …")
        try:
            image = client.images.pull(base)
        except APIError as exc:
            reason = getattr(exc, "explanation", None) or str(exc)
            raise ImageError(
                f"The base image {base!r} is neither present locally nor pullable ({reason}). "
                "Pull or build it first, or pass --base-image."
            ) from None
    user: str = (image.attrs.get("Config") or {}).get("User") or "root"
    return user


def _base_image(bundle: Path) -> str:
    for line in (bundle / "Dockerfile").read_text().splitlines():
        if line.startswith("ARG BASE_IMAGE="):
            return line.split("=", 1)[1]
    return "?"


def _failed(tag: str, base: str, error: str, tail: list[str]) -> str:
    log = "\n".join(f"  | {line}" for line in tail[-15:])
    return f"Building image {tag!r} on {base!r} failed: {error.strip()}\nLast lines of the build log:\n{log}"
