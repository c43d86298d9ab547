"""Local functions with defaults and keyword-only parameters, called by their name only, made plain.

A def or lambda written in the differentiated function is expanded where it is called when its
parameters are plain (transforms/inline.py). One that also has defaults or keyword-only parameters
is made plain when every use of its name is a call of it: each call is written with one positional
argument per parameter, in the parameters' order, the defaults filled in; the def then loses its
defaults and its `*` marker:

    def inner(y, *, scale=2.0): ...        ->     def inner(y, scale): ...
    inner(x, scale=3.0) + inner(x)         ->     inner(x, 3.0) + inner(x, 2.0)

This is the same program only where

* every default is a value that cannot differ between the def and the call: a constant (`2.0`,
  `-1`, `"sum"`, `None`, a tuple of those), a module's attribute (`np.tanh`), a global the function
  does not bind holding a number, string, function, class or module (`eps=EPS`), or a local name the
  function binds only in statements before the def (`def g(z, w=w)` of a parameter `w` never
  rebound after it, `def g(z, f=act)` of a local def before it);
* the function's name is bound once in the function and used nowhere but as the callee of a call
  without `*args` or `**kw`, and no nested scope binds a name of that spelling;
* each call binds as Python binds it (no unknown keyword, no parameter given twice, none missing),
  and its keyword arguments come in the parameters' order or are free of effects (names,
  constants, attributes, arithmetic of those), so that Python evaluates the arguments in the same
  order.

Anything else is left as it is (and refused later with the message of transforms/desugar.py).
"""

from __future__ import annotations

import ast
import types

import numpy as np

from .walk import walk

__all__ = ["bind_local_calls", "why_not_plain"]

_UNKNOWN = object()  # (what a free name denotes where no resolver is given: nothing known)


def bind_local_calls(tree: ast.FunctionDef, resolve=lambda name: _UNKNOWN) -> list[str]:
    """Rewrite the calls of the local functions of `tree`'s own body that the module docstring allows to
    positional calls of plain parameters; returns the names of the functions made plain. `resolve(name)`:
    what a free name denotes (a module's attribute is a default that cannot change).

        >>> tree = ast.parse("def f(x):\\n    def g(y, *, s=2.0):\\n        return y * s\\n"
        ...                  "    return g(x) + g(x, s=3.0)").body[0]
        >>> bind_local_calls(tree)
        ['g']
        >>> print(ast.unparse(tree.body[1]))
        return g(x, 2.0) + g(x, 3.0)
    """
    made = []
    for index, stmt in enumerate(tree.body):
        found = _local_function(stmt)
        if found is None or not _needs_binding(found[1]):
            continue
        plan = _plan(tree, index, resolve)
        if isinstance(plan, str):
            continue
        name, args = found
        for call, arguments in plan:
            call.args, call.keywords = arguments, []
        args.args, args.kwonlyargs, args.defaults, args.kw_defaults = args.args + args.kwonlyargs, [], [], []
        made.append(name)
    return made


def why_not_plain(tree: ast.FunctionDef, stmt, resolve=lambda name: _UNKNOWN) -> str | None:
    """Why the local function `stmt` of `tree`'s body, which has defaults or keyword-only parameters, was not made
    plain (None: it has neither, or it was); `stmt` may be the lambda of `name = lambda ...`.

        >>> tree = ast.parse("def f(x):\\n    def g(y, s=2.0):\\n        return y * s\\n    h = g\\n"
        ...                  "    return h(x)").body[0]
        >>> why_not_plain(tree, tree.body[0])
        '`g` is used as a value (line 4), not only called by its name'
    """
    index = next((k for k, s in enumerate(tree.body) if s is stmt or getattr(s, "value", None) is stmt), None)
    found = None if index is None else _local_function(tree.body[index])
    if found is None or not _needs_binding(found[1]):
        return None
    plan = _plan(tree, index, resolve)
    return plan if isinstance(plan, str) else None


def _plan(tree, index, resolve):
    """[(call, its positional arguments)] for the local function at `tree.body[index]`, or why not (a str)."""
    stmt = tree.body[index]
    name, args = _local_function(stmt)
    unfixed = _unfixed_default(tree, index, args, resolve)
    if unfixed is not None:
        return (f"its default `{ast.unparse(unfixed)}` may not be the value a call would see (s2s writes the "
                "defaults into the calls where they are constants, a module's functions, or names bound only "
                "before the def)")
    calls = _calls_of(tree, name, stmt)
    if isinstance(calls, ast.Call):
        return f"its call `{ast.unparse(calls)}` (line {calls.lineno}) unpacks its arguments (`*` or `**`)"
    if isinstance(calls, ast.AST):
        return f"`{name}` is used as a value (line {calls.lineno}), not only called by its name"
    plan = []
    for call in calls:
        bound = _bound_arguments(call, args)
        if bound is None:
            return (f"its call `{ast.unparse(call)}` (line {call.lineno}) gives keyword arguments out of the "
                    "parameters' order with calls in them (Python evaluates them as written), or does not bind")
        plan.append((call, bound))
    return plan


def _local_function(stmt):
    """(name, arguments) of `def name(...)` (not decorated) or `name = lambda ...:`, else None."""
    if isinstance(stmt, ast.FunctionDef) and not stmt.decorator_list:
        return stmt.name, stmt.args
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
            and isinstance(stmt.value, ast.Lambda):
        return stmt.targets[0].id, stmt.value.args
    return None


def _needs_binding(args: ast.arguments) -> bool:
    return not (args.vararg or args.kwarg or args.posonlyargs) and bool(args.defaults or args.kwonlyargs)


def _unfixed_default(tree, index, args, resolve):
    """The first default of `args` that a call of the function might not see as its def does, else None."""
    before = {n.id for s in tree.body[:index] for n in walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    before |= {s.name for s in tree.body[:index] if isinstance(s, ast.FunctionDef)}  # (`def g(z, f=act)`)
    after = {n.id for s in tree.body[index:] for n in walk(s) if isinstance(n, ast.Name)
             and not isinstance(n.ctx, ast.Load)}
    after |= {n.arg for n in walk(tree) if isinstance(n, ast.arg)} - {a.arg for a in _own_args(tree)}  # (nested scopes')
    params = {a.arg for a in _own_args(tree)}

    def fixed(node) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return isinstance(node.operand, ast.Constant)
        if isinstance(node, ast.Tuple):
            return all(fixed(e) for e in node.elts)
        if isinstance(node, ast.Name):
            if node.id in params | before | after:
                return (node.id in params or node.id in before) and node.id not in after
            return _fixed_global(resolve(node.id))  # (`eps=EPS` of a module's constant)
        if isinstance(node, ast.Attribute):  # (`np.tanh`: a module's attribute, where the function binds no `np`)
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            return isinstance(root, ast.Name) and root.id not in params | before | after \
                and isinstance(resolve(root.id), types.ModuleType)
        return False
    return next((d for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)] if not fixed(d)), None)


_FIXED_KINDS = (int, float, complex, bool, str, bytes, type(None), np.generic, types.ModuleType, types.FunctionType,
                types.BuiltinFunctionType, type, np.ufunc)


def _fixed_global(value) -> bool:
    """Whether a global's value is one a call reads as the def did: a number, string, None, a tuple of those, a
    module, function or class (the function cannot rebind the global; a derivative made from it is made again
    once the module binds another value there)."""
    if isinstance(value, tuple):
        return all(_fixed_global(v) for v in value)
    return isinstance(value, _FIXED_KINDS)


def _own_args(fdef) -> list:
    a = fdef.args
    return a.posonlyargs + a.args + a.kwonlyargs + [v for v in (a.vararg, a.kwarg) if v is not None]


def _calls_of(tree, name, stmt):
    """The calls of `name` in `tree` where every other use of the name is its one binding `stmt`, else the node of
    the first other use."""
    calls, callees = [], set()
    for node in walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                return node
            calls.append(node)
            callees.add(id(node.func))
    for node in walk(tree):
        if node is stmt or node is tree:
            continue
        if isinstance(node, ast.Name) and node.id == name and id(node) not in callees \
                and not (isinstance(stmt, ast.Assign) and node is stmt.targets[0]):
            return node  # (used as a value, or bound again)
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name \
                or isinstance(node, ast.arg) and node.arg == name \
                or isinstance(node, ast.Global | ast.Nonlocal) and name in node.names:
            return node  # (a nested scope's own name of that spelling)
    return calls


_PURE = (ast.Name, ast.Constant, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.Tuple, ast.operator, ast.unaryop,
         ast.expr_context)


def _free_of_effects(node) -> bool:
    return all(isinstance(n, _PURE) for n in ast.walk(node))


def _bound_arguments(call: ast.Call, args: ast.arguments):
    """The positional arguments of `call` for the plain parameters `args` becomes, or None where the call would
    not bind (Python's TypeError is then the call's own) or would evaluate its arguments in another order."""
    positional = [a.arg for a in args.args]
    keyword_only = [a.arg for a in args.kwonlyargs]
    order = positional + keyword_only
    if len(call.args) > len(positional):
        return None
    given = dict(zip(positional, call.args))
    for k in call.keywords:
        if k.arg not in order or k.arg in given:
            return None
        given[k.arg] = k.value
    written = [order.index(k.arg) for k in call.keywords]
    if written != sorted(written) and not all(_free_of_effects(k.value) for k in call.keywords):
        return None
    defaults = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    defaults.update({a: d for a, d in zip(keyword_only, args.kw_defaults) if d is not None})
    if any(p not in given and p not in defaults for p in order):
        return None
    return [given[p] if p in given else _copied(defaults[p]) for p in order]


def _copied(node):
    import copy
    return ast.copy_location(copy.deepcopy(node), node)
