"""Watch which files the notebook's cells open: the code here runs *inside* the kernel.

Installed as the first request of a headless run, it sees every ``open`` through Python's audit
hooks (so also those made inside joblib, torch, pandas or pickle, and computed paths) and keeps, for
each file, which cells read it and which wrote it: each cell by the order in which it ran (1 for the first
cell run after the watch) and the line of the cell that led to the ``open``. Files of installed packages,
the standard library and the system's pseudo-files are left out. The capture step reads the record from
the module the watch registers in ``sys.modules``.
"""

from __future__ import annotations

import os
import site
import sys
import types
from typing import Any

WATCH_MODULE = "cellserve_file_watch"
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


_SYSTEM = ("/proc/", "/sys/", "/dev/")


def watch() -> None:
    """Record the files that cells open, by the cell (and its line) that opened them."""
    if WATCH_MODULE in sys.modules:
        return
    ignored = (*_installed_folders(), *_SYSTEM)  # a virtualenv inside the notebook's folder is not the notebook's
    record = types.ModuleType(WATCH_MODULE)
    record.reads, record.writes, record.active = {}, {}, True  # type: ignore[attr-defined]
    running = [0]  # the cell running now, by the order of runs
    shell = _shell()
    if shell is not None:

        def next_cell(*_: Any) -> None:
            running[0] += 1

        shell.events.register("pre_run_cell", next_cell)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not record.active or not isinstance(args[0], (str, os.PathLike)):
            return
        path = os.path.realpath(os.path.abspath(os.fspath(args[0])))
        if path.startswith(ignored) or "__pycache__" in path:
            return
        writing = bool((args[2] or 0) & _WRITING)
        found = (record.writes if writing else record.reads).setdefault(path, [])
        if all(cell != running[0] for cell, _line in found):
            found.append([running[0], _cell_line(shell)])

    sys.modules[WATCH_MODULE] = record
    sys.addaudithook(hook)


def _cell_line(shell: Any) -> int | None:
    """The line of the running cell that led to this call: its outermost frame in the notebook's namespace."""
    namespace = getattr(shell, "user_ns", None)
    line = None
    frame: Any = sys._getframe(2)
    while frame is not None:
        if frame.f_globals is namespace and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    return line


def _installed_folders() -> set[str]:
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), site.getusersitepackages()}
    return {os.path.realpath(folder) + os.sep for folder in folders if folder}


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # not an IPython kernel: cells are not told apart
        return None
    return get_ipython()
