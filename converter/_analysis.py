"""Decide what each stage of the service needs: the heart of the converter.

Per request the preprocessing cells run with the input variable bound, then the
predict cells. Names a stage reads but does not define are resolved against the
whole notebook: imports are hoisted, functions and classes are carried over by
source (with what they need, transitively), anything else is captured by value.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from typing import NamedTuple

from cellserve.exceptions import AnalysisError

from ._cells import Definition, ParsedCell, index_definitions, parse_cells
from ._names import Flow, block_flow
from ._notebook import Notebook, Role

_AMBIENT = set(dir(builtins)) | {"__name__", "__doc__"}
SUPPORT_NAMES = {"display"}  # IPython's, provided in the bundle by cellserve.bundle.support


class Place(NamedTuple):
    """Where a name is first read in the notebook: a cell (its number) and a line of it."""

    cell: int
    line: int


@dataclass
class StagePlan:
    """One Ray Serve deployment: its cells, inputs, outputs and captured values."""

    role: Role
    cells: list[ParsedCell]
    params: list[str]
    returns: list[str] = field(default_factory=list)
    rebind: list[str] = field(default_factory=list)
    captured: dict[str, Definition] = field(default_factory=dict)
    runs_setup: bool = False


@dataclass
class Plan:
    """Everything the generator needs to write the service."""

    notebook: Notebook
    cells: list[ParsedCell]
    imports: list[Definition]
    carried: list[Definition]
    setup: list[ParsedCell]
    setup_globals: list[str]
    preprocessing: StagePlan
    predict: StagePlan
    requirements: list[str]
    support_imports: list[str]

    @property
    def stages(self) -> tuple[StagePlan, StagePlan]:
        return (self.preprocessing, self.predict)

    @property
    def output_cell(self) -> ParsedCell:
        return self.predict.cells[-1]

    def commented_out(self, parsed: ParsedCell) -> set[int]:
        """Indices of a tagged cell's statements that are not run in place: hoisted imports, magics."""
        hoisted = {i for i, s in enumerate(parsed.tree.body) if isinstance(s, (ast.Import, ast.ImportFrom))}
        return hoisted | set(parsed.magics)


def analyse(notebook: Notebook) -> Plan:
    """Analyse the tagged cells of ``notebook`` into a :class:`Plan`."""
    cells = parse_cells(notebook)
    by_role = {role: [p for p in cells if p.cell.role is role] for role in Role}
    for parsed in (p for p in cells if p.cell.role is not None):
        _check_magics(notebook, parsed)
    _check_output(notebook, by_role[Role.PREDICT][-1])

    resolver = _Resolver(notebook, index_definitions(cells))
    for parsed in (p for p in cells if p.cell.role is not None):
        resolver.hoist_imports(parsed)

    setup_flow = _flow(by_role[Role.SETUP])
    pre_flow = _flow(by_role[Role.PREPROCESSING], {notebook.settings.input_variable})
    predict_flow = _flow(by_role[Role.PREDICT])

    handed = pre_flow.stores | {notebook.settings.input_variable}
    predict_needs = predict_flow.unresolved()
    handoff = [name for name in predict_needs if name in handed]
    if notebook.settings.batch is not None:
        _check_batchable(notebook, by_role[Role.PREPROCESSING], by_role[Role.PREDICT][0], handoff)
    pre = StagePlan(Role.PREPROCESSING, by_role[Role.PREPROCESSING], [notebook.settings.input_variable], handoff)
    predict = StagePlan(Role.PREDICT, by_role[Role.PREDICT], handoff)

    for stage, flow in ((pre, pre_flow), (predict, predict_flow)):
        needs = {n: line for n, line in flow.unresolved(set(stage.params)).items()}
        stage.rebind = sorted(n for n in needs if n in flow.stores and n not in stage.params)
        resolver.resolve(stage, needs, setup_flow)
    if by_role[Role.SETUP] and not (pre.runs_setup or predict.runs_setup):
        resolver.resolve(predict, {}, setup_flow, force_setup=True)

    plan = Plan(
        notebook=notebook,
        cells=cells,
        imports=resolver.imports,
        carried=sorted(resolver.carried, key=lambda d: (d.where.cell.number, d.statement.lineno)),
        setup=by_role[Role.SETUP],
        setup_globals=sorted(setup_flow.stores),
        preprocessing=pre,
        predict=predict,
        requirements=_pip_requirements(cells),
        support_imports=sorted(resolver.support),
    )
    _check_reserved(plan)
    return plan


RESERVED = {
    "app",
    "cellserve",
    "service_spec",
    "preprocessing_stage",
    "predict_stage",
    "preprocessing_options",
    "predict_options",
    "predict_deployment",
    "one_deployment",
    "stage_setup",
    "stage_preprocessing",
    "stage_predict",
}
"""Names the generated app.py defines itself."""


def _check_reserved(plan: Plan) -> None:
    """A name the service needs must not be one app.py uses itself; the error names the cell that defines it."""
    where: dict[str, int | None] = {}
    for definition in [*plan.imports, *plan.carried]:
        where.setdefault(definition.name, definition.where.cell.number)
    for stage in plan.stages:
        for name, definition in stage.captured.items():
            where.setdefault(name, definition.where.cell.number)
        for name in stage.params:
            where.setdefault(name, None)
    for name in plan.setup_globals:
        where.setdefault(name, plan.setup[0].cell.number if plan.setup else None)
    clash = sorted(set(where) & RESERVED)
    if clash:
        cell = where[clash[0]]
        place = f", cell {cell}" if cell else ""
        raise AnalysisError(
            f"{plan.notebook.path}{place}: the service needs the name {clash[0]!r}, which the generated app.py "
            "uses itself. Rename it in the notebook.",
            cell=cell,
        )


def _flow(cells: list[ParsedCell], defined: set[str] | None = None) -> Flow[Place]:
    """The cells' flow in order, each name with the place it is first read."""
    start = set(defined or ())
    bound = set(start)
    flow: Flow[Place] = Flow()
    for parsed in cells:
        part = block_flow(parsed.code, bound)
        for name, line in part.free.items():
            flow.free.setdefault(name, Place(parsed.cell.number, line))
        for name, line in part.deferred.items():
            flow.deferred.setdefault(name, Place(parsed.cell.number, line))
        bound |= part.stores
    flow.stores = bound - start
    return flow


class _Resolver:
    def __init__(self, notebook: Notebook, definitions: dict[str, Definition]) -> None:
        self.notebook = notebook
        self.definitions = definitions
        self.imports: list[Definition] = []
        self.carried: list[Definition] = []
        self.support: set[str] = set()

    def hoist_imports(self, parsed: ParsedCell) -> None:
        for statement in parsed.tree.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for name in sorted(block_flow([statement]).stores):
                    self._add_import(Definition(name, "import", parsed, statement))
                if any(alias.name == "*" for alias in statement.names):
                    self._add_import(Definition("*", "import", parsed, statement))

    def _add_import(self, definition: Definition) -> None:
        if all(d.import_line() != definition.import_line() for d in self.imports):
            self.imports.append(definition)

    def resolve(self, stage: StagePlan, needs: dict[str, Place], setup: Flow[Place], force_setup: bool = False) -> None:
        """Resolve what ``stage`` reads; names the setup cells define come from running them."""
        pending = [(name, where, False) for name, where in needs.items()]
        if force_setup:
            pending += self._start_setup(stage, setup)
        seen: set[tuple[str, bool]] = set()
        while pending:
            name, where, for_setup = pending.pop(0)
            if (name, for_setup) in seen:
                continue
            seen.add((name, for_setup))
            if name in setup.stores and not for_setup:
                pending += self._start_setup(stage, setup)
                continue
            definition = self.definitions.get(name)
            if definition is None:
                if name in SUPPORT_NAMES:
                    self.support.add(name)
                elif name not in _AMBIENT:
                    self._unresolved(name, where)
                continue
            if definition.kind == "import":
                self._add_import(definition)
            elif definition.kind == "function" and not self._needs_values_now(definition, setup):
                if definition not in self.carried:
                    self.carried.append(definition)
                pending += [(n, w, False) for n, w in self._needs_of(definition)]
            else:
                stage.captured[name] = definition

    def _start_setup(self, stage: StagePlan, setup: Flow[Place]) -> list[tuple[str, Place, bool]]:
        """Mark the stage as running the setup cells; what they read must be resolved too."""
        if stage.runs_setup:
            return []
        stage.runs_setup = True
        return [(name, where, True) for name, where in setup.unresolved().items()]

    def _needs_of(self, definition: Definition) -> list[tuple[str, Place]]:
        flow = block_flow([definition.statement])
        place = Place(definition.where.cell.number, definition.statement.lineno)
        return [(name, place) for name in flow.unresolved() if name != definition.name]

    def _needs_values_now(self, definition: Definition, setup: Flow[Place]) -> bool:
        """A def whose decorators, defaults or bases need a captured value is captured whole."""
        for name in block_flow([definition.statement]).free:
            found = self.definitions.get(name)
            if name in setup.stores or (found is not None and found.kind == "value"):
                return True
        return False

    def _unresolved(self, name: str, where: Place) -> None:
        number, line = where
        cell = next((c for c in self.notebook.cells if c.number == number), None)
        label = cell.label if cell else f"cell {number}"
        raise AnalysisError(
            f"{self.notebook.path}, {label}, line {line}: name {name!r} is used but never defined in the "
            "notebook. Define it in a cell (or import it) so cellserve can carry it into the service.",
            cell=number,
            line=line,
        )


def _check_batchable(
    notebook: Notebook, preprocessing: list[ParsedCell], first: ParsedCell, handoff: list[str]
) -> None:
    """Batching hands predict a list of each value preprocessing makes: there must be such values."""
    if not preprocessing:
        raise AnalysisError(
            f"{notebook.path}: batch is set but no cell is tagged preprocessing. With batching, the predict cells "
            "are handed a list of each value the preprocessing cells make (one item per request): tag the cell "
            "that reads the request 'cellserve:preprocessing'.",
            cell=first.cell.number,
        )
    request = notebook.settings.input_variable
    if not handoff or request in handoff:
        what = f"the request itself ({request!r})" if request in handoff else "nothing the preprocessing cells make"
        raise AnalysisError(
            f"{notebook.path}, cell {first.cell.number}: batch is set but the predict cells read {what}. With "
            "batching they are handed lists of the values the preprocessing cells make: read only those in "
            "predict, or remove batch.",
            cell=first.cell.number,
        )


def _check_magics(notebook: Notebook, parsed: ParsedCell) -> None:
    for magic in parsed.magics.values():
        if not magic.is_pip_install:
            raise AnalysisError(
                f"{notebook.path}, {parsed.cell.label}, line {magic.line}: {magic.text!r} is IPython syntax, "
                "which a service cannot run. Move it to an untagged cell or write it as Python.",
                cell=parsed.cell.number,
                line=magic.line,
            )
    for node in (node for statement in parsed.code for node in ast.walk(statement)):
        if isinstance(node, ast.Name) and node.id == "get_ipython":
            raise AnalysisError(
                f"{notebook.path}, {parsed.cell.label}, line {node.lineno}: IPython syntax or get_ipython() "
                "inside an expression cannot run in a service. Move it to an untagged cell.",
                cell=parsed.cell.number,
                line=node.lineno,
            )


def _check_output(notebook: Notebook, last: ParsedCell) -> None:
    code = last.code
    if not code or not isinstance(code[-1], ast.Expr):
        raise AnalysisError(
            f"{notebook.path}, {last.cell.label}: the last predict cell must end with an expression; its "
            "value, what the notebook shows as Out[], is the response. Add the result's name as the last line.",
            cell=last.cell.number,
        )


def _pip_requirements(cells: list[ParsedCell]) -> list[str]:
    found: list[str] = []
    for parsed in cells:
        for magic in parsed.magics.values():
            found += [r for r in magic.requirements if r not in found]
    return found
