"""Loops over a short list or tuple display of the function's parameters written out, one copy of the body per item.

    layers = [l1, l2]                      W, b = l1
    for W, b in layers:           ->       h = np.tanh(h @ W + b)
        h = np.tanh(h @ W + b)             W, b = l2
                                           h = np.tanh(h @ W + b)

A loop over a sequence is lowered to a loop over its items by index, and a list made in the function hides
its items' structure from the shapes: layers of different sizes then give the loop's names no one shape,
and the whole loop keeps the general code and a tape. Passed as one argument, the same list is written out
by transforms/unroll.py; made in the function from the parameters, it is written out here, before any other
pass reads the loop.

Done only where the copies certainly run what the loop runs:

- the loop is `for T in [a, b, ...]` (or a tuple), or `for T in L` of a name `L` the function binds once, at
  its top level, to such a display and reads nowhere but as the iterable of loops written out here;
- each item is a number literal or a parameter the function never binds again, so that each copy's `T = a`
  reads the object the display held (a global or closure name may be bound again by a function the body calls);
- a named display's loops come after its binding (one before it reads the name unbound, as Python raises);
- the target is names (`W`, `W, b`, nested tuples of names), the loop has no `else`, and its body no `break`,
  `continue`, `return`, `yield`, `global`/`nonlocal`, nested function, lambda or class;
- at most MAX_ITEMS items, and the copies at most MAX_STATEMENTS statements.

Each copy starts with `T = item` at the loop's line; a display of no items leaves nothing.
"""

from __future__ import annotations

import ast
import copy

from .walk import binding_counts, fix_locations, rewrite_statements, walk

MAX_ITEMS = 8
MAX_STATEMENTS = 200

_BARRED = (ast.Break, ast.Continue, ast.Return, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal, ast.FunctionDef,
           ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Await)


def write_out_display_loops(fdef: ast.FunctionDef) -> bool:
    """Write out the loops the module docstring allows; returns whether any was.

        >>> f = ast.parse("def f(a, b):\\n    for x in (a, b):\\n        s = x * 2").body[0]
        >>> write_out_display_loops(f), ast.unparse(f).splitlines()[1:]
        (True, ['    x = a', '    s = x * 2', '    x = b', '    s = x * 2'])
    """
    counts = binding_counts(fdef.body)
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    named = _named_displays(fdef, counts, params)
    changed = False

    def written_out(stmt):
        nonlocal changed
        copies = _written_out(stmt, named, counts, params)
        changed = changed or copies is not None
        return [stmt] if copies is None else copies

    rewrite_statements(fdef, written_out)
    if changed:
        read = {n.id for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        fdef.body = [s for s in fdef.body if not any(s is stmt and name not in read
                                                    for name, (stmt, _) in named.items())]
        fix_locations(fdef)
    return changed


def _named_displays(fdef, counts, params) -> dict:
    """name -> (its binding, the display) for the names the function binds once, at its top level, to a short
    display of items `_item` allows, and reads only as the iterable of loops (each one `_written_out` takes)."""
    found = {}
    for stmt in fdef.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and _display(stmt.value, counts, params) and counts.get(stmt.targets[0].id) == 1 \
                and stmt.targets[0].id not in params:
            found[stmt.targets[0].id] = (stmt, stmt.value)
    if not found:
        return found
    iterables = {id(n.iter) for n in walk(fdef) if isinstance(n, ast.For)}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and n.id in found and isinstance(n.ctx, ast.Load) and id(n) not in iterables:
            del found[n.id]  # (read otherwise: the list may be seen, changed or kept)
    at = {name: fdef.body.index(stmt) for name, (stmt, _) in found.items()}
    for k, top in enumerate(fdef.body):
        for loop in walk(top):
            if not (isinstance(loop, ast.For) and isinstance(loop.iter, ast.Name) and loop.iter.id in found):
                continue
            # a loop over it that is not written out keeps the name read: leave them all; one before the binding
            # reads it unbound (Python's UnboundLocalError), as the copies would not
            if k <= at[loop.iter.id] or not _loop_allowed(loop, len(found[loop.iter.id][1].elts)):
                del found[loop.iter.id]
    return found


def _display(value, counts, params) -> bool:
    return isinstance(value, ast.List | ast.Tuple) and len(value.elts) <= MAX_ITEMS \
        and all(_item(e, counts, params) for e in value.elts)


def _item(e, counts, params) -> bool:
    """A number literal, or a parameter no statement of the function binds again (a global or closure name may be
    bound again by a function the body calls, between the copies)."""
    if isinstance(e, ast.Constant):
        return type(e.value) in (int, float)
    return isinstance(e, ast.Name) and e.id in params and counts.get(e.id, 0) == 0


def _written_out(stmt, named, counts, params):
    """The copies of the loop `stmt` (a list of statements), or None where it is not one to write out."""
    if not isinstance(stmt, ast.For):
        return None
    if isinstance(stmt.iter, ast.Name) and stmt.iter.id in named:
        display = named[stmt.iter.id][1]
    elif _display(stmt.iter, counts, params):
        display = stmt.iter
    else:
        return None
    if not display.elts or not _loop_allowed(stmt, len(display.elts)):
        return None  # (a loop over `[]` stays: it makes the names it binds local, unbound where read)
    out = []
    for item in display.elts:
        start = ast.Assign(targets=[_stored(copy.deepcopy(stmt.target))], value=copy.deepcopy(item))
        out.append(fix_locations(ast.copy_location(start, stmt)))
        out.extend(copy.deepcopy(s) for s in stmt.body)
    return out


def _loop_allowed(loop: ast.For, items: int) -> bool:
    return not loop.orelse and _names_target(loop.target) \
        and not any(isinstance(n, _BARRED) for s in loop.body for n in walk(s)) \
        and items * sum(1 for s in loop.body for n in walk(s) if isinstance(n, ast.stmt)) <= MAX_STATEMENTS


def _names_target(t) -> bool:
    if isinstance(t, ast.Name):
        return True
    return isinstance(t, ast.Tuple | ast.List) and bool(t.elts) and all(_names_target(e) for e in t.elts)


def _stored(t):
    for n in walk(t):
        if isinstance(n, ast.Name | ast.Tuple | ast.List):
            n.ctx = ast.Store()
    return t
