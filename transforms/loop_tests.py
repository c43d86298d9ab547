"""A `while` loop's test written in its header again, where the lowering gave it a name of its own.

The lowering computes a `while` loop's condition into a name before the loop and again at the end of each
trip; once the optimizer has folded the condition back into one expression, the name costs a store and a
load per trip and says nothing:

    cond = abs(dx) > tol * abs(x)              while abs(dx) > tol * abs(x):
    while cond:                        ->          dx = ...
        dx = ...                                   x = x - dx
        x = x - dx
        cond = abs(dx) > tol * abs(x)

Done where the two assignments are the only bindings of the name, the first right before the loop and the
second the last statement of its body, both of the same expression, the loop's test is the name's only read,
and no `continue` skips the second: the expression is then evaluated at exactly the points it was, as many times.
"""

from __future__ import annotations

import ast

from .names import loaded_names, name_counts
from .tape import idle
from .walk import fix_locations, statement_lists, walk


def _assigns(s, name) -> ast.expr | None:
    """The value of `s` where it is `name = value`, else None."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
            and s.targets[0].id == name:
        return s.value
    return None


def _binds_a_constant(s) -> str | None:
    """The name `s` binds where it is `name = <literal>` or `name = []`, else None."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
            and (isinstance(s.value, ast.Constant) or isinstance(s.value, ast.List) and not s.value.elts):
        return s.targets[0].id
    return None


def inline_loop_tests(fdef: ast.FunctionDef) -> bool:
    """Write each such `while` loop's test in its header (see the module's docstring); whether anything changed.

        >>> fdef = ast.parse("def f(x):\\n    c = x > 1.0\\n    while c:\\n        x = x / 2.0\\n        c = x > 1.0\\n"
        ...                  "    return x").body[0]
        >>> inline_loop_tests(fdef)
        True
        >>> print(ast.unparse(fdef))
        def f(x):
            while x > 1.0:
                x = x / 2.0
            return x
    """
    loads, stores = name_counts(fdef)
    changed = False
    for stmts in statement_lists(fdef):
        k = 1
        while k < len(stmts):
            loop = stmts[k]
            if isinstance(loop, ast.While) and isinstance(loop.test, ast.Name) and not loop.orelse and loop.body:
                name = loop.test.id
                at = k - 1  # (past `trips = 0` and `saved = []`: bindings of constants the test does not read)
                while at > 0 and _binds_a_constant(stmts[at]) not in (None, name):
                    at -= 1
                between = {_binds_a_constant(s) for s in stmts[at + 1:k]}
                before, last = _assigns(stmts[at], name), _assigns(loop.body[-1], name)
                if before is not None and last is not None and ast.dump(before) == ast.dump(last) \
                        and between.isdisjoint(loaded_names(before)) \
                        and loads.get(name) == 1 and stores.get(name) == 2 and not idle(loop.body[:-1]) \
                        and not any(isinstance(n, ast.Continue) for n in walk(loop)):
                    loop.test = before
                    loop.body.pop()
                    del stmts[at]
                    changed = True
                    continue
            k += 1
    if changed:
        fix_locations(fdef)
    return changed
