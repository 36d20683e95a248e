"""Capture from a running kernel: the values the user has in their session right now.

From outside the kernel (JupyterLab's server) or from inside it (the ipywidgets panel).

JupyterLab's publish sends the notebook's kernel to the server; the capture code
(the same as a headless run uses) runs there as one silent request, outside the
kernel's history, and writes into the bundle's staging folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import KernelConnectionInfo

from cellserve.exceptions import CaptureError

from ._analysis import Plan
from ._capture import Capture, CaptureStep, capture_code, read_report

READY_TIMEOUT_S = 30.0


def capture_in_kernel(connection_info: KernelConnectionInfo, *, timeout: float = 600) -> CaptureStep:
    """A capture step that runs in the kernel ``connection_info`` describes."""

    def run(plan: Plan, out: Path) -> Capture:
        output_cell = plan.output_cell.cell
        client = BlockingKernelClient()
        client.load_connection_info(connection_info)
        client.start_channels()
        errors: list[str] = []

        def keep_errors(message: dict[str, Any]) -> None:
            content = message.get("content", {})
            if message.get("msg_type") == "stream" and content.get("name") == "stderr":
                errors.append(content.get("text", ""))

        try:
            client.wait_for_ready(timeout=READY_TIMEOUT_S)
            code = capture_code(plan, out, output_cell.execution_count)
            reply = client.execute_interactive(code, store_history=False, timeout=timeout, output_hook=keep_errors)
        except (RuntimeError, TimeoutError) as exc:
            raise CaptureError(f"{plan.notebook.path}: the running kernel did not answer the capture: {exc}") from None
        finally:
            client.stop_channels()
        content = reply["content"]
        if content["status"] != "ok":
            raise CaptureError(
                f"{plan.notebook.path}: capturing from the running kernel failed with "
                f"{content.get('ename')}: {content.get('evalue')}" + ("\n" + "".join(errors)[-2000:] if errors else "")
            )
        return _live_report(plan, out)

    return run


def capture_in_namespace(namespace: dict[str, Any]) -> CaptureStep:
    """A capture step for code that runs inside the kernel itself (the ipywidgets panel)."""

    def run(plan: Plan, out: Path) -> Capture:
        exec(capture_code(plan, out, plan.output_cell.cell.execution_count), namespace)  # noqa: S102 - cellserve's own code
        return _live_report(plan, out)

    return run


def _live_report(plan: Plan, out: Path) -> Capture:
    """The capture report; a live kernel must also hold the output of the last predict cell."""
    captured = read_report(plan, out)
    if not captured.has_expected:
        output_cell = plan.output_cell.cell
        raise CaptureError(
            f"{plan.notebook.path}, cell {output_cell.number}: the running kernel has no output of the last "
            "predict cell: run it (and save the notebook) before publishing.",
            cell=output_cell.number,
        )
    return captured
