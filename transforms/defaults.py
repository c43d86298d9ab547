"""Int parameters a call leaves to their defaults read as those ints.

`def minibatch_loss(params, X, y, batch=3)` called as `minibatch_loss(params, X, y)` runs with
`batch` 3, and its code is made for such calls only (the call's key holds how many arguments it
passes, s2s/api.py; the code is fresh only while `__defaults__` is the same tuple, s2s/cache.py).
There each read of `batch` is the literal 3, so that `range(0, n, batch)` has a known number of
trips, and the shapes of its slices are known (transforms/unroll.py, transforms/shapes.py):

    for start in range(0, 7, batch):     ->     for start in range(0, 7, 3):

Only where the function never binds the name again (no assignment, loop target, `del`, `global`, nor a
`def`, `class`, `import`, `except ... as` or `case` of that name), and no function or lambda inside it
has a parameter of that name.
"""

from __future__ import annotations

import ast

from .simplify import fold_identity_test
from .walk import replace_nodes, walk_with_tests

__all__ = ["read_fixed_params"]


def read_fixed_params(fdef: ast.FunctionDef, values: dict, free: bool = False) -> bool:
    """Replace the reads of each parameter of `values` (name -> int) by its int where the module
    docstring allows (with `free`: of each name the function reads and binds nowhere, a global or closure int
    the derivative is made for); returns whether any was.

        >>> # def f(x, n=3): return np.sum(x[:n])    ->    return np.sum(x[:3])   (f called as f(x))
    """
    params = {a.arg for a in fdef.args.args + fdef.args.posonlyargs}
    shadowed = set()
    for node in walk_with_tests(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            shadowed.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            shadowed.update(node.names)
        elif isinstance(node, ast.alias):  # import ... as n
            shadowed.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is not fdef \
                or isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            shadowed.add(node.name)  # def n(...), class n, except E as n, case n: names bound by a string
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and node is not fdef:
            a = node.args
            shadowed.update(x.arg for x in a.args + a.posonlyargs + a.kwonlyargs + [a.vararg, a.kwarg] if x)
    fixed = {name: value for name, value in values.items()
             if (name not in params if free else name in params) and name not in shadowed and type(value) is int}
    if not replace_nodes(fdef, lambda n: ast.Constant(fixed[n.id]) if isinstance(n, ast.Name)
                         and isinstance(n.ctx, ast.Load) and n.id in fixed else None):
        return False
    replace_nodes(fdef, fold_identity_test)  # (`axis is None` read as `-1 is None`: its value)
    return True

