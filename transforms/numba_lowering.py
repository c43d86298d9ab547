"""A post-pass for compiled derivatives: the final generated function, rewritten into code numba compiles.

It runs on the AST of the finished derivative (after every pass and the optimizer) and changes only
what numba cannot compile as it stands, keeping loops as loops:

- the one tape (`stack = []`, pushed with `stack.append(v)` and popped with `v = stack.pop()`) holds
  values of many types, which a numba list cannot; it becomes one tape per variable. That is the same
  program only when every pop takes back what a push of the same variable left, so the split is made
  only after `_check_mirrored` has matched the pops against the pushes (a loop of pops against a loop
  of pushes, a branch against a branch, in reverse order); anything else is refused;
- a tape of numbers whose element type is known (`Lowering(..., tape_types=...)`) becomes a
  preallocated array with a counter, grown by doubling; other tapes stay numba lists. A tape of numbers whose
  length is a constant (every push in loops over constant ranges) and small (`STACK_BYTES` for all of a
  function's tapes) lives in the function's stack frame (`TAPE_STACK`): no allocation per call;
- `reversed(range(...))` becomes a range that counts down;
- the seed's keyword-only parameter becomes a positional one (numba has no keyword-only parameters);
- what numba has no type for is refused with the node: closures, comprehensions, dicts and sets,
  Python lists other than the tape, `try`, `with`, `is` comparisons, starred arguments.

Names the code reads but does not define are reported (`Lowered.free`): the caller decides which
are modules, which compiled helpers, and which data to pass in as arguments on every call
(numba would otherwise freeze a global's value into the machine code).

Example::

    import ast
    fdef = ast.parse(source).body[0]
    low = lower(fdef)
    print(ast.unparse(low.fdef))
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

import numpy as np

from .names import bound_values, int_constant
from .ownership import MUTATING_METHODS
from .unchanged import root
from .walk import binding_counts, fix_locations, parent_map, walk

_ARRAY_WRITING_METHODS = MUTATING_METHODS & set(dir(np.ndarray))  # (not a list's append and pop: the tapes)

NUMPY = "_s2s_numpy"  # the name the rewritten code reads NumPy by, whatever the user calls it
TAPE_SET = "_s2s_tape_set"  # (tape, count, value): stores value at count; a value of another type does not compile
TAPE_GROW = "_s2s_tape_grow"  # tape -> a copy twice as long
TAPE_STACK = "_s2s_tape_stack"  # (constant length, dtype) -> an array tape in the compiled function's stack frame
STACK_BYTES = 16384  # at most this much of a function's frame for its tapes (threads may have small stacks)
_ITEMSIZE = {"float64": 8, "int64": 8, "float32": 4, "int32": 4}
ACCUMULATE = "_s2s_accumulate"  # (total or None, g) -> total + g: an adjoint that starts as the zero adjoint
ACCUMULATE_MATMUL = "_s2s_accumulate_matmul"  # (total or None, a, b) -> total + a @ b, an outer product in place
ACCUMULATE_OUTER = "_s2s_accumulate_outer"  # (total or None, a, b) -> total + np.outer(a, b), in place
ADD_ZERO = "_s2s_add_zero"  # (a, b), one of them None for the zero adjoint: a + b, the number 0.0 for the None
PRESENT = "_s2s_present"  # x -> x, a None (the zero adjoint) raising the marked fallback
WEAK = "_s2s_weak"  # (number, other operand) -> the number in float32 where the other is float32, else itself
WEAK_OP = "_s2s_weak_op"  # (a, b, op, a is the number) -> a op b, the number in float32 where the other is float32
MATMUL = "_s2s_matmul"  # (a, b) -> a @ b, of arrays of two dtypes too (NumPy's promotion)
FLOAT_MASK = "_s2s_float_mask"  # (bool mask, x) -> the mask as 0s and 1s in x's precision
ZERO_LIKE = "_s2s_zero_like"  # (value) -> 0.0 for a number, zeros of its shape for an array
STRONG_OP = "_s2s_strong_op"  # (a, b, op, a is a NumPy int, b is) -> a op b, float32 with 32-bit ints in float64


def accumulate_outer(fdef: ast.FunctionDef, numpy_names: set) -> bool:
    """`X = _s2s_accumulate(X, np.outer(a, b))` -> `X = _s2s_accumulate_outer(X, a, b)` where `np` is one of
    `numpy_names` (known to be NumPy only once the names are bound). Whether anything was rewritten."""
    done = False
    for node in walk(fdef):
        if isinstance(node, ast.Call) and _is_name(node.func, ACCUMULATE) and len(node.args) == 2:
            e = node.args[1]
            if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "outer" \
                    and isinstance(e.func.value, ast.Name) and e.func.value.id in numpy_names \
                    and len(e.args) == 2 and not e.keywords and not any(isinstance(a, ast.Starred) for a in e.args):
                node.func = ast.Name(id=ACCUMULATE_OUTER, ctx=ast.Load())
                node.args = [node.args[0], *e.args]
                done = True
    return done


REDUCE = "_s2s_reduce"  # (x, op, axis, keepdims) -> np.<op>(x, axis=axis, keepdims=keepdims), constants but x
NORM = "_s2s_norm"  # x -> np.linalg.norm(x), for a number and an array of any rank
_REDUCTIONS = {"sum": "sum", "prod": "prod", "mean": "mean", "max": "max", "min": "min", "amax": "max", "amin": "min"}


def reductions(fdef: ast.FunctionDef, numpy_names: set, linalg_names: frozenset = frozenset()) -> bool:
    r"""`x.max(axis=1, keepdims=True)`, `np.sum(x, 0)`, `np.sum(x)`... -> `_s2s_reduce(x, "max", 1, True)` where
    the axis is an int or None and keepdims a bool, written as constants: numba's reductions take no
    keepdims, its max, min and mean no axis, and none of them a number. `np.linalg.norm(x)` (or
    `linalg.norm(x)` for a name of `linalg_names`) -> `_s2s_norm(x)`: numba's takes vectors and matrices
    only. `np` must be one of `numpy_names`. Whether anything was rewritten.

        >>> f = ast.parse("def f(z):\n    return z.max(axis=1, keepdims=True)").body[0]
        >>> reductions(f, {"np"}), ast.unparse(f.body[0])
        (True, "return _s2s_reduce(z, 'max', 1, True)")
    """
    done = False
    for node in walk(fdef):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        func = node.func
        if func.attr == "norm" and _is_linalg(func.value, numpy_names, linalg_names):
            if len(node.args) == 1 and not node.keywords and not isinstance(node.args[0], ast.Starred):
                node.func = ast.Name(id=NORM, ctx=ast.Load())
                done = True
            else:
                done = _norm_along(node) or done
            continue
        function = isinstance(func.value, ast.Name) and func.value.id in numpy_names
        if func.attr in ("var", "std"):
            done = _variance(node, function) or done
            continue
        if function and func.attr in _REDUCTIONS:
            if not node.args:
                continue
            array, rest = node.args[0], node.args[1:]  # np.sum(a, axis, dtype, ...): at most the axis
        elif func.attr in _REDUCTIONS and func.attr[0] != "a":
            array, rest = func.value, node.args  # a.sum(axis, dtype, ...): at most the axis
        else:
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        if "dtype" in keywords and _REDUCTIONS[func.attr] in ("sum", "prod") and None not in keywords:
            # np.sum(mask, dtype=x.dtype): NumPy adds the items converted to the dtype, as the sum of the converted
            # array does (numba's reductions take no dtype)
            array = ast.Call(func=ast.Attribute(value=array, attr="astype", ctx=ast.Load()),
                             args=[keywords.pop("dtype")], keywords=[])
        if len(rest) > 1 or None in keywords or set(keywords) - {"axis", "keepdims"} \
                or (rest and "axis" in keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            continue
        axis = rest[0] if rest else keywords.get("axis", ast.Constant(None))
        keepdims = keywords.get("keepdims", ast.Constant(False))
        axes = _axes_one_by_one(axis, keepdims, _REDUCTIONS[func.attr])
        if axes is not None:  # (a tuple of axes: one reduction per axis, the ones after first)
            for a in axes[:-1]:
                array = ast.Call(func=ast.Name(id=REDUCE, ctx=ast.Load()),
                                 args=[array, ast.Constant(_REDUCTIONS[func.attr]), ast.Constant(a), keepdims],
                                 keywords=[])
            axis = ast.Constant(axes[-1])
        if not (rest or keywords or function) or int_constant(axis) is None \
                and not (isinstance(axis, ast.Constant) and axis.value is None) \
                or not (isinstance(keepdims, ast.Constant) and type(keepdims.value) is bool):
            continue  # (a.sum() of an array numba takes as it is)
        node.func = ast.Name(id=REDUCE, ctx=ast.Load())
        node.args = [array, ast.Constant(_REDUCTIONS[func.attr]), axis, keepdims]
        node.keywords = []
        done = True
    return done


def _axes_one_by_one(axis, keepdims, op):
    """The ints of a tuple of axes `(0, 2)` in the order one reduction after another over each gives what the
    reduction over the tuple gives (`x.sum(axis=(0, 2))` is `x.sum(axis=2).sum(axis=0)`: the later axes first, so
    that the earlier keep their numbers; with keepdims any order), else None: numba reduces over one axis at a
    time. Sums, products, extremes, and means (each axis's items one count: a mean of means is the mean)."""
    if not isinstance(axis, ast.Tuple) or not axis.elts or op not in ("sum", "prod", "max", "min", "mean") \
            or not (isinstance(keepdims, ast.Constant) and type(keepdims.value) is bool):
        return None
    axes = [int_constant(e) for e in axis.elts]
    if any(a is None for a in axes) or len(set(axes)) != len(axes):
        return None
    if keepdims.value:
        return axes if all(a >= 0 for a in axes) or all(a < 0 for a in axes) else None
    return sorted(axes, reverse=True) if all(a >= 0 for a in axes) else None


VARIANCE = "_s2s_variance"  # (x, "var", "std" or "norm", axis, keepdims, ddof) -> np.var(x, ...), constants but x, ddof


def _variance(node, function) -> bool:
    """`np.var(x, axis, ddof=d, keepdims=k)` or `x.std(axis=...)` (`function`: the NumPy function's form) ->
    `_s2s_variance(x, "var", axis, keepdims, ddof)` where the axis is an int or None and keepdims a bool,
    written as constants: numba's var and std take none of them. Whether it rewrote `node`."""
    func = node.func
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return False
    if function:
        if not node.args:
            return False
        array, rest = node.args[0], node.args[1:]
    else:
        array, rest = func.value, node.args
    keywords = {k.arg: k.value for k in node.keywords}
    if len(rest) > 1 or set(keywords) - {"axis", "keepdims", "ddof"} or (rest and "axis" in keywords):
        return False  # (dtype=, out=, where=, mean=, correction=: the NumPy code's)
    axis = rest[0] if rest else keywords.get("axis", ast.Constant(None))
    keepdims = keywords.get("keepdims", ast.Constant(False))
    ddof = keywords.get("ddof", ast.Constant(0))
    if int_constant(axis) is None and not (isinstance(axis, ast.Constant) and axis.value is None) \
            or not (isinstance(keepdims, ast.Constant) and type(keepdims.value) is bool) \
            or int_constant(ddof) is None:
        return False
    node.func = ast.Name(id=VARIANCE, ctx=ast.Load())
    node.args = [array, ast.Constant(func.attr), axis, keepdims, ddof]
    node.keywords = []
    return True


def _norm_along(node) -> bool:
    r"""`np.linalg.norm(x, axis=k)` (ord None or 2 given as a constant, keepdims a bool) of an int constant k ->
    `_s2s_variance(x, "norm", k, keepdims, 0)`, the 2-norm along the axis: numba's norm takes no axis. Whether it
    rewrote `node`.

        >>> call = ast.parse("np.linalg.norm(d, axis=1, keepdims=True)").body[0].value
        >>> _norm_along(call), ast.unparse(call)
        (True, "_s2s_variance(d, 'norm', 1, True, 0)")
    """
    if not node.args or len(node.args) > 3 or any(isinstance(a, ast.Starred) for a in node.args) \
            or any(k.arg is None for k in node.keywords):
        return False
    given = dict(zip(("x", "ord", "axis"), node.args)) | {k.arg: k.value for k in node.keywords}
    if set(given) - {"x", "ord", "axis", "keepdims"} or len(given) != len(node.args) + len(node.keywords):
        return False
    order = given.get("ord", ast.Constant(None))
    keepdims = given.get("keepdims", ast.Constant(False))
    if "axis" not in given or int_constant(given["axis"]) is None \
            or not (isinstance(order, ast.Constant) and (order.value is None or type(order.value) is int
                                                         and order.value == 2)) \
            or not (isinstance(keepdims, ast.Constant) and type(keepdims.value) is bool):
        return False  # (a tuple of axes: a matrix norm; other orders: the NumPy code's)
    node.func = ast.Name(id=VARIANCE, ctx=ast.Load())
    node.args = [given["x"], ast.Constant("norm"), given["axis"], keepdims, ast.Constant(0)]
    node.keywords = []
    return True


CONCAT_LIST = "_s2s_concat_list"  # (L, axis) -> np.concatenate(L, axis) of the user's list along a constant axis
CUMULATIVE = "_s2s_cumulative"  # (x, "sum" or "prod", axis) -> np.cumsum / np.cumprod along a constant int axis
DIFF = "_s2s_diff"  # (x, n, axis) -> np.diff(x, n, axis) along a constant int axis


def cumulatives(fdef: ast.FunctionDef, numpy_names: set) -> None:
    r"""`np.cumsum(x, axis=k)` / `np.cumprod(x, k)` of a constant int k -> `_s2s_cumulative(x, "sum", k)`: numba's
    take no axis (without one, or with None, they are left as they are); `np.diff` with an axis too
    (`_diff_with_axis`).

        >>> f = ast.parse("def f(x):\n    return np.cumprod(x, axis=1) + np.cumsum(x, 0)").body[0]
        >>> cumulatives(f, {"np"}); ast.unparse(f.body[0])
        "return _s2s_cumulative(x, 'prod', 1) + _s2s_cumulative(x, 'sum', 0)"
    """
    for node in walk(fdef):
        if _diff_with_axis(node, numpy_names):
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("cumsum", "cumprod") and isinstance(node.func.value, ast.Name)
                and node.func.value.id in numpy_names and node.args
                and not any(isinstance(a, ast.Starred) for a in node.args)):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        if len(node.args) + len(keywords) != 2 or set(keywords) - {"axis"}:
            continue  # (no axis, or dtype=, out=: numba's own, or the NumPy code's)
        axis = node.args[1] if len(node.args) == 2 else keywords["axis"]
        if int_constant(axis) is None:
            continue
        op = "sum" if node.func.attr == "cumsum" else "prod"
        node.func = ast.Name(id=CUMULATIVE, ctx=ast.Load())
        node.args = [node.args[0], ast.Constant(op), ast.Constant(int_constant(axis))]
        node.keywords = []


def _diff_with_axis(node, numpy_names) -> bool:
    """`np.diff(x, n, axis)` of a constant int axis (positional or keyword, n an int constant or left out) ->
    `_s2s_diff(x, n, axis)`: numba's diff takes no axis. Whether `node` was rewritten."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "diff"
            and isinstance(node.func.value, ast.Name) and node.func.value.id in numpy_names and node.args
            and not any(isinstance(a, ast.Starred) for a in node.args) and len(node.args) <= 3):
        return False
    given = dict(zip(("a", "n", "axis"), node.args)) | {k.arg: k.value for k in node.keywords}
    if set(given) - {"a", "n", "axis"} or len(given) != len(node.args) + len(node.keywords) or "axis" not in given:
        return False  # (no axis: numba's own; prepend=, append=: the NumPy code's)
    n, axis = int_constant(given.get("n", ast.Constant(1))), int_constant(given["axis"])
    if n is None or axis is None or n < 0:
        return False
    node.func = ast.Name(id=DIFF, ctx=ast.Load())
    node.args, node.keywords = [given["a"], ast.Constant(n), ast.Constant(axis)], []
    return True


def clips(fdef: ast.FunctionDef, numpy_names: set) -> None:
    r"""`np.clip(a, lo, hi)` -> `np.minimum(np.maximum(a, lo), hi)`, what NumPy computes (NaN included), in the same
    order; a bound that is None is left out. numba's clip gives `a`'s shape where a bound broadcasts the result
    wider (adv228: `np.clip(x[:, None], -0.5, hi)`, a (5, 1) result for NumPy's (5, 3)).

        >>> f = ast.parse("def f(a, h):
    return np.clip(a, 0.0, h) + np.clip(a, None, h)").body[0]
        >>> clips(f, {"np"}); ast.unparse(f.body[0])
        'return np.minimum(np.maximum(a, 0.0), h) + np.minimum(a, h)'
    """
    names = {"a_min": 1, "min": 1, "a_max": 2, "max": 2}
    for node in walk(fdef):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "clip"
                and isinstance(node.func.value, ast.Name) and node.func.value.id in numpy_names
                and 1 <= len(node.args) <= 3 and not any(isinstance(a, ast.Starred) for a in node.args)
                and all(k.arg in names for k in node.keywords)):
            continue
        given = list(node.args) + [None] * (3 - len(node.args))
        if any(given[names[k.arg]] is not None for k in node.keywords) \
                or [names[k.arg] for k in node.keywords] != sorted(names[k.arg] for k in node.keywords):
            continue  # (a bound twice, or given max= before min=: evaluated in another order)
        for k in node.keywords:
            given[names[k.arg]] = k.value
        value, lo, hi = given
        if value is None:
            continue
        np_name = node.func.value.id
        for bound, ufunc in ((lo, "maximum"), (hi, "minimum")):
            if bound is not None and not _is_none(bound):
                value = ast.Call(func=ast.Attribute(value=ast.Name(id=np_name, ctx=ast.Load()), attr=ufunc,
                                                    ctx=ast.Load()), args=[value, bound], keywords=[])
        if isinstance(value, ast.Call):  # (no bound at all: NumPy's error, which numba's clip raises too)
            node.func, node.args, node.keywords = value.func, value.args, value.keywords


def _rolls_without_axis(fdef: ast.FunctionDef, numpy_names: set) -> None:
    r"""`np.roll(x, k, None)` (`axis=None`: np.roll's adjoint, `np.roll(g, np.negative(k), axis)`) -> `np.roll(x, k)`,
    the same call: numba's roll takes no axis.

        >>> f = ast.parse("def f(g):\n    return np.roll(g, 1, None) + np.roll(g, 2, axis=None)").body[0]
        >>> _rolls_without_axis(f, {"np"}); ast.unparse(f.body[0])
        'return np.roll(g, 1) + np.roll(g, 2)'
    """
    for node in walk(fdef):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "roll"
                and isinstance(node.func.value, ast.Name) and node.func.value.id in numpy_names):
            continue
        if len(node.args) == 3 and not node.keywords and _is_none(node.args[2]):
            node.args = node.args[:2]
        elif len(node.args) == 2 and len(node.keywords) == 1 and node.keywords[0].arg == "axis" \
                and _is_none(node.keywords[0].value):
            node.keywords = []


def _is_none(e) -> bool:
    return isinstance(e, ast.Constant) and e.value is None


SQUEEZE = "_s2s_squeeze"  # (x, axis) -> np.squeeze(x, axis) for a constant int axis, or None of a one-item array


def squeezes(fdef: ast.FunctionDef, numpy_names: set) -> bool:
    r"""`np.squeeze(x, axis=k)` and `x.squeeze(k)` of a constant int k -> `_s2s_squeeze(x, k)`: numba has no
    squeeze. With no axis (None), the rank of the result depends on the shape, which numba's types do not
    hold: rewritten only where `x` is a name every assignment of which is a reduction over every axis that
    keeps its dims (`m = _s2s_reduce(a, 'max', None, True)`, the `m` of a log-sum-exp), whose squeeze is its
    one item. Runs after `reductions`. Whether anything was rewritten.

        >>> f = ast.parse("def f(a):\n    m = _s2s_reduce(a, 'max', None, True)\n    return np.squeeze(m)").body[0]
        >>> squeezes(f, {"np"}), ast.unparse(f.body[1])
        (True, 'return _s2s_squeeze(m, None)')
    """
    assigned = bound_values(fdef)

    def one_item(e):
        """Whether `e` is a name only ever bound to a reduction over every axis with its dims kept."""
        values = assigned.get(e.id) if isinstance(e, ast.Name) else None
        return bool(values) and all(
            _is_call_of(v, REDUCE) and len(v.args) == 4 and isinstance(v.args[2], ast.Constant)
            and v.args[2].value is None and isinstance(v.args[3], ast.Constant) and v.args[3].value is True
            for v in values)

    done = False
    for node in walk(fdef):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "squeeze"):
            continue
        function = isinstance(node.func.value, ast.Name) and node.func.value.id in numpy_names
        args = list(node.args)
        if any(isinstance(a, ast.Starred) for a in args) or any(k.arg != "axis" for k in node.keywords):
            continue
        if function:
            if not args:
                continue
            array, rest = args[0], args[1:]
        else:
            array, rest = node.func.value, args
        if len(rest) + len(node.keywords) > 1:
            continue
        axis = rest[0] if rest else node.keywords[0].value if node.keywords else ast.Constant(None)
        if int_constant(axis) is None and not (isinstance(axis, ast.Constant) and axis.value is None
                                                and one_item(array)):
            continue
        node.func = ast.Name(id=SQUEEZE, ctx=ast.Load())
        node.args = [array, axis]
        node.keywords = []
        done = True
    return done


RESHAPE = "_s2s_reshape"  # (x, shape, copy_ok) -> np.reshape(x, shape) in NumPy's order, whatever x's layout


def reshapes(fdef: ast.FunctionDef, numpy_names: set, runtime: str = "s2s") -> bool:
    r"""`np.reshape(x, s)`, `x.reshape(s)` and `x.reshape(a, b)` -> `_s2s_reshape(x, s, copy_ok)`: numba reshapes
    an F-contiguous array (a transpose `x.T`, a Fortran-ordered argument) in Fortran order, where NumPy reads
    the items in C order (`x.T.reshape(2, 2, 3)` had other numbers), and refuses any other non-C array. The
    helper copies such an array to C order first where `copy_ok`: the result is bound to a name nothing
    writes into (a copy where NumPy may give a view is then the same program); else it refuses it.
    Whether anything was rewritten.

        >>> f = ast.parse("def f(z):\n    return z.T.reshape(2, 3)").body[0]
        >>> reshapes(f, {"np"}), ast.unparse(f.body[0])
        (True, 'return _s2s_reshape(z.T, (2, 3), False)')
    """
    done = False
    written = _written_in_place(fdef, runtime, numpy_names)
    parents = {id(c): n for n in walk(fdef) for c in ast.iter_child_nodes(n)}
    for node in walk(fdef):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "reshape"
                and not node.keywords and node.args and not any(isinstance(a, ast.Starred) for a in node.args)):
            continue
        up = parents.get(id(node))
        # a copy of a non-C array where NumPy may give a view: the same program only where nothing writes
        # into the result (else the helper refuses such an array, and the NumPy code runs)
        copy_ok = isinstance(up, ast.Assign) and len(up.targets) == 1 and isinstance(up.targets[0], ast.Name) \
            and up.targets[0].id not in written \
            or isinstance(up, ast.AugAssign) and up.value is node or isinstance(up, ast.BinOp | ast.UnaryOp)
        # (an operand, or what `a += ...` adds: read once, never written into)
        func = node.func
        if isinstance(func.value, ast.Name) and func.value.id in numpy_names:
            if len(node.args) != 2:
                continue
            array, shape = node.args
        else:
            array = func.value
            shape = node.args[0] if len(node.args) == 1 else ast.Tuple(elts=list(node.args), ctx=ast.Load())
        node.func = ast.Name(id=RESHAPE, ctx=ast.Load())
        node.args = [array, shape, ast.Constant(copy_ok)]
        done = True
    return done


ADD_AT = "_s2s_add_at"  # (a, index, v) -> np.add.at(a, index, v), which numba has no version of
STACK_LIST = "_s2s_stack_list"  # a list of arrays (or numbers) of one shape -> np.stack of it along axis 0


def add_at(fdef: ast.FunctionDef, numpy_names: set) -> bool:
    r"""`np.add.at(a, i, v)` (the adjoint of a read at an index the code computes, `E[ids]`) ->
    `_s2s_add_at(a, i, v)`: numba has no ufunc methods. Whether anything was rewritten.

        >>> f = ast.parse("def f(a, i, v):\n    np.add.at(a, i, v)").body[0]
        >>> add_at(f, {"np"}), ast.unparse(f.body[0])
        (True, '_s2s_add_at(a, i, v)')
    """
    done = False
    for node in walk(fdef):
        f = node.func if isinstance(node, ast.Call) else None
        if isinstance(f, ast.Attribute) and f.attr == "at" and isinstance(f.value, ast.Attribute) \
                and f.value.attr == "add" and isinstance(f.value.value, ast.Name) \
                and f.value.value.id in numpy_names and len(node.args) == 3 and not node.keywords \
                and not any(isinstance(a, ast.Starred) for a in node.args):
            node.func = ast.Name(id=ADD_AT, ctx=ast.Load())
            done = True
    return done


# the helpers the lowered code calls by a name of its own -> their names in s2s.runtime.compiled_helpers
HELPERS = {TAPE_SET: "tape_set", TAPE_GROW: "tape_grow", TAPE_STACK: "tape_stack", ACCUMULATE: "accumulate",
           ACCUMULATE_MATMUL: "accumulate_matmul", ACCUMULATE_OUTER: "accumulate_outer", REDUCE: "reduce_axis",
           NORM: "norm", RESHAPE: "reshape", ADD_AT: "add_at", SQUEEZE: "squeeze", VARIANCE: "variance",
           ADD_ZERO: "add_zero", PRESENT: "present", WEAK: "weak",
           WEAK_OP: "weak_op", MATMUL: "matmul", STACK_LIST: "stack_list", FLOAT_MASK: "float_mask",
           STRONG_OP: "strong_op", ZERO_LIKE: "zero_like", CUMULATIVE: "cumulative", DIFF: "diff_along",
           CONCAT_LIST: "concat_list"}


def _written_in_place(fdef, runtime: str = "s2s", modules=frozenset()):
    """The names whose arrays some statement may change in place (`y[i] = v`, `y += v`, `out=y`, `y.fill(0.0)`,
    `np.add(a, b, y)`), and the names that may be bound to the same array or to a view of it, either way
    (`z = y`, `z = y[1:]`, `z = y.T`: every binding but arithmetic, which makes a new array)."""
    written, links = set(), []
    for node in walk(fdef):
        if isinstance(node, ast.AugAssign):
            written.add(root(node.target))
        elif isinstance(node, ast.Subscript | ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            written.add(root(node))
        elif isinstance(node, ast.keyword) and node.arg == "out":
            written.update(n.id for n in walk(node.value) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _ARRAY_WRITING_METHODS:
                written.add(root(node.func.value))
            written.update(n.id for a in node.args[2:] for n in walk(a) if isinstance(n, ast.Name))  # a ufunc's out
        if isinstance(node, ast.Assign | ast.For) \
                and not isinstance(getattr(node, "value", None), ast.BinOp | ast.UnaryOp | ast.Compare):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.iter if isinstance(node, ast.For) else node.value
            links.append(({n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)},
                          _array_names(value, runtime, modules)))
    changed = True
    while changed:
        changed = False
        for targets, sources in links:
            both = targets | sources
            if both & written and not both <= written:
                written |= both
                changed = True
    return written


# runtime helpers -> the positions of the arguments they read for their shapes alone (`unbroadcast(g, x)`)
_SHAPE_READS = {"unbroadcast": (1,), "expand_reduced": (1,), "finish": (1,), "getitem_grad": (1,),
                "grad_matmul_a": (1,), "grad_matmul_b": (2,), "setitem_grads": (1,), "reduced_size": (0,)}


def _array_names(value, runtime: str = "s2s", modules=frozenset()) -> set:
    """The names in `value` whose arrays it may hand on: not those it reads only for their shape (`np.shape(x)`,
    `len(x)`, `x.shape`, `x.ndim`, `x.size`, `x.dtype`, the `x` of the runtime's `unbroadcast(g, x)`), which
    gives a number, a tuple, or a new array, nor the functions it calls (`np.zeros`, `unbroadcast`; `modules`:
    the names NumPy is read by)."""
    out = set()

    def visit(node):
        if isinstance(node, ast.Attribute) and node.attr in ("shape", "ndim", "size", "dtype"):
            return
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and (
                isinstance(node.func, ast.Attribute) and node.func.attr == "shape"
                or isinstance(node.func, ast.Name) and node.func.id == "len"):
            return
        if isinstance(node, ast.Call) and not node.keywords:
            f = node.func
            helper = f.attr if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                and f.value.id == runtime else f.id if isinstance(f, ast.Name) and f.id == "unbroadcast" else None
            skip = _SHAPE_READS.get(helper, ())
            if isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name)
                                                     and f.value.id in modules | {runtime}):
                visit(f.value)  # (a method of an array: `y.reshape(...)` may be a view of y)
            for k, a in enumerate(node.args):
                if k not in skip:
                    visit(a)
            return
        if isinstance(node, ast.Name):
            out.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(value)
    return out


def _is_linalg(node, numpy_names, linalg_names):
    """Whether `node` is `np.linalg` (np one of `numpy_names`) or a name of `linalg_names`."""
    if isinstance(node, ast.Name):
        return node.id in linalg_names
    return isinstance(node, ast.Attribute) and node.attr == "linalg" and isinstance(node.value, ast.Name) \
        and node.value.id in numpy_names


class NotLowerable(Exception):
    """A construct the compiled path cannot take; `node` is where it is in the generated code."""

    def __init__(self, message: str, node: ast.AST | None = None):
        super().__init__(message)
        self.message = message
        self.node = node


@dataclass
class Lowered:
    fdef: ast.FunctionDef
    params: list[str]  # positional parameters of the rewritten function, in order
    defaults: dict[str, object]  # parameter -> its default (the seed's 1.0, the user's defaults)
    free: list[str]  # names read and never assigned: modules, helpers, globals, closure values
    helper_attrs: dict[str, set[str]] = field(default_factory=dict)  # module-like name -> attributes read
    tapes: dict[str, str] = field(default_factory=dict)  # per-variable tape name -> the variable
    array_tapes: dict[str, str] = field(default_factory=dict)  # tape name -> element dtype, preallocated


_REFUSED = {
    ast.Lambda: "a lambda", ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression", ast.Dict: "a dict",
    ast.Set: "a set", ast.Try: "a try statement", ast.With: "a with statement", ast.Global: "a global statement",
    ast.Nonlocal: "a nonlocal statement", ast.Yield: "yield", ast.YieldFrom: "yield from", ast.Await: "await",
    ast.Starred: "a starred argument", ast.Delete: "a del statement", ast.JoinedStr: "an f-string",
    ast.ClassDef: "a class definition", ast.AsyncFunctionDef: "an async function", ast.NamedExpr: "an := expression",
}


def lower(fdef: ast.FunctionDef, tape_types: dict | None = None, runtime: str = "s2s",
          scalars: frozenset = frozenset(), zero_arrays: dict | None = None,
          numpy_names: frozenset = frozenset(), linalg_names: frozenset = frozenset(),
          ints: frozenset = frozenset(), float32: bool = False, zero_dtype: str = "float64",
          strong: frozenset = frozenset(), wide_ints: bool = False, stacks: bool = False) -> Lowered:
    """`fdef` (not changed) rewritten for numba; raises NotLowerable naming the node it cannot take.

    `tape_types` maps a variable pushed on the tape to the NumPy dtype name of the scalars it holds
    ("float64", "int64"...), or to (dtype name, shape) of the arrays it holds: those variables get
    preallocated array tapes. `runtime` is the name the
    code calls the runtime helpers by; `scalars` names variables known to hold Python numbers;
    `zero_arrays` maps variables set to the number 0 that are arrays of one shape and of dtype
    `zero_dtype` elsewhere to that shape (their zeros become `np.zeros(shape)`, or
    `np.zeros(shape, np.float32)`; s2s/compiled_tapes.zero_arrays says when that is the same program);
    `numpy_names` (`linalg_names`) are the names the code reads NumPy (np.linalg) by;
    `ints` names variables known to hold Python ints (`reciprocal_divisions`). `float32`: some argument is
    float32, or an integer array or number of another dtype than int64 (`weak_numbers`: NumPy computes
    `uint8 array + 200` in uint8, numba in int64). `strong` names the variables of `scalars` and `ints` that
    may hold a NumPy number (an item of an array argument, `np.float64`), which NumPy does not convert;
    `wide_ints`: the code may meet integer arrays or NumPy ints of 32 bits or more (`weak_numbers`). `stacks`:
    the code may meet arrays of more than two axes (its products `a @ b` become `_s2s_matmul(a, b)`, which
    multiplies stacks of matrices: numba's `@` takes vectors and matrices only).
    """
    fdef = copy.deepcopy(fdef)
    _lists_made_arrays(fdef, numpy_names)
    _refuse_constructs(fdef)
    user_lists = _user_lists(fdef, numpy_names | {NUMPY}, runtime)
    tapes = _find_tapes(fdef, user_lists)
    taken = _all_names(fdef)
    low_tapes, array_tapes = {}, {}
    frame = [STACK_BYTES]  # what is left of the frame's room for tapes
    for stack in tapes:
        _check_mirrored(fdef.body, stack)
        low_tapes_here = _split_tape(fdef, stack, taken, tape_types or {}, frame)
        for tape, (var, dtype) in low_tapes_here.items():
            low_tapes[tape] = var
            if dtype is not None:
                array_tapes[tape] = dtype
    _rewrite_reversed(fdef)
    _unwrap_compared(fdef)
    _index_ranges(fdef)
    _conditional_updates(fdef)
    if float32:
        _float_masks(fdef, runtime)
    _zero_guards(fdef, runtime)
    _conditional_operands(fdef)
    _zero_accumulators(fdef, runtime, scalars)
    _zeros_as_arrays(fdef, zero_arrays or {}, zero_dtype)
    numpy_names = numpy_names | {NUMPY}
    _numbers_like_numbers(fdef, scalars - strong, ints, numpy_names, runtime)
    _distinct_returns(fdef, scalars | ints)
    accumulate_outer(fdef, numpy_names)
    reductions(fdef, numpy_names, linalg_names)
    squeezes(fdef, numpy_names)
    _rolls_without_axis(fdef, numpy_names)
    clips(fdef, numpy_names)
    cumulatives(fdef, numpy_names)
    add_at(fdef, numpy_names)
    reshapes(fdef, numpy_names, runtime)
    reciprocal_divisions(fdef, scalars, ints, runtime)
    if float32:
        weak_numbers(fdef, scalars - strong, ints - strong, numpy_names, wide_ints, strong, ints & strong)
    if stacks:
        products_of_stacks(fdef)
    params, defaults = _positional_params(fdef)
    free, attrs = _free_names(fdef, set(params))
    fix_locations(fdef)
    return Lowered(fdef, params, defaults, free, attrs, low_tapes, array_tapes)


def _numbers_like_numbers(fdef: ast.FunctionDef, numbers: frozenset, ints: frozenset, numpy_names: frozenset,
                          runtime: str) -> None:
    r"""`v = np.zeros_like(x)` (np.ones_like) of a name `x` holding a Python number: NumPy makes a 0-d array, which
    arithmetic turns into a number at once (`om = om - c * np.sin(th)`), and numba refuses the name's two types. Where
    nothing changes `v`'s array in place (nor a name that may hold it), it is the number itself, `0.0` (`0` of an
    int): the same value wherever it is read (a pendulum's `om = np.zeros_like(theta0)`: 117 -> 3.3 us).

        >>> f = ast.parse("def f(t):\n    om = np.zeros_like(t)\n    om = om - t").body[0]
        >>> _numbers_like_numbers(f, frozenset({"t"}), frozenset(), frozenset({"np"}), "s2s"); ast.unparse(f.body[0])
        'om = 0.0'
    """
    written = _written_in_place(fdef, runtime)
    for node in walk(fdef):
        value = node.value if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id not in written else None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in ("zeros_like",
                "ones_like") and isinstance(value.func.value, ast.Name) and value.func.value.id in numpy_names \
                and len(value.args) == 1 and not value.keywords and isinstance(value.args[0], ast.Name) \
                and value.args[0].id in numbers:
            one = value.func.attr == "ones_like"
            node.value = ast.copy_location(ast.Constant((1 if one else 0) if value.args[0].id in ints
                                                        else (1.0 if one else 0.0)), value)


def _distinct_returns(fdef: ast.FunctionDef, numbers: frozenset) -> None:
    r"""Each name a `return` of a tuple gives back that may hold the array another item of it holds (the same name, or
    names bound to one another, `c_bar = total; d_bar = total`) is copied there: NumPy's code hands the two gradients
    back as one object, which the caller's `_unshared` copies, but numba boxes one array twice, as two objects on one
    buffer (changing one gradient changed the other; helper 165). Names of Python numbers are left as they are.

        >>> f = ast.parse("def f(a):\n    c = a * 2.0\n    d = c\n    return (c, d)").body[0]
        >>> _distinct_returns(f, frozenset()); ast.unparse(f.body[-1])
        'return (c, d.copy())'
    """
    group = {}

    def find(name):
        while group.get(name, name) != name:
            name = group[name]
        return name

    for node in walk(fdef):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    group[find(target.id)] = find(node.value.id)
    for node in walk(fdef):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            seen = set()
            for k, item in enumerate(node.value.elts):
                if not isinstance(item, ast.Name) or item.id in numbers:
                    continue
                root_name = find(item.id)
                if root_name in seen:
                    node.value.elts[k] = ast.copy_location(ast.Call(
                        func=ast.Attribute(value=item, attr="copy", ctx=ast.Load()), args=[], keywords=[]), item)
                seen.add(root_name)


def products_of_stacks(fdef: ast.FunctionDef) -> None:
    r"""Each product `a @ b` -> `_s2s_matmul(a, b)`, which multiplies stacks of matrices as NumPy does (of vectors
    and matrices, numba's `@` itself).

        >>> f = ast.parse("def f(a, b):\n    return (a @ b) @ a").body[0]
        >>> products_of_stacks(f); ast.unparse(f.body[0])
        'return _s2s_matmul(_s2s_matmul(a, b), a)'
    """
    class Products(ast.NodeTransformer):
        def visit_BinOp(self, node):
            self.generic_visit(node)
            if not isinstance(node.op, ast.MatMult):
                return node
            call = ast.Call(func=ast.Name(id=MATMUL, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
            return ast.copy_location(call, node)
    Products().visit(fdef)


_WEAK_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
             ast.Pow: "**"}


def weak_numbers(fdef: ast.FunctionDef, floats: frozenset, ints: frozenset, numpy_names: frozenset,
                 wide_ints: bool = False, numpy_numbers: frozenset = frozenset(),
                 numpy_ints: frozenset = frozenset()) -> bool:
    r"""`c * x`, where `c` is a Python number (a constant, a name of `floats` or `ints`, arithmetic of those) and `x`
    is not -> `_s2s_weak_op(c, x, '*', True)` (`True`: the number is the left operand), and `np.maximum(x, 0.0)` ->
    `np.maximum(x, _s2s_weak(0.0, x))` where `x` is a name (and `n if n != 0 else _s2s_weak(1, n)`, `np.where(t, 0.0,
    g)` -> `np.where(t, _s2s_weak(0.0, g), g)`): NumPy
    computes a float32 array (or number) with a Python number in float32 (the number is "weak"), numba in
    float64 (`float32 array * 2.0` is a float64 array, and `z_bar @ X` then mixes dtypes). The helpers
    convert the number to float32 where the other operand is float32 and leave it as it is otherwise:
    NumPy's conversion, then NumPy's float32 operation, `x` evaluated once. Names that hold Python ints
    wherever they are bound (`python_ints`: loop and tape counters) are numbers too. A matrix product
    `a @ b` becomes `_s2s_matmul(a, b)`: of a float32 and a float64 array,
    NumPy's is a float64 product, numba refuses it. With `wide_ints` (the code may meet integer arrays or NumPy ints
    of 32 bits or more), `a op b` of two operands neither of which is a Python number becomes
    `_s2s_strong_op(a, b, op, a in numpy_numbers, b in numpy_numbers)`: NumPy computes float32 with those in
    float64, numba in float32. Arithmetic of ints only (Python ints and the NumPy ints of `numpy_ints`: int64
    either way) is left as it is. Whether anything was rewritten.

        >>> f = ast.parse("def f(y, g):\n    return g * (1 - y)").body[0]
        >>> weak_numbers(f, frozenset({"g"}), frozenset(), frozenset({"np"})), ast.unparse(f.body[0])
        (True, "return _s2s_weak_op(g, _s2s_weak_op(1, y, '-', True), '*', True)")
    """
    ints = ints | python_ints(fdef, ints)

    def weak(e) -> bool:
        if isinstance(e, ast.Constant):
            return type(e.value) in (int, float)
        if isinstance(e, ast.Name):
            return e.id in floats or e.id in ints
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub | ast.UAdd):
            return weak(e.operand)
        if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Attribute) and e.value.attr == "shape" \
                and int_constant(e.slice) is not None:
            return True  # `x.shape[0]`: a Python int
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "len" and len(e.args) == 1:
            return True
        return isinstance(e, ast.BinOp) and type(e.op) in _WEAK_OPS and weak(e.left) and weak(e.right)

    def integer(e) -> bool:
        """An int wherever it runs: a Python int (an int constant, a name of `ints`, `len`, `x.shape[k]`) or
        a NumPy int of `numpy_ints`, and + - * // % of those."""
        return _int_expression(e, ints | numpy_ints, _INT_OPS,
                               lambda leaf: weak(leaf) and isinstance(leaf, ast.Subscript | ast.Call))

    def call(name, args):
        return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[])

    parents = parent_map(fdef)
    done = False
    for node in list(walk(fdef)):
        if isinstance(node, ast.BinOp) and integer(node.left) and integer(node.right):
            continue  # (`k - 1` of an int item k: int64 arithmetic in NumPy and numba, in the compiled code itself)
        if isinstance(node, ast.BinOp) and type(node.op) in _WEAK_OPS and weak(node.left) != weak(node.right):
            new = call(WEAK_OP, [node.left, node.right, ast.Constant(_WEAK_OPS[type(node.op)]),
                                 ast.Constant(weak(node.left))])
            _replace_expression(parents, node, ast.copy_location(new, node))
            parents[id(node.left)] = parents[id(node.right)] = new
            done = True
        elif wide_ints and isinstance(node, ast.BinOp) and type(node.op) in _WEAK_OPS and not weak(node.left):
            numpy_number = [ast.Constant(isinstance(e, ast.Name) and e.id in numpy_numbers)
                            for e in (node.left, node.right)]
            new = call(STRONG_OP, [node.left, node.right, ast.Constant(_WEAK_OPS[type(node.op)]), *numpy_number])
            _replace_expression(parents, node, ast.copy_location(new, node))
            parents[id(node.left)] = parents[id(node.right)] = new
            done = True
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):  # float32 @ float64: NumPy's promotion
            new = call(MATMUL, [node.left, node.right])
            _replace_expression(parents, node, ast.copy_location(new, node))
            parents[id(node.left)] = parents[id(node.right)] = new
            done = True
        elif isinstance(node, ast.IfExp) and weak(node.body) != weak(node.orelse) \
                and isinstance(node.body if weak(node.orelse) else node.orelse, ast.Name | ast.Constant):
            # `n if n != 0 else 1` of a float32 n: numba unifies float32 and int64 as float64, NumPy keeps
            # float32 (the 1 is weak)
            strong, field = (node.body, "orelse") if weak(node.orelse) else (node.orelse, "body")
            number = getattr(node, field)
            setattr(node, field, ast.copy_location(call(WEAK, [number, copy.deepcopy(strong)]), number))
            done = True
        elif isinstance(node, ast.AugAssign) and type(node.op) in _WEAK_OPS and isinstance(node.target, ast.Name) \
                and weak(node.value) and not weak(node.target):  # `x *= 0.1` of a float32 x: times float32(0.1)
            node.value = ast.copy_location(call(WEAK, [node.value, ast.Name(id=node.target.id, ctx=ast.Load())]),
                                           node.value)
            done = True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "expand_reduced" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id not in numpy_names \
                and len(node.args) == 4 and weak(node.args[0]) and isinstance(node.args[1], ast.Name):
            # `s2s.expand_reduced(0.5, t16, None, False)`: NumPy spreads a Python float in x's precision
            node.args[0] = ast.copy_location(call(WEAK, [node.args[0], copy.deepcopy(node.args[1])]), node.args[0])
            done = True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in numpy_names \
                and isinstance(getattr(np, node.func.attr, None), np.ufunc) and not node.keywords \
                and not any(isinstance(a, ast.Starred) for a in node.args):
            strong = next((a for a in node.args if not weak(a)), None)
            if isinstance(strong, ast.Name | ast.Constant) and any(weak(a) for a in node.args):
                node.args = [ast.copy_location(call(WEAK, [a, copy.deepcopy(strong)]), a) if weak(a) else a
                             for a in node.args]
                done = True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "where" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in numpy_names \
                and len(node.args) == 3 and not node.keywords and weak(node.args[1]) != weak(node.args[2]) \
                and isinstance(node.args[2 if weak(node.args[1]) else 1], ast.Name):
            # `np.where(t, 0.0, z_bar)` of a float32 z_bar: NumPy picks in float32 (the 0.0 is weak), numba in float64
            k = 1 if weak(node.args[1]) else 2
            node.args[k] = ast.copy_location(call(WEAK, [node.args[k], copy.deepcopy(node.args[3 - k])]), node.args[k])
            done = True
    return done


def python_ints(fdef: ast.FunctionDef, ints: frozenset = frozenset()) -> frozenset:
    r"""The names of `fdef` that hold a Python int wherever they are bound, besides `ints`: counters of
    `for i in range(...)`, tape counters (`n = 0`, `n += 1`), and + - * // % of those and int constants.
    (Greatest fixed point: `n = n + 1` is an int where every binding of n is.)

        >>> f = ast.parse("def f(x):\n    for i in range(3):\n        j = i + 1\n        x = x * j").body[0]
        >>> sorted(python_ints(f))
        ['i', 'j']
    """
    bindings: dict = {}
    seen = set()  # the Name targets read here; any other binding of a name makes it no int

    def bind(name, value):
        bindings.setdefault(name.id, []).append(value)
        seen.add(id(name))

    for node in walk(fdef):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Call) \
                and isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range":
            bind(node.target, ast.Constant(0))
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    bind(t, node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            ok = isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod)
            bind(node.target, node.value if ok else None)
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del) and id(node) not in seen:
            bindings.setdefault(node.id, []).append(None)
        elif node is not fdef and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bindings.setdefault(node.name, []).append(None)
        elif isinstance(node, ast.alias | ast.Global | ast.Nonlocal | ast.ExceptHandler | ast.MatchAs
                        | ast.MatchStar | ast.MatchMapping | ast.arg):
            for name in _bound_names(node):
                bindings.setdefault(name, []).append(None)
    params = {a.arg for a in fdef.args.args + fdef.args.kwonlyargs + fdef.args.posonlyargs}
    found = {n for n, vs in bindings.items() if n not in params and None not in vs}

    while True:
        known = found | ints
        dropped = {n for n in found if not all(_int_expression(v, known, _INT_OPS) for v in bindings[n])}
        if not dropped:
            return frozenset(found)
        found -= dropped


def _bound_names(node) -> list:
    """The names a binder other than a Name target binds (`import a.b as c`, `global g`, `except E as e`...)."""
    if isinstance(node, ast.alias):
        return [node.asname or node.name.split(".")[0]]
    if isinstance(node, ast.Global | ast.Nonlocal):
        return list(node.names)
    if isinstance(node, ast.arg):
        return [node.arg]
    name = getattr(node, "rest" if isinstance(node, ast.MatchMapping) else "name", None)
    return [name] if name else []


def reciprocal_divisions(fdef: ast.FunctionDef, floats: frozenset, ints: frozenset, runtime: str) -> bool:
    """`a = b / c`, a a float and c an int expression, becomes `a = b * (1.0 / c)` where a's value flows
    only through arithmetic into the gradient returned: the division leaves the chain of dependent
    operations (the adjoint of the Taylor loop's `term / (2k (2k + 1))` carries term_bar through one per
    trip) for a multiplication, and the reciprocal, which depends only on c, runs beside it. For an int
    c (|c| >= 1, or 0, which raises ZeroDivisionError in both) the two differ by rounding only, never by an
    overflow; the rounding decides nothing, since no comparison, condition, index or call but the
    returned `finish` reads the value or anything made from it. Returns whether it changed anything.

        t3_bar = term_bar / t7     ->     t3_bar = term_bar * (1.0 / t7)
    """
    candidates = [node for node in walk(fdef) if isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name) and node.targets[0].id in floats
                  and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.Div)
                  and _int_expression(node.value.right, ints)]
    if not candidates:
        return False
    parents = parent_map(fdef)
    changed = False
    for node in candidates:
        if _flows_only_to_the_gradient(fdef, node.targets[0].id, parents, runtime):
            div = node.value
            div.op = ast.Mult()
            div.right = ast.BinOp(left=ast.Constant(1.0), op=ast.Div(), right=div.right)
            changed = True
    return changed


_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)


def _int_expression(e, ints, ops=(ast.Add, ast.Sub, ast.Mult), other=None) -> bool:
    """Whether `e` is made of int constants, names of `ints` (and what `other` accepts) by unary minus and the
    operations `ops`: an int wherever it runs."""
    if isinstance(e, ast.Constant):
        return type(e.value) is int
    if isinstance(e, ast.Name) and e.id in ints:
        return True
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return _int_expression(e.operand, ints, ops, other)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ops):
        return _int_expression(e.left, ints, ops, other) and _int_expression(e.right, ints, ops, other)
    return other is not None and other(e)


def _flows_only_to_the_gradient(fdef, name, parents, runtime) -> bool:
    """Whether every read of `name`, and of every name bound from it, is arithmetic (+ - * / and unary -)
    on its way to a plain assignment, the returned value (one gradient, its `finish` dropped), or the argument of
    the returned `runtime.finish(...)`; a value stored on
    a tape of numbers (`_s2s_tape_set(tape, n, v)`) flows on where the tape is read back (`tape[n]`)."""
    tainted, todo, tapes = {name}, [name], set()
    while todo:
        current = todo.pop()
        for read in walk(fdef):
            if not (isinstance(read, ast.Name) and read.id == current and isinstance(read.ctx, ast.Load)):
                continue
            node = parents[id(read)]
            if _is_call_of(node, TAPE_SET) and len(node.args) == 3:
                if node.args[2] is read and isinstance(node.args[0], ast.Name):
                    if node.args[0].id not in tainted:  # stored: it flows on where the tape is read back
                        tainted.add(node.args[0].id)
                        tapes.add(node.args[0].id)
                        todo.append(node.args[0].id)
                    continue
                if node.args[0] is read and current in tapes:
                    continue  # (the tape stored into)
                return False
            if current in tapes:
                if _is_call_of(node, TAPE_GROW):
                    continue  # (`tape = _s2s_tape_grow(tape)`: the same numbers in a longer tape)
                if not (isinstance(node, ast.Subscript) and node.value is read):
                    return False
                node = parents[id(node)]  # `tape[n]`: a value stored earlier
            while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div) \
                    or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
                node = parents[id(node)]
            if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets) \
                    or isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if target.id not in tainted:
                        tainted.add(target.id)
                        todo.append(target.id)
            elif not (isinstance(node, ast.Return)  # (the one gradient returned, its `finish` dropped: a float's)
                      or isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr == "finish" and isinstance(node.func.value, ast.Name)
                      and node.func.value.id == runtime and isinstance(parents.get(id(node)), ast.Return)):
                return False  # (an item of a returned tuple may be the value, `(value, gradient)`: f's own number)
    return True


def _is_call_of(node, name) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


# NumPy functions that make one array of a list's items, and the keywords they may be given here
_OF_SEQUENCES = {"array": (), "asarray": (), "concatenate": ("axis",), "stack": ("axis",), "hstack": (),
                 "vstack": ()}


def _lists_made_arrays(fdef, numpy_names):
    """`t = [a * x - b, c * y]` where every read of `t` is `np.array(t)`, `np.concatenate(t)`... (or a list
    written in the call) -> a tuple: numba makes an array of a tuple of numbers or arrays, and has no type
    for a list of them it can pass around. The same arrays: nothing else reads the list."""
    def to_array(call):
        f = call.func if isinstance(call, ast.Call) else None
        return isinstance(f, ast.Attribute) and f.attr in _OF_SEQUENCES and isinstance(f.value, ast.Name) \
            and f.value.id in numpy_names and len(call.args) == 1 \
            and all(k.arg in _OF_SEQUENCES[f.attr] for k in call.keywords)
    parents = {id(c): node for node in walk(fdef) for c in ast.iter_child_nodes(node)}
    lists, other = {}, set()  # (what else a name is set to does not matter: each read makes an array of it)
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.List):
            lists.setdefault(node.targets[0].id, []).append(node)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and not to_array(parents.get(id(node))):
            other.add(node.id)
        if isinstance(node, ast.List) and to_array(parents.get(id(node))) and node.elts \
                and not any(isinstance(e, ast.Starred | ast.List) for e in node.elts):
            parents[id(node)].args[0] = ast.copy_location(ast.Tuple(elts=node.elts, ctx=ast.Load()), node)
    for name, assigns in lists.items():
        for a in assigns:
            if name not in other and a.value.elts \
                    and not any(isinstance(e, ast.Starred | ast.List) for e in a.value.elts):
                a.value = ast.copy_location(ast.Tuple(elts=a.value.elts, ctx=ast.Load()), a.value)
    _number_lists_in_joined_tuples(fdef, lists, parents, to_array, numpy_names)


def _number_lists_in_joined_tuples(fdef, lists, parents, to_array, numpy_names):
    """`t4 = [0.0]; t5 = t2, t4; np.concatenate(t5)` (lowered from `np.concatenate((t, [0.0]))`) ->
    `t4 = np.array((0.0,))`: numba joins a tuple of arrays, not one holding a list. The list's items are number
    literals, and every read of it is an item of a tuple display bound to a name every read of which is such a
    call's argument: the same array as NumPy makes of the list there."""
    if not numpy_names:
        return
    tuples = {node.targets[0].id: node.value for node in walk(fdef) if isinstance(node, ast.Assign)
              and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Tuple)}
    bindings = binding_counts(fdef.body)
    reads = {}  # name -> its reads
    for n in walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            reads.setdefault(n.id, []).append(n)
    joined = {name for name in tuples if bindings.get(name) == 1
              and all(to_array(parents.get(id(n))) for n in reads.get(name, ()))}
    holders = {id(e) for name in joined for e in tuples[name].elts if isinstance(e, ast.Name)}
    for name, assigns in lists.items():
        if not reads.get(name) or bindings.get(name) != len(assigns) or any(id(n) not in holders for n in reads[name]):
            continue
        for a in assigns:
            if isinstance(a.value, ast.List) and a.value.elts and all(_number_literal(e) for e in a.value.elts):
                array = ast.Attribute(value=ast.Name(id=min(numpy_names), ctx=ast.Load()), attr="array", ctx=ast.Load())
                a.value = ast.copy_location(ast.Call(func=array, args=[ast.Tuple(elts=a.value.elts, ctx=ast.Load())],
                                                     keywords=[]), a.value)


def _number_literal(node) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


# calls whose result NumPy lays out by an algorithm numba does not follow (its quicksort and introselect): the
# positions of equal entries, the order of the entries on each side of the kth
_ORDERED_OTHERWISE = {"argsort": "equal entries", "argpartition": "the entries on each side of the kth",
                      "partition": "the entries on each side of the kth"}


_BOOLEAN_CALLS = frozenset({"isnan", "isinf", "isfinite", "signbit", "logical_and", "logical_or", "logical_not",
                            "logical_xor", "isclose", "greater", "less", "equal", "not_equal", "greater_equal",
                            "less_equal", "isposinf", "isneginf"})


def _booleans(fdef) -> set:
    """Names bound only to booleans (comparisons, `not`, NumPy's tests, `& | ^ ~` of booleans): greatest fixed point."""
    values = {}
    for node in walk(fdef):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    values.setdefault(t.id, []).append(node.value)
                else:
                    for n in walk(t):
                        if isinstance(n, ast.Name):
                            values.setdefault(n.id, []).append(None)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.comprehension) and \
                isinstance(node.target, ast.Name):
            values.setdefault(node.target.id, []).append(None)
    names = set(values)
    while True:
        drop = {n for n in names if not all(v is not None and _boolean(v, names) for v in values[n])}
        if not drop:
            return names
        names -= drop


def _boolean(e, names) -> bool:
    if isinstance(e, ast.Compare) or isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
        return True
    if isinstance(e, ast.Constant):
        return type(e.value) is bool
    if isinstance(e, ast.Name):
        return e.id in names
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Invert):
        return _boolean(e.operand, names)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.BitAnd | ast.BitOr | ast.BitXor):
        return _boolean(e.left, names) and _boolean(e.right, names)
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in _BOOLEAN_CALLS


def _refuse_constructs(fdef):
    booleans = _booleans(fdef)
    for node in walk(fdef):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub) \
                and _boolean(node.left, booleans) and _boolean(node.right, booleans):
            # (`b + b` of NumPy's booleans is `b or b`, of Python's 2: numba's booleans are one type)
            raise NotLowerable("arithmetic of two booleans (NumPy adds its booleans as `or`, Python its bools as "
                               "ints: compiled code cannot tell them apart)", node)
        if node is not fdef and isinstance(node, ast.FunctionDef):
            raise NotLowerable("a function defined inside the derivative (a pullback or a local helper)", node)
        what = _REFUSED.get(type(node))
        if what:
            raise NotLowerable(what, node)
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
            raise NotLowerable("an `is` comparison (a test for None or for an object)", node)
        if isinstance(node, ast.List) and node.elts:
            raise NotLowerable("a Python list", node)
        if isinstance(node, ast.For | ast.While) and node.orelse:
            raise NotLowerable("a loop with an else clause", node)
        if isinstance(node, ast.Call) and any(k.arg is None for k in node.keywords):
            raise NotLowerable("a ** argument", node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _ORDERED_OTHERWISE \
                and not (node.func.attr in ("argsort", "sort") and any(
                    k.arg == "kind" and isinstance(k.value, ast.Constant) and k.value.value in ("mergesort", "stable")
                    for k in node.keywords)):
            raise NotLowerable(f"{node.func.attr}: numba orders {_ORDERED_OTHERWISE[node.func.attr]} otherwise than "
                               "NumPy's, so the order, and what is computed from it, would differ", node)


def _all_names(fdef):
    out = {n.id for n in walk(fdef) if isinstance(n, ast.Name)}
    out |= {a.arg for a in walk(fdef) if isinstance(a, ast.arg)}
    return out


# ---------------------------------------------------------------- the tape

def _find_tapes(fdef, user_lists=frozenset()):
    """Names bound to `[]` (the tape); each must be used only as `S.append(name)` and `name = S.pop()`.
    `user_lists` (`_user_lists`) are not tapes."""
    tapes = []
    for node in walk(fdef):
        if isinstance(node, ast.List) and not node.elts:
            parent = _parent_assign(fdef, node)
            if parent is None or len(parent.targets) != 1 or not isinstance(parent.targets[0], ast.Name):
                raise NotLowerable("an empty Python list that is not the tape", node)
            if parent.targets[0].id not in user_lists:
                tapes.append(parent.targets[0].id)
    for stack in tapes:
        allowed = set()
        for node in walk(fdef):
            if _push_of(node, stack) is not None or _pop_of(node, stack) is not None:
                allowed |= {id(n) for n in walk(node) if isinstance(n, ast.Name) and n.id == stack}
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and \
                    isinstance(node.targets[0], ast.Name) and node.targets[0].id == stack:
                allowed.add(id(node.targets[0]))
        for node in walk(fdef):
            if isinstance(node, ast.Name) and node.id == stack and id(node) not in allowed:
                raise NotLowerable(f"the tape {stack!r} used other than by push (append of a name) and pop", node)
    return tapes


_STACKING = ("stack", "array")  # np.stack(L) / np.array(L) of a list of arrays or numbers: rows along axis 0


def _user_lists(fdef, numpy_names, runtime) -> set:
    """The user's own lists (`hs = []`, `hs.append(h)` in the loop, `H = np.stack(hs)` after it), which numba
    keeps as lists (of arrays, or of numbers) where each is bound once, to `[]` in the function's body, and
    every other use of its name is a statement `L.append(v)`, `len(L)`, an item read `L[i]`, the whole list
    stacked along a new axis (`np.stack(L)`, `np.stack(L, axis=k)` of a constant k, `np.array(L)`), rewritten as
    `_s2s_stack_list(L, k)` (numba's np.stack takes tuples only), or `s2s.grad_stack(g, L, k)`,
    `s2s.array_grad(g, L)` (the adjoints of those, which read only its length and its items' kind). No pop,
    no copy under another name: a list numba types from its appends, holding the same arrays (references, as
    Python's list does) in the same order. The tape is not one of them (it is popped). Returns the names."""
    parents = parent_map(fdef)
    bound = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.setdefault(node.id, []).append(node)
    found, stacks = set(), []
    for stmt in fdef.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.List) and not stmt.value.elts):
            continue
        name = stmt.targets[0].id
        if len(bound.get(name, ())) != 1:
            continue
        reads = [n for n in walk(fdef) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
        kinds = [_user_list_use(n, parents, numpy_names, runtime) for n in reads]
        if reads and None not in kinds and "append" in kinds:
            found.add(name)
            stacks += [parents[id(n)] for n, kind in zip(reads, kinds) if kind == "stack"]
    for call in stacks:
        axis = ([k.value for k in call.keywords if k.arg == "axis"] + call.args[1:])[:1]
        if call.func.attr == "concatenate":
            axis = axis or [ast.Constant(0)]
        call.func = ast.Name(id=CONCAT_LIST if call.func.attr == "concatenate" else STACK_LIST, ctx=ast.Load())
        call.keywords = []
        call.args = call.args[:1] + [ast.Constant(int_constant(a)) for a in axis]
    return found


def _user_list_use(n, parents, numpy_names, runtime):
    """What the read `n` of a user's list does (`_user_lists`): "append", "read" (its length, an item),
    "stack", or None (anything else)."""
    parent = parents.get(id(n))
    if isinstance(parent, ast.Attribute) and parent.value is n and parent.attr == "append":
        call = parents.get(id(parent))
        ok = isinstance(call, ast.Call) and call.func is parent and len(call.args) == 1 and not call.keywords \
            and not isinstance(call.args[0], ast.Starred) and isinstance(parents.get(id(call)), ast.Expr)
        return "append" if ok else None
    if isinstance(parent, ast.Subscript) and parent.value is n and isinstance(parent.ctx, ast.Load) \
            and not isinstance(parent.slice, ast.Slice | ast.Tuple):
        return "read"
    if not isinstance(parent, ast.Call):
        return None
    f, first = parent.func, bool(parent.args) and parent.args[0] is n
    if first and isinstance(f, ast.Name) and f.id == "len" and len(parent.args) == 1 and not parent.keywords:
        return "read"
    if first and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in numpy_names \
            and f.attr in _STACKING and _constant_axis(parent, f.attr == "stack"):
        return "stack"
    if first and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in numpy_names \
            and f.attr == "concatenate" and _constant_axis(parent, True):
        return "stack"  # (joined along a constant axis: `_s2s_concat_list(L, k)`)
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == runtime \
            and f.attr in ("grad_stack", "grad_concatenate") and len(parent.args) == 3 and parent.args[1] is n \
            and int_constant(parent.args[2]) is not None and not parent.keywords:
        return "read"
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == runtime \
            and f.attr == "array_grad" and len(parent.args) == 2 and parent.args[1] is n and not parent.keywords:
        return "read"  # (np.array(L)'s adjoint: the rows of g, one per item of L)
    return None


def _constant_axis(call, axis_allowed) -> bool:
    """`np.stack(L)`, `np.stack(L, k)`, `np.stack(L, axis=k)` of an int constant k (with `axis_allowed`),
    `np.array(L)`: nothing else passed (a dtype, `out=`)."""
    extra = list(call.args[1:]) + [k.value for k in call.keywords if k.arg == "axis"]
    if any(k.arg != "axis" for k in call.keywords) or len(extra) > 1 or extra and not axis_allowed:
        return False
    return not extra or int_constant(extra[0]) is not None


def _parent_assign(fdef, target):
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and node.value is target:
            return node
    return None


def _push_of(stmt, stack):
    """The variable `stmt` pushes (`stack.append(v)`), or None."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr == "append" and isinstance(f.value, ast.Name) \
                and f.value.id == stack and len(call.args) == 1 and not call.keywords \
                and isinstance(call.args[0], ast.Name):
            return call.args[0].id
    return None


def _pop_of(stmt, stack):
    """The variable `stmt` pops into (`v = stack.pop()`), or None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        call = stmt.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "pop" \
                and isinstance(call.func.value, ast.Name) and call.func.value.id == stack \
                and not call.args and not call.keywords:
            return stmt.targets[0].id
    return None


def _events(stmts, stack):
    """The tape operations of `stmts` as a tree: ("push", v), ("pop", v), ("loop", [...]), ("if", [...], [...])."""
    out = []
    for s in stmts:
        v = _push_of(s, stack)
        if v is not None:
            out.append(("push", v))
            continue
        v = _pop_of(s, stack)
        if v is not None:
            out.append(("pop", v))
            continue
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.List) and not s.value.elts:
            continue  # the tape's creation
        if isinstance(s, ast.For | ast.While):
            inner = _events(s.body, stack)
            if inner:
                out.append(("loop", inner))
        elif isinstance(s, ast.If):
            a, b = _events(s.body, stack), _events(s.orelse, stack)
            if a or b:
                out.append(("if", a, b))
        elif any(isinstance(n, ast.Name) and n.id == stack for n in walk(s)):
            raise NotLowerable(f"a use of the tape {stack!r} inside a statement s2s cannot follow", s)
    return out


def _kind(events):
    """"push" when `events` only pushes, "pop" when it only pops, "balanced" when it leaves the tape as it was."""
    if all(_kind_of(e) == "push" for e in events):
        return "push"
    if all(_kind_of(e) == "pop" for e in events):
        return "pop"
    _match(events)
    return "balanced"


def _kind_of(e):
    if e[0] in ("push", "pop"):
        return e[0]
    if e[0] == "loop":
        return _kind(e[1])
    ka, kb = (_kind(e[1]) if e[1] else None), (_kind(e[2]) if e[2] else None)
    kinds = {k for k in (ka, kb) if k is not None}
    if len(kinds) == 1:
        return kinds.pop()
    raise NotLowerable("a branch that pushes on the tape in one arm and pops in the other")


def _mirror(events):
    """The pops that undo the pushes `events`, in the order they must come."""
    out = []
    for e in reversed(events):
        if e[0] == "push":
            out.append(("pop", e[1]))
        elif e[0] == "loop":
            out.append(("loop", _mirror(e[1])))
        else:
            out.append(("if", _mirror(e[1]), _mirror(e[2])))
    return out


def _match(events):
    """Check that `events` leaves the tape as it found it, each pop undoing the push of its own variable."""
    pending = []  # pushes (single or grouped) not yet undone, innermost last
    for e in events:
        kind = _kind_of(e)
        if kind == "push":
            pending.append(e)
        elif kind == "balanced":
            continue
        else:  # pops: undo whole pushed items from the top, in order
            need = [e] if e[0] != "pop" else [e]
            for want in need:
                if not pending:
                    raise NotLowerable("a pop from the tape with no push before it")
                top = pending.pop()
                if _mirror([top]) != [want]:
                    raise NotLowerable("the tape's pops do not mirror its pushes (a pop of "
                                       f"{_describe(want)} where {_describe(top)} was pushed)")
    if pending:
        raise NotLowerable(f"pushes left on the tape ({_describe(pending[-1])})")


def _describe(e):
    if e[0] in ("push", "pop"):
        return repr(e[1])
    return "a " + ("loop" if e[0] == "loop" else "branch")


def _check_mirrored(body, stack):
    _match(_events(body, stack))


def _split_tape(fdef, stack, taken, tape_types, frame=None):
    """One tape per variable: `stack.append(v)` -> `stack_v.append(v)`, `v = stack.pop()` -> `v = stack_v.pop()`.

    A variable with an element type in `tape_types` gets an array tape: `stack_v = np.empty(16, dtype)`
    and a counter, pushed by `_s2s_tape_set(stack_v, n_v, v); n_v += 1` (grown first where its length is unknown).
    An element type ("float64", (3,)) is an array of that shape: a tape `np.empty((16, 3), float64)` whose
    rows are copied back on pops. A tape of numbers of a constant length that fits in what `frame[0]` says is
    left of the frame's room is `stack_v = TAPE_STACK(length, dtype)` instead (and `frame[0]` shrinks)."""
    variables = []
    for node in walk(fdef):
        v = _push_of(node, stack)
        if v is not None and v not in variables:
            variables.append(v)
    names = {}
    for v in variables:
        name = f"{stack}_{v}"
        while name in taken:
            name += "_"
        taken.add(name)
        counter = None
        if v in tape_types:
            counter = f"{name}_n"
            while counter in taken:
                counter += "_"
            taken.add(counter)
        names[v] = (name, counter)

    def dummy(kind):
        if isinstance(kind, tuple):
            return f"{NUMPY}.zeros({kind[1]!r}, {NUMPY}.{kind[0]})"
        return {"float64": "0.0", "int64": "0"}[kind]

    capacity = _capacities(fdef, stack, variables)

    class Rewrite(ast.NodeTransformer):
        def visit_Assign(self, node):
            if isinstance(node.value, ast.Constant) and node.value.value is None \
                    and all(isinstance(t, ast.Name) for t in node.targets) \
                    and any(names.get(t.id, (None, None))[1] for t in node.targets):
                # a placeholder pushed before the first assignment (never read back): a value of the
                # variable's own type, which an array tape can hold
                out, rest = [], []
                for t in node.targets:
                    if names.get(t.id, (None, None))[1]:
                        out.append(ast.parse(f"{t.id} = {dummy(tape_types[t.id])}").body[0])
                    else:
                        rest.append(t)
                if rest:
                    out.insert(0, ast.Assign(targets=rest, value=ast.Constant(None)))
                return [ast.copy_location(s, node) for s in out]
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == stack \
                    and isinstance(node.value, ast.List):
                out = []
                for v in variables:
                    name, counter = names[v]
                    if counter is None:
                        out.append(ast.parse(f"{name} = []").body[0])
                    else:
                        size = capacity.get(v) or "16"
                        kind = tape_types[v]
                        if isinstance(kind, tuple):  # arrays of one shape: a row per push
                            dtype, shape = kind
                            size = f"({size}, {', '.join(str(d) for d in shape)})"
                        else:
                            dtype = kind
                            length = _constant_length(capacity.get(v))
                            if length is not None and frame is not None and dtype in _ITEMSIZE \
                                    and length * _ITEMSIZE[dtype] <= frame[0]:
                                frame[0] -= length * _ITEMSIZE[dtype]
                                out.append(ast.parse(f"{name} = {TAPE_STACK}({length}, {NUMPY}.{dtype})").body[0])
                                out.append(ast.parse(f"{counter} = 0").body[0])
                                continue
                        out.append(ast.parse(f"{name} = {NUMPY}.empty({size}, {NUMPY}.{dtype})").body[0])
                        out.append(ast.parse(f"{counter} = 0").body[0])
                return [ast.copy_location(s, node) for s in out] or [ast.copy_location(ast.Pass(), node)]
            v = _pop_of(node, stack)
            if v is not None:
                name, counter = names[v]
                if counter is None:
                    text = f"{v} = {name}.pop()"
                else:
                    copy = ".copy()" if isinstance(tape_types[v], tuple) else ""  # a row: not a view of the tape
                    text = f"{counter} -= 1\n{v} = {name}[{counter}]{copy}"
                return [ast.copy_location(s, node) for s in ast.parse(text).body]
            return node

        def visit_Expr(self, node):
            v = _push_of(node, stack)
            if v is None:
                return node
            name, counter = names[v]
            if counter is None:
                text = f"{name}.append({v})"
            else:
                text = f"{TAPE_SET}({name}, {counter}, {v})\n{counter} += 1"
                if not capacity.get(v):  # pushes in a loop of unknown length: grown as needed
                    text = f"if {counter} == {name}.shape[0]:\n    {name} = {TAPE_GROW}({name})\n" + text
                return [ast.copy_location(s, node) for s in ast.parse(text).body]
            return ast.copy_location(ast.parse(text).body[0], node)

    Rewrite().visit(fdef)
    return {names[v][0]: (v, tape_types.get(v) if names[v][1] else None) for v in variables}


def _capacities(fdef, stack, variables):
    """variable -> the number of pushes of it, as source text, where every push is in loops over
    `range(...)` of constants and of parameters the function never assigns (None elsewhere): the
    array tape is then allocated once, of that length (tape_set still checks the bound)."""
    params = {a.arg for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs}
    stored = {n.id for n in walk(fdef) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    fixed = params - stored
    sites: dict = {v: [] for v in variables}

    def trips(loop):
        it = loop.iter if isinstance(loop, ast.For) else None
        if not (isinstance(it, ast.Call) and _is_name(it.func, "range") and 1 <= len(it.args) <= 2
                and not it.keywords):
            return None
        if not all(isinstance(a, ast.Constant) and type(a.value) is int or isinstance(a, ast.Name) and a.id in fixed
                   for a in it.args):
            return None
        if all(isinstance(a, ast.Constant) for a in it.args):
            lo, hi = (0, it.args[0].value) if len(it.args) == 1 else (it.args[0].value, it.args[1].value)
            return str(max(0, hi - lo))
        lo, hi = ("0", ast.unparse(it.args[0])) if len(it.args) == 1 else map(ast.unparse, it.args)
        return f"max(0, {hi} - {lo})"

    def visit_pushes(stmts, loops):
        for st in stmts:
            v = _push_of(st, stack)
            if v is not None:
                sites[v].append(list(loops))
            elif isinstance(st, ast.For | ast.While):
                visit_pushes(st.body, loops + [trips(st)])
            elif isinstance(st, ast.If):
                visit_pushes(st.body, loops)  # a branch pushes at most as often as the code around it
                visit_pushes(st.orelse, loops)

    visit_pushes(fdef.body, [])
    out = {}
    for v, where in sites.items():
        if any(t is None for loops in where for t in loops):
            continue
        terms = [" * ".join(f"({t})" for t in loops) or "1" for loops in where]
        out[v] = " + ".join(terms) if terms else None
    return out


def _constant_length(text):
    """The value of a capacity `_capacities` wrote (`(24)`, `(4) * (3) + (5)`) where it is made of integer
    constants only, else None."""
    if text is None:
        return None
    try:
        e = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None

    def value(e):
        if isinstance(e, ast.Constant) and type(e.value) is int:
            return e.value
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Mult):
            a, b = value(e.left), value(e.right)
            if a is None or b is None:
                return None
            return a + b if isinstance(e.op, ast.Add) else a * b
        return None

    n = value(e)
    return n if n is not None and n >= 0 else None


def pushed_variables(fdef: ast.FunctionDef) -> list[str]:
    """The variables pushed on the tape(s) of `fdef`, for a caller that wants to learn their types."""
    out = []
    for node in walk(fdef):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            f = node.value.func
            if isinstance(f, ast.Attribute) and f.attr == "append" and isinstance(f.value, ast.Name):
                v = _push_of(node, f.value.id)
                if v is not None and v not in out:
                    out.append(v)
    return out


# ---------------------------------------------------------------- loops, parameters, free names

def _rewrite_reversed(fdef):
    for node in walk(fdef):
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and _is_name(node.iter.func, "reversed"):
            inner = node.iter.args[0] if len(node.iter.args) == 1 else None
            step = inner.args[2] if isinstance(inner, ast.Call) and len(inner.args) == 3 else ast.Constant(1)
            k = int_constant(step)
            if not (isinstance(inner, ast.Call) and _is_name(inner.func, "range") and not inner.keywords
                    and 1 <= len(inner.args) <= 3
                    and all(isinstance(a, ast.Name) or int_constant(a) is not None for a in inner.args)
                    and k is not None and k != 0):
                raise NotLowerable("reversed() of something other than range(stop), range(start, stop) or "
                                   "range(start, stop, step) of a constant step", node.iter)
            start, stop = (ast.Constant(0), inner.args[0]) if len(inner.args) == 1 else inner.args[:2]
            start, stop = ast.unparse(start), ast.unparse(stop)
            if k < 0:  # the last item start - (start - stop - 1) // m * m up to start (empty where start <= stop)
                m = -k
                text = f"range(({start}) - (({start}) - ({stop}) - 1) // {m} * {m}, ({start}) + 1, {m})"
            elif k == 1:
                text = f"range(({stop}) - 1, ({start}) - 1, -1)"
            else:  # the last item start + (stop - start - 1) // k * k down to start (empty where stop <= start)
                text = f"range(({start}) + (({stop}) - ({start}) - 1) // {k} * {k}, ({start}) - 1, -{k})"
            node.iter = ast.copy_location(ast.parse(text, mode="eval").body, node.iter)
    for node in walk(fdef):
        if isinstance(node, ast.Name) and node.id == "reversed":
            raise NotLowerable("reversed() outside a for loop over a range", node)


def _conditional_updates(fdef):
    """`x *= a if c else b` -> `if c: x *= a` / `else: x *= b`: numba gives a conditional expression one type,
    and the two may differ where the update makes them the same (a float array times a bool array or a float
    one, the adjoint of np.maximum). The same order of evaluation: `c` cannot rebind the name `x`."""
    for node in list(walk(fdef)):
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for i, stmt in enumerate(block):
                if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) \
                        and isinstance(stmt.value, ast.IfExp):
                    e = stmt.value
                    branch = [ast.AugAssign(target=copy.deepcopy(stmt.target), op=stmt.op, value=v)
                              for v in (e.body, e.orelse)]
                    block[i] = ast.copy_location(ast.If(test=e.test, body=[branch[0]], orelse=[branch[1]]), stmt)


def _float_masks(fdef, runtime):
    """`balanced_eq(x, m, c) if ties else x > c` -> `... else _s2s_float_mask(x > c, x)`: balanced_eq's weights
    are in x's precision (float32 for float32 x), and `g * (x > c)` of a Python number g is float64 where
    `g * weights` is float32: numba gives the expression one type. As a float32 mask, the product is
    float32 in both branches (the 0s and 1s are exact; g is rounded to float32, as at a tie)."""
    for node in walk(fdef):
        if isinstance(node, ast.IfExp) and isinstance(node.body, ast.Call) \
                and _is_runtime_call(node.body, runtime, "balanced_eq") and node.body.args \
                and isinstance(node.body.args[0], ast.Name) and isinstance(node.orelse, ast.Compare) \
                and _is_name(node.orelse.left, node.body.args[0].id):
            mask = ast.Call(func=ast.Name(id=FLOAT_MASK, ctx=ast.Load()),
                            args=[node.orelse, ast.Name(id=node.body.args[0].id, ctx=ast.Load())], keywords=[])
            node.orelse = ast.copy_location(mask, node.orelse)


def _zero_guards(fdef, runtime):
    """`0.0 if s2s.is_zero(g) else E` -> `zero_like(E) if s2s.is_zero(g) else E`: numba gives the expression one
    type, and E may be an array (the guard of an adjoint that may be infinite, where g may be the zero adjoint:
    transforms/reverse.py). E is evaluated in the first branch for its shape alone; not where it holds a matrix
    product (`g @ B.T` of the number g: the guard of a rule that needs g's shape, which numba cannot type)."""
    for node in walk(fdef):
        if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Call) \
                and _is_runtime_call(node.test, runtime, "is_zero") and isinstance(node.body, ast.Constant) \
                and node.body.value == 0.0 and type(node.body.value) is float \
                and not any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) for n in walk(node.orelse)):
            zeros = ast.Call(func=ast.Name(id=ZERO_LIKE, ctx=ast.Load()), args=[copy.deepcopy(node.orelse)], keywords=[])
            node.body = ast.copy_location(zeros, node.body)


def _conditional_operands(fdef):
    """`g * (a if c else b)` -> `g * a if c else g * b` where `g` is a name or a constant (and the other way
    round): numba gives a conditional expression one type, and `a` and `b` may be a float array and a bool
    array (the adjoint of np.maximum: `balanced_eq(...) if ties else x > 0`), whose products with `g` have one.
    The same operations; `g` is read after `c` instead of before, which no expression but `:=` could tell. `g` may
    be arithmetic of names and constants too (`0.1 / 500 * (...)`, a mean's factor left unfolded)."""
    if any(isinstance(n, ast.NamedExpr) for n in walk(fdef)):
        return
    parents = parent_map(fdef)
    for node in list(walk(fdef)):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div)):
            continue
        for cond, other in ((node.right, node.left), (node.left, node.right)):
            if isinstance(cond, ast.IfExp) and _plain_arithmetic(other):
                def made(v, cond=cond, other=other):
                    operands = (copy.deepcopy(other), v) if cond is node.right else (v, copy.deepcopy(other))
                    return ast.BinOp(left=operands[0], op=copy.deepcopy(node.op), right=operands[1])
                new = ast.IfExp(test=cond.test, body=made(cond.body), orelse=made(cond.orelse))
                _replace_expression(parents, node, ast.copy_location(new, node))
                break


def _plain_arithmetic(e) -> bool:
    """A name, a constant, or + - * / and negation of those: an operand read in either order the same."""
    if isinstance(e, ast.Name | ast.Constant):
        return True
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return _plain_arithmetic(e.operand)
    return isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Div) \
        and _plain_arithmetic(e.left) and _plain_arithmetic(e.right)


def _index_ranges(fdef):
    """`steps = range(a, b)` read as `steps[k]` and `len(steps)` (a loop with break, made a while loop):
    numba cannot index a range, so `steps[k]` becomes `(a + k)` and `len(steps)` `max(0, b - a)`. Only
    where `steps` is assigned once and a and b are constants or parameters the function never assigns."""
    params = {a.arg for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs}
    stores: dict = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
    fixed = params - set(stores)
    ranges = {}
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and stores.get(node.targets[0].id) == 1 and isinstance(node.value, ast.Call) \
                and _is_name(node.value.func, "range") and 1 <= len(node.value.args) <= 2 \
                and not node.value.keywords and all(
                    isinstance(a, ast.Constant) and type(a.value) is int or isinstance(a, ast.Name) and a.id in fixed
                    for a in node.value.args):
            a = node.value.args
            ranges[node.targets[0].id] = ("0", ast.unparse(a[0])) if len(a) == 1 else tuple(map(ast.unparse, a))
    if not ranges:
        return
    counters = _counters(fdef)

    class Rewrite(ast.NodeTransformer):
        def visit_Subscript(self, node):
            self.generic_visit(node)
            if isinstance(node.value, ast.Name) and node.value.id in ranges and isinstance(node.ctx, ast.Load):
                if not (isinstance(node.slice, ast.Name) and node.slice.id in counters):
                    raise NotLowerable("a range indexed by something other than a counter from 0", node)
                lo, _ = ranges[node.value.id]
                return ast.copy_location(ast.parse(f"({lo}) + ({ast.unparse(node.slice)})", mode="eval").body, node)
            return node

        def visit_Call(self, node):
            self.generic_visit(node)
            if _is_name(node.func, "len") and len(node.args) == 1 and isinstance(node.args[0], ast.Name) \
                    and node.args[0].id in ranges:
                lo, hi = ranges[node.args[0].id]
                return ast.copy_location(ast.parse(f"max(0, ({hi}) - ({lo}))", mode="eval").body, node)
            return node

    Rewrite().visit(fdef)


def _counters(fdef):
    """Names assigned only `k = 0` and `k = k + 1` (never negative): what the exits pass indexes a range with."""
    values = bound_values(fdef)

    def ok(name, v):
        if isinstance(v, ast.Constant):
            return type(v.value) is int and v.value == 0
        return isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and _is_name(v.left, name) \
            and isinstance(v.right, ast.Constant) and type(v.right.value) is int and v.right.value >= 0

    return {name for name, vs in values.items() if all(ok(name, v) for v in vs)}


def _zero_accumulators(fdef, runtime, scalars):
    """`X = 0.0` ... `X += E` (or `X = X + E`, `X = s2s.add(X, E)`) ... `s2s.finish(X, w)`: the zero adjoint
    that an array adjoint is added to has another type than the array, which numba cannot give one
    variable. Where X is read nowhere else, `X = 0.0` becomes `X = None` and each accumulation
    `X = _s2s_accumulate(X, E)` (None + E is E; finish of None is the zero gradient), or, where E is a
    matrix product `A @ B`, `X = _s2s_accumulate_matmul(X, A, B)`."""
    stores, loads, accumulations = {}, {}, {}
    allowed = set()  # ids of the loads of X that are its own accumulation or its finish

    def acc_operand(node):
        """(X, E) when `node` is an accumulation statement of X, else None."""
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
            return node.target.id, node.value, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            x, v = node.targets[0].id, node.value
            if isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add):
                for mine, other in ((v.left, v.right), (v.right, v.left)):
                    if _is_name(mine, x):
                        return x, other, mine
            if isinstance(v, ast.Call) and _is_runtime_call(v, runtime, "add") and len(v.args) == 2:
                for mine, other in ((v.args[0], v.args[1]), (v.args[1], v.args[0])):
                    if _is_name(mine, x):
                        return x, other, mine
        return None

    parents = parent_map(fdef)
    sums, axis_reads = {}, {}  # ids of the loads of X read as an operand of `+` (the BinOp) / by an axis reduction

    for node in walk(fdef):
        found = acc_operand(node)
        if found:
            x, e, mine = found
            if not any(_is_name(n, x) for n in walk(e)):
                accumulations.setdefault(x, []).append(node)
                if mine is not None:
                    allowed.add(id(mine))
        if isinstance(node, ast.Call) and _is_runtime_call(node, runtime, "finish") and node.args \
                and isinstance(node.args[0], ast.Name):
            allowed.add(id(node.args[0]))
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).setdefault(node.id, []).append(node)
            up = parents.get(id(node))
            if isinstance(node.ctx, ast.Load) and isinstance(up, ast.BinOp) and isinstance(up.op, ast.Add) \
                    and not any(_is_name(n, node.id) for n in walk(up.right if up.left is node else up.left)):
                sums[id(node)] = up  # `X + E`: 0 + E is E (plus 0.0) where X is still the zero
            elif isinstance(node.ctx, ast.Load) and _axis_reduction_of(up, node):
                axis_reads[id(node)] = up  # np.sum(X, axis=1): NumPy raises on the number 0 (AxisError)
    rewritten = set()  # ids of the sums `X + E` given to `_s2s_add_zero`
    for x, accs in accumulations.items():
        if x in scalars:
            continue
        zeros = [n for n in walk(fdef) if isinstance(n, ast.Assign) and len(n.targets) == 1
                 and _is_name(n.targets[0], x) and is_zero(n.value)]
        acc_targets = {id(a.targets[0] if isinstance(a, ast.Assign) else a.target) for a in accs}
        zero_targets = {id(z.targets[0]) for z in zeros}
        if not zeros or any(id(s) not in acc_targets | zero_targets for s in stores.get(x, [])):
            continue
        if all(isinstance(z.value, ast.Constant) and type(z.value.value) is int for z in zeros):
            continue  # `k = 0` ... `k += 1`: an int counter, one numba type throughout (None + 1 has no helper)
        if any(id(ld) not in allowed and id(ld) not in sums and id(ld) not in axis_reads for ld in loads.get(x, [])):
            continue
        if any(id(sums[id(ld)]) in rewritten for ld in loads.get(x, []) if id(ld) in sums):
            continue  # `X + Y` of two such names: X's rewrite took that sum (Y keeps its 0.0 start)
        rewritten.update(id(sums[id(ld)]) for ld in loads.get(x, []) if id(ld) in sums)
        for z in zeros:
            z.value = ast.copy_location(ast.Constant(None), z.value)
        for ld in loads.get(x, []):
            if id(ld) in allowed:
                continue
            if id(ld) in sums:  # `X + E` -> `_s2s_add_zero(X, E)`: E + 0.0 while X is None, else X + E
                up = sums[id(ld)]
                other = up.right if up.left is ld else up.left
                call = ast.Call(func=ast.Name(id=ADD_ZERO, ctx=ast.Load()),
                                args=[ast.Name(id=x, ctx=ast.Load()), other] if up.left is ld
                                else [other, ast.Name(id=x, ctx=ast.Load())], keywords=[])
                _replace_expression(parents, up, ast.copy_location(call, up))
            else:  # the reduction's argument: a None raises the marked fallback (the NumPy code raises)
                call = ast.Call(func=ast.Name(id=PRESENT, ctx=ast.Load()), args=[ast.Name(id=x, ctx=ast.Load())],
                                keywords=[])
                _replace_expression(parents, ld, ast.copy_location(call, ld))
        for a in accs:
            _, e, _ = acc_operand(a)
            # `X + A @ B` (a weight's adjoint in a loop, often an outer product): one helper that adds the
            # product into X's own array, without a temporary where B has one row
            helper, args = (ACCUMULATE_MATMUL, [e.left, e.right]) if isinstance(e, ast.BinOp) \
                and isinstance(e.op, ast.MatMult) else (ACCUMULATE, [e])
            call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[ast.Name(id=x, ctx=ast.Load()), *args],
                            keywords=[])
            new = ast.Assign(targets=[ast.Name(id=x, ctx=ast.Store())], value=call)
            _replace_statement(fdef, a, ast.copy_location(new, a))






_COMPARISONS = {ast.Eq: "equal", ast.NotEq: "not_equal", ast.Lt: "less", ast.LtE: "less_equal", ast.Gt: "greater",
                ast.GtE: "greater_equal"}


def _unwrap_compared(fdef):
    """`a4 == m5` of a name that some statement sets to None (the placeholder of values on a list tape, which
    numba types as Optional) -> `np.equal(a4, m5)`: numba types `==` of an Optional array as a comparison of
    the objects (one bool), where NumPy compares the items; its ufunc takes the array out of the Optional
    (a None raises, as reading the placeholder would)."""
    maybe_none = {t.id for node in walk(fdef) if isinstance(node, ast.Assign)
                  and isinstance(node.value, ast.Constant) and node.value.value is None
                  for t in node.targets if isinstance(t, ast.Name)}
    if not maybe_none:
        return
    parents = parent_map(fdef)
    for node in list(walk(fdef)):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARISONS \
                and any(isinstance(o, ast.Name) and o.id in maybe_none for o in (node.left, node.comparators[0])):
            func = ast.Attribute(value=ast.Name(id=NUMPY, ctx=ast.Load()), attr=_COMPARISONS[type(node.ops[0])],
                                 ctx=ast.Load())
            call = ast.Call(func=func, args=[node.left, node.comparators[0]], keywords=[])
            _replace_expression(parents, node, ast.copy_location(call, node))


def _axis_reduction_of(call, arg) -> bool:
    """Whether `call` is `np.sum(arg, axis=k)`, `arg.sum(k)`... of a reduction (before `reductions` rewrote it)
    with an int constant axis: of the number 0 NumPy raises AxisError."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _REDUCTIONS):
        return False
    if call.func.value is arg:
        rest = call.args
    elif call.args and call.args[0] is arg:
        rest = call.args[1:]
    else:
        return False
    keywords = {k.arg: k.value for k in call.keywords}
    axis = rest[0] if rest else keywords.get("axis")
    return axis is not None and int_constant(axis) is not None


def _replace_expression(parents, old, new):
    """Put `new` where the expression `old` is in its parent."""
    up = parents[id(old)]
    for attr, value in ast.iter_fields(up):
        if value is old:
            setattr(up, attr, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise AssertionError("the expression is not in its parent")


def _zeros_as_arrays(fdef, shapes, dtype="float64"):
    """`c_bar = 0.0` -> `c_bar = np.zeros((16,))` (`np.zeros((16,), np.float32)` for another dtype) for the
    names of `shapes` (not those _zero_accumulators made None: they start as None)."""
    given = "" if dtype == "float64" else f", {NUMPY}.{dtype}"
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in shapes and is_zero(node.value):
            text = f"{NUMPY}.zeros({shapes[node.targets[0].id]!r}{given})"
            node.value = ast.copy_location(ast.parse(text, mode="eval").body, node.value)


def is_zero(node) -> bool:
    """Whether `node` is the number 0 written as a constant (`0.0`, `0`): the zero adjoint's start.

        >>> is_zero(ast.Constant(0.0)), is_zero(ast.Constant(False))
        (True, False)
    """
    return isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 0


def _is_runtime_call(node, runtime, attr):
    f = node.func
    return isinstance(f, ast.Attribute) and f.attr == attr and isinstance(f.value, ast.Name) and f.value.id == runtime


def _replace_statement(root, old, new):
    for node in walk(root):
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if isinstance(block, list) and old in block:
                block[block.index(old)] = new
                return
    raise NotLowerable("an accumulation s2s could not rewrite", old)


def _is_name(node, name):
    return isinstance(node, ast.Name) and node.id == name


def _positional_params(fdef):
    args = fdef.args
    if args.vararg or args.kwarg:
        raise NotLowerable("a function with *args or **kwargs", fdef)
    positional = args.posonlyargs + args.args
    defaults = {}
    for a, d in zip(positional[len(positional) - len(args.defaults):], args.defaults):
        defaults[a.arg] = _constant(d, a.arg)
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        if d is not None:
            defaults[a.arg] = _constant(d, a.arg)
    params = [a.arg for a in positional + args.kwonlyargs]
    fdef.args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None, kwonlyargs=[],
                              kw_defaults=[], kwarg=None, defaults=[])
    return params, defaults


def _constant(node, name):
    if isinstance(node, ast.Constant):
        return node.value
    return _NotConstant  # the caller supplies the user's default from the function object


class _NotConstant:
    pass


def _free_names(fdef, params):
    stored = set(params)
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stored.add(node.id)
    free, attrs = [], {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in stored \
                and node.id not in free:
            free.append(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id not in stored:
            attrs.setdefault(node.value.id, set()).add(node.attr)
    return free, attrs
