"""Reading a request before user code runs (cellserve.bundle.request, shipped in every bundle): hostile bodies get a
4xx that says what is wrong, and the shape check names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cellserve.bundle import infer_schema
from cellserve.bundle.request import (
    MAX_DEPTH,
    RequestChecker,
    RequestError,
    check_schema,
    parse,
)

EXAMPLE = {"pixels": [0.0, 1.5], "name": "a", "flags": {"fast": True}, "extra": None}


def problem(body: Any, schema: dict[str, Any] | None = None) -> RequestError:
    with pytest.raises(RequestError) as caught:
        RequestChecker(infer_schema(EXAMPLE) if schema is None else schema).check(body)
    return caught.value


@pytest.mark.parametrize(
    "request_body",
    [
        EXAMPLE,
        {"pixels": [], "name": "b", "flags": {"fast": False}, "extra": [1]},
        {"pixels": [1, 2, 3, 4], "name": "", "flags": {"fast": True}, "extra": "anything"},
        {"pixels": [10**400], "name": "huge integers are numbers", "flags": {"fast": True}, "extra": None},
    ],
)
def test_inferred_schema_accepts_same_keys_and_types_any_length(request_body: Any) -> None:
    RequestChecker(infer_schema(EXAMPLE)).check(request_body)


@pytest.mark.parametrize(
    ("request_body", "field", "message"),
    [
        ({**EXAMPLE, "pixels": "x"}, "pixels", "expected array, got string"),
        ({**EXAMPLE, "pixels": [1, "2"]}, "pixels[1]", "expected number, got string"),
        ({**EXAMPLE, "pixels": [True]}, "pixels[0]", "expected number, got boolean"),
        ({k: v for k, v in EXAMPLE.items() if k != "name"}, "name", "is required but missing"),
        (
            {**EXAMPLE, "surprise": 1},
            "surprise",
            "is not expected; the fields are ['extra', 'flags', 'name', 'pixels']",
        ),
        ({**EXAMPLE, "flags": {"fast": 1}}, "flags.fast", "expected boolean, got number"),
        ({**EXAMPLE, "ключ ✓": 1}, "ключ ✓", "is not expected"),
        ([1, 2], "body", "expected object, got array"),
    ],
)
def test_inferred_schema_names_the_field(request_body: Any, field: str, message: str) -> None:
    found = problem(request_body)
    assert (found.status, found.kind, found.field) == (422, "invalid_request", field)
    assert found.message.startswith(f"{field}: {message}")


def test_a_schema_of_the_users_own() -> None:
    schema = {"type": "object", "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 3}}}
    RequestChecker(schema).check({"k": 2})
    assert problem({"k": 2.5}, schema).message == "k: expected integer, got number."
    assert problem({"k": 9}, schema).message == "k: 9 is greater than the maximum of 3."
    assert problem({"k": 10**400}, schema).field == "k"  # no OverflowError: jsonschema compares integers exactly
    assert problem("b", {"enum": ["a"]}).message == "body: 'b' is not one of ['a']."
    RequestChecker(None).check(["anything", {"goes": float("nan")}])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{", "The body is not valid JSON: Expecting property name"),
        (b"", "The body is not valid JSON: Expecting value"),
        (b'{"x": NaN}', "NaN is not a JSON number"),
        (b"[Infinity]", "Infinity is not a JSON number"),
        (b"[-Infinity]", "-Infinity is not a JSON number"),
        (b"9" * 5000, "The body is not valid JSON: Exceeds the limit"),
        (b"[" * 5000 + b"]" * 5000, f"nests deeper than {MAX_DEPTH} levels"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"nests deeper than {MAX_DEPTH} levels"),
        (b'{"a": "\xff\xfe"}', "not UTF-8"),
        (b"\xff\xfe[\x001\x00]\x00", "not UTF-8"),  # UTF-16 with its byte order mark: not JSON's encoding
    ],
)
def test_hostile_bodies_are_refused_with_a_reason(body: bytes, says: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse(body)
    assert (caught.value.status, caught.value.kind) == (400, "invalid_json")
    assert says in caught.value.message


def test_plain_json_is_read_as_it_is() -> None:
    deep = json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert parse(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) == deep
    assert parse('{"ключ": [1, 2.5, null, true]}'.encode()) == {"ключ": [1, 2.5, None, True]}


def test_a_broken_schema_is_named() -> None:
    assert check_schema({"type": "object"}) is None
    assert "is not valid under any of the given schemas" in (check_schema({"type": "thing"}) or "")
