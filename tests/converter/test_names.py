"""Which names a block of cells reads before defining them."""

from __future__ import annotations

import ast

import pytest

from cellserve.converter._names import block_flow


def unresolved(source: str, defined: set[str] | None = None) -> set[str]:
    return set(block_flow(ast.parse(source).body, defined).unresolved())


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("y = x + 1", {"x"}),
        ("x = 1\ny = x + 1", set()),
        ("x = x + 1", {"x"}),
        ("total += 1", {"total"}),
        ("for i in range(3):\n    acc = acc + i", {"range", "acc"}),
        ("def f(a, b=scale):\n    return helper(a) + b", {"scale", "helper"}),
        ("def f():\n    return g()\ndef g():\n    return 1", set()),
        (
            "class Net(Base):\n    size = SIZE\n    def forward(self, x):\n        return act(x)",
            {"Base", "SIZE", "act"},
        ),
        ("ys = [i * w for i in data if i > t]", {"data", "w", "t"}),
        ("d = {k: v for k, v in pairs}", {"pairs"}),
        ("import numpy as np\nz = np.zeros(3)", set()),
        ("from os import path as p\nq = p.join('a')", set()),
        ("f = lambda v: v * factor", {"factor"}),
        ("try:\n    pass\nexcept ValueError as err:\n    print(err)", {"ValueError", "print"}),
        ("with open(name) as handle:\n    data = handle.read()", {"open", "name"}),
        ("if (n := compute()) > 1:\n    print(n)", {"compute", "print"}),
        ("match point:\n    case (px, py):\n        r = px + py", {"point"}),
        (
            "def outer():\n    inner_value = 1\n    def inner():\n        return inner_value + k\n    return inner",
            {"k"},
        ),
        ("def f():\n    global counter\n    counter = counter + 1", {"counter"}),
    ],
)
def test_free_names(source: str, expected: set[str]) -> None:
    assert unresolved(source) == expected


def test_predefined_names_are_not_free() -> None:
    assert unresolved("x = payload['a']", {"payload"}) == set()


def test_stores_are_reported() -> None:
    flow = block_flow(ast.parse("a = 1\nfor b in c:\n    pass\nimport os.path\ndef f(): pass").body)
    assert flow.stores == {"a", "b", "os", "f"}
