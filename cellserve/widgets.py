"""cellserve inside the notebook, with ipywidgets: for Jupyter Notebook 7, VS Code and any front end
that renders widgets but not the JupyterLab sidebar.

    from cellserve import panel, endpoint
    panel()                  # roles found, settings, Publish with its steps, the links
    digits = endpoint("digits")
    digits({"pixels": [...]})        # a plain call: the answer as JSON
    digits                           # shown as a small form beside the notebook's own answer
"""

from __future__ import annotations

import html
import json
import os
import threading
from pathlib import Path
from typing import Any

import httpx
import ipywidgets as widgets

from cellserve.exceptions import CellserveError


def _ipython_namespace() -> dict[str, Any] | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell.user_ns if shell is not None else None


def current_notebook() -> Path | None:
    """The notebook this kernel belongs to, as the front end tells it (JupyterLab/Notebook 7 or VS Code)."""
    namespace = _ipython_namespace() or {}
    for candidate in (
        namespace.get("__vsc_ipynb_file__"),
        namespace.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
    ):
        if candidate and str(candidate).endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


def _link(label: str, url: str) -> str:
    e = html.escape
    return f'<b>{e(label)}</b> <a href="{e(url)}" target="_blank" rel="noopener">{e(url)}</a>'


class Panel(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """Roles, settings, Publish and its progress, and the resulting links, for one notebook."""

    def __init__(self, notebook: str | Path | None = None, *, address: str | None = None) -> None:
        found = Path(notebook).resolve() if notebook else current_notebook()
        if found is None:
            raise CellserveError(
                "Cannot tell which notebook this kernel runs: pass its path, panel('my-notebook.ipynb')."
            )
        self.notebook = found
        self.address = widgets.Text(value=address or "", description="Cluster", placeholder="empty: local cluster")
        self.roles = widgets.HTML()
        self.settings = widgets.HTML()
        self.button = widgets.Button(description="Publish endpoint", button_style="primary", icon="rocket")
        self.progress = widgets.HTML()
        self.result = widgets.HTML()
        self.button.on_click(lambda _button: self.publish_in_background())
        self.result_data: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.refresh()
        title = widgets.HTML(f"<h3>cellserve · {html.escape(self.notebook.name)}</h3>")
        super().__init__([title, self.roles, self.settings, self.address, self.button, self.progress, self.result])

    def refresh(self) -> None:
        """Read the notebook again: its roles, problems and settings."""
        from cellserve.converter import check_notebook

        report = check_notebook(self.notebook)
        rows = "".join(
            f"<li><b>{role}</b>: {', '.join(f'cell {n}' for n in cells) or 'none'}</li>"
            for role, cells in report["roles"].items()
        )
        captured = "".join(
            f"<li>{stage} captures {', '.join(s['captured']) or 'nothing'}</li>"
            for stage, s in report["stages"].items()
        )
        problems = "".join(f"<li style='color:#b3261e'>{html.escape(p['message'])}</li>" for p in report["problems"])
        self.roles.value = f"<ul>{rows}{captured}{problems}</ul>"
        self.button.disabled = not report["ok"]
        try:
            settings = json.loads(self.notebook.read_text()).get("metadata", {}).get("cellserve", {})
        except (OSError, ValueError):
            settings = {}
        shown = html.escape(json.dumps(settings, indent=1)) if settings else "defaults"
        self.settings.value = f"<details><summary>Settings</summary><pre>{shown}</pre></details>"

    def _step(self, step: str, message: str) -> None:
        self.progress.value += f"<div>▸ <b>{html.escape(step)}</b> {html.escape(message)}</div>"

    def publish(self) -> dict[str, Any] | None:
        """Publish now (blocking); values come from this kernel when it has run the notebook."""
        from cellserve.runtime import publish

        self.button.disabled = True
        self.progress.value, self.result.value, self.error = "", "", None
        try:
            outcome = publish(
                self.notebook, address=self.address.value or None, progress=self._step, capture=_capture_here()
            )
        except CellserveError as exc:
            self.error = {"message": str(exc), "step": getattr(exc, "step", None), "cell": getattr(exc, "cell", None)}
            where = f" (cell {self.error['cell']})" if self.error["cell"] else ""
            self.result.value = f"<pre style='color:#b3261e'>{html.escape(str(exc))}{where}</pre>"
            return None
        finally:
            self.button.disabled = False
        self.result_data = outcome.to_json()
        self.result.value = _link("Endpoint", outcome.endpoint) + "<br>" + _link("Service page", outcome.page)
        return self.result_data

    def publish_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.publish, name="cellserve-publish", daemon=True)
        thread.start()
        return thread


def _capture_here() -> Any:
    """Capture from this very kernel's namespace, when there is one (else: a headless run)."""
    from cellserve.converter import capture_in_namespace

    namespace = _ipython_namespace()
    return capture_in_namespace(namespace) if namespace is not None else None


def panel(notebook: str | Path | None = None, *, address: str | None = None) -> Panel:
    """The cellserve panel for ``notebook`` (default: the notebook this kernel runs)."""
    return Panel(notebook, address=address)


class Endpoint:
    """A published service, callable from Python; displayed, a form to try it."""

    def __init__(self, name: str) -> None:
        from cellserve.runtime import live_endpoint

        live = live_endpoint(name)
        self.name = name
        self.url: str = live["url"]
        self.token: str | None = live["token"]
        self.example, self.expected = live["example"], live["expected"]

    def __call__(self, payload: Any, *, timeout: float = 60) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = httpx.post(self.url, json=payload, headers=headers, timeout=timeout)
        if response.status_code != 200:
            raise CellserveError(f"{self.url} answered HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    def widget(self) -> widgets.Widget:
        request = widgets.Textarea(
            value=json.dumps(self.example, indent=1), layout=widgets.Layout(width="100%", height="8em")
        )
        send = widgets.Button(description=f"Send to {self.name}", button_style="primary")
        answer = widgets.HTML()
        notebook = html.escape(json.dumps(self.expected, indent=1)) if self.expected is not None else "(not recorded)"

        def on_send(_button: Any) -> None:
            try:
                shown = html.escape(json.dumps(self(json.loads(request.value)), indent=1))
            except (ValueError, CellserveError, httpx.HTTPError) as exc:
                shown = f"error: {html.escape(str(exc))}"
            answer.value = (
                "<div style='display:flex;gap:2em'>"
                f"<div><b>service</b><pre>{shown}</pre></div><div><b>notebook</b><pre>{notebook}</pre></div></div>"
            )

        send.on_click(on_send)
        return widgets.VBox([widgets.HTML(_link("Endpoint", self.url)), request, send, answer])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget()._repr_mimebundle_(**kwargs)


def endpoint(name: str) -> Endpoint:
    """A published service: call it with a payload, or display it for a small form."""
    return Endpoint(name)
