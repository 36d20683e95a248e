"""Turn a tagged cell into lines of a stage function: comment out what moved, return the output."""

from __future__ import annotations

import ast
import io
import textwrap
import tokenize

from ._cells import Definition, ParsedCell


def cell_marker(parsed: ParsedCell) -> str:
    """The comment that starts a cell in app.py; the service maps errors back to cells with it."""
    role = parsed.cell.role.value if parsed.cell.role else "cell"
    return f"# ── cell {parsed.cell.number} · {role} ──"


def carried_marker(definition: Definition) -> str:
    """The comment above a definition carried over from another cell, with its first line there."""
    first = definition.where.first_line(definition.statement)
    return f"# ── cell {definition.where.cell.number} · carried over from line {first} ──"


def cell_body(parsed: ParsedCell, commented: set[int], returns_last: bool) -> list[str]:
    """The cell's lines, one for one, as they run inside a stage function."""
    lines = parsed.python.splitlines()
    original = parsed.cell.source.splitlines()
    for index in sorted(commented):
        statement = parsed.tree.body[index]
        for number in range(statement.lineno, (statement.end_lineno or statement.lineno) + 1):
            shown = original[number - 1] if len(original) == len(lines) else lines[number - 1]
            note = "  (in requirements.txt)" if index in parsed.magics else "  (moved to the imports above)"
            lines[number - 1] = f"# {shown}{note if number == statement.lineno else ''}"
    if returns_last:
        _return_expression(lines, parsed.code[-1])
    return lines


def _return_expression(lines: list[str], statement: ast.stmt) -> None:
    first, last = statement.lineno - 1, (statement.end_lineno or statement.lineno) - 1
    end = _byte_slice(lines[last], statement.end_col_offset or 0)
    lines[last] = end[0] + ")" + end[1]
    start = _byte_slice(lines[first], statement.col_offset)
    lines[first] = start[0] + "return (" + start[1]


def _byte_slice(line: str, offset: int) -> tuple[str, str]:
    raw = line.encode("utf-8")
    return raw[:offset].decode("utf-8"), raw[offset:].decode("utf-8")


def indent(lines: list[str], prefix: str = "    ") -> list[str]:
    """Indent code lines, leaving the inside of multi-line strings as it is."""
    inside = _lines_inside_strings("\n".join(lines) + "\n")
    return [line if number in inside or not line.strip() else prefix + line for number, line in enumerate(lines, 1)]


def _lines_inside_strings(source: str) -> set[int]:
    """Lines that continue a string begun on an earlier line: their text is the string's, not code.

    Python 3.12 tokenizes f-strings as FSTRING_START … FSTRING_END (PEP 701) rather than as one STRING,
    so both shapes are followed; nested f-strings count once, by the outermost.
    """
    inside: set[int] = set()
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    opened: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING and not opened:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
            elif fstring_start is not None and token.type == fstring_start:
                opened.append(token.start[0])
            elif fstring_end is not None and token.type == fstring_end and opened:
                start = opened.pop()
                if not opened:
                    inside.update(range(start + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass
    return inside


def docstring(text: str) -> list[str]:
    """A function docstring, on one line where it fits."""
    if len(text) <= 78:
        return [f'    """{text}"""']
    return [*textwrap.wrap(text, 88, initial_indent='    """', subsequent_indent="    "), '    """']
