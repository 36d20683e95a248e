"""The service page's notebook parts: description and tagged cells, rendered by nbconvert and sanitized.

The bundle gets HTML fragments the service puts into its page as they are, so they
are made safe here: nbconvert renders the cells (code highlighted, outputs as the
notebook showed them), then nh3 (the Ammonia sanitizer) keeps only inert markup. No
script, no event handler, no style, no frame or form survives; images may be data
URLs. The page also sends a Content-Security-Policy, a second line of defence.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import nh3
from nbconvert import HTMLExporter
from nbconvert.filters.markdown import markdown2html
from nbformat import NotebookNode
from pygments.formatters import HtmlFormatter

from ._notebook import Notebook

PAGE_DIR = "page"
_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
_ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()} | {"*": {"class", "title"}}
_IMAGE_DATA = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;", "data:image/svg+xml;")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """data: URLs only as an image's source, and only for image types."""
    if value.strip().lower().startswith("data:"):
        return value if (tag, attribute) == ("img", "src") and value.lower().startswith(_IMAGE_DATA) else None
    return value


def sanitize(html: str) -> str:
    """Inert HTML: allowed tags and attributes only; script and style elements go with their content."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "template", "noscript"},
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def description_html(notebook: Notebook) -> str:
    """The first markdown cell without its title heading, rendered and sanitized."""
    for cell in notebook.node.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            if lines and lines[0].lstrip("# ").strip() == notebook.title and lines[0].startswith("#"):
                lines = lines[1:]
            return sanitize(markdown2html("\n".join(lines)))
    return ""


def cells_html(notebook: Notebook) -> str:
    """Every tagged cell, in notebook order, with its outputs, each in a section naming its number and role."""
    exporter = HTMLExporter(template_name="basic", exclude_input_prompt=False)
    sections = []
    for cell in notebook.cells:
        if cell.role is None:
            continue
        node = notebook.node.cells[cell.number - 1]
        body, _ = exporter.from_notebook_node(_single(notebook.node, node))
        label = cell.role.value
        sections.append(
            f'<section class="cs-cell cs-{label}">'
            f'<header><span class="cs-role">{label}</span> cell {cell.number}</header>'
            f"{sanitize(body)}</section>"
        )
    return "\n".join(sections)


def _single(notebook: NotebookNode, cell: NotebookNode) -> NotebookNode:
    single: NotebookNode = nbformat.v4.new_notebook(metadata=copy.deepcopy(notebook.get("metadata", {})))
    single.cells = [copy.deepcopy(cell)]
    return single


def write_page_parts(notebook: Notebook, out: Path) -> None:
    """Write page/description.html, page/cells.html and page/highlight.css into the bundle."""
    folder = out / PAGE_DIR
    folder.mkdir(exist_ok=True)
    (folder / "description.html").write_text(description_html(notebook), encoding="utf-8")
    (folder / "cells.html").write_text(cells_html(notebook), encoding="utf-8")
    (folder / "highlight.css").write_text(HtmlFormatter(style="default").get_style_defs(".highlight"), encoding="utf-8")
