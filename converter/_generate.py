"""Write the service's app.py (templates/app.py.j2): hoisted imports, carried-over definitions, one function per
stage, then the Ray Serve deployments and how they bind."""

from __future__ import annotations

import jinja2

from ._analysis import Plan, StagePlan
from ._cells import ParsedCell
from ._files import ONE_DEPLOYMENT
from ._notebook import Role
from ._settings import StageSettings
from ._source import carried_marker, cell_body, cell_marker, docstring, indent

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("cellserve.converter", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - renders Python source, never HTML
)
_TEMPLATES.filters["pyrepr"] = repr


def render_app(plan: Plan) -> str:
    """The full text of app.py: the notebook's cells as stage functions, then the Ray Serve application."""
    notebook = plan.notebook
    functions = [_stage_function(plan, stage) for stage in plan.stages]
    if plan.setup:
        functions.insert(0, _setup_function(plan))
    captured = [(stage.role.value, sorted(stage.captured)) for stage in plan.stages if stage.captured]
    one = notebook.settings.one_deployment()
    return _TEMPLATES.get_template("app.py.j2").render(
        name=notebook.service_name,
        notebook=notebook.path.name,
        imports=[d.import_line() for d in plan.imports],
        support_imports=plan.support_imports,
        captured=captured,
        captured_names=sorted({name for _stage, names in captured for name in names}),
        carried=[f"{carried_marker(d)}\n{d.where.segment(d.statement)}" for d in plan.carried],
        functions=["\n".join(lines) for lines in functions],
        service=_service(plan),
        stages=[{"role": stage.role.value, "fields": _stage_fields(plan, stage)} for stage in plan.stages],
        layout="auto" if one is None else "one" if one else "separate",
        fused=ONE_DEPLOYMENT,
    )


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


def _service(plan: Plan) -> list[tuple[str, object]]:
    settings = plan.notebook.settings
    return [
        ("name", plan.notebook.service_name),
        ("title", plan.notebook.title),
        ("notebook", plan.notebook.path.name),
        ("input_variable", settings.input_variable),
        ("request_schema", settings.request_schema),
        ("max_request_bytes", settings.max_request_bytes),
        ("access", settings.access),
        ("request_timeout_s", settings.request_timeout_s),
    ]


def _stage_fields(plan: Plan, stage: StagePlan) -> list[tuple[str, str]]:
    """The StageSpec's keyword arguments after its name and function, as Python source."""
    settings = plan.notebook.settings
    stage_settings: StageSettings = settings.stage(stage.role.value)
    fields = [
        ("setup", "stage_setup" if stage.runs_setup else "None"),
        ("num_gpus", repr(stage_settings.num_gpus)),
        ("gpu", repr(stage_settings.gpu)),
        ("actor_options", repr(stage_settings.actor_options())),
        ("deployment_options", repr(stage_settings.deployment_options())),
        ("max_ongoing", repr(stage_settings.max_ongoing_requests)),
        ("max_queued", repr(stage_settings.max_queued_requests)),
    ]
    if stage.role is Role.PREDICT and settings.batch is not None:
        batch = settings.batch
        batching = f"cellserve.bundle.support.Batch(max_size={batch.max_size!r}, wait_ms={batch.wait_ms!r})"
        fields.append(("batch", batching))
    return fields
