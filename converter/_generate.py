"""Write the service's app.py: hoisted imports, carried-over definitions, one function per stage."""

from __future__ import annotations

from ._analysis import Plan, StagePlan
from ._cells import ParsedCell
from ._notebook import Role
from ._settings import StageSettings
from ._source import carried_marker, cell_body, cell_marker, docstring, indent


def render_app(plan: Plan) -> str:
    """The full text of app.py."""
    notebook = plan.notebook
    out = [
        f'"""Service {notebook.service_name!r}, made by cellserve from {notebook.path.name}.',
        "",
        "Each stage function below holds the notebook's tagged cells, one for one; edit the",
        'notebook and convert again rather than editing this file."""',
        "",
    ]
    out += [d.import_line() for d in plan.imports] or ["# (no imports)"]
    out += ["", "import cellserve_support as cellserve"]
    out += [f"from cellserve_support import {name}" for name in plan.support_imports]
    if plan.carried:
        out += ["", "", "# Functions and classes the tagged cells use, carried over from other cells."]
        for definition in plan.carried:
            out += ["", carried_marker(definition), definition.where.segment(definition.statement)]
    if plan.setup:
        out += ["", "", *_setup_function(plan)]
    for stage in plan.stages:
        out += ["", "", *_stage_function(plan, stage)]
    out += ["", "", *_app_lines(plan), ""]
    return "\n".join(out)


def _cells(plan: Plan, cells: list[ParsedCell], last_returns: bool) -> list[str]:
    lines: list[str] = []
    for parsed in cells:
        returns = last_returns and parsed is cells[-1]
        lines += [cell_marker(parsed), *cell_body(parsed, plan.commented_out(parsed), returns)]
    return indent(lines)


def _numbers(cells: list[ParsedCell]) -> str:
    numbers = [str(p.cell.number) for p in cells]
    return ("cell " if len(numbers) == 1 else "cells ") + ", ".join(numbers)


def _setup_function(plan: Plan) -> list[str]:
    lines = [
        "def stage_setup():",
        *docstring(f"{_numbers(plan.setup).capitalize()} (setup): run once when a replica starts."),
    ]
    if plan.setup_globals:
        lines.append(f"    global {', '.join(plan.setup_globals)}")
    return lines + _cells(plan, plan.setup, last_returns=False)


def _stage_function(plan: Plan, stage: StagePlan) -> list[str]:
    name = stage.role.value
    lines = [f"def stage_{name}({', '.join(stage.params)}):"]
    if stage.cells:
        lines += docstring(f"{_numbers(stage.cells).capitalize()} ({name}), run for every request.")
    else:
        lines += docstring("No cell is tagged preprocessing: the request goes on to predict as it is.")
    lines += [f'    {n} = globals()["{n}"]  # read before the cells assign it' for n in stage.rebind]
    lines += _cells(plan, stage.cells, last_returns=stage.role is Role.PREDICT)
    if stage.role is Role.PREPROCESSING:
        handoff = ", ".join(f'"{n}": {n}' for n in stage.returns)
        lines.append(f"    return {{{handoff}}}  # what predict reads")
    return lines


def _app_lines(plan: Plan) -> list[str]:
    settings = plan.notebook.settings
    service = {
        "name": plan.notebook.service_name,
        "title": plan.notebook.title,
        "notebook": plan.notebook.path.name,
        "input_variable": settings.input_variable,
        "request_schema": settings.request_schema,
        "max_request_bytes": settings.max_request_bytes,
        "access": settings.access,
        "request_timeout_s": settings.request_timeout_s,
    }
    lines = ["app = cellserve.build_app(", "    cellserve.ServiceSpec("]
    lines += [f"        {key}={value!r}," for key, value in service.items()]
    lines.append("    ),")
    for stage in plan.stages:
        stage_settings: StageSettings = settings.stage(stage.role.value)
        setup = "stage_setup" if stage.runs_setup else "None"
        lines += [
            "    cellserve.StageSpec(",
            f'        "{stage.role.value}",',
            f"        stage_{stage.role.value},",
            f"        setup={setup},",
            f"        num_gpus={stage_settings.num_gpus!r},",
            f'        gpu="{stage_settings.gpu}",',
            f"        actor_options={stage_settings.actor_options()!r},",
            f"        deployment_options={stage_settings.deployment_options()!r},",
            f"        max_ongoing={stage_settings.max_ongoing_requests!r},",
            f"        max_queued={stage_settings.max_queued_requests!r},",
        ]
        if stage.role is Role.PREDICT and settings.batch is not None:
            batch = settings.batch
            lines.append(f"        batch=cellserve.Batch(max_size={batch.max_size!r}, wait_ms={batch.wait_ms!r}),")
        lines.append("    ),")
    one = settings.one_deployment()
    layout = "auto" if one is None else "one" if one else "separate"
    return [*lines, f"    stages={layout!r},", ")"]
