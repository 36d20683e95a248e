"""The smoke test's comparison: the notebook's output, with a tolerance for floats."""

from __future__ import annotations

from typing import Any

import pytest

from cellserve.runtime._smoke import difference


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ({"a": [1.0, 2.0]}, {"a": [1.0, 2.0]}),
        ({"p": 0.3333334}, {"p": 0.3333333}),
        ([1, "x", None, True], [1, "x", None, True]),
        (2, 2.0),
        (1e-9, 0.0),
    ],
)
def test_equal_enough(actual: Any, expected: Any) -> None:
    assert difference(actual, expected) is None


@pytest.mark.parametrize(
    ("actual", "expected", "where"),
    [
        ({"p": 0.5}, {"p": 0.6}, "response.p is 0.5, the notebook showed 0.6"),
        ({"a": [1, 2]}, {"a": [1, 3]}, "response.a[1] is 2, the notebook showed 3"),
        ({"a": [1]}, {"a": [1, 2]}, "response.a is [1], the notebook showed [1, 2]"),
        ({"b": 1}, {"a": 1}, 'response is {"b": 1}, the notebook showed {"a": 1}'),
        (True, 1.0, "response is True, the notebook showed 1.0"),
        ("1", 1, "response is '1', the notebook showed 1"),
    ],
)
def test_differences_say_where(actual: Any, expected: Any, where: str) -> None:
    assert difference(actual, expected) == where
