"""Adjoints of index reads accumulated in place into an adjoint array the function owns.

The reverse pass writes the adjoint of a read `t = P[i]` as
`P_bar = s2s.add(P_bar, s2s.getitem_grad(t_bar, P, i))`: a fresh array of P's
shape per read, then a copy to add it. In a loop over the rows of `P` that makes
the gradient cost grow like rows x size instead of like the primal. Where the
shapes are known, `P_bar` becomes an array of its own (`P_bar = np.zeros(S)`)
and each read's adjoint goes into it in place:

    P_bar[i] += t_bar                 # i an int, a slice, or a tuple of those
    np.add.at(P_bar, idx, t_bar)      # any other index (repeated fancy indices add up)

That is what `getitem_grad` computes (zeros, then `np.add.at`), added to `P_bar`:
the same numbers. It is done only where it is certainly the same:

- `P` is a name with a known non-scalar shape holding float64 values (the code is
  specialised to float64 arguments), so `P_bar` is a float64 array of that shape; or,
  in code with float32 arguments, `P` is a float32 or float64 array argument bound
  nowhere in the function, and `P_bar` is an array of its dtype, as `getitem_grad`'s
  zeros are for adjoints of that dtype (a float64 term added into a float32 `P_bar` is
  rounded to float32 there, where the general code would carry the sum in float64 to
  the end and round it then: float32 gradients computed in float32, as in JAX);
- every assignment to `P_bar` is its one `P_bar = 0.0` at the top of the function
  or an accumulation `P_bar = s2s.add(P_bar, e)` / `P_bar = P_bar + e`, where `e`
  does not read `P_bar` and is a `getitem_grad` of `P` or has P's shape or `()`;
- `P_bar` is read nowhere else but in the final `return` (so no one else holds its
  array, and updating it in place is not seen by anything but the result);
- the code has no complex literal and no nested function (a pullback).

A complex adjoint cannot go into the float64 array: NumPy raises then (it does not
drop the imaginary part), so no wrong number can come out of it.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from .item_reads import _int_literal
from .names import load, store
from .unchanged import aliases, changed_in_place
from .walk import child_parent_pairs, fix_locations, rewrite_statements, walk, walk_nodes


def _helper_call(node, shapes, name):
    return isinstance(node, ast.Call) and not node.keywords and shapes.helpers.get(shapes.callee(node)) == name


def _reads(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))


def basic_index(index, shapes):
    """An index that selects each element at most once: ints, slices of ints, or a tuple of those."""
    if isinstance(index, ast.Tuple):
        return all(basic_index(e, shapes) and not isinstance(e, ast.Tuple) for e in index.elts)
    if isinstance(index, ast.Slice):
        return all(p is None or _int(p, shapes) for p in (index.lower, index.upper, index.step))
    return _int(index, shapes)


def _int(node, shapes):
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _int(node.operand, shapes)
    if isinstance(node, ast.Name) and node.id in shapes.ints and shapes.of(node) == ():
        return True
    return type(shapes.value_of(node)) is int  # a name bound to one int (`t = 3 * H`, H read from a shape)


def _increment(stmt, name):
    """`e` of `name = s2s.add(name, e)` or `name = name + e` (as an Assign), else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == name):
        return None
    v = stmt.value
    if isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and isinstance(v.left, ast.Name) and v.left.id == name:
        return v.right
    if isinstance(v, ast.Call) and len(v.args) == 2 and not v.keywords and isinstance(v.args[0], ast.Name) \
            and v.args[0].id == name and isinstance(v.func, ast.Attribute) and v.func.attr == "add":
        return v.args[1]
    return None


def accumulate_index_adjoints(fdef: ast.FunctionDef, shapes, adjoints: set, np_name: str,
                              dtypes: dict | None = None) -> ast.FunctionDef:
    """Rewrite the index adjoints of every qualifying `P_bar` (see the module doc); returns `fdef`.
    `dtypes`: None in float64 code; else argument name -> "float32" or "float64" for the array arguments
    whose adjoint array may be made (of that dtype), the only ones then."""
    nodes = list(walk(fdef))
    if any(isinstance(n, ast.Constant) and isinstance(n.value, complex) for n in nodes) or \
            any(isinstance(n, ast.FunctionDef | ast.Lambda) for n in nodes if n is not fdef):
        return fdef
    stores, assigns = {}, {}  # name -> its Name stores, the assignments to it as a whole target (in walk order)
    for n in nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            stores.setdefault(n.id, []).append(n)
        elif isinstance(n, ast.Assign):
            for name in dict.fromkeys(t.id for t in n.targets if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)):
                assigns.setdefault(name, []).append(n)
    if dtypes is not None:  # (bound nowhere: the argument's array, of its dtype, wherever it is read)
        dtypes = {p: d for p, d in dtypes.items() if p not in stores}
    for name in sorted(adjoints):
        _rewrite_one(fdef, nodes, name, shapes, np_name, stores.get(name, []), assigns.get(name, []), dtypes)
    for node in nodes:
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                _rewrite_runs(block, adjoints, shapes, np_name, dtypes)
                if dtypes is None:
                    _into_temporaries(block, fdef, shapes, np_name)
    return fix_locations(fdef)


_REDUCING_METHODS = ("sum", "mean", "max", "min", "prod")
_REDUCING = (np.sum, np.mean, np.max, np.min, np.prod, np.amax, np.amin)


def _into_temporaries(block, fdef, shapes, np_name):
    """`X = A + s2s.getitem_grad(g, P, index)` (the adjoint of an array read elementwise and by an index,
    `S - S[np.arange(n), y][:, None]`) becomes `A[index] += g` (`np.add.at` for the index of a gather whose
    positions are distinct, `_distinct`) and `X = A`, where `A` is an array no one else sees: bound once in
    the function, earlier in this block, to arithmetic (a new array) of P's known shape and real floats, and
    read only between there and here, each read making a new value at once (an operand of arithmetic, a
    reduction method `A.sum(axis=1)`). Each position is added to once: the same numbers as `A +` the zeros
    with g added in, without the zeros and the second array. Float64 code only."""
    k = 0
    while k < len(block):
        found = _temporary_add(block, k, fdef, shapes)
        if found is None:
            k += 1
            continue
        target, a, (g, base, index) = found
        index = as_slice(index, shapes)
        add = ast.copy_location(add_in_place(a, index, g, shapes, np_name), block[k])
        rebind = ast.copy_location(ast.Assign(targets=[store(target)], value=load(a)), block[k])
        block[k:k + 1] = [add, rebind]
        k += 2


def _temporary_add(block, k, fdef, shapes):
    """(X, A, (g, P, index)) where `block[k]` is `_into_temporaries`' statement and A qualifies, else None."""
    stmt = block[k]
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, ast.Add)):
        return None
    for a, e in ((stmt.value.left, stmt.value.right), (stmt.value.right, stmt.value.left)):
        if not (isinstance(a, ast.Name) and _helper_call(e, shapes, "getitem_grad") and len(e.args) == 3
                and isinstance(e.args[1], ast.Name)):
            continue
        g, base, index = e.args
        shape = shapes.of(base)
        if not (isinstance(shape, tuple) and shape != () and shapes.of(a) == shape and shapes.real(a)
                and shapes.real(g) and (basic_index(index, shapes) or _distinct(index, shapes))
                and not _reads(e, a.id) and stmt.targets[0].id != a.id):
            continue
        if _owned_before(block, k, a.id, fdef, shape, shapes):
            return stmt.targets[0].id, a.id, (g, base, index)
    return None


def _owned_before(block, k, name, fdef, shape, shapes) -> bool:
    """Whether `name` is bound once in the function, by `name = <arithmetic>` in `block` before `k` (a new
    array of `shape`), and every other read of it is between that and `block[k]`, making a new value at once."""
    binding = [j for j, s in enumerate(block[:k]) if isinstance(s, ast.Assign) and len(s.targets) == 1
               and isinstance(s.targets[0], ast.Name) and s.targets[0].id == name]
    stores = [n for n in walk(fdef) if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)]
    if len(binding) != 1 or len(stores) != 1:
        return False
    value = block[binding[0]].value
    if not (isinstance(value, ast.BinOp | ast.UnaryOp) and shapes.of(value) == shape):
        return False
    window = {id(n) for s in block[binding[0] + 1:k + 1] for n in walk(s)}
    parents = {id(child): parent for child, parent in child_parent_pairs(fdef)}

    def reduced(read, parent) -> bool:
        """The statement itself, or a reduction of the array (`A.sum(axis=1)`, `np.sum(A, axis=1)`)."""
        if parent is block[k].value:
            return True
        if isinstance(parent, ast.Attribute) and parent.attr in _REDUCING_METHODS \
                and isinstance(parents.get(id(parent)), ast.Call) and parents[id(parent)].func is parent:
            return True
        return isinstance(parent, ast.Call) and parent.args and parent.args[0] is read \
            and not any(kw.arg in (None, "out") for kw in parent.keywords) \
            and any(shapes.callee(parent) is f for f in _REDUCING)

    return reads_consumed_within(fdef, name, window, parents, reduced)


def reads_consumed_within(fdef, name, window, parents, also=None, skip=frozenset()) -> bool:
    """Whether every read of `name` in `fdef` (but those whose ids are in `skip`) is a node whose id is in
    `window` and makes a new value at once: an operand of arithmetic or a comparison, or a read `also(read,
    parent)` accepts. Then what the name holds is not kept anywhere past the window."""
    for n in walk(fdef):
        if not (isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)) or id(n) in skip:
            continue
        parent = parents.get(id(n))
        if id(n) not in window or not (isinstance(parent, ast.BinOp | ast.UnaryOp | ast.Compare)
                                       or also is not None and also(n, parent)):
            return False
    return True


def _zeros(np_name, shape, dtype=None) -> ast.Call:
    """`np.zeros((n, m))`, or `np.zeros((n, m), dtype)` of the dtype expression given."""
    return ast.Call(func=ast.Attribute(value=load(np_name), attr="zeros", ctx=ast.Load()),
                    args=[ast.Tuple(elts=[ast.Constant(n) for n in shape], ctx=ast.Load())]
                    + ([] if dtype is None else [dtype]), keywords=[])


def _rewrite_runs(block, adjoints, shapes, np_name, dtypes=None):
    """In one block, the adjoint of a value read by index more than once, made afresh where it is read
    (a local array read in a loop body: `z_bar = s2s.getitem_grad(t_bar, z, i)` then
    `z_bar = z_bar + s2s.getitem_grad(u_bar, z, j)`, ...): `z_bar = np.zeros(S)` then `z_bar[i] += t_bar`,
    `z_bar[j] += u_bar`, in the array just made, which nothing else has seen yet. The run is those
    statements up to the first other statement that names `z_bar`; the statements between them do not.
    Each read's base has the shape S and holds float64 values (the adjoint array is float64 then, as
    `getitem_grad`'s is); with `dtypes` (code with float32 arguments) the array is of the base's dtype, an
    argument's as `dtypes` says, a local's as its name holds it at the first read, and every read is of
    that one base."""
    i = 0
    while i < len(block):
        first = block[i]
        run = _run_start(first, adjoints, shapes)
        if run is None:
            i += 1
            continue
        base = first.value.args[1].id
        name, shape = run
        steps = [first]
        for s in block[i + 1:]:
            e = _increment(s, name)
            if e is not None and _index_read(e, name, shapes, shape) and (dtypes is None or e.args[1].id == base):
                steps.append(s)
            elif any(isinstance(n, ast.Name) and n.id == name for n in walk(s)):
                break

        # (in code with float32 arguments: the base's dtype, which its name holds at the first read)
        dtype = None if dtypes is None else ast.Attribute(value=load(np_name), attr=dtypes[base], ctx=ast.Load()) \
            if base in dtypes else ast.Attribute(value=load(base), attr="dtype", ctx=ast.Load())
        reordered = _reordered_copy(first.value, shape, shapes, dtype)
        if reordered is not None:  # (`x_bar = g[::-1].copy()`: the zeros would all be written over)
            made = [ast.copy_location(ast.Assign(targets=[store(name)], value=reordered), first)]
        else:
            made = [ast.copy_location(ast.Assign(targets=[store(name)], value=_zeros(np_name, shape, dtype)), first)]
        for s in steps:
            call = first.value if s is first else _increment(s, name)
            g, _, index = call.args
            new = add_in_place(name, as_slice(index, shapes), g, shapes, np_name)
            if s is first:
                if reordered is None:
                    made.append(ast.copy_location(new, s))
            else:
                block[block.index(s)] = ast.copy_location(new, s)
        block[i:i + 1] = made
        i += len(made)


def diff_adjoints_in_place(fdef: ast.FunctionDef, shapes, np_name: str = "np") -> bool:
    """`A += s2s.grad_diff(g, P, 1, k)` (np.diff's adjoint added into an adjoint array the code already updates in
    place) -> `A[..., 1:, ...] += g` and `A[..., :-1, ...] -= g` along axis k: the two index adjoints the helper adds
    into its zeros, added into A with no array made between. Where P and A have one known shape, g is real with P's
    shape one shorter along k, and k is an int literal. (A float64 sum in another order: `A + g[j - 1] - g[j]` where
    the helper's array held `g[j - 1] - g[j]`.) Returns whether anything was rewritten.

        u_bar += s2s.grad_diff(dx_bar, u, 1, 0)    ->    u_bar[1:] += dx_bar; u_bar[:-1] -= dx_bar

    And `A = s2s.grad_diff(g, P, n, k)` of n 1 or 2 (a smoothness penalty's `np.diff(v, 2)`), the helper's array
    made where A is bound: `A = np.zeros(S); A[2:] += g; A[1:-1] -= 2.0 * g; A[:-2] += g` (the helper computes the
    second difference's adjoint as two first ones: a float64 sum in another order).
    """
    split = {}  # id(statement) -> its two updates (found before any is rewritten: the checks read the tree)
    for stmt in walk(fdef):
        parts = _diff_parts(stmt, shapes, fdef) or _diff_made(stmt, shapes, np_name)
        if parts is not None:
            split[id(stmt)] = [fix_locations(ast.copy_location(p, stmt)) for p in parts]
    if split:
        rewrite_statements(fdef, lambda stmt: split.get(id(stmt), [stmt]))
    return bool(split)


def diagonal_adjoints_in_place(fdef: ast.FunctionDef, shapes, np_name: str = "np") -> bool:
    """np.diag's adjoint added into an adjoint array the code already updates in place, `A += Y` of
    `Y = s2s.grad_diag(g, v, 0)` (bound once, at the top level, read there alone) or `A += s2s.grad_diag(g, v, 0)`
    -> `A[np.diag_indices(n)] += g`: the helper's zeros (n x n of them, a fresh allocation each call) and the
    addition of every entry go; the diagonal gets the same sums. Where v and A are real n x n arrays of one known
    shape, g real of shape (n,) and a new array (`made_by_arithmetic`) that no statement between the two binds or
    changes. (Off the diagonal A's entries are no longer added 0.0: a -0.0 stays -0.0.) Returns whether anything
    was rewritten.

        S_bar = s2s.grad_diag(diag_bar, S, 0); ...; t2_bar += S_bar    ->    ...; t2_bar[np.diag_indices(512)] += diag_bar
    """
    body = fdef.body
    changed = False
    for k, stmt in enumerate(body):
        if not (isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and isinstance(stmt.target, ast.Name)):
            continue
        made, value = None, stmt.value
        if isinstance(value, ast.Name):
            made = _read_once_binding(body, k, value.id)
            value = body[made].value if made is not None else None
        g = _diagonal_of(value, stmt.target, shapes, fdef)
        if g is None or made is not None and _touched(fdef, body[made + 1:k], g.id, shapes):
            continue
        n = shapes.of(stmt.target)[0]
        index = ast.Call(func=ast.Attribute(value=load(np_name), attr="diag_indices", ctx=ast.Load()),
                         args=[ast.Constant(n)], keywords=[])
        body[k] = ast.copy_location(ast.AugAssign(
            target=ast.Subscript(value=load(stmt.target.id), slice=index, ctx=ast.Store()), op=ast.Add(),
            value=load(g.id)), stmt)
        if made is not None:
            body[made] = ast.copy_location(ast.Pass(), body[made])
        changed = True
    if changed:
        fdef.body = [s for s in body if not isinstance(s, ast.Pass)] or [ast.Pass()]
        fix_locations(fdef)
    return changed


def _read_once_binding(body, k, name):
    """The index of the top-level `name = value` whose value statement k reads as its operand and nothing else
    reads (no read between, none after until a statement binds `name` again without reading it), else None."""
    q = next((q for q in range(k - 1, -1, -1) if any(isinstance(n, ast.Name) and n.id == name
                                                    for n in walk(body[q]))), None)
    if q is None or not (isinstance(body[q], ast.Assign) and len(body[q].targets) == 1
                         and isinstance(body[q].targets[0], ast.Name) and body[q].targets[0].id == name
                         and not _reads(body[q].value, name)):
        return None
    for later in body[k + 1:]:
        if any(isinstance(n, ast.Name) and n.id == name for n in walk(later)):
            rebinds = isinstance(later, ast.Assign) and len(later.targets) == 1 \
                and isinstance(later.targets[0], ast.Name) and later.targets[0].id == name
            return q if rebinds and not _reads(later.value, name) else None
    return q


def _diagonal_of(value, target, shapes, fdef):
    """g of `s2s.grad_diag(g, v, 0)` added into `target`, where the rewrite holds (diagonal_adjoints_in_place), else
    None."""
    if not (_helper_call(value, shapes, "grad_diag") and len(value.args) == 3):
        return None
    g, v, k = value.args
    shape = shapes.of(v)
    if not (isinstance(k, ast.Constant) and k.value == 0 and type(k.value) is int and isinstance(g, ast.Name)
            and type(shape) is tuple and len(shape) == 2 and type(shape[0]) is int and shape[0] == shape[1]
            and shapes.of(target) == shape and shapes.of(g) == shape[:1] and shapes.real(target) and shapes.real(g)
            and g.id != target.id and made_by_arithmetic(fdef, g.id, shapes)):
        return None
    return g


def _touched(fdef, stmts, name, shapes) -> bool:
    """Whether `stmts` bind `name` or may change its array in place through any name that may refer to it
    (transforms/unchanged.py)."""
    if any(isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load) for s in stmts for n in walk(s)):
        return True
    names = aliases(fdef, name, shapes)
    return any(changed_in_place(s, names, shapes) for s in stmts)


def _diff_parts(stmt, shapes, fdef):
    if not (isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and isinstance(stmt.target, ast.Name)
            and _helper_call(stmt.value, shapes, "grad_diff") and len(stmt.value.args) == 4):
        return None
    g, base, n, axis = stmt.value.args
    if not (isinstance(g, ast.Name) and made_by_arithmetic(fdef, g.id, shapes)):
        return None  # (g a view of A, `g = A[1:]`, would change between the updates)
    found = _diff_order_axis(g, base, n, axis, shapes)
    if found is None or shapes.of(stmt.target) != shapes.of(base) or _reads(g, stmt.target.id):
        return None
    return _diff_updates(stmt.target.id, g, *found)


def _diff_made(stmt, shapes, np_name):
    """`A = s2s.grad_diff(g, P, n, k)` (n 1 or 2) as `A = np.zeros(S)` and the slice updates, else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and _helper_call(stmt.value, shapes, "grad_diff") and len(stmt.value.args) == 4):
        return None
    g, base, n, axis = stmt.value.args
    found = _diff_order_axis(g, base, n, axis, shapes)
    if found is None or g.id == stmt.targets[0].id:
        return None
    zeros = ast.Call(func=ast.Attribute(value=load(np_name), attr="zeros", ctx=ast.Load()),
                     args=[ast.Tuple(elts=[ast.Constant(d) for d in shapes.of(base)], ctx=ast.Load())], keywords=[])
    return [ast.Assign(targets=[store(stmt.targets[0].id)], value=zeros), *_diff_updates(stmt.targets[0].id, g, *found)]


def _diff_order_axis(g, base, n, axis, shapes):
    """(order 1 or 2, axis) of `s2s.grad_diff(g, P, n, k)` where P's shape is known, g is a real name of the
    differences' shape and k an int literal; else None."""
    shape = shapes.of(base)
    order = n.value if isinstance(n, ast.Constant) and type(n.value) is int else None
    if not (isinstance(g, ast.Name) and order in (1, 2) and _int_literal(axis) is not None and isinstance(shape, tuple)
            and shape and all(type(d) is int for d in shape) and shapes.real(g)):
        return None
    k = _int_literal(axis)
    if not -len(shape) <= k < len(shape):
        return None
    k %= len(shape)
    if shape[k] <= order or shapes.of(g) != shape[:k] + (shape[k] - order,) + shape[k + 1:]:
        return None
    return order, k


def _diff_updates(name, g, order, k):
    """The slice updates that add the adjoint `g` of `np.diff(P, order, axis=k)` into `name`: `[1:] += g`,
    `[:-1] -= g`; or `[2:] += g`, `[1:-1] -= 2.0 * g`, `[:-2] += g`."""
    def update(lower, upper, op, factor):
        cut = ast.Slice(lower=None if lower is None else ast.Constant(lower),
                        upper=None if upper is None else ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-upper)),
                        step=None)
        index = [ast.Slice(lower=None, upper=None, step=None)] * k + [cut]
        target = ast.Subscript(value=load(name), slice=index[0] if len(index) == 1 else
                               ast.Tuple(elts=index, ctx=ast.Load()), ctx=ast.Store())
        value = copy.deepcopy(g) if factor is None else ast.BinOp(left=ast.Constant(factor), op=ast.Mult(),
                                                                  right=copy.deepcopy(g))
        return ast.AugAssign(target=target, op=op, value=value)
    if order == 1:
        return [update(1, None, ast.Add(), None), update(None, -1, ast.Sub(), None)]
    return [update(2, None, ast.Add(), None), update(1, -1, ast.Sub(), 2.0), update(None, -2, ast.Add(), None)]


def made_by_arithmetic(fdef, name, shapes) -> bool:
    """Whether `name` is a local (no parameter) whose every binding is `name = <arithmetic>` or
    `name = np.zeros(...)` (a new array, never a view of another) or `name op= e` (in place: the same array); an
    update of its items (`name[i] += e`) binds nothing.

        >>> # t = u - f; t += g; t[1:] -= h   -> True for t;   t = u[1:]   -> False
    """
    if any(a.arg == name for a in walk(fdef.args) if isinstance(a, ast.arg)):
        return False
    bound = assigned = 0
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            bound += 1
        elif isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                and n.targets[0].id == name:
            v = n.value
            if not (isinstance(v, ast.BinOp | ast.UnaryOp) or isinstance(v, ast.Call) and shapes.callee(v) is np.zeros):
                return False
            assigned += 1
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name:
            assigned += 1
    return assigned > 0 and assigned == bound


def _reordered_copy(read, shape, shapes, dtype):
    """For `s2s.getitem_grad(g, P, index)` of an index that takes each of P's entries once, in some order (a
    reversal `[::-1]`, `[:, ::-1]`, ...), and a real g of P's whole `shape`: `g[index].copy()` (`.astype(dtype)`
    in code with float32 arguments: the dtype the zeros would have), the array the zeros plus `x_bar[index] += g`
    make, with no zeros to write over; else None. A copy: the adjoint array is the function's own, as its zeros
    were, and later steps may write into it.

        s2s.getitem_grad(t_bar, w, slice(None, None, -1))    ->    t_bar[::-1].copy()
    """
    g, _, index = read.args
    index = as_slice(index, shapes)
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    if not (isinstance(g, ast.Name) and shapes.of(g) == shape and shapes.real(g) and len(items) <= len(shape)
            and all(_whole_axis(i) for i in items)):
        return None
    view = ast.Subscript(value=load(g.id), slice=copy.deepcopy(index), ctx=ast.Load())
    method, args = ("copy", []) if dtype is None else ("astype", [dtype])
    return ast.Call(func=ast.Attribute(value=view, attr=method, ctx=ast.Load()), args=args, keywords=[])


def _whole_axis(index) -> bool:
    """A slice of a whole axis, forwards or backwards: `:`, `::1`, `::-1`."""
    if not (isinstance(index, ast.Slice) and index.lower is None and index.upper is None):
        return False
    step = index.step
    if step is None or isinstance(step, ast.Constant) and step.value is None:
        return True
    if isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub) and isinstance(step.operand, ast.Constant):
        return type(step.operand.value) is int and step.operand.value == 1
    return isinstance(step, ast.Constant) and type(step.value) is int and step.value in (1, -1)


def _run_start(stmt, adjoints, shapes):
    """(name, shape) for `name = s2s.getitem_grad(g, P, index)` of an adjoint name and a float64 array P of
    known shape, g and index not reading the name; else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in adjoints):
        return None
    name = stmt.targets[0].id
    shape = _index_read(stmt.value, name, shapes, None)
    return None if shape is None else (name, shape)


def _index_read(e, name, shapes, shape):
    """The shape of P for `s2s.getitem_grad(g, P, index)` of a float64 array P (equal to `shape` where
    given) whose g and index do not read `name`, else None."""
    if not (_helper_call(e, shapes, "getitem_grad") and len(e.args) == 3 and isinstance(e.args[1], ast.Name)):
        return None
    base = e.args[1]
    found = shapes.of(base)
    if type(found) is not tuple or found == () or base.id not in shapes.local or base.id not in shapes.reals \
            or (shape is not None and found != shape) or _reads(e.args[0], name) or _reads(e.args[2], name) \
            or _may_drop_imaginary(e, found, shapes):
        return None
    return found


def _may_drop_imaginary(read, shape, shapes) -> bool:
    """Whether the in-place add of `s2s.getitem_grad(g, P, index)` into a real adjoint array of P's `shape` would drop
    the imaginary part of a g not certainly real (NumPy casts a complex sum back into one element, or into what
    `np.add.at` or a fancy index writes, with a warning only; `P_bar[i] += g` into a view of several raises)."""
    g, index = read.args[0], as_slice(read.args[2], shapes)
    if shapes.real(g):
        return False
    if not basic_index(index, shapes) or not isinstance(shape, tuple):
        return True
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    return len(items) >= len(shape) and not any(isinstance(i, ast.Slice) for i in items)


def as_slice(index, shapes):
    """`slice(a, b, c)` (the builtin, of ints or None) as the subscript `a:b:c`, also as an item of a tuple index
    (`(slice(1, -1, None), slice(1, -1, None))`, the adjoint of `K[1:-1, 1:-1]`); any other index as it is."""
    if isinstance(index, ast.Tuple):
        items = [as_slice(e, shapes) if not isinstance(e, ast.Tuple) else e for e in index.elts]
        if all(a is b for a, b in zip(items, index.elts)):
            return index
        out = ast.copy_location(ast.Tuple(elts=items, ctx=ast.Load()), index)
        # (only as a subscript of its own: a tuple with an array in it stays the index np.add.at is given)
        return out if basic_index(out, shapes) else index
    if isinstance(index, ast.Call) and shapes.callee(index) is slice and not index.keywords \
            and 1 <= len(index.args) <= 3 and all(_int(a, shapes) or (isinstance(a, ast.Constant) and a.value is None)
                                                  for a in index.args):
        parts = [None if isinstance(a, ast.Constant) and a.value is None else a for a in index.args]
        if len(parts) == 1:
            parts = [None, parts[0]]
        parts += [None] * (3 - len(parts))
        return ast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
    return index


def _distinct(index, shapes) -> bool:
    """A tuple of 1-d integer arrays of one length n, one of them `np.arange` of n values from 0 up
    (`(np.arange(n), y)`): each position it selects, it selects once."""
    if not isinstance(index, ast.Tuple) or not index.elts or not all(shapes.is_int_array(e) for e in index.elts):
        return False
    for e in index.elts:
        r = shapes.aranges.get(e.id)
        if r is not None and r.start >= 0 and r.step > 0 \
                and all(shapes.of(other) == (len(r),) for other in index.elts):
            return True
    return False


def add_in_place(name, index, g, shapes, np_name):
    if basic_index(index, shapes) or _distinct(index, shapes):
        return ast.AugAssign(target=ast.Subscript(value=load(name), slice=index, ctx=ast.Store()), op=ast.Add(),
                             value=g)
    add_at = ast.Attribute(value=ast.Attribute(value=load(np_name), attr="add", ctx=ast.Load()), attr="at",
                           ctx=ast.Load())
    return ast.Expr(value=ast.Call(func=add_at, args=[load(name), index, g], keywords=[]))


def _rewrite_one(fdef, nodes, name, shapes, np_name, stores, assigns, dtypes=None):
    if len(assigns) != len(stores) or any(len(a.targets) != 1 for a in assigns):
        return  # a tuple target, a loop variable, an augmented assignment...
    inits = [a for a in assigns if isinstance(a.value, ast.Constant) and type(a.value.value) is float
             and a.value.value == 0.0]
    if not inits and dtypes is None:  # (`u_bar = 0.1 * 2 * u` before the loop: a new array of the argument's own)
        inits = [a for a in assigns if isinstance(a.value, ast.BinOp | ast.UnaryOp) and _increment(a, name) is None
                 and not _reads(a.value, name)]
    if len(inits) != 1 or inits[0] not in fdef.body:
        return
    steps = [a for a in assigns if a is not inits[0]]
    index_steps, other_steps, base = [], [], None
    for a in steps:
        e = _increment(a, name)
        if e is None or _reads(e, name):
            return
        if _helper_call(e, shapes, "getitem_grad") and len(e.args) == 3 and isinstance(e.args[1], ast.Name):
            if _may_drop_imaginary(e, shapes.of(e.args[1]), shapes):
                return
            if base is None:
                base = e.args[1].id
            if e.args[1].id != base or _reads(e.args[2], name):
                return
            index_steps.append(a)
        else:
            other_steps.append(a)
    if not index_steps:
        return
    shape = shapes.env.get(base) if base in shapes.local else None
    if base in shapes.restored:  # (restored by the tape: the shape each step's read has there, one for all)
        found = {shapes.of(_increment(a, name).args[1]) for a in index_steps}
        shape = found.pop() if len(found) == 1 else None
    if not isinstance(shape, tuple) or shape == () or base not in shapes.reals \
            or dtypes is not None and base not in dtypes:
        return
    if any(shapes.of(_increment(a, name)) not in (shape, ()) for a in other_steps):
        return
    fresh = not isinstance(inits[0].value, ast.Constant)
    if fresh and (shapes.of(inits[0].value) != shape or not shapes.real(inits[0].value)
                  or fdef.body.index(inits[0]) > min(_top_index(fdef, a) for a in steps)):
        return  # (an array of the argument's shape, made by arithmetic before any step: the code's own)
    # the only other reads: the return statement, and statements of the function's body after the last one
    # that holds a step (`x_bar = s2s.grad_iterated(seq_bar, x)` after the loop): the array is complete there
    own = {id(n) for a in steps for n in walk(a)}
    returns = {id(n) for r in nodes if isinstance(r, ast.Return) for n in walk(r)}
    step_ids = {id(a) for a in steps}
    last = max(i for i, top in enumerate(fdef.body) if any(id(n) in step_ids for n in walk(top)))
    after = {id(n) for top in fdef.body[last + 1:] for n in walk(top)}
    if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) and id(n) not in own
           and id(n) not in returns and id(n) not in after for n in nodes):
        return
    init = inits[0]
    dtype = None if dtypes is None else ast.Attribute(value=load(np_name), attr=dtypes[base], ctx=ast.Load())
    if not fresh:
        init.value = _zeros(np_name, shape, dtype)
        first = _first_of(fdef, steps)
        reordered = None if first not in index_steps else \
            _reordered_copy(_increment(first, name), shape, shapes, copy.deepcopy(dtype))
        if reordered is not None:  # (the zeros all written over by the first step: its copy in their place)
            init.value = ast.Constant(0.0)
            index_steps.remove(first)
            _replace_stmt(fdef, first, ast.copy_location(ast.Assign(targets=[store(name)], value=reordered), first))
    for a in index_steps:
        g, _, index = _increment(a, name).args
        index = as_slice(index, shapes)
        if basic_index(index, shapes):
            new = ast.AugAssign(target=ast.Subscript(value=load(name), slice=index, ctx=ast.Store()), op=ast.Add(),
                                value=g)
        else:
            add_at = ast.Attribute(value=ast.Attribute(value=load(np_name), attr="add", ctx=ast.Load()), attr="at",
                                   ctx=ast.Load())
            new = ast.Expr(value=ast.Call(func=add_at, args=[load(name), index, g], keywords=[]))
        _replace_stmt(fdef, a, ast.copy_location(new, a))
    for a in other_steps:
        _replace_stmt(fdef, a, ast.copy_location(
            ast.AugAssign(target=store(name), op=ast.Add(), value=_increment(a, name)), a))


def _first_of(fdef, steps):
    """The step of `steps` that is a statement of the function's body and comes before every other step's
    top-level statement, else None."""
    tops = sorted((_top_index(fdef, a), k) for k, a in enumerate(steps))
    at, k = tops[0]
    first = steps[k]
    return first if fdef.body[at] is first and all(t > at for t, _ in tops[1:]) else None


def _top_index(fdef, stmt) -> int:
    """The position in `fdef.body` of the top-level statement that holds `stmt`."""
    return next(i for i, top in enumerate(fdef.body) if any(n is stmt for n in walk(top)))


def _replace_stmt(tree, old, new):
    for node in walk(tree):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                for i, s in enumerate(block):
                    if s is old:
                        block[i] = new
                        return
