"""Local helpers: lambdas and `def`s written inside the differentiated function are expanded
at their call sites, so they see the enclosing function's current values exactly as a Python
closure does.

* `f = lambda v: ...` and `def f(v): return ...` are expanded inside expressions (`lower` does it).
* A `def` with several statements is expanded where it is called on its own line
  (`y = f(a)`, `f(a)`, `return f(a)`): its parameters and locals get fresh names and its body runs
  inside a one-trip `while True:` loop whose `break` stands for `return`.

Helpers must have plain parameters and be called, never passed around, reassigned or recursive;
anything else is refused with a clear error.
"""

from __future__ import annotations

import ast
import copy

from .context import ctx


class LocalHelper:
    """A local function: parameter names and either the returned expression (`body`) or the
    statements of a longer function (`statements`)."""

    def __init__(self, name, params, body, statements=None):
        self.name = name
        self.params = params
        self.body = body
        self.statements = statements

    def expand(self, args: list[ast.expr]) -> ast.expr:
        """The body with each parameter replaced by the matching argument (atoms)."""
        mapping = dict(zip(self.params, args))

        class Sub(ast.NodeTransformer):
            def visit_Name(self, node):
                if node.id in mapping and isinstance(node.ctx, ast.Load):
                    return copy.deepcopy(mapping[node.id])
                return node

        return Sub().visit(copy.deepcopy(self.body))


def _single_return(fn):
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        return body[0].value
    return None


def _plain_params(args: ast.arguments):
    if args.vararg or args.kwarg or args.kwonlyargs or args.defaults or args.posonlyargs:
        return None
    return [a.arg for a in args.args]


def extract_local_helpers(pf, tree: ast.FunctionDef) -> dict[str, LocalHelper]:
    """Remove expandable local helpers from `tree.body` and return them by name."""
    helpers = {}
    kept = []
    for s in tree.body:
        helper = None
        if isinstance(s, ast.FunctionDef) and not s.decorator_list:
            body, params = _single_return(s), _plain_params(s.args)
            if body is not None and params is not None:
                helper = LocalHelper(s.name, params, body)
            elif params is not None and _expandable_statements(s):
                helper = LocalHelper(s.name, params, None, s.body)
        elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.Lambda):
            params = _plain_params(s.value.args)
            if params is not None:
                helper = LocalHelper(s.targets[0].id, params, s.value.body)
        if helper is None:
            kept.append(s)
            continue
        if helper.name in helpers:
            raise pf.error(ctx().unsupported, f"s2s cannot differentiate the local helper {helper.name!r} "
                           "defined twice", s, hint="give each helper its own name")
        helpers[helper.name] = helper
        helpers[helper.name].node = s
    tree.body = kept
    _check_uses(pf, tree, helpers)
    return helpers


def _check_uses(pf, tree, helpers):
    calls = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
            calls.add(id(node.func))
            helper = helpers[node.func.id]
            if node.keywords or len(node.args) != len(helper.params) or \
                    any(isinstance(a, ast.Starred) for a in node.args):
                raise pf.error(ctx().unsupported, f"s2s expands the local helper {helper.name!r} only when "
                               "it is called with one positional argument per parameter", node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in helpers and id(node) not in calls:
            raise pf.error(ctx().unsupported, f"s2s can only call the local helper {node.id!r}; here it is "
                           "used as a value or reassigned", node, hint="define it at module level instead")
    for helper in helpers.values():
        for node in ast.walk(helper.body if helper.body is not None else ast.Module(body=helper.statements)):
            if isinstance(node, ast.Name) and node.id in helpers:
                raise pf.error(ctx().unsupported, "s2s cannot expand a local helper that calls a local helper "
                               "(or itself)", helper.node, hint="define the helpers at module level")


def _expandable_statements(fn: ast.FunctionDef) -> bool:
    """No nested functions, no global/nonlocal, and no `return` inside a loop of the helper."""
    for node in ast.walk(fn):
        if node is not fn and isinstance(node, ast.FunctionDef | ast.Lambda | ast.Global | ast.Nonlocal |
                                         ast.Yield | ast.YieldFrom):
            return False
    for loop in (n for n in ast.walk(fn) if isinstance(n, ast.For | ast.While)):
        if any(isinstance(n, ast.Return) for n in ast.walk(loop)):
            return False
    return True


class _Expander(ast.NodeTransformer):
    """Replaces statement-level calls of multi-statement local helpers by their bodies."""

    def __init__(self, pf, helpers, alloc):
        self.pf = pf
        self.helpers = {k: h for k, h in helpers.items() if h.statements is not None}
        self.alloc = alloc

    def _helper_call(self, value):
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in self.helpers:
            return self.helpers[value.func.id]
        return None

    def visit_Assign(self, node):
        helper = self._helper_call(node.value)
        if helper is None or len(node.targets) != 1:
            return node
        result, stmts = self.expand(helper, node.value, node)
        return stmts + [ast.copy_location(ast.Assign(targets=node.targets, value=ast.Name(id=result, ctx=ast.Load())),
                                          node)]

    def visit_Expr(self, node):
        helper = self._helper_call(node.value)
        if helper is None:
            return node
        return self.expand(helper, node.value, node)[1]

    def visit_Return(self, node):
        helper = self._helper_call(node.value)
        if helper is None:
            return node
        result, stmts = self.expand(helper, node.value, node)
        return stmts + [ast.copy_location(ast.Return(value=ast.Name(id=result, ctx=ast.Load())), node)]

    def expand(self, helper, call, where):
        """Statements running the helper's body on the call's arguments; the name holding its result."""
        assigned = {n.id for s in helper.statements for n in ast.walk(s)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        renames = {p: self.alloc.fresh(p) for p in helper.params}
        renames.update({n: self.alloc.fresh(n) for n in sorted(assigned) if n not in renames})
        result = self.alloc.fresh(f"{helper.name}_result")
        body = []
        for s in helper.statements:
            new = _Rename(renames, result).visit(copy.deepcopy(s))
            body.extend(new if isinstance(new, list) else [new])
        body = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        body.append(ast.Break())
        stmts = [ast.Assign(targets=[ast.Name(id=renames[p], ctx=ast.Store())], value=a)
                 for p, a in zip(helper.params, call.args)]
        stmts.append(ast.Assign(targets=[ast.Name(id=result, ctx=ast.Store())], value=ast.Constant(None)))
        stmts.append(ast.While(test=ast.Constant(True), body=body, orelse=[]))
        for s in stmts:
            ast.copy_location(s, where)
            ast.fix_missing_locations(s)
        return result, stmts


class _Rename(ast.NodeTransformer):
    def __init__(self, renames, result):
        self.renames = renames
        self.result = result

    def visit_Name(self, node):
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node

    def visit_Return(self, node):
        self.generic_visit(node)
        value = node.value or ast.Constant(None)
        out = [ast.Assign(targets=[ast.Name(id=self.result, ctx=ast.Store())], value=value), ast.Break()]
        return [ast.copy_location(s, node) for s in out]


def expand_statement_helpers(pf, tree: ast.FunctionDef, helpers: dict, alloc) -> None:
    """Expand the multi-statement helpers where they are called on their own line."""
    if not any(h.statements is not None for h in helpers.values()):
        return
    _Expander(pf, helpers, alloc).visit(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers \
                and helpers[node.func.id].statements is not None:
            raise pf.error(ctx().unsupported, f"s2s expands the local function {node.func.id!r} only where "
                           "it is called on its own line", node,
                           hint=f"write `y = {node.func.id}(...)` as a statement of its own, then use y")
    ast.fix_missing_locations(tree)
