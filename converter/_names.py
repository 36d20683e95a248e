"""Which names a block of top-level statements reads before defining, and which it defines.

Module-level statements are walked in execution order, so ``x = x + 1`` reads ``x``
first. Bodies of functions and lambdas run later, when they are called: the global
names they read are *deferred* and count as free only if nothing in the block ever
defines them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Generic, TypeVar

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


Where = TypeVar("Where")
"""Where a name is first read: a line in one block, or a place in a notebook."""


@dataclass
class Flow(Generic[Where]):
    """Names a block reads before defining them (with where they are first read), and defines."""

    free: dict[str, Where] = field(default_factory=dict)
    deferred: dict[str, Where] = field(default_factory=dict)
    stores: set[str] = field(default_factory=set)

    def unresolved(self, defined: set[str] | frozenset[str] = frozenset()) -> dict[str, Where]:
        """Free names plus deferred names that neither the block nor ``defined`` provides."""
        names = {n: line for n, line in self.free.items() if n not in defined}
        for name, line in self.deferred.items():
            if name not in self.stores and name not in defined:
                names.setdefault(name, line)
        return names


def block_flow(statements: list[ast.stmt], defined: set[str] | None = None) -> Flow[int]:
    """Walk statements in order, starting with ``defined`` already bound."""
    walker = _OrderedWalker(set(defined or ()))
    for statement in statements:
        walker.visit(statement)
    return Flow(free=walker.free, deferred=walker.deferred, stores=walker.bound - set(defined or ()))


class _OrderedWalker(ast.NodeVisitor):
    def __init__(self, bound: set[str]) -> None:
        self.bound = bound
        self.free: dict[str, int] = {}
        self.deferred: dict[str, int] = {}

    def _load(self, name: str, line: int) -> None:
        if name not in self.bound:
            self.free.setdefault(name, line)

    def _visit_all(self, nodes: list[ast.AST | None]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.bound.add(node.id)
        else:
            self._load(node.id, node.lineno)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._visit_all([node.value, *node.targets])

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._visit_all([node.value, node.annotation, node.target])

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._load(node.target.id, node.lineno)
        self._visit_all([node.value, node.target])

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._visit_all([node.value, node.target])

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._visit_all([node.iter, node.target, *node.body, *node.orelse])

    visit_AsyncFor = visit_For

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.bound.add(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._visit_all([node.type])
        if node.name:
            self.bound.add(node.name)
        self._visit_all(list(node.body))

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self._visit_all([node.pattern])
        if node.name:
            self.bound.add(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bound.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self._visit_all([*node.keys, *node.patterns])
        if node.rest:
            self.bound.add(node.rest)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_all([*node.decorator_list, *_defaults(node.args), *_annotations(node)])
        self.bound.add(node.name)
        self._defer(scope_free(node))

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_all(list(_defaults(node.args)))
        self._defer(scope_free(node))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_all([*node.decorator_list, *node.bases, *node.keywords])
        body = _OrderedWalker(set())
        for statement in node.body:
            body.visit(statement)
        for name, line in body.free.items():
            self._load(name, line)
        self._defer(body.deferred)
        self.bound.add(node.name)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        inner = _OrderedWalker(set(self.bound))
        for index, generator in enumerate(node.generators):
            (self if index == 0 else inner).visit(generator.iter)
            inner.visit(generator.target)
            inner._visit_all(list(generator.ifs))
        if isinstance(node, ast.DictComp):
            inner._visit_all([node.key, node.value])
        else:
            inner.visit(node.elt)
        for name, line in inner.free.items():
            self._load(name, line)
        self._defer(inner.deferred)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def _defer(self, names: dict[str, int]) -> None:
        for name, line in names.items():
            self.deferred.setdefault(name, line)


def scope_free(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef) -> dict[str, int]:
    """Global names a function (or class) body reads when it runs, in any order."""
    local: set[str] = set()
    declared_global: set[str] = set()
    loads: dict[str, int] = {}
    if not isinstance(node, ast.ClassDef):
        local.update(arg.arg for arg in _all_args(node.args))
    pending: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
    while pending:
        child = pending.pop()
        if isinstance(child, (*_FUNCTIONS, ast.ClassDef)):
            if not isinstance(child, ast.Lambda):
                local.add(child.name)
                pending.extend(child.decorator_list)
            if not isinstance(child, ast.ClassDef):
                pending.extend(_defaults(child.args))
            else:
                pending.extend([*child.bases, *child.keywords])
            for name, line in scope_free(child).items():
                loads.setdefault(name, line)
            continue
        if isinstance(child, (ast.Global, ast.Nonlocal)):
            declared_global.update(child.names)
        elif isinstance(child, ast.Name):
            if isinstance(child.ctx, ast.Store):
                local.add(child.id)
            else:
                loads.setdefault(child.id, child.lineno)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            local.update(a.asname or a.name.split(".")[0] for a in child.names if a.name != "*")
        elif (isinstance(child, ast.ExceptHandler) and child.name) or (
            isinstance(child, (ast.MatchAs, ast.MatchStar)) and child.name
        ):
            local.add(child.name)
        pending.extend(ast.iter_child_nodes(child))
    local -= declared_global
    return {name: line for name, line in loads.items() if name not in local}


def _all_args(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _defaults(args: ast.arguments) -> list[ast.expr]:
    return [*args.defaults, *(d for d in args.kw_defaults if d is not None)]


def _annotations(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    found = [a.annotation for a in _all_args(node.args) if a.annotation is not None]
    return [*found, *([node.returns] if node.returns else [])]
