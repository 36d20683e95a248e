"""A small base image made here, since no image registry can be reached: Debian bookworm
(debootstrap) with Python 3.11, venv and pip, trusting this machine's CA bundle for PyPI."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

BASE_TAG = "cellserve-test-base:bookworm"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def ensure_base_image(client: Any) -> str:
    from docker.errors import ImageNotFound

    try:
        client.images.get(BASE_TAG)
        return BASE_TAG
    except ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="cellserve-base-") as root:
        packages = "--include=python3,python3-venv,python3-pip,ca-certificates"
        subprocess.run(["debootstrap", "--variant=minbase", packages, "bookworm", root],
                       check=True, capture_output=True, timeout=900)  # fmt: skip
        shutil.copyfile(HOST_CA, Path(root) / "etc/ssl/certs/ca-certificates.crt")
        (Path(root) / "etc/pip.conf").write_text(f"[global]\ncert = {HOST_CA}\n")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", BASE_TAG], stdin=tar.stdout, check=True, capture_output=True)
        tar.wait()
    return BASE_TAG
