"""A tuple read only by its items is its items; a name bound once to another name is that name.

A module helper expanded in its caller (transforms/adopt.py) that returns `h, hiddens` leaves

    forward_with_hidden_result = (h2, hiddens2)          out = h2
    out = forward_with_hidden_result[0]          ->      (hiddens2 named hiddens from its first binding on)
    hiddens = forward_with_hidden_result[1]

The tuple is one more object holding the list, and `hiddens` one more name for it: the shape pass
then cannot follow the list's appends (transforms/shapes.py, `_appended_lists`), and a loop over it
has no shapes. In the lowered primal of code specialised to a call, where it is certainly the same
program:

- a tuple display of names that an expanded helper returned, bound once at the top level and read
  only as `t[k]` of int literals in range by later statements, whose names are bound nowhere after
  it: each read is that name, and the tuple is not made (it has no effect of its own);
- `a = b` at the top level, `b` a name of the helper's own (your names stay as you wrote them), `a`
  bound nowhere else and read nowhere before it, `b` not a parameter and bound nowhere after it: `b`
  is named `a` throughout, and the copy goes (both denote one object from there on, and before it `a`
  is not read).

Neither where the function holds a nested function, lambda, comprehension, `global`, `nonlocal` or
`del`.
"""

from __future__ import annotations

import ast

from . import annotations
from .context import ctx
from .walk import binding_counts, replace_nodes, walk_with_tests

__all__ = ["inline_tuple_items"]

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp, ast.Global, ast.Nonlocal, ast.Delete, ast.ClassDef)


def inline_tuple_items(fdef: ast.FunctionDef, tuples: frozenset, renamable: frozenset) -> bool:
    """Rewrite as the module docstring says, for the tuples bound to names of `tuples` (the names expanded
    helpers' results are bound to) and the copies of names of `renamable` (an expanded helper's own: your
    own names stay as you wrote them); returns whether anything changed.

        >>> # r = (h2, L2); out = r[0]; L = r[1]; ...L...     ->     out = h2; ...L... (L2 named L)
    """
    if not tuples or any(isinstance(n, _SCOPES) for n in walk_with_tests(fdef) if n is not fdef):
        return False
    changed = False
    while _one_tuple(fdef, tuples) or _one_copy(fdef, renamable):
        changed = True
    return changed


def _one_tuple(fdef, tuples) -> bool:
    body = fdef.body
    everywhere = binding_counts(body)
    for i, s in enumerate(body):
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and s.targets[0].id in tuples and isinstance(s.value, ast.Tuple)
                and all(isinstance(e, ast.Name) for e in s.value.elts) and everywhere.get(s.targets[0].id) == 1):
            continue
        name, items = s.targets[0].id, [e.id for e in s.value.elts]
        later, after = body[i + 1:], binding_counts(body[i + 1:])
        if any(after.get(e) for e in items) or any(isinstance(n, ast.Name) and n.id == name
                                                   for t in body[:i] for n in walk_with_tests(t)):
            continue
        if _drop_count_checks(body, i + 1, name, len(items)):
            return True
        reads = [n for t in later for n in walk_with_tests(t) if isinstance(n, ast.Name) and n.id == name]
        items_read = [n for t in later for n in walk_with_tests(t) if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)
                      and n.value.id == name]
        if len(reads) != len(items_read) or not all(
                isinstance(n.ctx, ast.Load) and isinstance(n.slice, ast.Constant) and type(n.slice.value) is int
                and -len(items) <= n.slice.value < len(items) for n in items_read):
            continue
        by_id = {id(n): items[n.slice.value] for n in items_read}
        for t in later:
            replace_nodes(t, lambda n: ast.Name(id=by_id[id(n)], ctx=ast.Load()) if id(n) in by_id else None)
        del body[i]
        return True
    return False


def _drop_count_checks(body, start, name, count) -> bool:
    """Delete each `s2s.unpack_count(name, k, starred)` in `body[start:]` (the check lowering writes before `a, b = r`
    reads r's items) that the display of `count` names bound once to `name` certainly passes: k is `count`, or
    at most `count` with a starred target. Returns whether one went (the tuple is then read by its items only)."""
    check = getattr(ctx().runtime, "unpack_count", None)

    def passes(s):
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and check is not None
                and annotations.get(s.value.func, annotations.RESOLVED, None) is check and len(s.value.args) == 3
                and not s.value.keywords and isinstance(s.value.args[0], ast.Name) and s.value.args[0].id == name):
            return False
        k, starred = s.value.args[1], s.value.args[2]
        return isinstance(k, ast.Constant) and type(k.value) is int and isinstance(starred, ast.Constant) \
            and (k.value == count if starred.value is False else starred.value is True and k.value <= count)

    dropped = False
    for block in [getattr(n, f) for t in body[start:] for n in walk_with_tests(t)
                  for f in ("body", "orelse", "finalbody") if isinstance(getattr(n, f, None), list)]:
        kept = [s for s in block if not passes(s)]
        if len(kept) != len(block):
            block[:] = kept or [ast.Pass()]
            dropped = True
    kept = body[:start] + [s for s in body[start:] if not passes(s)]
    if len(kept) != len(body):
        body[:] = kept
        dropped = True
    return dropped


def _one_copy(fdef, renamable) -> bool:
    body = fdef.body
    params = {a.arg for a in walk_with_tests(fdef.args) if isinstance(a, ast.arg)}
    everywhere = binding_counts(body)
    for j, s in enumerate(body):
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and isinstance(s.value, ast.Name)):
            continue
        a, b = s.targets[0].id, s.value.id
        if a == b or a in params or b in params or b not in renamable or everywhere.get(a) != 1 \
                or binding_counts(body[j + 1:]).get(b) or not everywhere.get(b):
            continue
        if any(isinstance(n, ast.Name) and n.id == a for t in body[:j] for n in walk_with_tests(t)):
            continue
        for t in body:
            for n in walk_with_tests(t):
                if isinstance(n, ast.Name) and n.id == b:
                    n.id = a
        del body[j]
        return True
    return False
