"""Named expressions (`name := value`) as the assignments they are.

Python evaluates `(s := np.sum(x ** 2)) > 1.0` by computing the value, binding `s` and going on with it. Where
nothing of the statement is computed before the named expression (names and literals read, the target not
among them) and it is evaluated once, unconditionally, the assignment goes before the statement:

    if (s := np.sum(x ** 2)) > 1.0:         s = np.sum(x ** 2)
        return s * 2                  ->    if s > 1.0:
                                                return s * 2

Elsewhere (in a `while` test, which runs again each trip; behind `and`, `or`, `if ... else`, in a
comprehension or a lambda; after a call or an operation of the same statement) it is refused with the hint
to write the assignment itself.
"""

from __future__ import annotations

import ast
import copy

from .context import ctx
from .evaluation_order import CONDITIONAL, evaluated_before, header, path_to, replace_node
from .names import load, store
from .walk import fix_locations, rewrite_statements_one_at_a_time, walk


def write_named_expressions(pf, tree: ast.FunctionDef) -> None:
    """Write each `name := value` of `tree` as an assignment before its statement (the module docstring).

        >>> # if (n := len(x)) > 2: ...  ->  n = len(x); if n > 2: ...
    """
    if not any(isinstance(n, ast.NamedExpr) for n in walk(tree)):
        return
    # (one at a time, the innermost first where they nest)
    rewrite_statements_one_at_a_time(tree, lambda stmt: _first_named(pf, stmt),
                                     lambda stmt, named: [_assignment(pf, stmt, named), stmt])
    fix_locations(tree)


def _first_named(pf, stmt):
    """The named expression the statement itself evaluates first (not its blocks'; of nested ones the innermost),
    else None."""
    found = [n for part in header(stmt) for n in walk(part) if isinstance(n, ast.NamedExpr)]
    inner = [n for n in found if not any(isinstance(m, ast.NamedExpr) for m in walk(n.value))]
    for named in inner:  # (the one none of the others is evaluated before: `(a := f(x)) * 2 + (b := g(x))`'s a)
        before = evaluated_before(pf, stmt, header(stmt), named, names=True) or []
        if not any(m is other for b in before for m in walk(b) for other in inner if other is not named):
            return named
    return inner[0] if inner else None


def _assignment(pf, stmt, named: ast.NamedExpr) -> ast.Assign:
    """`name = value` for the statement's named expression, which becomes `name` in it; refused where the
    assignment cannot go before the statement."""
    parts = header(stmt)
    path = path_to(parts, named)
    before = None if path is None else evaluated_before(pf, stmt, parts, named, names=True)
    name = named.target.id
    conditional = path is not None and any(isinstance(n, CONDITIONAL) or isinstance(n, ast.Compare)
                                           and len(n.ops) > 1 for n in path[:-1])
    if isinstance(stmt, ast.While) or path is None or before is None or conditional \
            or any(not isinstance(n, ast.Name) or n.id == name for n in before):
        raise pf.error(ctx().unsupported, "s2s differentiates `name := value` where it can write the assignment "
                       "before the statement: evaluated once, unconditionally, with nothing but other names read "
                       "before it in that statement", named, hint=_hint(stmt, named, conditional, before, path))
    replace_node(stmt, named, load(name))
    return ast.copy_location(ast.Assign(targets=[store(name)], value=named.value), stmt)


def _hint(stmt, named, conditional, before, path=None) -> str:
    name, value = named.target.id, ast.unparse(named.value)
    lam = next((n for n in reversed(path or []) if isinstance(n, ast.Lambda)), None)
    if lam is not None:
        called = stmt.targets[0].id if isinstance(stmt, ast.Assign) and stmt.value is lam and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name) else "helper"
        body = ast.unparse(_replaced(lam.body, named, name))
        return (f"write the lambda as a local function whose body assigns first: `def {called}"
                f"({ast.unparse(lam.args)}):` with `{name} = {value}` and `return {body}` on lines of their own")
    if isinstance(stmt, ast.While):
        test = ast.unparse(_replaced(stmt.test, named, name))
        return (f"rewrite the loop as `while True:` whose body starts with `{name} = {value}` and "
                f"`if not ({test}): break`")
    if conditional:
        return (f"rewrite the condition or comprehension as `if` statements or a `for` loop, with `{name} = "
                f"{value}` on a line of its own where it is computed")
    if before and any(isinstance(n, ast.Name) and n.id == name for n in before):
        return (f"assign the new value to another name first, `{name}_new = {value}`, use `{name}_new` where "
                f"the `:=` was, and assign `{name} = {name}_new` after the statement")
    return (f"assign it first, `{name} = {value}` on a line of its own, if what the statement computes before it "
            "does not change it; else split the statement")


def _replaced(expr, named, name):
    """A copy of `expr` with the named expression `named` read as `name`."""
    expr = copy.deepcopy(expr)
    for node in walk(expr):
        for field, child in ast.iter_fields(node):
            if isinstance(child, ast.NamedExpr) and ast.dump(child) == ast.dump(named):
                setattr(node, field, load(name))
    return load(name) if isinstance(expr, ast.NamedExpr) else expr
