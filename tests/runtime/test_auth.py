"""Ray's token authentication on a cluster given by address: found where Ray looks, refused plainly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cellserve.exceptions import ClusterError
from cellserve.runtime import connect
from cellserve.runtime._auth import find
from tests.conftest import Cluster

pytestmark = [pytest.mark.ray]


def test_the_token_in_the_default_place_is_found(ray_cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    found = find()
    assert found is not None
    assert found.source == str(Path.home() / ".ray" / "auth_token")
    assert connect(ray_cluster.dashboard).token == found


def test_no_token_says_where_it_looked(ray_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ClusterError) as caught:
        connect(ray_cluster.dashboard)
    message = str(caught.value)
    assert "requires Ray's authentication token and cellserve found none" in message
    assert f"{tmp_path}/.ray/auth_token" in message
    assert "$RAY_AUTH_TOKEN" in message


def test_a_wrong_token_is_refused_by_name(
    ray_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token")
    monkeypatch.setenv("CELLSERVE_RAY_TOKEN_PATH", str(wrong))
    with pytest.raises(ClusterError) as caught:
        connect(ray_cluster.dashboard)
    assert f"rejected the authentication token from CELLSERVE_RAY_TOKEN_PATH ({wrong})" in str(caught.value)


def test_a_token_in_the_environment_is_taken(ray_cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    token = Path(os.environ["RAY_AUTH_TOKEN_PATH"]).read_text()
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    monkeypatch.setenv("RAY_AUTH_TOKEN", token)
    assert connect(ray_cluster.dashboard).token.source == "$RAY_AUTH_TOKEN"  # type: ignore[union-attr]
