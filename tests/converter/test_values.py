"""JSON conversion of predictions and the inferred request schema (cellserve.bundle.values, shipped in every
bundle)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from cellserve.bundle import batch_items, to_jsonable


@dataclasses.dataclass
class Point:
    x: float
    label: str


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (np.float32(0.5), 0.5),
        (np.int64(7), 7),
        (torch.tensor([0.25, 0.75]), [0.25, 0.75]),
        (torch.tensor(3), 3),
        (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]),
        (pd.Series([1.5, 2.5], index=["p", "q"]), {"p": 1.5, "q": 2.5}),
        (Point(1.0, "one"), {"x": 1.0, "label": "one"}),
        ({"nested": (1, {2, 3})}, {"nested": [1, [2, 3]]}),
        (Colour.RED, "red"),
        (datetime.date(2026, 1, 2), "2026-01-02"),
        (float("nan"), None),
        (b"text", "text"),
        (None, None),
        (True, True),
    ],
)
def test_to_jsonable(value: Any, expected: Any) -> None:
    assert to_jsonable(value) == expected


def test_not_json_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"cannot turn a builtins.object into JSON"):
        to_jsonable(object())


def test_infinite_floats_become_null() -> None:
    assert to_jsonable([math.inf, 1.0]) == [None, 1.0]


@pytest.mark.parametrize(
    ("answer", "items"),
    [
        ([1, 2], [1, 2]),
        (({"a": 1}, {"a": 2}), [{"a": 1}, {"a": 2}]),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (torch.tensor([0.5, 1.5]), [0.5, 1.5]),
        (pd.Series([7, 8]), [7, 8]),
        (pd.DataFrame({"a": [1, 2]}), [{"a": 1}, {"a": 2}]),
        ({"a": [1, 2]}, None),
        ("ab", None),
        (3, None),
        (np.float64(3.0), None),
    ],
)
def test_a_batch_answer_splits_into_one_item_per_request(answer: Any, items: list[Any] | None) -> None:
    found = batch_items(answer)
    assert (None if found is None else [to_jsonable(item) for item in found]) == items
