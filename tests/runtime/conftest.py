"""Runtime tests publish to the session's real Ray cluster, by its dashboard address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.notebooks import make_notebook


@pytest.fixture(scope="module")
def cluster(ray_cluster: Cluster) -> Cluster:
    """The session's cluster with no GPU, and a Serve of the module's own (shut down, then started by the
    first publish): what other modules deployed with `serve run` does not share its routes."""
    ray_cluster.restart(num_gpus=0)
    ray_cluster.stop_serve()
    return ray_cluster


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A CELLSERVE_HOME of the module's own."""
    path = tmp_path_factory.mktemp("cellserve-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELLSERVE_HOME", str(path))
        patch.delenv("RAY_ADDRESS", raising=False)
        yield path


def calc_notebook(path: Path, factor: int, *, extra: list[tuple[str, str | None]] | None = None,
                  settings: dict[str, object] | None = None) -> Path:  # fmt: skip
    """A small service: the sum of payload['x'] times FACTOR, with FACTOR captured from the notebook."""
    cells: list[tuple[str, str | None]] = [
        (f"FACTOR = {factor}\npayload = {{'x': [1, 2, 3]}}", None),
        *(extra or []),
        ("total = sum(payload['x'])", "preprocessing"),
        ("{'total': total * FACTOR, 'factor': FACTOR}", "predict"),
    ]
    return make_notebook(path, cells, settings, markdown=f"# Calculator {factor}")
