"""Smoke test: the service must answer its example request with the notebook's own output."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import httpx

from cellserve.exceptions import DeployError

CHECK_HEADER = "X-Cellserve-Check"  # the service neither logs nor splits cellserve's own requests
REL_TOL = 1e-4
ABS_TOL = 1e-6


def difference(actual: Any, expected: Any, where: str = "response", shown: str = "the notebook showed") -> str | None:
    """Where ``actual`` departs from ``expected`` (floats within a tolerance), or None; ``shown`` names what
    gave ``expected``."""
    if isinstance(expected, float) or (isinstance(actual, float) and isinstance(expected, int)):
        number = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        if number and math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return None
        return f"{where} is {actual!r}, {shown} {expected!r}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return f"{where} is {_short(actual)}, {shown} {_short(expected)}"
        for key in expected:
            found = difference(actual[key], expected[key], f"{where}.{key}", shown)
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where} is {_short(actual)}, {shown} {_short(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = difference(a, e, f"{where}[{index}]", shown)
            if found:
                return found
        return None
    return None if actual == expected else f"{where} is {actual!r}, {shown} {expected!r}"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) < 120 else text[:117] + "..."


def smoke_test(
    url: str, bundle: Path, *, step: str = "smoke-test", timeout: float = 120, token: str | None = None
) -> float:
    """POST the example request to ``url``/predict; returns the answer's latency in seconds."""
    example = (bundle / "example_request.json").read_bytes()
    headers = {"Content-Type": "application/json", CHECK_HEADER: "smoke-test"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    expected = json.loads((bundle / "expected_response.json").read_text())
    deadline = time.monotonic() + timeout
    while True:
        started = time.perf_counter()
        try:
            response = httpx.post(f"{url}/predict", content=example, timeout=60, headers=headers)
        except httpx.HTTPError as exc:
            response = None
            problem = f"no answer from {url}/predict: {exc}"
        if response is not None and response.status_code != 404:
            break
        if time.monotonic() > deadline:
            raise DeployError(f"smoke test: {problem if response is None else 'route not found'}", step=step)
        time.sleep(1)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise DeployError(
            f"smoke test: the example request got HTTP {response.status_code}: {response.text[:500]}", step=step
        )
    found = difference(response.json(), expected)
    if found:
        raise DeployError(f"smoke test: the example request's answer differs: {found}.", step=step)
    return elapsed
