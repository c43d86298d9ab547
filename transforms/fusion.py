"""A loop whose trips do not depend on each other runs each trip's adjoint in the trip: no tape.

A sum over data points is the common case. Reverse mode runs the forward loop, pushing what each
trip overwrites, then the backward loop in reverse, popping it back:

    for p in range(50):                          G_bar = np.zeros((8, 8))
        stack.append(fx)                         for p in range(50):
        fx = qs[p, 0] - i                  ->        fx = qs[p, 0] - i
        ...                                          ...
    G_bar = np.zeros((8, 8))                         v_bar = 2.0 * (v - target[p])
    for p in reversed(range(50)):                    G_bar[i, j] += v_bar * (1 - fx)
        v_bar = 2.0 * (v - target[p])
        G_bar[i, j] += v_bar * (1 - fx)
        fx = stack.pop()

Why it computes the same: before its first pop, the backward code of trip p reads the state the
forward code of trip p left, in the fused loop as in the two loops (the tape's restores give the
backward trip exactly that state). So the fused loop is right where

- no backward trip reads a name after popping it (it would want the value from before the trip
  overwrote it: the trips depend on each other, a recurrence), so the pops and their pushes can go;
- what the backward trip writes is its own (bound before it is read in the trip, and read by no
  forward trip before the forward trip binds it again, nor after the loop) or a sum it adds to
  (`w = w + e`, `w += e`, `w[i] += e`, `np.add.at(w, i, e)` with `e` reading no such sum), which the
  forward code never mentions: adding the trips' terms in another order gives the same sum but for
  rounding (the terms are added first trip first, as a hand-written gradient adds them);
- what the backward trips read from the statements between the loops can be computed before the
  loop (those statements read nothing the loop binds, and are moved before it), and a sum a trip adds
  to in place is an array those statements allocate; the statements left between the loops, which
  run after the trips once fused, change no array in place but a sum (`s_bar[2] += v` must come
  before the trips read `s_bar`) and call only functions that change nothing;
- nothing after the loops reads, before binding it again, what the backward loop binds other than
  the sums, the loop's variable, nor a name the tape restored;
- neither body has other loops, exits or calls whose order could be observed (the forward body
  changes no array in place; the backward body calls only functions that change nothing and draw
  no random numbers: NumPy's and `math`'s, `abs`, `float`, `int`, `len`, `min`, `max`, s2s's
  helpers that return new values).

Pairs of top-level loops of the function only: `for p in range(...)` and the `for p in
reversed(range(...))` with the same bounds.
"""

from __future__ import annotations

import ast

import numpy as np

from .names import assigned_names, loaded_names, names_in
from .walk import fix_locations, walk

__all__ = ["fuse_independent_trips"]

_BUILTIN_FUNCTIONS = (abs, float, int, len, min, max)
_NUMPY_WRITERS = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis", "seterr"}
_PURE_RUNTIME = {"getitem_grad", "expand_reduced", "unbroadcast", "add", "grad_mult_seq", "setitem", "item_grad",
                 "grad_select"}
_ALLOCATIONS = {"zeros", "zeros_like"}
_FRESH_CALLS = {"zeros", "zeros_like", "ones", "ones_like", "full", "full_like", "outer"}


def fuse_independent_trips(fdef: ast.FunctionDef, stack: str | None, shapes, pure, np_name: str = "np") -> bool:
    """Fuse each top-level forward loop with its backward loop where their trips are independent (see the
    module docstring). `stack` is the tape's name, `shapes` the shapes inferred over `fdef`, `pure(node,
    shapes)` whether evaluating `node` cannot raise, `np_name` NumPy's name in the code. Returns whether
    anything changed.

        >>> code = '''
        ... def g(x, *, s_bar=1.0):
        ...     stack = []
        ...     t = None
        ...     for i in range(3):
        ...         stack.append(t)
        ...         t = x[i] * x[i]
        ...     x_bar = np.zeros(3)
        ...     for i in reversed(range(3)):
        ...         x_bar[i] += 2.0 * x[i]
        ...         t = stack.pop()
        ...     return x_bar'''
        >>> fdef = ast.parse(code).body[0]
        >>> class Numbers:
        ...     def of(self, node): return ()
        >>> fuse_independent_trips(fdef, "stack", Numbers(), lambda node, shapes: True)
        True
        >>> print(ast.unparse(fdef))
        def g(x, *, s_bar=1.0):
            stack = []
            t = None
            x_bar = np.zeros(3)
            for i in range(3):
                t = x[i] * x[i]
                x_bar[i] += 2.0 * x[i]
            return x_bar
    """
    if stack is None:
        return False
    changed = False
    body = fdef.body
    stores = _stores(fdef)  # (counted again after a fusion only: it drops bindings)
    i = 0
    while i < len(body):
        if isinstance(body[i], ast.For):
            j = next((k for k in range(i + 1, len(body)) if _backward_of(body[i], body[k])), None)
            if j is not None:
                fused = _fuse(body, i, j, stack, shapes, pure, np_name, stores)
                if fused is not None:
                    body[:] = fused
                    stores = _stores(fdef)
                    changed = True
                    continue
        i += 1
    if changed:
        fix_locations(fdef)
    return changed


def _backward_of(forward, backward) -> bool:
    """Whether `backward` is `for p in reversed(range(A))` of `forward`'s `for p in range(A)`."""
    if not (isinstance(forward, ast.For) and isinstance(backward, ast.For) and not forward.orelse
            and not backward.orelse and isinstance(forward.target, ast.Name)
            and isinstance(backward.target, ast.Name) and forward.target.id == backward.target.id):
        return False
    f, b = forward.iter, backward.iter
    return _is_call(f, "range") and _is_call(b, "reversed") and len(b.args) == 1 and _is_call(b.args[0], "range") \
        and ast.dump(b.args[0]) == ast.dump(f)


def _is_call(node, name) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name \
        and not node.keywords


def _fuse(body, i, j, stack, shapes, pure, np_name, stores):
    """The new top-level statements with the loops at `i` and `j` fused, or None where that is not proved."""
    forward, backward = body[i], body[j]
    mid, post = body[i + 1:j], body[j + 1:]
    target = forward.target.id
    if not (_plain_body(forward.body) and _plain_body(backward.body)) or not all(
            isinstance(s, ast.Assign | ast.AugAssign | ast.Expr | ast.Pass) or type(s).__name__ == "Comment"
            for s in mid):
        return None  # (only simple statements between: `backward` is the backward loop of `forward`)
    pushes, forward_body = _without(forward.body, lambda s: _is_push(s, stack))
    pops, backward_body = _without(backward.body, lambda s: _is_pop(s, stack))
    if len(pushes) != len(pops) or not _restores_pushed(pushes, pops) or _mentions(forward_body + backward_body, {stack}):
        return None
    if not (_forward_changes_nothing(forward_body, shapes, np_name) and _backward_calls_only(backward_body, shapes, np_name)):
        return None
    popped = set(_popped(pops))
    if _read_after_pop(backward.body, popped, stack):
        return None
    bounds = loaded_names(forward.iter)
    forward_writes = _writes(forward_body) | {target}
    backward_writes = _writes(backward_body) | _changed_in_place(backward_body, np_name)
    if bounds & (forward_writes | backward_writes | _writes(mid)):
        return None
    sums = _exposed(backward_body) & backward_writes
    own = backward_writes - sums
    if own & _exposed(forward_body) or sums & _mentions_set(forward_body) \
            or not all(_adds_to(s, sums, np_name) for s in _statements_mentioning(backward_body, sums)):
        return None
    if not _fresh_in_place(backward_body, own, shapes, np_name):
        return None
    hoisted = _hoisted(mid, (_loads_of(backward_body) | sums) & _writes(mid))
    if hoisted is None:
        return None
    rest = [s for s in mid if not any(s is h for h in hoisted)]
    if not _hoistable(mid, hoisted, rest, forward_body, forward_writes, stack, shapes, pure):
        return None
    if _mentions_set(rest) & own or not all(_adds_to(s, sums, np_name) for s in _statements_mentioning(rest, sums)):
        return None
    if not _changes_only_sums(rest, sums, stack, shapes, np_name) or any(
            loaded_names(h.value) & sums - _writes([h]) for h in hoisted):
        return None  # (an array the trips read changed after them; a sum read under another name)
    if not _sums_allocated(backward_body, sums, hoisted, stores, shapes, np_name):
        return None
    if _exposed(post) & (own | popped | {target}):
        return None
    fused = ast.For(target=forward.target, iter=forward.iter, body=_without_recomputing(
        forward_body, backward_body, sums, shapes, np_name), orelse=[], type_comment=None)
    return body[:i] + hoisted + [ast.copy_location(fused, forward)] + rest + post


def _without_recomputing(forward_body, backward_body, sums, shapes, np_name):
    """The fused body: `backward_body` after `forward_body`, less the backward code's recomputations of
    values the trip holds. Values are numbered through the trip's top-level assignments (the same
    operations on the same values get the same number: `t13 = (1 - fx) * fy` after `t12 = 1 - fx; t13 =
    t12 * fy`). A backward top-level `t = E` whose value `t` holds already goes; a number `E` (or a
    number operand of arithmetic in a backward statement) that another name holds is read from it
    (`t2 = 1 - fx` after `t12 = 1 - fx` is `t2 = t12`). The forward code computed each of those without
    raising, so computing it again would too. Not where the code changes `t` in place: its new array is its
    own, the forward's may be read under another name."""
    numbers, held, fresh = {}, {}, iter(range(1 << 62))
    changed = _changed_in_place(forward_body + backward_body, np_name)
    body = list(forward_body)

    def bind(name, value):
        old = numbers.get(name)
        if old is not None and held.get(old) == name:
            del held[old]
        numbers[name] = value if value is not None else ("bound", next(fresh))
        if value is not None and value not in held and value[0] not in ("name", "const"):
            held[value] = name

    for k, s in enumerate(forward_body + backward_body):
        backward = k >= len(forward_body)
        if backward and isinstance(s, ast.Assign | ast.AugAssign) and not isinstance(s.value, ast.Name):
            s.value = _reuse(s.value, numbers, held, shapes, changed, whole=isinstance(s, ast.Assign) and not (
                _writes([s]) & changed))
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            value = _value_number(s.value, numbers) if shapes.of(s.value) is not None else None
            name = s.targets[0].id
            if backward:
                if value is not None and numbers.get(name) == value and name not in changed:
                    continue
                body.append(s)
            bind(name, value)
            continue
        if backward:
            body.append(s)
        if _changed_in_place([s], np_name) - sums:  # (another name may share the array: nothing is known after;
            numbers, held = {"": ("epoch", next(fresh))}, {}  # no name shares a sum's, read only where added to)
        for name in _writes([s]):
            bind(name, None)
    return body


def _reuse(node, numbers, held, shapes, changed, whole):
    """`node` with each number computed by arithmetic that a name holds (by `held`, of value numbers) read
    from that name: `node` itself only where `whole` (the name is then shared: never an array changed in
    place), else the operands of its arithmetic."""
    if whole and isinstance(node, ast.BinOp | ast.UnaryOp) and shapes.of(node) == ():
        name = held.get(_value_number(node, numbers))
        if name is not None and name not in changed:
            return ast.Name(id=name, ctx=ast.Load())
    if isinstance(node, ast.BinOp):
        node.left = _reuse(node.left, numbers, held, shapes, changed, True)
        node.right = _reuse(node.right, numbers, held, shapes, changed, True)
    elif isinstance(node, ast.UnaryOp):
        node.operand = _reuse(node.operand, numbers, held, shapes, changed, True)
    return node


def _value_number(node, numbers):
    """A key equal for expressions of the same operations on the same values (`numbers`: a name's key),
    or None for anything but arithmetic, comparisons, literals and names."""
    if isinstance(node, ast.Constant):
        return ("const", type(node.value).__name__, repr(node.value))
    if isinstance(node, ast.Name):
        return numbers.get(node.id, ("name", node.id, numbers.get("")))
    if isinstance(node, ast.BinOp):
        left, right = _value_number(node.left, numbers), _value_number(node.right, numbers)
        return None if left is None or right is None else (type(node.op).__name__, left, right)
    if isinstance(node, ast.UnaryOp):
        inner = _value_number(node.operand, numbers)
        return None if inner is None else (type(node.op).__name__, inner)
    return None


# ---- the bodies ------------------------------------------------------------------------------------------
def _plain_body(stmts) -> bool:
    """Only assignments, expressions, `if`s and comments: no loops, exits, functions, `with` or `try`."""
    for s in stmts:
        if isinstance(s, ast.If):
            if not (_plain_body(s.body) and _plain_body(s.orelse)):
                return False
        elif not (isinstance(s, ast.Assign | ast.AugAssign | ast.Expr | ast.Pass) or type(s).__name__ == "Comment"):
            return False
        if any(isinstance(n, ast.Lambda | ast.Yield | ast.YieldFrom | ast.Await | ast.NamedExpr) for n in walk(s)):
            return False
    return True


def _without(stmts, drop):
    """(the statements `drop` selects, anywhere in `stmts`; a copy of `stmts` without them). An `if` left
    empty keeps a `pass`."""
    taken, out = [], []
    for s in stmts:
        if drop(s):
            taken.append(s)
        elif isinstance(s, ast.If):
            t1, body = _without(s.body, drop)
            t2, orelse = _without(s.orelse, drop)
            taken += t1 + t2
            out.append(ast.copy_location(ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse), s))
        else:
            out.append(s)
    return taken, out


def _is_push(s, stack) -> bool:
    return isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) \
        and s.value.func.attr == "append" and isinstance(s.value.func.value, ast.Name) \
        and s.value.func.value.id == stack and len(s.value.args) == 1 and not s.value.keywords


def _is_pop(s, stack) -> bool:
    value = s.value if isinstance(s, ast.Expr | ast.Assign) else None
    if isinstance(s, ast.Assign) and not (len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
        return False
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "pop" \
        and isinstance(value.func.value, ast.Name) and value.func.value.id == stack and not value.args \
        and not value.keywords


def _restores_pushed(pushes, pops) -> bool:
    """Whether each name a pop restores is one a push saves (one push each)."""
    saved = [ast.dump(p.value.args[0]) for p in pushes]
    for p in pops:
        if isinstance(p, ast.Assign):
            key = ast.dump(ast.Name(id=p.targets[0].id, ctx=ast.Load()))
            if key not in saved:
                return False
            saved.remove(key)
    return True


def _popped(pops):
    return [p.targets[0].id for p in pops if isinstance(p, ast.Assign)]


def _forward_changes_nothing(stmts, shapes, np_name) -> bool:
    """No item or attribute stored, no call but inside assignments, no `out=`, and no array changed in
    place by `op=` but one the trip made itself (bound before it is read in the trip, only to new arrays)."""
    for s in _flat(stmts):
        if isinstance(s, ast.Expr) and type(s).__name__ != "Comment":
            return False
        if isinstance(s, ast.Assign) and not all(isinstance(n, ast.Name | ast.Tuple) for n in s.targets):
            return False
        if isinstance(s, ast.AugAssign) and not isinstance(s.target, ast.Name):
            return False
        if any(isinstance(n, ast.Call) and any(k.arg == "out" for k in n.keywords) for n in walk(s)):
            return False
    changed = {s.target.id for s in _flat(stmts) if isinstance(s, ast.AugAssign) and shapes.of(s.target) != ()}
    return not changed & _exposed(stmts) and _fresh_in_place(stmts, changed, shapes, np_name)


def _backward_calls_only(stmts, shapes, np_name) -> bool:
    """Calls only of functions that change nothing and draw no random numbers (`_pure_call`), no `out=`;
    items stored only by `op=`."""
    for s in _flat(stmts):
        added = _add_at(s, np_name) is not None
        if isinstance(s, ast.Expr) and not (type(s).__name__ == "Comment" or added):
            return False
        if isinstance(s, ast.Assign) and not all(isinstance(n, ast.Name | ast.Tuple) for n in s.targets):
            return False
        if isinstance(s, ast.AugAssign) and not isinstance(s.target, ast.Name | ast.Subscript):
            return False
        for n in walk(s):
            if isinstance(n, ast.Call) and not (added and n is s.value) and (
                    any(k.arg == "out" for k in n.keywords) or not _pure_call(n, shapes)):
                return False
    return True


def _pure_call(call, shapes) -> bool:
    """Whether `call` calls a function that changes none of its arguments and no hidden state: a few
    builtins, `math`'s, NumPy's ufuncs and functions (not `numpy.random`'s, nor those that write into an
    argument), s2s's runtime helpers that return new values."""
    obj = shapes.callee(call)
    if obj is None:
        return False
    if any(obj is b for b in _BUILTIN_FUNCTIONS) or isinstance(obj, np.ufunc):
        return True
    module, name = getattr(obj, "__module__", None) or "", getattr(obj, "__name__", "")
    if module == "math" or module.startswith("numpy") and not module.startswith("numpy.random") \
            and name not in _NUMPY_WRITERS and callable(obj) and not isinstance(obj, type):
        return True
    return module.startswith("s2s.runtime") and name in _PURE_RUNTIME


def _add_at(s, np_name):
    """The array `np.add.at(w, idx, e)` adds into, for that expression statement; else None."""
    v = s.value if isinstance(s, ast.Expr) else None
    if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "at" \
            and isinstance(v.func.value, ast.Attribute) and v.func.value.attr == "add" \
            and isinstance(v.func.value.value, ast.Name) and v.func.value.value.id == np_name \
            and len(v.args) == 3 and not v.keywords and isinstance(v.args[0], ast.Name):
        return v.args[0].id
    return None


def _read_after_pop(stmts, popped, stack) -> bool:
    """Whether some popped name is read after its pop in `stmts`, in the order of the text."""
    gone = set()
    for s in _flat(stmts):
        reads = loaded_names(s.test) if isinstance(s, ast.If) else loaded_names(s)
        if reads & gone:
            return True
        if _is_pop(s, stack) and isinstance(s, ast.Assign):
            gone.add(s.targets[0].id)
    return False


def _flat(stmts):
    """Every statement of `stmts` in the order of the text, an `if` before its branches."""
    for s in stmts:
        yield s
        if isinstance(s, ast.If):
            yield from _flat(s.body)
            yield from _flat(s.orelse)


# ---- names -----------------------------------------------------------------------------------------------
def _loads_of(stmts) -> set[str]:
    return set().union(*(loaded_names(s) for s in stmts))


def _writes(stmts) -> set[str]:
    return set().union(*(assigned_names(s) for s in stmts))


def _mentions_set(stmts) -> set[str]:
    return set().union(*(names_in(s) for s in stmts))


def _mentions(stmts, names) -> bool:
    return bool(_mentions_set(stmts) & names)


def _stores(fdef) -> dict:
    """How many times each name is bound in `fdef`, not counting `op=` (which adds to what it holds)."""
    augmented = {id(n.target) for n in walk(fdef) if isinstance(n, ast.AugAssign)}
    out = {}
    for n in walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in augmented:
            out[n.id] = out.get(n.id, 0) + 1
    return out


def _changed_in_place(stmts, np_name) -> set[str]:
    """The names whose arrays `stmts` change: `w[i] += e`, `w += e`, `np.add.at(w, ...)`."""
    out = set()
    for s in _flat(stmts):
        if isinstance(s, ast.AugAssign):
            base = s.target.value if isinstance(s.target, ast.Subscript) else s.target
            if isinstance(base, ast.Name):
                out.add(base.id)
        elif (name := _add_at(s, np_name)) is not None:
            out.add(name)
    return out


def _exposed(stmts, defined=frozenset()) -> set[str]:
    """The names `stmts` may read before binding them (on some path through their `if`s)."""
    out, _ = _exposed_and_bound(stmts, set(defined))
    return out


def _exposed_and_bound(stmts, defined):
    out = set()
    for s in stmts:
        if isinstance(s, ast.If):
            out |= loaded_names(s.test) - defined
            e1, d1 = _exposed_and_bound(s.body, set(defined))
            e2, d2 = _exposed_and_bound(s.orelse, set(defined))
            out |= e1 | e2
            defined = d1 & d2
        elif isinstance(s, ast.For | ast.While):  # (a loop may run no trip: it binds nothing for after it)
            head = s.iter if isinstance(s, ast.For) else s.test
            out |= loaded_names(head) - defined
            inner = defined | (names_in(s.target) if isinstance(s, ast.For) else set())
            out |= _exposed(s.body, inner) | _exposed(s.orelse, defined)
        elif isinstance(s, ast.AugAssign):
            out |= (loaded_names(s.value) | loaded_names(s.target) | names_in(s.target)) - defined
            if isinstance(s.target, ast.Name):
                defined = defined | {s.target.id}
        elif isinstance(s, ast.Assign):
            out |= (loaded_names(s.value) | set().union(*(loaded_names(t) for t in s.targets))) - defined
            defined = defined | _writes([s])
        else:
            out |= loaded_names(s) - defined
    return out, defined


# ---- sums and the statements between the loops -----------------------------------------------------------
def _statements_mentioning(stmts, names):
    return [s for s in _flat(stmts) if not isinstance(s, ast.If) and names_in(s) & names] + \
        [s for s in _flat(stmts) if isinstance(s, ast.If) and names_in(s.test) & names]


def _adds_to(s, sums, np_name) -> bool:
    """Whether `s` only adds a term reading no sum to one of `sums` (`w = w + a - b`, `w += e`, `w[i] -= e`,
    `np.add.at(w, i, e)`)."""
    if isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add | ast.Sub):
        base = s.target.value if isinstance(s.target, ast.Subscript) else s.target
        index = names_in(s.target.slice) if isinstance(s.target, ast.Subscript) else set()
        return isinstance(base, ast.Name) and base.id in sums and not (index | names_in(s.value)) & sums
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
            and s.targets[0].id in sums:
        name, v, terms = s.targets[0].id, s.value, []
        while isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add | ast.Sub):
            terms.append(v.right)
            v = v.left
        return bool(terms) and isinstance(v, ast.Name) and v.id == name \
            and not set().union(*(names_in(t) for t in terms)) & sums
    if (name := _add_at(s, np_name)) is not None:
        return name in sums and not (names_in(s.value.args[1]) | names_in(s.value.args[2])) & sums
    return False


def _changes_only_sums(stmts, sums, stack, shapes, np_name) -> bool:
    """Whether `stmts`, the statements left between the loops (run after the trips once fused), change no
    array in place but the sums (by `op=` or `np.add.at`) and call only functions that change nothing: an
    item of an array the backward trips read (`s_bar[2] += v + v` after `s_bar = cos`, `s_bar` read by every
    trip) must change before the trips read it. The tape's own pushes and pops are left alone."""
    for s in _flat(stmts):
        if isinstance(s, ast.Expr):
            if not (type(s).__name__ == "Comment" or _is_push(s, stack) or _add_at(s, np_name) in sums):
                return False
            continue
        if isinstance(s, ast.Assign):
            if any(isinstance(n, ast.Subscript | ast.Attribute | ast.Starred) for t in s.targets for n in walk(t)):
                return False
            if _is_pop(s, stack):
                continue
        elif isinstance(s, ast.AugAssign):
            base = s.target.value if isinstance(s.target, ast.Subscript) else s.target
            in_place = base is not s.target or shapes.of(s.target) != ()
            if not isinstance(base, ast.Name) or in_place and base.id not in sums:
                return False
        if any(isinstance(n, ast.Call) and (any(k.arg == "out" for k in n.keywords) or not _pure_call(n, shapes))
               for n in walk(s)):
            return False
    return True


def _fresh_in_place(stmts, own, shapes, np_name) -> bool:
    """Whether each of the trip's own names that `stmts` change in place is bound only to a new array
    (arithmetic, or a NumPy call that allocates) in `stmts`."""
    changed = _changed_in_place(stmts, np_name) & own
    for s in _flat(stmts):
        if isinstance(s, ast.Assign) and _writes([s]) & changed:
            if not (len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and _fresh(s.value, np_name)):
                return False
    return True


def _fresh(value, np_name) -> bool:
    if isinstance(value, ast.BinOp | ast.UnaryOp):
        return True
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
        and isinstance(value.func.value, ast.Name) and value.func.value.id == np_name \
        and value.func.attr in _FRESH_CALLS


def _hoisted(mid, needed):
    """The statements between the loops that compute `needed` and what those read (in their order), or
    None where one is not a plain assignment."""
    chosen = []
    for s in reversed(mid):
        if _writes([s]) & needed:
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
                return None
            chosen.append(s)
            needed = (needed - _writes([s])) | loaded_names(s.value)
    return list(reversed(chosen))


def _hoistable(mid, hoisted, rest, forward_body, forward_writes, stack, shapes, pure) -> bool:
    """Whether the `hoisted` statements may run before the forward loop: they read nothing the loop or
    the statements left between the loops bind, bind nothing those mention or bind, touch no tape, and
    cannot raise (or allocate zeros)."""
    rest_writes = _writes(rest)
    for s in hoisted:
        before = mid[:next(k for k, m in enumerate(mid) if m is s)]
        earlier_rest = [m for m in before if not any(m is h for h in hoisted)]
        if loaded_names(s.value) & (forward_writes | rest_writes | {stack}):
            return False
        if _writes([s]) & (_mentions_set(forward_body) | rest_writes | _mentions_set(earlier_rest)):
            return False
        if not (pure(s.value, shapes) or _allocation(s.value)):
            return False
    return True


def _number(value) -> bool:
    return isinstance(value, ast.Constant) and type(value.value) in (int, float)


def _allocation(value) -> bool:
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
        and value.func.attr in _ALLOCATIONS and all(isinstance(a, ast.Constant | ast.Tuple | ast.Name | ast.Attribute)
                                                     for a in value.args)


def _sums_allocated(backward_body, sums, hoisted, stores, shapes, np_name) -> bool:
    """Whether each sum changed in place (`w[i] += e`, an array's `w += e`, `np.add.at`) is an array of
    its own: bound once in the whole function (`op=` aside), among the hoisted statements, to an
    allocation or a number (whose first `w += e` makes a new array)."""
    in_place = set()
    for s in _flat(backward_body):
        if isinstance(s, ast.AugAssign) and (isinstance(s.target, ast.Subscript) or shapes.of(s.target) != ()):
            base = s.target.value if isinstance(s.target, ast.Subscript) else s.target
            in_place.add(base.id)
        elif (name := _add_at(s, np_name)) is not None:
            in_place.add(name)
    for name in in_place & sums:
        binding = [h for h in hoisted if name in _writes([h])]
        if stores.get(name) != 1 or len(binding) != 1 or not (_allocation(binding[0].value) or _number(binding[0].value)):
            return False
    return True
