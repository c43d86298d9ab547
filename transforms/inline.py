"""Local helpers: `f = lambda v: ...` and `def f(v): return ...` inside the differentiated
function are expanded at their call sites, so they see the enclosing function's current values
exactly as a Python closure does.

Only helpers whose body is a single `return` expression, with plain parameters, that are called
(never passed around, reassigned or recursive) are expanded; anything else is refused with a clear
error by `desugar.check_supported`.
"""

from __future__ import annotations

import ast
import copy

from s2s.errors import UnsupportedSyntaxError


class LocalHelper:
    """A local single-expression function: parameter names and the returned expression."""

    def __init__(self, name, params, body):
        self.name = name
        self.params = params
        self.body = body

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
        elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.Lambda):
            params = _plain_params(s.value.args)
            if params is not None:
                helper = LocalHelper(s.targets[0].id, params, s.value.body)
        if helper is None:
            kept.append(s)
            continue
        if helper.name in helpers:
            raise pf.error(UnsupportedSyntaxError, f"s2s cannot differentiate the local helper {helper.name!r} "
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
                raise pf.error(UnsupportedSyntaxError, f"s2s expands the local helper {helper.name!r} only when "
                               "it is called with one positional argument per parameter", node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in helpers and id(node) not in calls:
            raise pf.error(UnsupportedSyntaxError, f"s2s can only call the local helper {node.id!r}; here it is "
                           "used as a value or reassigned", node, hint="define it at module level instead")
    for helper in helpers.values():
        for node in ast.walk(helper.body):
            if isinstance(node, ast.Name) and node.id in helpers:
                raise pf.error(UnsupportedSyntaxError, "s2s cannot expand a local helper that calls a local helper "
                               "(or itself)", helper.node, hint="define the helpers at module level")
