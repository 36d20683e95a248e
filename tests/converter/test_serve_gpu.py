"""GPU settings on a cluster that declares logical GPUs (`ray start --num-gpus=2`).

Ray schedules logical GPUs as it does real ones and sets CUDA_VISIBLE_DEVICES, so this
checks placement for real on a machine without a GPU; torch then finds no CUDA device
and the notebook's own `torch.cuda.is_available()` check keeps the model on the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from cellserve.converter import convert
from tests.conftest import Cluster, wait_until_healthy

pytestmark = [pytest.mark.ray, pytest.mark.kernel]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_if_available_gpu_is_taken_where_the_cluster_has_gpus(ray_cluster: Cluster, tmp_path: Path) -> None:
    bundle = convert(EXAMPLES / "digits.ipynb", tmp_path / "digits").path
    ray_cluster.restart(num_gpus=2)
    ray_cluster.serve_bundle(bundle)
    url = "http://127.0.0.1:8000/digits"
    wait_until_healthy(f"{url}/healthz")

    stages = httpx.get(f"{url}/info", timeout=10).json()["stages"]
    assert len(stages["predict"]["gpu_ids"]) == 1  # half a GPU: one device, shared
    assert stages["predict"]["cuda_visible_devices"] == stages["predict"]["gpu_ids"][0]
    assert stages["preprocessing"]["gpu_ids"] == []

    used = ray_cluster.python(
        "import ray; ray.init(); t = ray.cluster_resources()['GPU']; a = ray.available_resources().get('GPU', 0)\n"
        "print(t - a)"
    )
    assert float(used.strip().splitlines()[-1]) == pytest.approx(0.5)

    example = (bundle / "example_request.json").read_text()
    answer = httpx.post(f"{url}/predict", content=example, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["digit"] == json.loads((bundle / "expected_response.json").read_text())["digit"]
