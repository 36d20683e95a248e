"""Watch which files the notebook's cells open: the code here runs *inside* the kernel.

Installed as the first request of a headless run, it sees every ``open`` through Python's audit
hooks (so also those made inside joblib, torch, pandas or pickle, and computed paths) and keeps, for
each file under the notebook's folder, which cells read it and which wrote it, each cell by the order in
which it ran (1 for the first cell run after the watch). The capture step reads that record from the
module it registers in ``sys.modules``.
"""

from __future__ import annotations

import os
import site
import sys
import types
from typing import Any

WATCH_MODULE = "cellserve_file_watch"
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def watch(folder: str) -> None:
    """Record the files under ``folder`` that cells open, by the cell that opened them."""
    if WATCH_MODULE in sys.modules:
        return
    root = os.path.realpath(folder) + os.sep
    installed = tuple(_installed_folders())  # a virtualenv inside the notebook's folder is not the notebook's
    record = types.ModuleType(WATCH_MODULE)
    record.reads, record.writes, record.active, record.cell = {}, {}, True, 0  # type: ignore[attr-defined]
    shell = _shell()
    if shell is not None:

        def next_cell(*_: Any) -> None:
            record.cell += 1

        shell.events.register("pre_run_cell", next_cell)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not record.active or not isinstance(args[0], (str, os.PathLike)):
            return
        path = os.path.realpath(os.path.abspath(os.fspath(args[0])))
        if not path.startswith(root) or path.startswith(installed) or "__pycache__" in path:
            return
        cell = record.cell
        writing = bool((args[2] or 0) & _WRITING)
        found = (record.writes if writing else record.reads).setdefault(path, [])
        if cell not in found:
            found.append(cell)

    sys.modules[WATCH_MODULE] = record
    sys.addaudithook(hook)


def _installed_folders() -> set[str]:
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), site.getusersitepackages()}
    return {os.path.realpath(folder) + os.sep for folder in folders if folder}


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # not an IPython kernel: cells are not told apart
        return None
    return get_ipython()
