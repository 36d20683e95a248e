"""What changes per release (version, publication time, the token's digest) is deployment configuration: the
bundle is never changed once written, and a new token reaches every running version of the service."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cellserve.runtime import _store as store
from cellserve.runtime import _tokens as tokens
from cellserve.runtime import delete, publish, rollback, token
from tests.conftest import Cluster
from tests.runtime.conftest import calc_notebook

pytestmark = [pytest.mark.ray, pytest.mark.kernel]
LIVE = "http://127.0.0.1:8000/vault"


def files_of(bundle: Path) -> dict[str, bytes]:
    return {str(path.relative_to(bundle)): path.read_bytes() for path in sorted(bundle.rglob("*")) if path.is_file()}


def ask(url: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/predict", json={"x": [1, 2, 3]}, headers=headers, timeout=30)


def test_a_new_token_reaches_every_running_version_and_no_bundle_changes(
    cluster: Cluster, home: Path, tmp_path: Path
) -> None:
    notebook = tmp_path / "vault.ipynb"
    first = publish(calc_notebook(notebook, 1, settings={"access": "token"}), address=cluster.dashboard)
    second = publish(calc_notebook(notebook, 2, settings={"access": "token"}), address=cluster.dashboard)
    try:
        pinned_first = f"{LIVE}/v/{first.version}"
        bundles = {v: store.bundle_dir("vault", v) for v in (first.version, second.version)}
        written = {v: files_of(bundle) for v, bundle in bundles.items()}
        old = tokens.read("vault")
        assert ask(pinned_first, old).json() == {"total": 6, "factor": 1}  # the first version runs warm

        new = token("vault", rotate=True)["token"]
        assert new != old
        # The live version and the warm one both take the new token, and neither takes the old one any more.
        assert ask(LIVE, new).json() == {"total": 12, "factor": 2}
        assert ask(pinned_first, new).json() == {"total": 6, "factor": 1}
        assert ask(LIVE, old).status_code == 401
        assert ask(pinned_first, old).status_code == 401
        # Each version still says which it is (its release travels with its deployment, not in its bundle).
        info = httpx.get(f"{pinned_first}/info", headers={"Authorization": f"Bearer {new}"}, timeout=30).json()
        assert info["version"] == first.version
        assert {v: files_of(bundle) for v, bundle in bundles.items()} == written

        # Rolled back to the warm first version: the old token opens nothing there either.
        assert rollback("vault")["live"] == first.version
        assert ask(LIVE, new).json() == {"total": 6, "factor": 1}
        assert ask(LIVE, old).status_code == 401
        assert {v: files_of(bundle) for v, bundle in bundles.items()} == written
    finally:
        delete("vault")
