"""Input from the browser, validated: notebook paths inside the server's root, service names, addresses."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from cellserve.converter import SERVICE_NAME_RULE, is_service_name
from cellserve.runtime import cluster_address_error


class InvalidInputError(ValueError):
    """A request's field is not acceptable; the message says which and why."""


def notebook_path(root: Path, relative: object) -> Path:
    """The notebook ``relative`` names, which must be an existing .ipynb file under ``root``."""
    if not isinstance(relative, str) or not relative.strip():
        raise InvalidInputError("'path' must be the notebook's path relative to the server's root.")
    posix = PurePosixPath(relative)
    if posix.is_absolute() or ".." in posix.parts:
        raise InvalidInputError(f"'path' {relative!r} must be relative to the server's root, without '..'.")
    resolved = (root / posix).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise InvalidInputError(f"'path' {relative!r} leads outside the server's root.")
    if resolved.suffix != ".ipynb":
        raise InvalidInputError(f"'path' {relative!r} is not a notebook (.ipynb).")
    if not resolved.is_file():
        raise InvalidInputError(f"No notebook at {relative!r}; save it first.")
    return resolved


def service_name(name: str) -> str:
    if not is_service_name(name):
        raise InvalidInputError(f"{name!r} is not a service name: {SERVICE_NAME_RULE}.")
    return name


def cluster_address(address: object) -> str | None:
    """None for the embedded local cluster, else a Ray dashboard address."""
    if address is None or address == "":
        return None
    if not isinstance(address, str) or len(address) > 300:
        raise InvalidInputError("'address' must be a Ray dashboard address such as http://head:8265, or empty.")
    error = cluster_address_error(address)
    if error is not None:
        raise InvalidInputError(error)
    return address
