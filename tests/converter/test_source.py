"""Indenting a cell's code into a stage function leaves the inside of multi-line strings as it is, with
the tokenizer of Python 3.11 (one STRING token per f-string) and of 3.12 and later (PEP 701)."""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cellserve.converter._source import _lines_inside_strings, indent

CELL = textwrap.dedent(
    '''\
    name = "ada"
    text = f"""first {name}
    second {f"{name!r}"}
    third"""
    plain = """one
    two"""
    joined = ("a"
              "b")
    total = 1 + \\
        2
    '''
)
INSIDE = {3, 4, 6}  # continuation lines of the two multi-line strings; not the implicit concatenation


def test_the_inside_of_multiline_strings_keeps_its_text() -> None:
    assert _lines_inside_strings(CELL) == INSIDE
    lines = CELL.splitlines()
    indented = indent(lines)
    namespace: dict[str, object] = {}
    exec("def stage():\n" + "\n".join(indented) + "\n    return text, plain, joined", namespace)
    assert namespace["stage"]() == ("first ada\nsecond 'ada'\nthird", "one\ntwo", "ab")  # type: ignore[operator]


def python312() -> str | None:
    """A Python 3.12 interpreter that runs: one beside this one (pyenv's versions), or on the PATH."""
    candidates = [*Path(sys.base_prefix).parent.glob("3.12*/bin/python3"), shutil.which("python3.12")]
    for candidate in filter(None, candidates):
        done = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.startswith("Python 3.12"):
            return str(candidate)
    return None


@pytest.mark.skipif(python312() is None, reason="no Python 3.12 on this machine")
def test_python_312_finds_the_same_lines() -> None:
    source = inspect.getsource(_lines_inside_strings)
    program = f"import io, tokenize\n{source}\nprint(sorted(_lines_inside_strings({CELL!r})))"
    interpreter = python312()
    assert interpreter is not None
    done = subprocess.run([interpreter, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    assert set(json.loads(done.stdout)) == INSIDE
