"""The adjoint of `np.max(x, axis, keepdims=True)` without the per-slice count where nothing ties.

`specialize` writes the adjoint of a max or min over an axis (`s2s.grad_extreme`) as

    g / np.sum(x == m, axis=1, keepdims=True, dtype=x.dtype) * (x == m)

which splits `g` evenly between the entries of each slice that equal its extreme `m` (s2s's
convention at ties; without keepdims, `g` and `m` are read with the axis put back, `m[:, None]`).
Counting per slice is a reduction over a short axis, which NumPy does slowly (one inner loop per
slice). Here the mask is computed once, into a statement of its own, and the count is taken only
where some slice could have more than one hit:

    x_extreme = x == m
    ... (g if np.count_nonzero(x_extreme) == 128 and np.count_nonzero(np.isnan(m)) == 0
         else g / np.sum(x_extreme, axis=1, keepdims=True, dtype=x.dtype)) * x_extreme

Why the values are the same: `m` is the slice-wise extreme of `x` (the adjoint's `ans`), so every
slice whose extreme is not NaN has at least one entry equal to it; where no extreme is NaN and
the mask holds exactly as many hits as there are slices (128 here, the size of `m`, known from
the shapes), every slice has exactly one, its count is 1, and `g / 1.0 * mask` is `g * mask`
exactly. Otherwise (a tie, or a NaN slice, which has no hit and gets NaN from the division) the
general expression runs, unchanged.
"""

from __future__ import annotations

import ast
import copy
import math

from .names import names_in
from .walk import fix_locations, walk

__all__ = ["expanded_name", "split_extreme_ties"]


def split_extreme_ties(fdef: ast.FunctionDef, shapes, np_name: str) -> bool:
    """Rewrite each `specialize`-written max/min adjoint as above; `shapes` are those inferred over `fdef`.

    Returns whether anything changed.
    """
    taken = names_in(fdef)
    changed = False

    def block(stmts):
        nonlocal changed
        out = []
        for s in stmts:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(s, field, block(inner))
            if isinstance(s, ast.Assign | ast.AugAssign) and not any(isinstance(n, ast.NamedExpr) for n in walk(s)):
                for node in list(walk(s.value)):
                    parts = _pattern(node, shapes, np_name)
                    if parts is None:
                        continue
                    g, x, m, axis, slices = parts
                    mask = _fresh(f"{x.id}_extreme", taken)
                    out.append(ast.copy_location(ast.Assign(
                        targets=[ast.Name(id=mask, ctx=ast.Store())],
                        value=ast.Compare(left=copy.deepcopy(x), ops=[ast.Eq()], comparators=[copy.deepcopy(m)])), s))
                    _rewrite(node, g, x, m, axis, slices, mask, np_name)
                    changed = True
            out.append(s)
        return out

    fdef.body = block(fdef.body)
    if changed:
        fix_locations(fdef)
    return changed


def _pattern(node, shapes, np_name):
    """(g, x, m, axis, number of slices) of `g / np.sum(x == m, axis=A, keepdims=True, dtype=x.dtype) * (x == m)`."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and isinstance(node.left, ast.BinOp)
            and isinstance(node.left.op, ast.Div) and isinstance(node.left.right, ast.Call)):
        return None
    g, count, mask = node.left.left, node.left.right, node.right
    if not (_is_np(count.func, np_name, "sum") and len(count.args) == 1 and _is_eq(count.args[0]) and _is_eq(mask)
            and ast.dump(count.args[0]) == ast.dump(mask) and (isinstance(g, ast.Name | ast.Constant) or expanded_name(g))):
        return None
    x, m = mask.left, mask.comparators[0]
    keywords = {k.arg: k.value for k in count.keywords}
    if set(keywords) != {"axis", "keepdims", "dtype"} or not _is_true(keywords["keepdims"]) \
            or ast.dump(keywords["dtype"]) != ast.dump(ast.Attribute(value=x, attr="dtype", ctx=ast.Load())):
        return None
    shape_m = shapes.of(m)
    if not isinstance(x, ast.Name) or not (isinstance(m, ast.Name) or expanded_name(m)) or not isinstance(shape_m, tuple) \
            or shape_m == () \
            or not all(type(n) is int for n in shape_m) or not isinstance(shapes.of(x), tuple):
        return None
    return g, x, m, keywords["axis"], math.prod(shape_m)


def _rewrite(node, g, x, m, axis, slices, mask, np_name):
    def np_call(name, *args, **keywords):
        return ast.Call(func=ast.Attribute(value=ast.Name(id=np_name, ctx=ast.Load()), attr=name, ctx=ast.Load()),
                        args=list(args), keywords=[ast.keyword(arg=k, value=v) for k, v in keywords.items()])

    def load():
        return ast.Name(id=mask, ctx=ast.Load())

    single = ast.Compare(left=np_call("count_nonzero", load()), ops=[ast.Eq()], comparators=[ast.Constant(slices)])
    no_nan = ast.Compare(left=np_call("count_nonzero", np_call("isnan", copy.deepcopy(m))), ops=[ast.Eq()],
                         comparators=[ast.Constant(0)])
    count = np_call("sum", load(), axis=copy.deepcopy(axis), keepdims=ast.Constant(True),
                    dtype=ast.Attribute(value=copy.deepcopy(x), attr="dtype", ctx=ast.Load()))
    share = ast.IfExp(test=ast.BoolOp(op=ast.And(), values=[single, no_nan]), body=copy.deepcopy(g),
                      orelse=ast.BinOp(left=copy.deepcopy(g), op=ast.Div(), right=count))
    node.left, node.right = share, load()


def expanded_name(node) -> bool:
    """A name with new axes, `m[:, None]` (the extreme of a reduction without keepdims, its axis put back): a view,
    cheap to read twice."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
        return False
    index = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    return all(isinstance(i, ast.Slice) and i.lower is None and i.upper is None and i.step is None
               or isinstance(i, ast.Constant) and i.value is None for i in index)


def _is_np(func, np_name, attr):
    return isinstance(func, ast.Attribute) and func.attr == attr and isinstance(func.value, ast.Name) \
        and func.value.id == np_name


def _is_eq(node):
    return isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)


def _is_true(node):
    return isinstance(node, ast.Constant) and node.value is True


def _fresh(base, taken):
    name, k = base, 2
    while name in taken:
        name, k = f"{base}{k}", k + 1
    taken.add(name)
    return name
