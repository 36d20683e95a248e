"""JSON conversion of predictions and the request check (cellserve_values, shipped in every bundle)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

PATH = Path(__file__).resolve().parents[2] / "converter" / "bundle_files" / "cellserve_values.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cellserve_values", PATH)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


values = _load()


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
    assert values.to_jsonable(value) == expected


def test_not_json_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"cannot turn a builtins.object into JSON"):
        values.to_jsonable(object())


EXAMPLE = {"pixels": [0.0, 1.5], "name": "a", "flags": {"fast": True}, "extra": None}


@pytest.mark.parametrize(
    "request_body",
    [
        EXAMPLE,
        {"pixels": [], "name": "b", "flags": {"fast": False}, "extra": [1]},
        {"pixels": [1, 2, 3, 4], "name": "", "flags": {"fast": True}, "extra": "anything"},
    ],
)
def test_inferred_schema_accepts_same_keys_and_types_any_length(request_body: Any) -> None:
    assert values.check(request_body, values.infer_schema(EXAMPLE)) is None


@pytest.mark.parametrize(
    ("request_body", "field", "problem"),
    [
        ({**EXAMPLE, "pixels": "x"}, "pixels", "expected array, got string"),
        ({**EXAMPLE, "pixels": [1, "2"]}, "pixels[1]", "expected number, got string"),
        ({**EXAMPLE, "pixels": [True]}, "pixels[0]", "expected number, got boolean"),
        ({k: v for k, v in EXAMPLE.items() if k != "name"}, "name", "is required but missing"),
        ({**EXAMPLE, "surprise": 1}, "surprise", "is not expected"),
        ({**EXAMPLE, "flags": {"fast": 1}}, "flags.fast", "expected boolean, got number"),
        ([1, 2], "body", "expected object, got array"),
    ],
)
def test_inferred_schema_names_the_field(request_body: Any, field: str, problem: str) -> None:
    found = values.check(request_body, values.infer_schema(EXAMPLE))
    assert found is not None
    assert found[0] == field
    assert problem in found[1]


def test_custom_schema_keywords() -> None:
    schema = {"type": "object", "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 3}}}
    assert values.check({"k": 2}, schema) is None
    assert values.check({"k": 2.5}, schema) == ("k", "expected integer, got number")
    assert values.check({"k": 9}, schema) == ("k", "must be at most 3")
    assert values.check({"k": 0}, schema) == ("k", "must be at least 1")
    assert values.check([1], {"type": "array", "maxItems": 0}) == ("body", "takes at most 0 items, got 1")
    assert values.check("b", {"enum": ["a"]}) == ("body", "must be one of ['a']")


def test_infinite_floats_become_null() -> None:
    assert values.to_jsonable([math.inf, 1.0]) == [None, 1.0]
