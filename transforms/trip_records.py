"""One record per loop trip: what a loop saves for its backward loop, as a tuple in a list of its own.

The reverse pass saves each value a loop overwrites on the shared tape, one push
per value per trip, and its backward loop pops them one by one, counting trips
(`for _ in range(trips)`) or recomputing the index (`for i in reversed(range(n))`).
In Python each push and pop is a method call. Where a loop at the top level of
the function pushes the same values every trip, this pass saves them as one
tuple per trip in a list of the loop's own, and the backward loop iterates that
list reversed, unpacking each trip's values in its header:

    saved = []                                  stack = []
    for k in range(1, 20):                      for k in range(1, 20):
        saved.append((k, p, xk))                    stack.append(p)
        p = p * (1.0 + r * xk / k)                  p = p * (1.0 + r * xk / k)
        xk = xk * x                                 stack.append(xk)
    ...                                             xk = xk * x
    for k, p, xk in reversed(saved):            for k in reversed(range(1, 20)):
        ...                                         xk = stack.pop()
                                                    p = stack.pop()

It is the code the NumPy path runs; the numba lowering (transforms/numba_lowering.py) reads the tape push by
push and is given the code without it.

Done only where it is provably the same computation:
- the loop and its backward loop are statements of the function's body, paired by the tape's order (the
  last loop that pushes is popped by the first loop that pops);
- every push of the loop is a statement of its body (none under an `if` or an inner loop), the loop has no
  `break`, `continue`, `else` or `return`, and its backward loop pops exactly those values, in reverse order,
  each pop a statement of its body;
- the backward loop runs once per trip: it counts the trips the loop counted itself, or runs over the same
  `range` reversed, with the same index (whose value the record then holds, as the trip saw it);
- no value is rebound between the first push of a trip and its own, so all can be saved at the first.
A restored value the backward loop reads before its pop is unpacked into a name of its own and assigned at
the pop's place; the others are bound in the loop's header.
"""

from __future__ import annotations

import ast

from .names import NameAllocator, assigned_names, loaded_names, names_in
from .tape import _is_pop, _is_push, idle
from .walk import fix_locations, walk


def _push_of(s, stack) -> str | None:
    """The name `s` pushes (`stack.append(v)`), or None."""
    return s.value.args[0].id if _is_push(s, stack) else None


def _pop_of(s, stack) -> str | None:
    """The name `s` restores (`v = stack.pop()`), or None."""
    return s.targets[0].id if _is_pop(s, stack) else None


def _uses_stack(node, stack) -> tuple[bool, bool, bool]:
    """(whether `node` pushes onto `stack`, whether it pops from it, whether it uses it any other way)."""
    pushes = pops = other = False
    attributes = set()
    for n in walk(node):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == stack:
            attributes.add(id(n.value))
            pushes |= n.attr == "append"
            pops |= n.attr == "pop"
            other |= n.attr not in ("append", "pop")
        elif isinstance(n, ast.Name) and n.id == stack and id(n) not in attributes:
            other = True
    return pushes, pops, other


def _pairs(body, stack):
    """(forward statement, backward statement) pairs of `body`'s top-level statements that push and pop the
    tape, matched in the tape's order; [] where a statement both pushes and pops, the tape is used other than
    by `append` and `pop` after its `stack = []`, or the order does not nest."""
    opened, pairs = [], []
    for s in body:
        if _is_empty_list(s, stack):
            continue
        pushes, pops, other = _uses_stack(s, stack)
        if other or pushes and pops:
            return []
        if pushes:
            opened.append(s)
        elif pops:
            if not opened:
                return []
            pairs.append((opened.pop(), s))
    return pairs if not opened else []


def _plain_loop(loop) -> bool:
    """No `else`, and nothing in it leaves a trip early."""
    return not loop.orelse and not any(isinstance(n, ast.Break | ast.Continue | ast.Return | ast.Yield
                                                  | ast.YieldFrom | ast.Await) for n in walk(loop))


def _counter_of(forward, stores) -> ast.Assign | None:
    """`trips = trips + 1`, a statement of the loop's body, where nothing but it and a `trips = 0` binds `trips`."""
    for s in forward.body:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, ast.Add) \
                and isinstance(s.value.left, ast.Name) and s.value.left.id == s.targets[0].id \
                and isinstance(s.value.right, ast.Constant) and s.value.right.value == 1 \
                and stores.get(s.targets[0].id) == 2:
            return s
    return None


def _is_call(node, name, nargs=None) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name \
        and (nargs is None or len(node.args) == nargs) and not node.keywords


def _runs_once_per_trip(forward, backward, stores) -> tuple[str | None, ast.Assign | None]:
    """How the backward loop's trips follow the loop's: ("counted", the loop's `trips = trips + 1`) for `for _ in
    range(trips)`, ("index", None) for `for i in reversed(range(...))` over the loop's own `for i in range(...)`,
    else (None, None)."""
    if not isinstance(backward.target, ast.Name):
        return None, None
    it = backward.iter
    if isinstance(forward, ast.For) and isinstance(forward.target, ast.Name) \
            and forward.target.id == backward.target.id and _is_call(it, "reversed", 1) \
            and _is_call(forward.iter, "range") and ast.dump(it.args[0]) == ast.dump(forward.iter):
        return "index", None
    counter = _counter_of(forward, stores)
    if counter is None:
        return None, None
    inner = it.args[0] if _is_call(it, "reversed", 1) else it
    if _is_call(inner, "range", 1) and isinstance(inner.args[0], ast.Name) \
            and inner.args[0].id == counter.targets[0].id:
        return "counted", counter
    return None, None


def _record_loop(fdef, forward, backward, stack, allocate, stores) -> bool:
    """Rewrite one pair (see the module's docstring); False, changing nothing, where it does not hold."""
    if not (isinstance(forward, ast.For | ast.While) and _plain_loop(forward) and _plain_loop(backward)):
        return False
    how, increment = _runs_once_per_trip(forward, backward, stores)
    if how is None:
        return False
    fb, bb = forward.body, backward.body
    pushes = [(k, v) for k, v in enumerate(_push_of(s, stack) for s in fb) if v]
    pops = [(k, v) for k, v in enumerate(_pop_of(s, stack) for s in bb) if v]
    forward_uses, backward_uses = [_uses_stack(s, stack) for s in fb], [_uses_stack(s, stack) for s in bb]
    if not pushes or sum(u[0] for u in forward_uses) != len(pushes) or any(u[1] for u in forward_uses) \
            or any(u[0] for u in backward_uses) or sum(u[1] for u in backward_uses) != len(pops) \
            or [v for _, v in pushes] != [v for _, v in reversed(pops)]:
        return False
    first = pushes[0][0]
    if any(v in assigned_names(s) for k, v in pushes[1:] for s in fb[first:k]):
        return False  # a value rebound between the trip's first push and its own
    index = backward.target.id
    after = fdef.body[fdef.body.index(backward) + 1:]
    index_read = any(index in loaded_names(s) for s in bb + after)
    if how == "counted" and index in loaded_names(fdef):
        return False  # the counting loop's `_` is read: not a loop this pass knows
    if how == "index" and index_read and any(index in assigned_names(s) for s in fb[:first]):
        return False
    keep_index = how == "index" and index_read
    record = ([index] if keep_index else []) + [v for _, v in pushes]
    # a restored value the backward loop touches before its pop gets a name of its own, assigned at the pop
    header, restores = [index] if keep_index else [], {}
    for k, v in reversed(pops):  # in push order
        if v in header or any(v in loaded_names(s) or v in assigned_names(s) for s in bb[:k]):
            restores[k] = allocate.fresh(f"{v}_saved")
        header.append(restores.get(k, v))
    saved = allocate.fresh("saved")
    fb[first] = ast.Expr(value=ast.Call(
        func=ast.Attribute(value=ast.Name(id=saved, ctx=ast.Load()), attr="append", ctx=ast.Load()),
        args=[_names(record, ast.Load)], keywords=[]))
    forward.body = [s for k, s in enumerate(fb) if k == first or _push_of(s, stack) is None]
    backward.body = [ast.Assign(targets=[ast.Name(id=_pop_of(s, stack), ctx=ast.Store())],
                                value=ast.Name(id=restores[k], ctx=ast.Load())) if k in restores else s
                     for k, s in enumerate(bb) if k in restores or _pop_of(s, stack) is None]
    if idle(backward.body):  # (s2s's comments alone are no statement)
        backward.body.append(ast.Pass())
    backward.target = _names(header, ast.Store)
    backward.iter = ast.Call(func=ast.Name(id="reversed", ctx=ast.Load()), args=[ast.Name(id=saved, ctx=ast.Load())],
                             keywords=[])
    fdef.body.insert(fdef.body.index(forward), ast.Assign(targets=[ast.Name(id=saved, ctx=ast.Store())],
                                                           value=ast.List(elts=[], ctx=ast.Load())))
    if how == "counted":
        _drop_counter(fdef, forward, increment)
    return True


def _names(names, ctx):
    """`a` or `(a, b, ...)` in the context `ctx`."""
    if len(names) == 1:
        return ast.Name(id=names[0], ctx=ctx())
    return ast.Tuple(elts=[ast.Name(id=n, ctx=ctx()) for n in names], ctx=ctx())


def _drop_counter(fdef, forward, increment) -> None:
    """The loop's `trips = 0` and `trips = trips + 1`, where nothing else reads `trips` now."""
    counter = increment.targets[0].id
    reads = sum(1 for n in walk(fdef) if isinstance(n, ast.Name) and n.id == counter and isinstance(n.ctx, ast.Load))
    if reads != 1:
        return
    forward.body = [s for s in forward.body if s is not increment]
    if idle(forward.body):
        forward.body.append(ast.Pass())
    fdef.body = [s for s in fdef.body if not (isinstance(s, ast.Assign) and len(s.targets) == 1
                                              and isinstance(s.targets[0], ast.Name) and s.targets[0].id == counter)]


def record_trips(fdef: ast.FunctionDef, stack: str | None) -> bool:
    """Save each eligible loop's trip as one tuple (see the module's docstring); whether anything changed.

        >>> fdef = ast.parse('''
        ... def f_grad(x):
        ...     stack = []
        ...     for i in range(3):
        ...         stack.append(x)
        ...         x = x * 2.0
        ...     x_bar = 1.0
        ...     for i in reversed(range(3)):
        ...         x = stack.pop()
        ...         x_bar = x_bar * 2.0
        ...     return x_bar
        ... ''').body[0]
        >>> record_trips(fdef, "stack")
        True
        >>> print(ast.unparse(fdef.body[3]))
        for x in reversed(saved):
            x_bar = x_bar * 2.0
    """
    if not stack or any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
                                   | ast.Global | ast.Nonlocal) for n in walk(fdef) if n is not fdef):
        return False
    allocate = NameAllocator(names_in(fdef) | {fdef.name})
    changed = False
    for forward, backward in _pairs(fdef.body, stack):
        stores: dict[str, int] = {}
        for n in walk(fdef):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del):
                stores[n.id] = stores.get(n.id, 0) + 1
        if isinstance(backward, ast.For) and _record_loop(fdef, forward, backward, stack, allocate, stores):
            changed = True
    if changed:
        if not any(isinstance(n, ast.Name) and n.id == stack for s in fdef.body for n in walk(s)
                   if not _is_empty_list(s, stack)):
            fdef.body = [s for s in fdef.body if not _is_empty_list(s, stack)]
        fix_locations(fdef)
    return changed


def _is_empty_list(s, name) -> bool:
    """`s` is `name = []`."""
    return isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
        and s.targets[0].id == name and isinstance(s.value, ast.List) and not s.value.elts
