"""Adjoints and tangents of reductions (np.sum, max/min, prod, var, std, cumsum, norm, builtin sum,
max and min; rules in s2s/rules/reductions.py and builtin_rules.py).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from s2s.runtime.adjoint import add, unbroadcast
from s2s.runtime.arrays import _arr, _as_array, _float_dtype, _sequence_shape, broadcast_to_like, is_array, numpy_shape, shape_of
from s2s.runtime.elementwise import safe_div
from s2s.runtime.zero import ZERO, is_zero, linear_in_g, zero_safe


def _axes(axis, ndim):
    """The reduced axes, each in range(ndim): `axis` None, an int (NumPy's integers too: `np.int64(0)`, as
    NumPy takes them) or a tuple of them."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, tuple | list):
        axis = (axis,)
    return tuple(operator.index(a) % ndim for a in axis)


@zero_safe  # a zero `g` (a Python number) is broadcast to zeros of x's shape
def expand_reduced(g, x, axis, keepdims):
    """Broadcast the gradient of a reduction back to the reduced array's shape."""
    if isinstance(x, list | tuple) and _sequence_shape(x) is not None:  # NumPy reduced it as an array
        x = np.zeros(_sequence_shape(x))
    xs = shape_of(x)
    if not keepdims and xs != () and is_array(g) and g.ndim:  # (a number, Python's or NumPy's, broadcasts as it is)
        for a in sorted(_axes(axis, len(xs))):
            g = np.expand_dims(g, a)
    return broadcast_to_like(g, x)


def reduced_size(x, axis):
    """Number of elements a reduction over `axis` combines."""
    xs = shape_of(x) if not isinstance(x, list | tuple) else (_sequence_shape(x) or ())
    n = 1
    for a in _axes(axis, len(xs)):
        n *= xs[a]
    return n


@linear_in_g
def grad_extreme(g, ans, x, axis, keepdims):
    """Adjoint of max/min: split `g` evenly between the tied extreme entries."""
    a = expand_reduced(ans, x, axis, keepdims)
    mask = x == a
    count = np.sum(mask, axis=axis, keepdims=True, dtype=_float_dtype(x))  # (an int count would make float32 float64)
    return expand_reduced(g, x, axis, keepdims) * mask / count


@linear_in_g
def grad_sum_where(g, a, axis, keepdims, where):
    """Adjoint of `np.sum(a, axis, keepdims=keepdims, where=where)`: `g` on the entries `where` includes, 0 on
    the others.

    >>> grad_sum_where(2.0, np.ones(3), None, False, np.array([True, False, True]))
    array([2., 0., 2.])
    """
    out = expand_reduced(g, a, axis, keepdims)
    return np.where(where, out, np.zeros((), np.result_type(out)))


@linear_in_g
def grad_mean_where(g, a, axis, keepdims, where):
    """Adjoint of `np.mean(a, axis, keepdims=keepdims, where=where)`: `g` over the number of entries included,
    on the entries `where` includes, 0 on the others (also where it includes none: the mean is NaN there).

    >>> grad_mean_where(1.0, np.ones(4), None, False, np.array([True, False, True, True]))
    array([0.33333333, 0.        , 0.33333333, 0.33333333])
    """
    count = np.sum(np.broadcast_to(where, np.shape(a)), axis=axis, keepdims=True, dtype=_float_dtype(a))
    out = expand_reduced(g, a, axis, keepdims)
    return np.where(where, out / np.where(count == 0, 1.0, count), np.zeros((), np.result_type(out)))


@linear_in_g
def grad_extreme_where(g, ans, x, axis, keepdims, where):
    """Adjoint of np.max/np.min with `where=` or `initial=`: `g` split evenly between the tied extreme entries
    that `where` includes; none where `initial` is the extreme (no entry equals it), NaN where the result is
    NaN (as `grad_extreme` gives).

    >>> grad_extreme_where(1.0, 3.0, np.array([3.0, 1.0, 3.0]), None, False, np.array([True, True, False]))
    array([1., 0., 0.])
    """
    a = expand_reduced(ans, x, axis, keepdims)
    mask = (x == a) & where
    count = np.sum(mask, axis=axis, keepdims=True, dtype=_float_dtype(x))
    out = expand_reduced(g, x, axis, keepdims) * mask / np.where(count == 0, 1.0, count)
    nan = np.isnan(a)
    return np.where(nan, np.nan, out) if nan.any() else out


@linear_in_g
def grad_prod(g, ans, x, axis, keepdims):
    """Adjoint of np.prod, exact also where entries are zero."""
    x = _as_array(x)
    if axis is None:
        flat = x.reshape(-1)
        return (g * _prod_others(flat, 0)).reshape(x.shape)
    ax = _axes(axis, x.ndim)
    moved = np.moveaxis(x, ax, tuple(range(len(ax))))
    flat = moved.reshape((-1,) + moved.shape[len(ax):])
    others = _prod_others(flat, 0).reshape(moved.shape)
    others = np.moveaxis(others, tuple(range(len(ax))), ax)
    return expand_reduced(g, x, axis, keepdims) * others


def _prod_others(x, axis):
    """Product of all other entries along `axis` (exclusive cumulative products); the product divided by each
    entry where that is as exact: no entry 0 and every product a normal finite number (the exclusive products'
    prefix times suffix may overflow where their product does not: 1e-300 times 1e310)."""
    quick = _others_by_division(x, axis)
    if quick is not None:
        return quick
    x = np.moveaxis(x, axis, 0)
    ones = np.ones_like(x[:1])
    left = np.cumprod(np.concatenate([ones, x[:-1]]), axis=0)
    right = np.cumprod(np.concatenate([ones, x[::-1][:-1]]), axis=0)[::-1]
    return np.moveaxis(left * right, 0, axis)


@linear_in_g
def grad_var(g, x, axis, ddof, keepdims):
    """Adjoint of np.var."""
    n = reduced_size(x, axis)
    mean = np.mean(x, axis=axis, keepdims=True)
    return expand_reduced(g, x, axis, keepdims) * 2.0 * (x - mean) / max(n - ddof, 0)  # (NumPy's divisor: 0, not
    # negative, where ddof is more than n)


@linear_in_g
def grad_std(g, ans, x, axis, ddof, keepdims):
    """Adjoint of np.std.

    Where the standard deviation is 0 (all entries equal; always so over a length-1 axis) it is
    a norm at its minimum: the derivative does not exist (autograd and JAX give nan) except over
    a length-1 axis, where std is identically 0 and its derivative is 0. s2s gives 0 at every such
    point, the minimum-norm subgradient, as for np.abs and np.linalg.norm at 0.
    """
    return grad_var(safe_div(g, 2.0 * ans), x, axis, ddof, keepdims)


@linear_in_g
def grad_cumsum(g, x, axis):
    """Adjoint of np.cumsum: reversed cumulative sum."""
    if axis is None:  # (a list of numbers, `np.cumsum([a, b])`: its shape is NumPy's of it)
        return np.cumsum(np.ravel(g)[::-1])[::-1].reshape(numpy_shape(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _running_ties(x, ans):
    """Along the last axis of `x` and of its running extreme `ans` (np.maximum.accumulate's or minimum's): where x
    equals the running extreme (NaN equal to NaN), how many entries of the run of one extreme value so far do (the
    run starts where the extreme changes, at an entry equal to it), and where each run starts."""
    def same(a, b):
        return (a == b) | (np.isnan(a) & np.isnan(b))

    hit = same(x, ans)
    start = np.ones(hit.shape, dtype=bool)
    start[..., 1:] = ~same(ans[..., 1:], ans[..., :-1])
    counted = np.cumsum(hit, axis=-1)
    before = counted - hit  # (nondecreasing: the running maximum of its values at run starts is the latest one's)
    count = counted - np.maximum.accumulate(np.where(start, before, 0), axis=-1)
    return hit, count, start


def _along_last(axis, *arrays):
    return [np.moveaxis(np.asarray(a), _accumulated_axis(axis), -1) for a in arrays]


def _accumulated_axis(axis):
    return 0 if axis is None else axis  # (NumPy's accumulate takes axis=None of a 1-d array: its one axis)


@linear_in_g
def grad_running_extreme(g, x, ans, axis):
    """Adjoint of np.maximum.accumulate / np.minimum.accumulate along `axis` (`ans` its result): each output's `g`
    split evenly between the entries so far that equal it, as np.max's adjoint does for each prefix.

        >>> grad_running_extreme(np.ones(4), np.array([1.0, 3.0, 2.0, 3.0]), np.array([1.0, 3.0, 3.0, 3.0]), 0)
        array([1. , 2.5, 0. , 0.5])
    """
    x = _as_array(x)
    xs, running, gs = _along_last(axis, x, ans, np.broadcast_to(g, x.shape))
    hit, count, start = _running_ties(xs, running)
    share = gs / count.astype(_float_dtype(x))
    sums = np.cumsum(share, axis=-1)
    last = np.ones(start.shape, dtype=bool)  # the last entry of each run
    last[..., :-1] = start[..., 1:]
    positions = np.arange(xs.shape[-1])
    end = np.minimum.accumulate(np.where(last, positions, xs.shape[-1] - 1)[..., ::-1], axis=-1)[..., ::-1]
    out = np.where(hit, np.take_along_axis(sums, end, axis=-1) - (sums - share), 0.0)
    return np.moveaxis(out.astype(share.dtype, copy=False), -1, _accumulated_axis(axis))


def running_extreme_tangent(t, x, ans, axis):
    """Tangent of np.maximum.accumulate / np.minimum.accumulate along `axis`: at each output, the mean of the
    tangents of the entries so far that equal it (`grad_running_extreme`'s transpose).

        >>> running_extreme_tangent(np.arange(4.0), np.array([1.0, 3.0, 2.0, 3.0]), np.array([1.0, 3.0, 3.0, 3.0]), 0)
        array([0., 1., 1., 2.])
    """
    if is_zero(t):
        return ZERO
    x = _as_array(x)
    xs, running, ts = _along_last(axis, x, ans, np.broadcast_to(t, x.shape))
    hit, count, start = _running_ties(xs, running)
    taken = np.cumsum(np.where(hit, ts, 0.0), axis=-1)
    positions = np.arange(xs.shape[-1])
    first = np.maximum.accumulate(np.where(start, positions, 0), axis=-1)
    before = np.take_along_axis(taken - np.where(hit, ts, 0.0), first, axis=-1)
    return np.moveaxis((taken - before) / count.astype(taken.dtype), -1, _accumulated_axis(axis))


_NUMPY_FLOATS = (np.float64, np.float32, np.float16)


@linear_in_g
def grad_norm(g, ans, x, ord, axis, keepdims):
    """Adjoint of np.linalg.norm: vector norms with ord None, 2, 1, inf and -inf (0 where the norm has
    no derivative: at 0, and split evenly between tied entries for inf), the Frobenius norm of matrices and their
    norms of orders 2, -2, 1, -1, inf and -inf (`linalg.matrix_norm_slope`). Other orders (vector p-norms with p
    not written as a number, the nuclear norm's own rule aside) are refused."""
    if ord is None and axis is None and type(x) is np.ndarray and type(ans) in _NUMPY_FLOATS \
            and type(g) in _NUMPY_FLOATS + (float,):
        # (the whole array's 2-norm: the same arithmetic as below, without two broadcasts and a where: 0.8 us
        # against 9.7; expand_reduced keeps a number a number, so the dtypes are those of g * x too)
        return g * x / (ans if ans != 0 else 1)
    matrix = _matrix_norm(x, axis)
    if ord in (None, "fro", "f") or (ord == 2 and not matrix):  # ('f': NumPy's other name of the Frobenius norm)
        if axis is not None and type(x) is np.ndarray and type(ans) is np.ndarray \
                and (type(g) is np.ndarray or type(g) in _NUMPY_FLOATS + (float,)):
            # (norms along an axis: the quotient on the norms' shape, one product of x's size instead of three)
            return x * expand_reduced(g / np.where(ans == 0, 1, ans), x, axis, keepdims)
        n = expand_reduced(ans, x, axis, keepdims)
        return expand_reduced(g, x, axis, keepdims) * x / np.where(n == 0, 1, n)
    if not matrix and ord == 1:
        return expand_reduced(g, x, axis, keepdims) * np.sign(x)
    if not matrix and ord in (np.inf, -np.inf):
        mag = np.abs(x)
        hit = mag == expand_reduced(ans, x, axis, keepdims)
        count = np.sum(hit, axis=axis, keepdims=True)
        return expand_reduced(g, x, axis, keepdims) * np.sign(x) * hit / count
    if matrix and isinstance(ord, str) and ord == "nuc":  # (held in a variable: the literal has its own rule)
        from s2s.runtime.linalg import grad_nuclear
        return grad_nuclear(g, x, axis, keepdims)
    if matrix:
        from s2s.runtime.linalg import matrix_norm_slope
        slope = matrix_norm_slope(x, ord, axis)
        if slope is not None:
            gm = np.asarray(g)
            if not keepdims and gm.ndim:  # (g has the norms' shape: one axis for each of the two reduced, of length 1)
                axes = (-2, -1) if axis is None else tuple(a % np.ndim(x) for a in axis)
                gm = np.expand_dims(gm, tuple(sorted(axes)))
            return gm * slope
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s has no derivative of np.linalg.norm with ord={ord!r} for {'matrices' if matrix else 'vectors'}",
        hint="use ord=None (2-norm of vectors, Frobenius norm of matrices), ord=1 or ord=np.inf for vectors, or "
             "write the norm out (np.sum(np.abs(x) ** p) ** (1 / p))")


def _matrix_norm(x, axis) -> bool:
    """Whether np.linalg.norm(x, ord, axis) is a matrix norm (of x's one matrix, or over two axes)."""
    return (axis is None and np.ndim(x) == 2) or (isinstance(axis, tuple | list) and len(axis) == 2)


def euclidean_norm(ord, x, axis) -> bool:
    """Whether np.linalg.norm(x, ord, axis) is a Euclidean norm (the vector 2-norm, the Frobenius norm), whose
    adjoint `grad_norm` is g x / ans, or else one that is linear where it has a derivative (vector 1- and inf-norms,
    matrix 1- and inf-norms: their second derivative is 0); the others (the spectral norms, matrix orders 2 and
    -2, the nuclear norm), whose second derivative s2s has no rule for here, are refused (rules/runtime_rules.py:
    the rule of grad_norm).

        >>> euclidean_norm(None, np.ones((2, 2)), None), euclidean_norm(1, np.ones(3), None)
        (True, False)
    """
    matrix = _matrix_norm(x, axis)
    if isinstance(ord, str):
        euclidean, linear = ord in ("fro", "f"), False
    else:
        euclidean = ord is None or ord == 2 and not matrix
        linear = ord in ((1, -1, np.inf, -np.inf) if matrix else (1, np.inf, -np.inf))
    if not euclidean and not linear:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(f"s2s has no second derivative of np.linalg.norm with ord={ord!r} for "
                                    f"{'matrices' if matrix else 'vectors'} written as a value",
                                    hint="use the Frobenius norm (ord=None), or write the order in the call")
    return euclidean


@zero_safe
def grad_builtin_sum(g, x):
    """Adjoint of the builtin `sum` over a list, tuple or array."""
    if isinstance(x, list | tuple):
        return [unbroadcast(g, v) for v in x]
    return g * np.ones_like(_arr(x), dtype=_float_dtype(g))


def grad_select(g, chosen, args):
    """Adjoints of builtin max/min: `g` goes to the first argument that was chosen."""
    if len(args) == 1:  # max(iterable)
        items = list(args[0])
        parts = _select(g, chosen, items)
        if type(args[0]) is np.ndarray and args[0].ndim == 1:  # (a vector's adjoint is an array, not a list: adv229)
            out = np.zeros(args[0].shape, np.result_type(args[0].dtype, np.asarray(g).dtype, np.float16))
            for i, part in enumerate(parts):
                if part is not ZERO:
                    out[i] = part
            return [out]
        return [parts]
    return _select(g, chosen, args)


def _select(g, chosen, items):
    out = [ZERO] * len(items)
    for i, v in enumerate(items):
        if _is_chosen(i, v, chosen):
            out[i] = g
            break
    return out


def _is_chosen(at, v, chosen) -> bool:
    """Whether `v`, the argument at `at`, is the first that builtin max/min may have chosen, `chosen` its result:
    the object itself, a number equal to it, or the first argument where the result is a NaN (max and min keep a
    NaN only where it comes first: nothing compares above or below it). The argument may be another object than
    the one given (a number the derivative computed again, specialize's recomputations), and a NaN equals nothing:
    by identity alone a NaN chosen had lost its g (specialize's `_selection` writes the same test)."""
    if v is chosen:
        return True
    return np.ndim(v) == 0 and (v == chosen or at == 0 and np.ndim(chosen) == 0 and chosen != chosen)


def keep(ans, x, axis, keepdims):
    """A reduction's result with the reduced axes kept (for forward-mode templates)."""
    if keepdims or np.ndim(x) == 0:
        return ans
    return np.expand_dims(ans, _axes(axis, np.ndim(x)))


@linear_in_g
def grad_prod_dot(g, x, x_dot, axis, keepdims):
    """Tangent of `grad_prod(g, ans, x, axis, keepdims)` for the tangent `x_dot` of x (exact at zeros)."""
    if is_zero(x_dot):
        return ZERO
    x = _as_array(x)
    x_dot = broadcast_to_like(x_dot, x)
    ax = tuple(range(x.ndim)) if axis is None else _axes(axis, x.ndim)
    moved = np.moveaxis(x, ax, tuple(range(len(ax))))
    moved_dot = np.moveaxis(x_dot, ax, tuple(range(len(ax))))
    flat = moved.reshape((-1,) + moved.shape[len(ax):])
    flat_dot = moved_dot.reshape(flat.shape)
    left, left_dot = _exclusive_cumprod_dot(flat, flat_dot)
    right, right_dot = _exclusive_cumprod_dot(flat[::-1], flat_dot[::-1])
    others_dot = (left_dot * right[::-1] + left * right_dot[::-1]).reshape(moved.shape)
    others_dot = np.moveaxis(others_dot, tuple(range(len(ax))), ax)
    return expand_reduced(g, x, axis, keepdims) * others_dot


def _exclusive_cumprod_dot(x, x_dot):
    """Products of the entries before each one along axis 0, and their tangents (no division)."""
    p, p_dot = np.ones_like(x[:1]), np.zeros_like(x[:1])
    ps, dots = [], []
    for k in range(x.shape[0]):
        ps.append(p)
        dots.append(p_dot)
        p, p_dot = p * x[k:k + 1], p_dot * x[k:k + 1] + p * x_dot[k:k + 1]
    if not ps:
        return x, x_dot
    return np.concatenate(ps), np.concatenate(dots)


def builtin_sum_tangent(t, x):
    """Tangent of the builtin `sum` over a list, tuple or array."""
    if isinstance(t, list | tuple):
        total = ZERO
        for v in t:
            total = add(total, v)
        return total
    return np.sum(t, axis=0) if np.ndim(t) else t


def select_tangent(ans, args, tangents):
    """Tangent of builtin max/min: the tangent of the argument that was chosen."""
    if len(args) == 1:
        items, tans = list(args[0]), tangents[0]
        tans = [ZERO] * len(items) if is_zero(tans) else list(tans)
    else:
        items, tans = args, tangents
    for at, (v, t) in enumerate(zip(items, tans)):
        if _is_chosen(at, v, ans):
            return t
    return ZERO


def _along_first(x, axis):
    """`x` with `axis` moved first (flattened for axis None)."""
    x = _as_array(x)
    return x.reshape(-1) if axis is None else np.moveaxis(x, axis, 0)


def _back(y, x, axis):
    x = _as_array(x)
    return y.reshape(x.shape) if axis is None else np.moveaxis(y, 0, axis)


def _cumprod_g(g, xs, axis):
    """The adjoint of np.cumprod's result laid out like `xs` (its axis first; flat for axis None)."""
    if axis is None:
        return np.broadcast_to(g, xs.shape)
    return np.moveaxis(np.broadcast_to(g, np.moveaxis(xs, 0, axis).shape), axis, 0)


_SMALLEST_NORMAL = {}  # float dtype -> its smallest normal number (np.finfo costs more than the test)


def _smallest_normal(dtype) -> float:
    tiny = _SMALLEST_NORMAL.get(dtype)
    if tiny is None:
        tiny = _SMALLEST_NORMAL.setdefault(dtype, float(np.finfo(dtype).tiny))
    return tiny


def _others_by_division(x, axis):
    """np.prod(x, axis) / x, the product of the other entries, where x is a float array with no entry 0 and
    every product along the axis is a normal finite number; else None."""
    if not (type(x) is np.ndarray and x.dtype.kind == "f" and x.size and np.count_nonzero(x) == x.size):
        return None
    total = np.prod(x, axis=axis, keepdims=True)
    magnitude = np.abs(total)
    if not (float(magnitude.min()) >= _smallest_normal(total.dtype) and np.isfinite(magnitude).all()):
        return None
    return total / x


def _cumprod_adjoint_by_division(x, g, products=None):
    """The adjoint of np.cumprod along axis 0, (the sum over i >= j of g[i] * c[i]) / x[j], c the running
    products, where every c is a normal nonzero finite number (no x is 0) and the running sums do not overflow
    (the last one finite: `_running_sums`); else None. Not c[j - 1] times the sum over c[j]: that quotient
    may overflow where the adjoint does not."""
    found = _running_sums(x, g, products)
    return None if found is None else found[1] / x


def _cumprod_adjoint_along(x, g, axis, products=None):
    """`_cumprod_adjoint_by_division` along `axis` of x (an int), without moving the axis first: the same sums
    in the same order (each running sum along the axis), the same tests, else None."""
    if not (x.dtype.kind == "f" and g.dtype.kind == "f" and x.size):
        return None
    c = products if type(products) is np.ndarray and products.shape == x.shape and products.dtype == x.dtype \
        else np.cumprod(x, axis=axis)
    if not _normal_nonzero(c):
        return None
    sums = np.cumsum(np.flip(g * c, axis), axis=axis)
    if not np.isfinite(np.take(sums, -1, axis=axis)).all():
        return None
    return np.flip(sums, axis) / x


def _running_sums(x, g, products=None):
    """(c, sums) along axis 0: c the running products (shifted by one they are the products before each entry,
    the same products in the same order), sums[j] the sum over i >= j of g[i] * c[i], where every c is a normal
    nonzero finite number (no zero to divide by, no product rounded to zero or infinity on the way) and no sum
    overflows; else None (the loop then). `products`: np.cumprod(x, axis=0) where the caller has it (the forward
    sweep's value).

    Why one test of the last sums is enough: a sum that overflowed, or a term that is inf or NaN, makes every
    later partial sum of the running sums inf or NaN, so the last row is finite only where none did."""
    if not (type(x) is np.ndarray and type(g) is np.ndarray and x.dtype.kind == "f" and g.dtype.kind == "f"
            and x.shape == g.shape and x.size):
        return None
    c = products if type(products) is np.ndarray and products.shape == x.shape and products.dtype == x.dtype \
        else np.cumprod(x, axis=0)
    if not _normal_nonzero(c):
        return None
    sums = np.cumsum((g * c)[::-1], axis=0)
    last = sums[-1]
    if not (math.isfinite(last) if sums.ndim == 1 else np.isfinite(last).all()):
        return None
    return c, sums[::-1]


def _normal_nonzero(c) -> bool:
    """Whether no entry of the float array c is NaN, zero or subnormal (an infinite one the callers' test of the
    running sums catches). Where every entry is positive the least one decides: one reduction, no temporary."""
    tiny = _smallest_normal(c.dtype)
    return bool(c.min() >= tiny) or bool(np.abs(c).min() >= tiny)  # (NaN fails both)


def _tails_by_division(x, g, products=None):
    """(c, r) for `_exclusive_and_tails` without a Python loop where that is as exact: `_running_sums`' c and
    r[j] = (sum over i >= j of g[i] * c[i]) / c[j]; else None (the loop then)."""
    found = _running_sums(x, g, products)
    return None if found is None else (found[0], found[1] / found[0])


def _exclusive_and_tails(x, g):
    """For np.cumprod along axis 0: the products of the entries before each one, P, and
    r[j] = sum over i >= j of g[i] * x[j+1] * ... * x[i] (no division: exact where entries are 0)."""
    n = x.shape[0]
    quick = _tails_by_division(x, g) if n else None
    if quick is not None:
        c, r = quick
        return np.concatenate([np.ones_like(c[:1]), c[:-1]]), r
    p = np.ones_like(x, dtype=_float_dtype(x))
    r = np.zeros(x.shape, dtype=_float_dtype(x, g))
    for j in range(1, n):
        p[j] = p[j - 1] * x[j - 1]
    if n:
        r[n - 1] = g[n - 1]
    for j in range(n - 2, -1, -1):
        r[j] = g[j] + x[j + 1] * r[j + 1]
    return p, r


@linear_in_g
def grad_cumprod(g, x, axis, ans=None):
    """Adjoint of np.cumprod(x, axis), exact also where entries are zero. `ans`: np.cumprod(x, axis) where the
    caller has it (the forward sweep's value: not computed again)."""
    if axis is None and type(x) is np.ndarray and x.ndim == 1 and type(g) is np.ndarray and g.shape == x.shape:
        quick = _cumprod_adjoint_by_division(x, g, ans)  # (a vector's, without moving axes)
        if quick is not None:
            return quick
    if type(axis) is int and type(x) is np.ndarray and type(g) is np.ndarray and g.shape == x.shape \
            and -x.ndim <= axis < x.ndim:
        quick = _cumprod_adjoint_along(x, g, axis, ans)  # (along its axis in place: no strided copies)
        if quick is not None:
            return quick
    xs = _along_first(x, axis)
    gs = _cumprod_g(g, xs, axis)
    quick = _cumprod_adjoint_by_division(xs, gs)
    if quick is not None:
        return _back(quick, x, axis)
    with np.errstate(over="ignore", invalid="ignore"):  # (a range lost is computed again, below)
        p, r = _exclusive_and_tails(xs, gs)
        adjoint = p * r
    if _lost_range(adjoint, p, r, xs, gs):
        adjoint = _scaled_cumprod_adjoint(xs, gs)
    return _back(_unread_zero(adjoint, gs), x, axis)


def _lost_range(adjoint, p, r, x, g) -> bool:
    """Whether the loop's adjoint `p * r` of finite float x and g may have lost range on the way: an entry not
    finite (a tail sum r overflowed where its product with a tiny p does not), a product p of the entries before
    one or a tail sum r that is subnormal (rounded to fewer bits), a p that is 0 with no 0 before it, or an r
    that is 0 where g is not 0 at the entry or a later one (rounded to nothing, or cancelled: computed again
    alike). Then `_scaled_cumprod_adjoint`."""
    if not (type(x) is np.ndarray and x.dtype.kind == "f" and type(g) is np.ndarray and g.dtype.kind == "f"
            and x.size and np.isfinite(x).all() and np.isfinite(g).all()):
        return False
    if not np.isfinite(adjoint).all():
        return True
    tiny = _smallest_normal(np.result_type(p, r))
    for part in (np.abs(p), np.abs(r)):
        if bool(((part < tiny) & (part > 0)).any()):
            return True
    zero_before = np.logical_or.accumulate(x == 0, axis=0)[:-1]
    if bool(((p[1:] == 0) & ~zero_before).any()):
        return True
    return bool(((r == 0) & _read_later(g)).any())


def _times(m, e, x):
    """(m * 2**e) * x as a mantissa in [0.5, 1) (or 0) and a power of two: no over- or underflow, one rounding."""
    xm, xe = np.frexp(x)
    product, pe = np.frexp(m * xm)
    return product, e + xe + pe


def _plus(m1, e1, m2, e2):
    """(m1 * 2**e1) + (m2 * 2**e2) as a mantissa and a power of two, a zero mantissa adding nothing whatever its
    power: both brought to the larger power (a term below the other's last bit by more than the float range is 0
    there), added once, rounded once."""
    zero1, zero2 = m1 == 0, m2 == 0
    common = np.where(zero1, e2, np.where(zero2, e1, np.maximum(e1, e2)))
    total = np.ldexp(m1, np.where(zero1, 0, e1 - common)) + np.ldexp(m2, np.where(zero2, 0, e2 - common))
    mantissa, e = np.frexp(total)
    return mantissa, common + e


def _scaled_cumprod_adjoint(x, g):
    """`_exclusive_and_tails`' p * r along axis 0 with each of p and r kept as a mantissa and a power of two
    (`_times`, `_plus`), so that no product or sum on the way over- or underflows where the adjoint itself does
    not: the same operations in the same order, each rounded once to the dtype's bits. x = [1e-160, 1e-160,
    1e160, 1e160]: r overflowed to inf where p is 1e-160 (the adjoint 1e160); p = 1e-320 kept 13 bits."""
    dtype = _float_dtype(x, g)
    x, g = x.astype(dtype, copy=False), g.astype(dtype, copy=False)
    n = x.shape[0]
    pm, pe = np.ones(x.shape[1:], dtype), np.zeros(x.shape[1:], np.int64)
    before_m, before_e = np.empty(x.shape, dtype), np.empty(x.shape, np.int64)
    for j in range(n):  # the products of the entries before j
        before_m[j], before_e[j] = pm, pe
        pm, pe = _times(pm, pe, x[j])
    out = np.empty(x.shape, dtype)
    rm, re = np.zeros(x.shape[1:], dtype), np.zeros(x.shape[1:], np.int64)
    for j in range(n - 1, -1, -1):  # r[j] = g[j] + x[j + 1] * r[j + 1]
        if j + 1 < n:
            rm, re = _times(rm, re, x[j + 1])
        gm, ge = np.frexp(g[j])
        rm, re = _plus(rm, re, gm, ge.astype(np.int64))
        product, e = np.frexp(before_m[j] * rm)
        out[j] = np.ldexp(product, before_e[j] + re + e)
    return out


def _unread_zero(adjoint, g):
    """`adjoint` (along axis 0) with 0 where g is 0 at the entry and at every later one: the products there read
    no entry from it on, exactly 0 (where an earlier product overflowed to inf, `inf * 0` would give NaN)."""
    if not (type(g) is np.ndarray and g.size and g.dtype.kind in "fc"):
        return adjoint
    read_later = _read_later(g)
    return adjoint if read_later.all() else np.where(read_later, adjoint, 0)


def _read_later(g):
    """Along axis 0: whether g is not 0 at the entry or a later one (the products there are read)."""
    return np.flip(np.logical_or.accumulate(np.flip(g != 0, 0), axis=0), 0)


@linear_in_g
def grad_cumprod_dot(g, x, x_dot, axis):
    """Tangent of `grad_cumprod(g, x, axis)` for the tangent `x_dot` of x."""
    if is_zero(x_dot):
        return ZERO
    xs = _along_first(x, axis)
    ts = _along_first(np.broadcast_to(x_dot, numpy_shape(x)), axis)
    gs = _cumprod_g(g, xs, axis)
    p, r = _exclusive_and_tails(xs, gs)
    n = xs.shape[0]
    p_dot = np.zeros(xs.shape, dtype=_float_dtype(xs, ts))
    r_dot = np.zeros(xs.shape, dtype=_float_dtype(xs, ts, gs))
    for j in range(1, n):
        p_dot[j] = p_dot[j - 1] * xs[j - 1] + p[j - 1] * ts[j - 1]
    for j in range(n - 2, -1, -1):
        r_dot[j] = ts[j + 1] * r[j + 1] + xs[j + 1] * r_dot[j + 1]
    return _back(p_dot * r + p * r_dot, x, axis)


def cumprod_tangent(t, x, axis):
    """Tangent of np.cumprod(x, axis) for the tangent `t` of x (no division: exact at zeros)."""
    xs = _along_first(x, axis)
    ts = _along_first(np.broadcast_to(t, numpy_shape(x)), axis)
    out = np.zeros(xs.shape, dtype=_float_dtype(xs, ts))
    y = np.ones_like(xs[:1][0], dtype=_float_dtype(xs)) if xs.shape[0] else None
    for i in range(xs.shape[0]):
        out[i] = (out[i - 1] * xs[i] if i else 0.0) + y * ts[i]
        y = y * xs[i]
    return out if axis is None else np.moveaxis(out, 0, axis)


def cumprod_tangent_dot(t, s, x, axis):
    """Tangent of `cumprod_tangent(t, x, axis)` for the tangent `s` of x: the second directional
    derivative of np.cumprod along t and s (by the same recurrence, without dividing)."""
    if is_zero(t) or is_zero(s):
        return ZERO
    xs = _along_first(x, axis)
    ts = _along_first(np.broadcast_to(t, numpy_shape(x)), axis)
    ss = _along_first(np.broadcast_to(s, numpy_shape(x)), axis)
    dtype = _float_dtype(xs, ts, ss)
    out = np.zeros(xs.shape, dtype=dtype)
    if xs.shape[0]:
        y, yt, ys, yts = np.ones_like(xs[0], dtype=dtype), np.zeros_like(xs[0], dtype=dtype), \
            np.zeros_like(xs[0], dtype=dtype), np.zeros_like(xs[0], dtype=dtype)
        for i in range(xs.shape[0]):
            y, yt, ys, yts = (y * xs[i], yt * xs[i] + y * ts[i], ys * xs[i] + y * ss[i],
                              yts * xs[i] + yt * ss[i] + ys * ts[i])
            out[i] = yts
    return out if axis is None else np.moveaxis(out, 0, axis)


def _median_weights(a, axis):
    """The weights np.median(a, axis) gives each entry: 1 on the middle entry along `axis` (in sorted order,
    ties broken as np.argsort breaks them), 1/2 on each of the two middle ones for an even length."""
    a = _as_array(a)
    if isinstance(axis, tuple | list):
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError("s2s has the derivative of np.median over one axis or all of them, not a tuple",
                                    hint="reshape so that the axes are one, or call np.median over each in turn")
    work = np.reshape(a, -1) if axis is None else a
    ax = 0 if axis is None else axis % max(a.ndim, 1)
    n = work.shape[ax]
    order = np.argsort(work, axis=ax, kind="stable")
    weights = np.zeros(work.shape, dtype=_float_dtype(a))
    for k in {(n - 1) // 2, n // 2}:
        np.put_along_axis(weights, np.take(order, [k], axis=ax), 1.0 if n % 2 else 0.5, axis=ax)
    return np.reshape(weights, a.shape)


def _quantile_weights(a, q, axis):
    """For each q (the quantiles, in [0, 1]) the weights np.quantile(a, q, axis) with its default 'linear' method gives
    each entry of a, stacked on a first axis: 1 - t on the entry at sorted position floor(v) along `axis` and t on
    the next (v = q * (n - 1), t its fraction; ties broken as np.argsort breaks them), shape q.shape + a.shape."""
    a = _as_array(a)
    if isinstance(axis, tuple | list):
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError("s2s has the derivative of np.quantile over one axis or all of them, not a tuple",
                                    hint="reshape so that the axes are one, or call it over each in turn")
    qs = np.asarray(q, dtype=float)
    if np.any(qs < 0) or np.any(qs > 1):
        raise ValueError("Quantiles must be in the range [0, 1]")
    work = np.reshape(a, -1) if axis is None else a
    ax = 0 if axis is None else axis % max(a.ndim, 1)
    n = work.shape[ax]
    order = np.argsort(work, axis=ax, kind="stable")
    out = np.zeros(qs.shape + work.shape, dtype=_float_dtype(a))
    for k, qk in np.ndenumerate(qs):
        v = qk * (n - 1)
        lo = min(int(np.floor(v)), n - 1)
        t = v - lo
        weights = out[k]
        np.put_along_axis(weights, np.take(order, [lo], axis=ax), 1.0 - t, axis=ax)
        if t > 0:  # (lo < n - 1 here)
            np.put_along_axis(weights, np.take(order, [lo + 1], axis=ax), t, axis=ax)
    return np.reshape(out, qs.shape + np.shape(a))


def _quantile_g(g, a, q, axis, keepdims):
    """g, of shape q.shape + the reduced shape, with each q's part broadcast back over a's shape."""
    qs = np.shape(q)
    g = np.broadcast_to(g, qs + np.shape(np.quantile(np.zeros(np.shape(a)), 0.5, axis=axis, keepdims=keepdims)))
    lead = len(qs)
    parts = np.reshape(g, (-1,) + g.shape[lead:]) if lead else g[None]
    expanded = np.stack([expand_reduced(p, a, axis, keepdims) for p in parts])
    return np.reshape(expanded, qs + np.shape(a))


@linear_in_g
def grad_quantile(g, a, q, axis, keepdims):
    """Adjoint of np.quantile(a, q, axis, keepdims=keepdims) (method 'linear'): each q's g shared between the two
    sorted entries it interpolates. np.percentile's is this with q / 100.

        >>> grad_quantile(1.0, np.array([3.0, 1.0, 2.0]), 0.25, None, False).tolist()
        [0.0, 0.5, 0.5]
    """
    weights = _quantile_weights(a, q, axis)
    total = np.sum(_quantile_g(g, a, q, axis, keepdims) * weights, axis=tuple(range(np.ndim(q))))
    return np.reshape(total, np.shape(a))


@linear_in_g
def quantile_tangent(t, a, q, axis, keepdims):
    """Tangent of np.quantile(a, q, axis, keepdims=keepdims) for the tangent `t` of a."""
    weights = _quantile_weights(a, q, axis)
    lead = np.ndim(q)
    summed = None if axis is None else (axis % max(np.ndim(a), 1)) + lead
    out = np.sum(broadcast_to_like(t, _as_array(a)) * weights,
                 axis=tuple(range(lead, lead + np.ndim(a))) if summed is None else summed, keepdims=keepdims)
    if keepdims and summed is None:
        out = np.reshape(out, np.shape(q) + (1,) * np.ndim(a))
    return out


@linear_in_g
def grad_median(g, a, axis, keepdims):
    """Adjoint of np.median(a, axis, keepdims=keepdims): g on the middle entry (halves on the two middle ones)."""
    return expand_reduced(g, a, axis, keepdims) * _median_weights(a, axis)


@linear_in_g
def median_tangent(t, a, axis, keepdims):
    """Tangent of np.median(a, axis, keepdims=keepdims) for the tangent `t` of a."""
    return np.sum(broadcast_to_like(t, _as_array(a)) * _median_weights(a, axis), axis=axis, keepdims=keepdims)
