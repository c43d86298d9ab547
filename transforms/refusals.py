"""The errors run-time checks in generated code raise, kept with the function that makes the checks.

Where s2s cannot decide when it transforms whether an in-place update is seen through another name
(`s2s.unshared`, transforms/ownership.py) or whether a function value a checkpointed loop calls has
effects (`s2s.effect_free`, transforms/loops.py), the check runs with the code and raises the error
s2s wrote for it at the user's line. That error is a record (the keyword arguments of the error:
message, filename, lineno, col, line, hint...), which the check is passed under a name of its own:

    y = s2s.unshared(y + 2.0, site, False, y, x)

The records are a node fact on the function (`annotations.REFUSALS`: name -> record); the pipeline
binds each name to its record in the generated function's closure, so a record belongs to the code
that raises it and nothing is kept for the process. The same record twice gets the same name.
"""

from __future__ import annotations

import ast

from . import annotations
from .names import NameAllocator, load


def site(pf, alloc: NameAllocator, record: dict) -> ast.Name:
    """The name generated code passes `record` under (recorded on `pf.tree` for the pipeline to bind).

        >>> tree = ast.parse("def f(y, x): pass").body[0]
        >>> pf = type("Parsed", (), {"tree": tree, "globals": {}})()
        >>> alloc = NameAllocator({"f", "y", "x"})
        >>> site(pf, alloc, {"message": "m"}).id, site(pf, alloc, {"message": "m"}).id, sites(tree)
        ('site', 'site', {'site': {'message': 'm'}})
    """
    known = annotations.get(pf.tree, annotations.REFUSALS)
    if known is None:
        known = {}
        annotations.put(pf.tree, annotations.REFUSALS, known)
    for name, other in known.items():
        if other == record:
            return load(name)
    name = alloc.fresh("site")
    while name in pf.globals:  # (a global of the user's module by that name would be read for it meanwhile)
        name = alloc.fresh("site")
    known[name] = record
    return load(name)


def sites(tree: ast.FunctionDef) -> dict:
    """The records the checks in `tree` raise, by the name each is passed under."""
    return dict(annotations.get(tree, annotations.REFUSALS) or {})
