"""The records generated code reads at run time, kept with the function that reads them.

Where s2s cannot decide when it transforms whether an in-place update is seen through another name
(`s2s.unshared`, transforms/ownership.py) or whether a function value a checkpointed loop calls has
effects (`s2s.effect_free`, transforms/loops.py), the check runs with the code and raises the error
s2s wrote for it at the user's line. That error is a record (the keyword arguments of the error:
message, filename, lineno, col, line, hint...), which the check is passed under a name of its own:

    y = s2s.unshared(y + 2.0, site, False, y, x)

The records are a node fact on the function (`annotations.REFUSALS`: name -> record); the pipeline
binds each name to its record in the generated function's closure, so a record belongs to the code
that raises it and nothing is kept for the process. The same record twice gets the same name.

Two other kinds of record go the same way: where a call through a function value is in the user's
code (`s2s.call_vjp(f, site, (0,), x)`: filename, lineno, col, line and the call's text, for the
errors such a call raises when it runs; transforms/reverse.py), and the code of a local def or
lambda passed as a value (`g = s2s.local_function(g_code, (w, b))`: a runtime.LocalCode naming the
user's function, the local function's name and line; transforms/inline.py). Passes that are handed
no allocator (reverse's call sites) take the one the pipeline recorded on the tree (`names`).
"""

from __future__ import annotations

import ast

from . import annotations
from .names import NameAllocator, load


def site(pf, alloc: NameAllocator | None, record, base: str = "site") -> ast.Name:
    """The name generated code passes `record` under (recorded on `pf.tree` for the pipeline to bind), a
    fresh one from `alloc` (None: the allocator `names` recorded on the tree) starting with `base`.

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
    alloc = alloc or _allocator(pf.tree, known)
    name = alloc.fresh(base)
    while name in pf.globals:  # (a global of the user's module by that name would be read for it meanwhile)
        name = alloc.fresh(base)
    known[name] = record
    return load(name)


def sites(tree: ast.FunctionDef) -> dict:
    """The records the checks in `tree` raise, by the name each is passed under."""
    return dict(annotations.get(tree, annotations.REFUSALS) or {})


def names(tree: ast.FunctionDef, alloc: NameAllocator) -> None:
    """Record `alloc`, the allocator of the transform of `tree`, for passes that `site` is called from
    without one (the pipeline does it before the first pass)."""
    annotations.put(tree, annotations.NAMES, alloc)


def _allocator(tree, known) -> NameAllocator:
    alloc = annotations.get(tree, annotations.NAMES)
    if alloc is None:  # a pass run on its own, outside the pipeline
        from .names import names_in
        alloc = NameAllocator(names_in(tree) | set(known))
        annotations.put(tree, annotations.NAMES, alloc)
    return alloc
