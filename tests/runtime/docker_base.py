"""Small base images made here, since no image registry can be reached: Debian bookworm (debootstrap) with
Python 3.11, venv and pip, trusting this machine's CA bundle for PyPI; and on it a stand-in for Ray's official
image."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

BASE_TAG = "cellserve-test-base:bookworm.2"  # .2: its / open to every user, as on any image
RAY = version("ray")
RAY_LIKE_TAG = f"cellserve-test-ray-like:{RAY}.2"  # .2: built in one step
RAY_LIKE_DOCKERFILE = f"""FROM {BASE_TAG}
# Ray's official image in what matters to a service's Dockerfile: it runs as the user ray (uid 1000, home
# /home/ray), whose Python lives outside /usr (Ray's is /home/ray/anaconda3) and has Ray installed. One RUN: on
# the vfs storage driver every instruction copies the whole image. Debian's ensurepip refuses a system Python:
# pip runs from Debian's own wheel of it to install itself and Ray (into local/bin, as Debian has it).
RUN useradd --create-home --uid 1000 --shell /bin/bash ray \\
 && mkdir -p /home/ray/anaconda3/bin /home/ray/anaconda3/lib \\
 && cp /usr/bin/python3.11 /home/ray/anaconda3/bin/python3.11 \\
 && cp -a /usr/lib/python3.11 /home/ray/anaconda3/lib/python3.11 \\
 && rm -f /home/ray/anaconda3/lib/python3.11/EXTERNALLY-MANAGED \\
 && ln -s python3.11 /home/ray/anaconda3/bin/python3 \\
 && /home/ray/anaconda3/bin/python3 "$(ls /usr/share/python-wheels/pip-*.whl)/pip" install --no-cache-dir \\
      pip "ray[serve]=={RAY}" \\
 && chown -R ray:ray /home/ray
USER ray
ENV HOME=/home/ray PATH=/home/ray/anaconda3/local/bin:/home/ray/anaconda3/bin:$PATH
"""
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def _present(client: Any, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def ensure_base_image(client: Any) -> str:
    if _present(client, BASE_TAG):
        return BASE_TAG
    with tempfile.TemporaryDirectory(prefix="cellserve-base-") as root:
        packages = "--include=python3,python3-venv,python3-pip,ca-certificates"
        subprocess.run(["debootstrap", "--variant=minbase", packages, "bookworm", root],
                       check=True, capture_output=True, timeout=900)  # fmt: skip
        Path(root).chmod(0o755)  # a temporary folder is private; an image's / is not
        shutil.copyfile(HOST_CA, Path(root) / "etc/ssl/certs/ca-certificates.crt")
        (Path(root) / "etc/pip.conf").write_text(f"[global]\ncert = {HOST_CA}\n")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", BASE_TAG], stdin=tar.stdout, check=True, capture_output=True)
        tar.wait()
    return BASE_TAG


def ensure_ray_like_image(client: Any) -> str:
    """The stand-in for Ray's official image (built once, on the base image)."""
    if _present(client, RAY_LIKE_TAG):
        return RAY_LIKE_TAG
    ensure_base_image(client)
    with tempfile.TemporaryDirectory(prefix="cellserve-ray-like-") as context:
        (Path(context) / "Dockerfile").write_text(RAY_LIKE_DOCKERFILE)
        client.images.build(path=context, tag=RAY_LIKE_TAG, rm=True, network_mode="host")
    return RAY_LIKE_TAG
