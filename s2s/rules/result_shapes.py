"""Shape functions and `real` functions for the rule records (`defrule(..., result_shape=..., real=...)`).

The shapes pass (transforms/shapes.py) asks a call's rule for the shape of its result: `Rule.result_shape`
is a function of the call site (a `Site`: how many positional arguments, which keywords, and per
argument its shape, the ints it evaluates to, its literal value) that returns the shape, or None where
it is not certain. It must claim a shape only where the call certainly has it (a wrong one makes the
specialised code drop an `unbroadcast` that was needed). A function of the call that says whether its
result is real floats (`Rule.real` as a function) works the same way, and so does one that gives the
int or tuple of ints a call evaluates to (`Rule.result_value`: np.shape(x) is x's shape).

    >>> from s2s.transforms.shapes import reduced
    >>> reduced((4, 3), 0, True)   # what `reduction()` gives np.sum(x, axis=0, keepdims=True) of a 4x3 x
    (1, 3)

The functions here are the shared kinds (reductions, array creation, a product of matrices, ...); a rule
may pass any function of a `Site`. The runtime helpers' shape functions claim an array's shape only where
the adjoint `g` they are handed is certainly an array: the zero adjoint is the Python number 0.0.
"""

from __future__ import annotations

import ast
import math

import numpy as np

from s2s.transforms.shapes import (
    NOT_LITERAL,
    ZERO_SCALAR,
    Keyed,
    ListOf,
    Seq,
    ZeroOr,
    ZeroOrItems,
    ZeroScalar,
    as_arrays,
    broadcast,
    field_fact,
    literal,
    matmul,
    one_item,
    reduced,
    reshaped,
)

# (dtype=, var's ddof=, and where= and initial= of the reductions that take them keep the shape)
_REDUCTION_KEYWORDS = frozenset({"axis", "keepdims", "dtype", "ddof", "where", "initial"})


def reduction(axis_at: int = 1, keywords=_REDUCTION_KEYWORDS, default_axis=None):
    """The shape function of a reduction of the first argument over `axis` (the argument at position
    `axis_at`, or the keyword, `default_axis` where neither is given), `keepdims=` honoured; `keywords` are
    the ones it follows (another keyword, or more positional arguments than up to `axis`, claim nothing).
    `reduction=True` gives a rule `reduction()`; np.linalg.norm(x, ord, axis) has `reduction(axis_at=2, ...)`,
    np.add.reduce(a, axis=0) `reduction(default_axis=0)`."""
    keywords = frozenset(keywords)

    def shape(site):
        if not 1 <= site.nargs <= axis_at + 1 or not keywords.issuperset(site.keywords):
            return None
        axis = site.literal(axis_at if site.nargs > axis_at else "axis", default_axis)
        keepdims = site.literal("keepdims", False)
        if axis is NOT_LITERAL or keepdims is NOT_LITERAL:
            return None
        if axis is None and keepdims is False and site.shape(0) is None and site.real(0):
            return ()  # real floats of any shape, reduced over all their axes (a dict's items of several shapes)
        return reduced(site.shape(0), axis, keepdims)

    shape.symbolic_lengths = True  # (it moves lengths, computes none: `np.sum(x[:i])`)
    return shape


def creation(positional: int):
    """np.zeros(shape, dtype) and the like: the shape its first argument evaluates to (`32`, `(n, 3)`,
    `x.shape`), for at most `positional` positional arguments and no keyword but `dtype=`."""

    def shape(site):
        if not 1 <= site.nargs <= positional or not site.keywords <= {"dtype"}:
            return None
        value = site.value(0)
        if type(value) is int:
            value = (value,)
        if isinstance(value, tuple) and all(type(n) is int and n >= 0 for n in value):
            return value
        return None

    return shape


def eye(site):
    """np.eye(N, M=None, k=0), np.tri(N, M=None, k=0) and np.identity(n): (N, M), M defaulting to N (k moves the
    ones only)."""
    if not 1 <= site.nargs <= 3 or not site.keywords <= {"M", "k", "dtype"}:
        return None
    n = site.value(0)
    which = 1 if site.nargs > 1 else "M"
    m = n if site.literal(which, None) is None else site.value(which)
    return (n, m) if type(n) is int and type(m) is int and n >= 0 and m >= 0 else None


def array_of_items(site):
    """np.array(items) / np.asarray of a tuple or list of arrays or numbers of one known shape: (len, *shape); of an
    array or a number of known shape (`s = np.array(s0)`, a copy): that shape."""
    if not _plain(site, 1):
        return None
    items = site.items(0)
    if items is None:
        return site.shape(0)  # (None for a tuple's or list's fact: `_arr` gives an array's or a number's only)
    if not items or any(type(i) is not tuple for i in items) or len(set(items)) != 1:
        return None  # (`type is tuple`: not a tuple's shape, nor a ZeroScalar's fact)
    return (len(items), *items[0])


def accumulated(site):
    """np.cumsum(a, axis=None) / np.cumprod: a's shape along an axis, its number of entries flattened."""
    if not 1 <= site.nargs <= 2 or any(k != "axis" for k in site.keywords):
        return None
    a, axis = site.shape(0), site.literal(1 if site.nargs == 2 else "axis", None)
    if a is None:
        return None
    if axis is None:
        return (math.prod(a),)
    return a if type(axis) is int and -len(a) <= axis < len(a) else None


def positions_of(which: int, name: str, keywords=frozenset()):
    """The shape function of a function whose integer result has the shape of its argument `which` (or keyword
    `name`): np.searchsorted(a, v) v's, np.digitize(x, bins) x's; `keywords` are the others it may be given."""
    keywords = frozenset(keywords)

    def shape(site):
        if site.nargs > which + 1 + len(keywords) or not (keywords | {name}).issuperset(site.keywords):
            return None
        return site.shape(which if site.nargs > which else name)
    return shape


def sorted_positions(site):
    """np.argsort(a, axis=-1): a's shape along an axis of it (an int literal), its number of entries for None."""
    if not 1 <= site.nargs <= 2 or any(k != "axis" for k in site.keywords):
        return None
    a, axis = site.shape(0), site.literal(1 if site.nargs == 2 else "axis", -1)
    if a is None or a == ():
        return None
    if axis is None:
        return (math.prod(a),)
    return a if type(axis) is int and -len(a) <= axis < len(a) else None


def accumulated_along_first(site):
    """np.add.accumulate(a, axis=0) / np.multiply.accumulate: a's shape (the axis 0 where none is given)."""
    if not 1 <= site.nargs <= 2 or any(k != "axis" for k in site.keywords):
        return None
    a, axis = site.shape(0), site.literal(1 if site.nargs == 2 else "axis", 0)
    if a is None or a == ():
        return None
    return a if type(axis) is int and -len(a) <= axis < len(a) else None


def kept(site):
    """s2s.keep(ans, x, axis, keepdims): a reduction's result `ans` with the reduced axes of x kept, x's shape with
    1 there, where ans certainly has the reduced shape (an array, or a number for all axes) and the axes are
    literal; ans's own shape where keepdims is True or x is a number."""
    if not _plain(site, 4):
        return None
    ans, x = site.shape(0), site.shape(1)
    axis, keepdims = site.literal(2, NOT_LITERAL), site.literal(3, NOT_LITERAL)
    if ans is None or x is None or axis is NOT_LITERAL or not isinstance(keepdims, bool):
        return None
    if keepdims or x == ():
        return ans
    if not _array(ans) or ans != reduced(x, axis, False):
        return None
    return reduced(x, axis, True)


def accumulated_back(site):
    """s2s.grad_cumsum(g, x, axis) / s2s.grad_cumprod (and its products `ans`) / s2s.grad_squeeze: x's shape, where g
    is certainly an array."""
    if not (_plain(site, 3) or _plain(site, 4)):
        return None
    g = site.shape(0)
    return site.shape(1) if _array(g) and g != () else None


def differenced(site):
    """np.diff(a, n=1, axis=-1) of an array of known shape, n and axis literal ints: the axis `n` shorter (empty
    where it has n entries or fewer).

        >>> # np.diff(x) of x (6,): (5,);  np.diff(P, axis=0) of P (4, 3): (3, 3)
    """
    names = ("a", "n", "axis", "prepend", "append")
    if site.nargs > 5 or any(k not in names[1:] for k in site.keywords) \
            or any(k in names[1:site.nargs] for k in site.keywords):
        return None
    a = site.shape(0)
    n = site.literal(1 if site.nargs >= 2 else "n", 1)
    axis = site.literal(2 if site.nargs >= 3 else "axis", -1)
    if not _array(a) or a == () or type(n) is not int or n < 0 or type(axis) is not int \
            or not -len(a) <= axis < len(a):
        return None
    k = axis % len(a)
    length = a[k]
    for at, name in ((3, "prepend"), (4, "append")) if n else ():  # (a number joins as one entry; an array as its
        # length; n = 0 gives `a` itself, joining nothing)
        which = at if site.nargs > at else name if name in site.keywords else None
        if which is None or site.literal(which, 0) is None:
            continue
        end = site.shape(which)
        if end == ():
            length += 1
        elif _array(end) and len(end) == len(a) and all(e == d for i, (e, d) in enumerate(zip(end, a)) if i != k):
            length += end[k]
        else:
            return None
    return a[:k] + (max(length - n, 0),) + a[k + 1:]


def differenced_back(site):
    """s2s.grad_diff(g, a, n, axis): a's shape (an array of it, whatever g is)."""
    if not _plain(site, 4):
        return None
    a = site.shape(1)
    return a if _array(a) and a != () else None


def convolved(default_mode):
    """np.convolve(a, v, mode) / np.correlate of two 1-d arrays of known lengths n, m >= 1 and a literal mode:
    (n + m - 1,) 'full', (max(n, m),) 'same', (max(n, m) - min(n, m) + 1,) 'valid'."""
    def shape(site):
        if site.nargs > 3 or any(k != "mode" for k in site.keywords) or (site.nargs == 3 and site.keywords):
            return None
        a, v = site.shape(0), site.shape(1)
        mode = site.literal(2 if site.nargs == 3 else "mode", default_mode)
        if not (_array(a) and _array(v) and len(a) == 1 and len(v) == 1 and a[0] >= 1 and v[0] >= 1):
            return None
        n, m = a[0], v[0]
        lengths = {"full": n + m - 1, "same": max(n, m), "valid": max(n, m) - min(n, m) + 1}
        return (lengths[mode],) if isinstance(mode, str) and mode in lengths else None
    return shape


def convolved_back(site):
    """s2s.grad_convolve(g, a, v, mode, which) / s2s.grad_correlate: the shape of a (which 0) or of v (1), 1-d."""
    if not _plain(site, 5):
        return None
    which = site.literal(4)
    shape = site.shape(1) if which == 0 else site.shape(2) if which == 1 else None
    return shape if _array(shape) and len(shape) == 1 else None


def concatenated(site):
    """np.concatenate(arrays, axis=0) of a tuple, or a list no one changes, of arrays of known shapes with one
    number of axes and the same lengths off `axis`: the lengths along `axis` added (axis=None: not claimed)."""
    if not 1 <= site.nargs <= 2 or any(k != "axis" for k in site.keywords):
        return None
    items = site.items(0)
    return None if items is None else _joined(as_arrays(items), site.literal(1 if site.nargs == 2 else "axis", 0))


def _hstack_parts(items):
    """(the items' shapes as np.hstack joins them, the axis), else None: 1-d items (numbers as one item each)
    along axis 0, items of more axes along axis 1."""
    if not items or any(type(i) is not tuple for i in items):
        return None
    parts = [i if i != () else (1,) for i in items]
    return parts, 0 if len(parts[0]) == 1 else 1


def _vstack_parts(items):
    """The items' shapes as np.vstack joins them along axis 0 (a 1-d item of n is a row (1, n)), else None."""
    if not items or any(type(i) is not tuple or i == () for i in items):
        return None
    return [(1,) + i if len(i) == 1 else i for i in items]


def hstacked(site):
    """np.hstack(tup) of a tuple, or a list no one changes, of arrays of known shapes."""
    parts = _hstack_parts(site.items(0)) if _plain(site, 1) else None
    return None if parts is None else _joined(*parts)


def vstacked(site):
    """np.vstack(tup) of a tuple, or a list no one changes, of arrays of known shapes."""
    parts = _vstack_parts(site.items(0)) if _plain(site, 1) else None
    return None if parts is None else _joined(parts, 0)


def hstack_pieces(site):
    """s2s.grad_hstack(g, tup): the items' shapes, where g is certainly an array of their hstack's shape."""
    items = site.items(1) if _plain(site, 2) else None
    parts = _hstack_parts(items)
    joined = None if parts is None else _joined(*parts)
    return Seq(items) if joined is not None and site.shape(0) == joined else None


def vstack_pieces(site):
    """s2s.grad_vstack(g, tup): the items' shapes, where g is certainly an array of their vstack's shape."""
    items = site.items(1) if _plain(site, 2) else None
    parts = _vstack_parts(items)
    joined = None if parts is None else _joined(parts, 0)
    return Seq(items) if joined is not None and site.shape(0) == joined else None


def split(kind):
    """The shape function of np.split (`kind` None), np.array_split ("array"), np.hsplit ("h"), np.vsplit ("v")
    and np.dsplit ("d") into an int number of sections: a list of that many pieces, the axis cut evenly (np.split
    raises where it is not; np.array_split gives the first `n % k` pieces one more)."""

    def shape(site):
        axis_given = kind in (None, "array")
        if not 2 <= site.nargs <= (3 if axis_given else 2) or not site.keywords <= ({"axis"} if axis_given else set()):
            return None
        a, k = site.shape(0), site.value(1)
        axis = site.literal(2 if site.nargs == 3 else "axis", 0) if axis_given else None
        if a is None or a == () or type(k) is not int or k <= 0:
            return None
        if kind == "h":
            axis = 0 if len(a) == 1 else 1
        elif kind in ("v", "d"):  # (vsplit needs two axes at least, dsplit three)
            axis = {"v": 0, "d": 2}[kind]
            if len(a) < {"v": 2, "d": 3}[kind]:
                return None
        if type(axis) is not int or not -len(a) <= axis < len(a):
            return None
        axis %= len(a)
        n = a[axis]
        if kind != "array" and n % k:
            return None
        sizes = [n // k + (1 if kind == "array" and i < n % k else 0) for i in range(k)]
        return Seq(a[:axis] + (m,) + a[axis + 1:] for m in sizes)

    return shape


def meshgrid(site):
    """np.meshgrid(*xi) of inputs of known shapes, `sparse=` and `indexing=` literals: one output per input, each of
    the inputs' sizes in order ('xy': the first two swapped); sparse, each of size 1 but along its own axis."""
    shapes_in = [site.shape(i) for i in range(site.nargs)]
    if not site.keywords <= {"copy", "sparse", "indexing"} or any(type(s) is not tuple for s in shapes_in):
        return None
    sparse, indexing = site.literal("sparse", False), site.literal("indexing", "xy")
    if type(sparse) is not bool or indexing not in ("xy", "ij"):
        return None
    sizes = [math.prod(s) for s in shapes_in]
    n = len(sizes)
    if indexing == "xy" and n >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    axes = [1 - k if indexing == "xy" and n >= 2 and k < 2 else k for k in range(n)]
    if not sparse:
        return Seq(tuple(sizes) for _ in range(n))
    return Seq(tuple(sizes[a] if a == axis else 1 for a in range(n)) for axis in axes)


def split_back(site):
    """s2s.grad_split(g, ans, ary, axis, kind): ary's shape (the pieces' adjoints joined again)."""
    x = site.shape(2) if 4 <= site.nargs <= 5 and not site.keywords else None
    return x if x not in (None, ()) else None


def stacked(site):
    """np.stack(arrays, axis=0) of arrays of one known shape: their number inserted at `axis`."""
    if not 1 <= site.nargs <= 2 or any(k != "axis" for k in site.keywords):
        return None
    items, axis = site.items(0), site.literal(1 if site.nargs == 2 else "axis", 0)
    items = None if items is None else as_arrays(items)  # (`[1.0, 2.0]` beside arrays of shape (2,))
    if not items or any(type(i) is not tuple for i in items) or len(set(items)) != 1 or type(axis) is not int \
            or not -len(items[0]) - 1 <= axis <= len(items[0]):
        return None
    axis %= len(items[0]) + 1
    return items[0][:axis] + (len(items),) + items[0][axis:]


def concatenate_pieces(site):
    """s2s.grad_concatenate(g, arrays, axis): the arrays' shapes, where g is certainly an array of their
    concatenation's shape."""
    if not _plain(site, 3):
        return None
    items = site.items(1)
    items = None if items is None else as_arrays(items)  # (a list's piece is an array, cut from g)
    joined = _joined(items, site.literal(2))
    return Seq(items) if joined is not None and site.shape(0) == joined else None


def stack_pieces(site):
    """s2s.grad_stack(g, arrays, axis): the arrays' shapes, where g is certainly an array of their stack's shape."""
    if not _plain(site, 3):
        return None
    items, axis, g = site.items(1), site.literal(2), site.shape(0)
    if not items or any(type(i) is not tuple for i in items) or len(set(items)) != 1 or type(axis) is not int \
            or not _array(g) or not -len(g) <= axis < len(g):
        return None
    axis %= len(g)
    return Seq(items) if g == items[0][:axis] + (len(items),) + items[0][axis:] else None


def append_pieces(site):
    """s2s.append_grads(g), the adjoint of `L.append(v)`: (g without its last item, that item), where g's items
    are known (a `Seq`) or all have one known shape (a list of unknown length: `ListOf`)."""
    if not _plain(site, 1):
        return None
    items = site.items(0)
    if items:
        return Seq((Seq(items[:-1]), items[-1]))
    item = site.listed(0)
    return Seq((ListOf(item), item)) if item is not None else None


def builtin_sum(site):
    """sum(x) of a tuple, or a list no one changes, of numbers and arrays of known shapes: 0 plus each item,
    their broadcast shape (`()` for no items: the int 0)."""
    if not _plain(site, 1):
        return None
    items = site.items(0)
    if items is None or any(type(v) is not tuple for v in items):
        return None
    return broadcast((), *items)


def builtin_sum_pieces(site):
    """s2s.grad_builtin_sum(g, x), the adjoint of `sum(x)` over a list or tuple x: one `unbroadcast(g, v)` per
    item v. Where every item has g's own shape (numbers, or arrays of g's shape), each piece has it too (a zero
    g of shape () gives the zero adjoint 0.0 for a number item: a number still)."""
    if not _plain(site, 2):
        return None
    g, items = site.shape(0), site.items(1)
    if type(g) is not tuple or items is None or any(type(v) is not tuple or v != g for v in items):
        return None
    return Seq(items)


def _joined(items, axis):
    """The shape of the concatenation along `axis` of arrays of the shapes `items`, or None."""
    if not items or any(type(i) is not tuple or i == () for i in items) or type(axis) is not int:
        return None  # (`type is tuple`: not a tuple's shape, nor a ZeroScalar's fact)
    ndim = len(items[0])
    if any(len(i) != ndim for i in items) or not -ndim <= axis < ndim:
        return None
    axis %= ndim
    rest = {i[:axis] + i[axis + 1:] for i in items}
    return items[0][:axis] + (sum(i[axis] for i in items),) + items[0][axis + 1:] if len(rest) == 1 else None


def arange(site):
    """np.arange(stop), np.arange(start, stop[, step]) of ints, or of float literals among them (`np.arange(1.0,
    n + 1)`): (the number of items,), which NumPy computes from the same values."""
    if not 1 <= site.nargs <= 3 or site.keywords:
        return None
    values = [site.value(i) if site.value(i) is not None else site.literal(i) for i in range(site.nargs)]
    if any(type(v) not in (int, float) or not math.isfinite(v) for v in values) or (len(values) == 3 and values[2] == 0):
        return None
    if all(type(v) is int for v in values):
        return (len(range(*values)),)
    start, stop, step = (0, *values, 1)[-3:] if len(values) == 1 else (*values, 1)[:3]
    if math.ceil((stop - start) / step) > 10 ** 6:
        return None  # (not made here to count it)
    return (len(np.arange(*values)),)


def upper_indices(site):
    """np.triu_indices(n, k=0, m=None) of ints of known value: two int arrays, as long as the triangle has entries."""
    return _triangle_indices(site, upper=True)


def lower_indices(site):
    """np.tril_indices(n, k=0, m=None) of ints of known value: two int arrays, as long as the triangle has entries."""
    return _triangle_indices(site, upper=False)


def _triangle_indices(site, upper):
    if not 1 <= site.nargs <= 3 or not set(site.keywords) <= {"k", "m"}:
        return None
    n = site.value(0)
    k = site.value(1) if site.nargs > 1 else site.value("k") if "k" in site.keywords else 0
    m = site.value(2) if site.nargs > 2 else site.value("m") if "m" in site.keywords else n
    if any(type(v) is not int for v in (n, k, m)) or n < 0 or m < 0:
        return None
    # (row i holds the columns j >= i + k of the upper triangle, j <= i + k of the lower one, 0 <= j < m)
    count = sum(max(0, m - max(0, i + k)) if upper else max(0, min(m, i + k + 1)) for i in range(n))
    return Seq(((count,), (count,)))


def _square(shape) -> bool:
    return shape is not None and len(shape) == 2 and shape[0] == shape[1]


def _stack(shape):
    """The batch shape of a square matrix or a stack of them (`(..., m, m)`), else None."""
    if type(shape) is not tuple or len(shape) < 2 or shape[-1] != shape[-2]:
        return None
    return shape[:-2]


def square_matrix(site):
    """np.linalg.inv(a) of a square matrix or a stack of them: a's shape."""
    a = site.shape(0) if _plain(site, 1) else None
    return a if _stack(a) is not None else None


def solve(site):
    """np.linalg.solve(a, b): of a square 2-d a and a vector b of a's length, b's shape; of matrices of columns
    b (..., m, k) with at least a's axes (read as a stack of matrices by every NumPy), the stacks broadcast.
    (A b of one axis less than a batched a is a stack of vectors to NumPy 1 and matrices to NumPy 2: not claimed.)"""
    if not _plain(site, 2):
        return None
    a, b = site.shape(0), site.shape(1)
    batch = _stack(a)
    if batch is None or b is None or len(b) == 0 or b[0 if len(b) == 1 else -2] != a[-1]:
        return None
    if len(b) == 1:
        return b if batch == () else None
    if len(b) < len(a):
        return None
    stacks = broadcast(batch, b[:-2])
    return None if stacks is None else (*stacks, *b[-2:])


def slogdet(site):
    """np.linalg.slogdet(a) of a square matrix or a stack of them: (sign, log|det|), two numbers or two arrays
    of the stack's shape, the fields `sign` and `logabsdet` of NumPy's SlogdetResult (NumPy 1 returns a
    plain tuple: it has no fields, and `r.sign` raises there before any shape matters)."""
    batch = _stack(site.shape(0)) if _plain(site, 1) else None
    return None if batch is None else Seq((batch, batch), ("sign", "logabsdet"))


def eigh(site):
    """np.linalg.eigh(a, UPLO) of a square matrix or a stack of them: (eigenvalues, eigenvectors), the fields of
    NumPy's EighResult: `(..., n)` and `(..., n, n)`."""
    if not 1 <= site.nargs <= 2 or not site.keywords <= {"UPLO"}:
        return None
    batch = _stack(site.shape(0))
    if batch is None:
        return None
    n = site.shape(0)[-1]
    return Seq((batch + (n,), batch + (n, n)), ("eigenvalues", "eigenvectors"))


def qr(site):
    """np.linalg.qr(a, mode) of a matrix or a stack of them, mode a literal: (q, r), NumPy's QRResult, for
    'reduced' ((m, k), (k, n), k the lesser of m and n) and 'complete' ((m, m), (m, n)); r alone for 'r'."""
    if not 1 <= site.nargs <= 2 or not site.keywords <= {"mode"}:
        return None
    a, mode = site.shape(0), site.literal("mode" if "mode" in site.keywords else 1, "reduced")
    if type(a) is not tuple or len(a) < 2 or mode not in ("reduced", "complete", "r"):
        return None
    batch, (m, n) = a[:-2], a[-2:]
    k = m if mode == "complete" else min(m, n)
    if mode == "r":
        return batch + (k, n)
    return Seq((batch + (m, k), batch + (k, n)), ("Q", "R"))


def grad_qr(site):
    """s2s.grad_qr(g, ans, a, mode): a's shape, where a is an array of a known shape."""
    return site.shape(2) if _plain(site, 4) and _array(site.shape(2)) else None


def svd(site):
    """np.linalg.svd(a, full_matrices, compute_uv, hermitian) of a matrix or a stack of them, the two flags literals:
    (U, S, Vh), the fields of NumPy's SVDResult (`full_matrices=False`: the k = min(m, n) columns and rows); the
    singular values alone for `compute_uv=False`."""
    names = ("full_matrices", "compute_uv", "hermitian")
    if not 1 <= site.nargs <= 4 or not site.keywords <= set(names):
        return None
    flags = [site.literal(k + 1 if site.nargs > k + 1 else name, default)
             for k, (name, default) in enumerate(zip(names, (True, True, False)))]
    a = site.shape(0)
    if any(type(f) is not bool for f in flags) or type(a) is not tuple or len(a) < 2:
        return None
    full, uv, _ = flags
    batch, (m, n) = a[:-2], a[-2:]
    k = min(m, n)
    if not uv:
        return batch + (k,)
    u, vh = (batch + (m, m), batch + (n, n)) if full else (batch + (m, k), batch + (k, n))
    return Seq((u, batch + (k,), vh), ("U", "S", "Vh"))


def grad_decomposition(site):
    """s2s.grad_eigh(g, ans, a, UPLO) / s2s.grad_svd(g, ans, a, full_matrices, compute_uv): a's shape where some item
    of g (the singular values' adjoint itself, for `compute_uv=False`) is certainly an array; the zero where every
    item certainly is the zero (a number may be either: not claimed)."""
    if site.nargs not in (4, 5) or site.keywords:
        return None
    a = site.shape(2)
    items = site.items(0)
    if items is None and site.nargs == 5 and site.literal(4) is False:
        items = (site.shape(0),)
    if type(a) is not tuple or len(a) < 2 or items is None:
        return None
    if all(type(i) is ZeroScalar for i in items):
        return ZERO_SCALAR
    return a if any(_array(i) and type(i) is tuple for i in items) else None


def real_decomposition(site) -> bool:
    """np.linalg.eigh / np.linalg.svd / np.linalg.qr of a real matrix (their flags, UPLO and mode change no dtype): real
    floats, every item."""
    return site.nargs >= 1 and site.keywords <= {"UPLO", "full_matrices", "compute_uv", "hermitian", "mode"} and site.real(0)


real_decomposition.judges_keywords = True


def field(site):
    """s2s.field(r, name, ...) of a record of known items and fields (`r.logabsdet` of a namedtuple a rule returns,
    `model.enc.W` of a record argument, s2s/argshapes.py): that item's shape."""
    if site.nargs < 2 or site.keywords:
        return None
    names = [site.literal(k) for k in range(1, site.nargs)]
    fields, items = site.fields(0), site.items(0)
    if items is None or not all(type(name) is str for name in names):
        return None
    return field_fact(Seq(items, fields), names)


def field_grad(site):
    """s2s.field_grad(g, r, [name]) of such a namedtuple: the same namedtuple, g for that field and the zero
    adjoint 0.0 for the others."""
    if not _plain(site, 3):
        return None
    fields = site.fields(1)
    if fields is None or not isinstance(site.node(2), ast.List) or len(site.node(2).elts) != 1:
        return None
    name = site.node(2).elts[0].value if isinstance(site.node(2).elts[0], ast.Constant) else None
    if name not in fields:
        return None
    out = [ZERO_SCALAR] * len(fields)
    out[fields.index(name)] = site.shape(0)
    return Seq(out, fields)


def det(site):
    """np.linalg.det(a) of a square matrix (a number) or a stack of them (the stack's shape)."""
    return _stack(site.shape(0)) if _plain(site, 1) else None


def grad_solve_a(site):
    """s2s.grad_solve_a(g, ans, a, b): -solve(a.T, g) ans^T summed over the axes the stacks broadcast a along: a's
    shape, for a square matrix a or a stack of them, where g is certainly an array (else the zero)."""
    if not _plain(site, 4):
        return None
    g, ans, a = site.shape(0), site.shape(1), site.shape(2)
    return a if _array(g) and g == ans and _stack(a) is not None else None


def grad_solve_b(site):
    """s2s.grad_solve_b(g, a, b): solve(a.T, g), b's shape for a square 2-d a or a b with a's axes, where g is
    certainly an array of b's shape (else the zero)."""
    if not _plain(site, 3):
        return None
    g, a, b = site.shape(0), site.shape(1), site.shape(2)
    batch = _stack(a)
    if not _array(g) or g != b or batch is None or not (len(a) == 2 and len(b) in (1, 2) or len(b) == len(a)):
        return None
    return b if b[0 if len(b) == 1 else -2] == a[-1] and (len(b) == 1 or broadcast(batch, b[:-2]) == b[:-2]) else None


def grad_slogdet(site):
    """s2s.grad_slogdet(g, a), g the pair (sign's adjoint, log|det|'s): a's shape where log|det|'s adjoint is
    certainly an array, the zero where it certainly is (a number may be either: not claimed)."""
    if not _plain(site, 2):
        return None
    items, a = site.items(0), site.shape(1)
    batch = _stack(a)
    if items is None or len(items) != 2 or batch is None:
        return None
    if type(items[1]) is ZeroScalar:
        return ZERO_SCALAR
    return a if _array(items[1]) and items[1] == batch else None


def grad_det(site):
    """s2s.grad_det(g, ans, a): a's shape where g is certainly an array of the stack's shape; for a number g,
    0.0 or an array of a's shape (`ZeroOr`: the zero adjoint gives the zero)."""
    if not _plain(site, 3):
        return None
    g, a = site.shape(0), site.shape(2)
    batch = _stack(a)
    if batch is None or g is None:
        return None
    if type(g) is ZeroScalar:
        return ZERO_SCALAR
    if g == () and batch == ():
        return ZeroOr(a)
    return a if _array(g) and g == batch else None


def _k(site, position, name):
    """The literal int offset at `position` or keyword `name` (0 where it is not given), else None."""
    if site.nargs > position + 1 or not site.keywords <= {name}:
        return None
    k = site.literal(position if site.nargs > position else name, 0)
    return k if type(k) is int else None


def diag(site):
    """np.diag(v, k): of a vector, the square matrix of side len(v) + |k|; of a matrix, its diagonal k."""
    return _diag(site.shape(0), _k(site, 1, "k"))


def _diag(v, k):
    if type(v) is not tuple or k is None or len(v) not in (1, 2):
        return None
    if len(v) == 1:
        return (v[0] + abs(k),) * 2
    rows, cols = v
    return (max(0, min(rows, cols - k)) if k >= 0 else max(0, min(rows + k, cols)),)


def triangle(site):
    """np.tril(m, k) / np.triu(m, k) of a matrix or a stack of them: m's shape (of a vector: a matrix, not claimed)."""
    m = site.shape(0)
    return m if type(m) is tuple and len(m) >= 2 and _k(site, 1, "k") is not None else None


def multi_dot(site):
    """np.linalg.multi_dot(arrays) of a tuple, or a list no one changes, of matrices of known shapes whose inner
    lengths agree (the first and the last may be vectors): the rows of the first by the columns of the last."""
    return multi_dot_shape(site.items(0)) if _plain(site, 1) else None


def multi_dot_shape(items):
    """The shape of np.linalg.multi_dot of arrays of the shapes `items`, else None."""
    if not items or len(items) < 2 or any(type(i) is not tuple or not i for i in items) \
            or any(len(i) != 2 for i in items[1:-1]) \
            or not 1 <= len(items[0]) <= 2 or not 1 <= len(items[-1]) <= 2:
        return None
    rows = items[0][:-1]  # (a vector first: no rows)
    cols = items[-1][1:] if len(items[-1]) == 2 else ()
    inner = [items[0][-1]] + [n for i in items[1:-1] for n in i] + [items[-1][0]]
    if any(type(n) is not int for n in inner) or any(inner[k] != inner[k + 1] for k in range(0, len(inner), 2)):
        return None
    return tuple(rows) + tuple(cols)


def multi_dot_pieces(site):
    """s2s.grad_multi_dot(g, arrays): the arrays' shapes, where g is certainly an array of their chain's shape."""
    if not _plain(site, 2):
        return None
    items = site.items(1)
    chained = multi_dot_shape(items)
    return Seq(items) if chained is not None and site.shape(0) == chained else None


def solve_lower(site):
    """s2s.solve_lower(L, B, trans) or (L, B, trans, triangular): B's shape."""
    return site.shape(1) if site.nargs in (3, 4) and not site.keywords else None


def grad_diag(site):
    """s2s.grad_diag(g, v, k): v's shape, where g is certainly an array of np.diag(v, k)'s shape."""
    if not _plain(site, 3):
        return None
    g, v, k = site.shape(0), site.shape(1), site.literal(2)
    return v if _array(g) and type(k) is int and g == _diag(v, k) else None


def det_adjoint(site):
    """s2s.det_adjoint(g, ans, a): a's shape where g is a number (a matrix) or an array of the stack's shape."""
    if not _plain(site, 3):
        return None
    g, a = site.shape(0), site.shape(2)
    batch = _stack(a)
    return a if batch is not None and g is not None and g == batch else None


def swapaxes(site):
    """np.swapaxes(a, axis1, axis2) of literal axes: a's shape with the two axes exchanged."""
    if not _plain(site, 3):
        return None
    a, i, j = site.shape(0), site.literal(1), site.literal(2)
    if not _array(a) or type(i) is not int or type(j) is not int or not (-len(a) <= i < len(a) and -len(a) <= j < len(a)):
        return None
    out = list(a)
    out[i], out[j] = out[j], out[i]
    return tuple(out)


def real_as_first(site) -> bool:
    """A function that moves its first argument's entries (np.ravel, np.transpose, np.roll, np.sort): real
    floats where that argument is."""
    return site.nargs >= 1 and site.real(0)


def real_items(site) -> bool:
    """np.array(items) / np.asarray of one list no one changes whose items are real floats, or of a real float array
    or number: real floats."""
    return _plain(site, 1) and (site.items_real(0) or site.shape(0) is not None and site.real(0))


def real_joined(site) -> bool:
    """np.stack(arrays, axis) / np.concatenate(arrays, axis) of a list no one changes, or a tuple, whose items are
    real floats or lists of them (`joined_items_real`), the axis given by position or keyword: real floats."""
    if site.nargs not in (1, 2) or any(k != "axis" for k in site.keywords):
        return False
    return site.joined_items_real(0) or site.shape(0) is not None and site.real(0)


real_joined.judges_keywords = True  # (a call with `axis=` too: the axis does not change the dtype)


def real_pieces(site) -> bool:
    """The np.split family of a real float array: pieces of it, each real floats of its dtype."""
    return site.nargs >= 1 and site.real(0)


def real_meshgrid(site) -> bool:
    """np.meshgrid(*xi) of real inputs (`copy=`, `sparse=`, `indexing=` change no dtype): real floats, every output."""
    return site.nargs >= 1 and site.keywords <= {"copy", "sparse", "indexing"} \
        and all(site.real(i) for i in range(site.nargs))


real_meshgrid.judges_keywords = True


def _plain(site, nargs: int) -> bool:
    """`nargs` positional arguments and no keyword."""
    return site.nargs == nargs and not site.keywords


_PAD_COPY_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def padded(site):
    """np.pad(array, pad_width, mode) of an array of known shape, widths written as ints (one for all, a pair, or
    a pair per axis, as NumPy reads them) and a mode written that copies entries (the rule's): each axis longer by
    its two widths."""
    if not 2 <= site.nargs <= 3 or any(k != "mode" for k in site.keywords):
        return None
    shape, mode = site.shape(0), site.node(2 if site.nargs == 3 else "mode")
    if not _array(shape) or any(type(n) is not int for n in shape) or mode is not None and not (
            isinstance(mode, ast.Constant) and mode.value in _PAD_COPY_MODES):
        return None
    widths = site.int_display(1)
    if widths is None:
        return None
    try:
        pairs = np.broadcast_to(np.asarray(widths, dtype=np.int64), (len(shape), 2))
    except ValueError:
        return None
    if (pairs < 0).any():
        return None
    return tuple(n + int(a) + int(b) for n, (a, b) in zip(shape, pairs))


def real_differenced(site) -> bool:
    """np.diff(a, n, axis) of a real array: real (differences in its dtype), n and axis given as keywords too; with
    prepend= or append=, where what they join is real too."""
    if not (1 <= site.nargs <= 3 and set(site.keywords) <= {"n", "axis", "prepend", "append"} and site.real(0)):
        return False
    return all(site.literal(k, 0) is None or site.real(k) for k in ("prepend", "append") if k in site.keywords)


real_differenced.judges_keywords = True  # (the shapes pass asks it of a call with keywords too: it checks them itself)


def real_padded(site) -> bool:
    """np.pad(array, pad_width, mode=...) of a real array: real (its entries and zeros, in its dtype), the mode
    given as a keyword too."""
    return 2 <= site.nargs <= 3 and set(site.keywords) <= {"mode"} and site.real(0)


real_padded.judges_keywords = True  # (the shapes pass asks it of a call with keywords too: it checks them itself)


def matrix_product(site):
    """np.matmul(a, b): of 1-d and 2-d operands, and of stacks of matrices (`transforms.shapes.matmul`)."""
    return matmul(site.shape(0), site.shape(1)) if _plain(site, 2) else None


def dot_product(site):
    """np.dot(a, b): of 1-d and 2-d operands (np.matmul's), and of an array of more axes and a vector (the sums
    over a's last axis). Two arrays of more axes pair every stack with every other: not claimed."""
    if not _plain(site, 2):
        return None
    a, b = site.shape(0), site.shape(1)
    if a is not None and b is not None and len(a) > 2 and len(b) == 1:
        return a[:-1] if a[-1] == b[0] else None
    return matmul(a, b) if a is not None and b is not None and len(a) <= 2 and len(b) <= 2 else None


def outer(site):
    """np.outer(a, b): (a.size, b.size)."""
    if not _plain(site, 2):
        return None
    a, b = site.shape(0), site.shape(1)
    return None if a is None or b is None else (math.prod(a), math.prod(b))


def cdist(site):
    """scipy.spatial.distance.cdist(XA, XB, metric): (rows of XA, rows of XB), of 2-d arrays."""
    if site.nargs < 2:
        return None
    a, b = site.shape(0), site.shape(1)
    return (a[0], b[0]) if a is not None and b is not None and len(a) == 2 and len(b) == 2 else None


def ufunc_outer(site):
    """np.F.outer(a, b) of a two-argument ufunc F: a's axes, then b's."""
    if not _plain(site, 2):
        return None
    a, b = site.shape(0), site.shape(1)
    return None if a is None or b is None else tuple(a) + tuple(b)


def outer_operand(site):
    """s2s.outer_operand(a, b): a's axes, then one of length 1 per axis of b."""
    if not _plain(site, 2):
        return None
    a, b = site.shape(0), site.shape(1)
    return None if a is None or b is None else tuple(a) + (1,) * len(b)


def outer_reduced(site):
    """s2s.outer_reduced(g, a): a's shape, where g is certainly an array of a's size (the zero adjoint is kept)."""
    if not _plain(site, 2):
        return None
    g, a = site.shape(0), site.shape(1)
    if type(g) is ZeroScalar:
        return ZERO_SCALAR
    if type(g) is not tuple or a is None:
        return None
    return tuple(a) if math.prod(g) == math.prod(a) else None


def broadcasting(nargs: int):
    """A function of `nargs` positional arguments that broadcast against each other (np.where(c, x, y))."""

    def shape(site):
        return broadcast(*(site.shape(i) for i in range(nargs))) if _plain(site, nargs) else None

    return shape


def like(position: int, nargs: int):
    """The shape of the argument at `position` for a plain call of `nargs` arguments (np.zeros_like(a))."""

    def shape(site):
        return site.shape(position) if _plain(site, nargs) else None

    return shape


def reshape(site):
    """np.reshape(a, shape): a's size laid out as `shape` (one -1 allowed)."""
    return reshaped(site.shape(0), site.value(1)) if _plain(site, 2) else None


def ravel(site):
    """np.ravel(a): a's size as one axis."""
    return reshaped(site.shape(0), -1) if _plain(site, 1) else None


def expand_dims(site):
    """np.expand_dims(a, axis), `axis` an int or a tuple of ints: a's shape with an axis of length 1 at each (counted
    in the result's axes, as NumPy does; repeated or out of range: not claimed)."""
    a = site.shape(0)
    if not (site.nargs == 2 and not site.keywords or site.nargs == 1 and site.keywords == {"axis"}) \
            or type(a) is not tuple:
        return None
    axis = site.literal(1 if site.nargs == 2 else "axis", None)
    axes = (axis,) if type(axis) is int else axis
    n = len(a) + (len(axes) if type(axes) is tuple else 0)
    if type(axes) is not tuple or not axes or any(type(k) is not int or not -n <= k < n for k in axes) \
            or len({k % n for k in axes}) != len(axes):
        return None
    new = {k % n for k in axes}
    rest = iter(a)
    return tuple(1 if k in new else next(rest) for k in range(n))


def broadcast_to(site):
    """np.broadcast_to(array, shape): `shape`, where the array broadcasts to it."""
    if not _plain(site, 2):
        return None
    shape, target = site.shape(0), site.value(1)
    target = (target,) if type(target) is int else target
    return target if shape is not None and isinstance(target, tuple) and broadcast(shape, target) == target else None


def number(site):
    """len(x): a number, whatever its argument."""
    return ()


def squeeze(site):
    """np.squeeze(a, axis) of an array of known shape: the axes of length 1 taken out (those named by a literal
    int or tuple of ints, or all of them); an axis named that is not of length 1 raises, so it claims nothing."""
    if not 1 <= site.nargs <= 2 or not site.keywords <= {"axis"}:
        return None
    shape = site.shape(0)
    axis = site.literal(1 if site.nargs == 2 else "axis", None)
    if shape is None or axis is NOT_LITERAL:
        return None
    if axis is None:
        return tuple(n for n in shape if n != 1)
    items = axis if isinstance(axis, tuple) else (axis,)
    if not all(type(a) is int and -len(shape) <= a < len(shape) for a in items):
        return None
    axes = {a % len(shape) for a in items}
    if len(axes) != len(items) or any(shape[a] != 1 for a in axes):
        return None
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _einsum_terms(spec):
    """('ij,jk', 'ik') of an explicit subscript string of letters ('ij,jk->ik'), else None (implicit output,
    '...', or a repeated output letter)."""
    if type(spec) is not str:
        return None
    ins, arrow, out = spec.replace(" ", "").partition("->")
    terms = ins.split(",")
    if not arrow or not all(t.isalpha() for t in terms) or (out and not out.isalpha()) or len(set(out)) != len(out):
        return None
    return terms, out


def _einsum_shape(terms, shapes):
    """The output shape of an einsum of operands of `shapes` for `terms` (`_einsum_terms`), else None."""
    if terms is None or len(terms[0]) != len(shapes):
        return None
    sizes = {}
    for term, shape in zip(terms[0], shapes):
        if shape is None or len(shape) != len(term):
            return None
        for letter, n in zip(term, shape):
            if sizes.setdefault(letter, n) != n:
                return None
    if any(letter not in sizes for letter in terms[1]):
        return None
    return tuple(sizes[letter] for letter in terms[1])


def einsum(site):
    """np.einsum('ij,jk->ik', a, b) with a literal explicit subscript string and operands of known shapes: the
    output letters' lengths (every letter one length in each operand: a size-1 axis broadcast is not claimed)."""
    if site.keywords or site.nargs < 2:
        return None
    return _einsum_shape(_einsum_terms(site.literal(0)), [site.shape(k) for k in range(1, site.nargs)])


def real_einsum(site) -> bool:
    """np.einsum('ij,jk->ik', a, b) of real operands (the subscripts a string literal, no keyword)."""
    return _plain(site, site.nargs) and site.nargs >= 2 and type(site.literal(0)) is str \
        and all(site.real(k) for k in range(1, site.nargs))


def einsum_parts(site):
    """s2s.grad_einsum_parts(g, [spec, a, b], optimize, which): per item, the operand's shape (none for the
    subscripts, nor for an operand `which` leaves out: its part is the zero), where g is certainly an array of
    the einsum's own shape."""
    node = site.node(1) if site.nargs in (2, 3, 4) and not site.keywords else None
    items = site.items(1) if isinstance(node, ast.List) and node.elts else None
    which = site.literal(3) if site.nargs == 4 else None
    if items is None or not (which is None or type(which) is tuple):
        return None
    out = _einsum_shape(_einsum_terms(literal(node.elts[0], None)), items[1:])
    if out is None or site.shape(0) != out:
        return None
    return Seq((None,) + tuple(item if which is None or p in which else None
                               for p, item in enumerate(items[1:], start=1)))


def trace_back(site):
    """s2s.grad_trace(g, x, offset, axis1, axis2) of a matrix x: an identity of x's shape scaled by g, a number, or
    the zero 0.0 for a g that is a Python 0.0 (the helper is linear in g): `ZeroOr` of x's shape."""
    x = site.shape(1)
    return ZeroOr(x) if _plain(site, 5) and x is not None and len(x) == 2 and site.shape(0) == () else None


def trace(site):
    """np.trace(a) of a matrix: a number (the other arguments left to their defaults)."""
    return () if _plain(site, 1) and site.shape(0) is not None and len(site.shape(0)) == 2 else None


def python_float(site) -> bool:
    """math.exp(x), float(x): a Python float whatever the argument is (or the call raises), so real."""
    return True


def number_of_number(site):
    """float(x), int(x), abs(x), round(x), bool(x) of one number: a number (of an array: not claimed)."""
    return () if _plain(site, 1) and site.shape(0) == () else None


# ---- `result_value` functions: the int or tuple of ints a call certainly evaluates to (`Rule.result_value`)

def length(site):
    """len(x) of an array of known shape (its first axis; a number has none) or of a tuple, or a list no
    one changes, of known items; len(range(...)) of ints of known value."""
    if not _plain(site, 1):
        return None
    counted = site.range_length(0)
    if counted is not None:
        return counted
    shape = site.shape(0)
    if _array(shape) and shape != ():
        return shape[0]
    items = site.items(0)
    return len(items) if items is not None else None


def least(site):
    """min(a, b, ...) of ints of known value (`min(len(Ws) - 1, len(bs) - 1)`, what a loop over zip(a, b) runs
    to), or min((a, b, ...)) of a tuple of them: the least (no keyword: `key=` and `default=` not claimed)."""
    values = _known_ints(site)
    return min(values) if values else None


def greatest(site):
    """max(a, b, ...) of ints of known value, or max((a, b, ...)) of a tuple of them: the greatest (as `least`)."""
    values = _known_ints(site)
    return max(values) if values else None


def _known_ints(site):
    """The ints the positional arguments of min(...) or max(...) certainly evaluate to (of one argument, the items
    of the tuple it evaluates to), or None (a keyword, a float, a bool, an unknown, nothing to choose from)."""
    if site.keywords or not site.nargs:
        return None
    values = [site.value(k) for k in range(site.nargs)]
    if site.nargs == 1:
        values = values[0] if isinstance(values[0], tuple) else None
    return list(values) if values and all(type(v) is int for v in values) else None


def shape_of_array(site):
    """np.shape(x) of an array of known shape (of a number: not claimed, a list may stand there)."""
    if site.nargs != 1 or site.keywords:
        return None
    shape = site.shape(0)
    return shape if shape not in (None, ()) else None


# ---- runtime helpers (their first argument is the adjoint `g`, which may be the zero adjoint 0.0)

def _array(shape) -> bool:
    return shape is not None and shape != ()


def unbroadcast(site):
    """s2s.unbroadcast(g, x): x's shape (g summed down to it), where g is certainly an array."""
    if site.nargs != 2:
        return None
    g, x = site.shape(0), site.shape(1)
    if g == () and x == ():
        return ()
    if type(g) is ZeroScalar:
        return ZERO_SCALAR  # (the zero adjoint is kept)
    either = site.either(0)
    if len(either) == 2 and x is not None:  # 0.0 (kept) or an array summed down to x: 0.0 or x's shape
        return () if x == () else ZeroOr(x)
    return x if _array(g) else None


def clipped(site):
    """np.clip(a, a_min, a_max): the broadcast of a and the bounds (a bound None is no bound)."""
    if not _plain(site, 3):
        return None
    return broadcast(*(() if i and site.literal(i) is None else site.shape(i) for i in range(3)))


def real_clipped(site) -> bool:
    """np.clip of real floats between real floats, ints written as literals or no bound (None)."""
    return _plain(site, 3) and site.real(0) and all(
        site.literal(i) is None or site.real(i) or site.int_literal(i) for i in (1, 2))


def number_of_numbers(site):
    """max(a, b, ...) / min(...) of two or more numbers: a number (one of them)."""
    return () if _plain(site, site.nargs) and site.nargs >= 2 and all(
        site.shape(k) == () for k in range(site.nargs)) else None


def real_of_numbers(site) -> bool:
    """max(a, b, ...) / min(...) of real numbers: one of them."""
    return number_of_numbers(site) == () and all(site.real(k) for k in range(site.nargs))


def selected(site):
    """s2s.grad_select(g, chosen, [a, b, ...]), the adjoints of max/min of numbers: a number each (g for the one
    chosen, 0.0 for the others), where g is a number."""
    items = site.items(2) if _plain(site, 3) and site.shape(0) == () else None
    return Seq(((),) * len(items)) if items and all(i == () for i in items) else None


def masked(x_at: int, bounds=()):
    """s2s.grad_where(g, cond, x, take_x) / s2s.grad_clip(g, x, lo, hi): g masked and summed down to x (the mask
    made of the arguments at `bounds` too; a bound None is no bound): x's shape, where g is certainly an array
    that x, the mask and the bounds broadcast to."""

    def shape(site):
        if site.nargs != 4 or site.keywords:
            return None
        g, x = site.shape(0), site.shape(x_at)
        others = [() if site.literal(i) is None else site.shape(i) for i in bounds]
        if not _array(g) or x is None or None in others:
            return None
        return x if broadcast(g, x, *others) == g else None

    return shape


def add_seq_part(site):
    """s2s.grad_add_seq(g, x, y, which) where x and y are arrays or numbers (arithmetic, not a concatenation): the
    shape of the one `which` names (g summed down to it, as `unbroadcast`), where g is certainly an array."""
    which = site.literal(3) if site.nargs == 4 and not site.keywords else None
    x, y = site.shape(1), site.shape(2)
    if which not in (0, 1) or type(which) is not int or x is None or y is None:
        return None
    g, target = site.shape(0), (y if which else x)
    if g == () and target == ():
        return ()
    return target if _array(g) else None


def mult_seq_part(site):
    """s2s.grad_mult_seq(g, x, y, which) where x and y are arrays or numbers (arithmetic, not a repetition): the
    shape of the one `which` names (g times the other, summed down to it), where g is certainly an array or
    both are numbers."""
    which = site.literal(3) if site.nargs == 4 and not site.keywords else None
    x, y, g = site.shape(1), site.shape(2), site.shape(0)
    if which not in (0, 1) or type(which) is not int or type(x) is not tuple or type(y) is not tuple \
            or not isinstance(g, tuple):
        return None
    target = y if which else x
    if g == () and x == () and y == ():
        return ()
    return target if _array(g) and broadcast(broadcast(g, x), y) is not None else None


def expand_reduced(site):
    """s2s.expand_reduced(g, x, axis, keepdims): x's shape (a number, even 0.0, is broadcast to it)."""
    if site.nargs != 4:
        return None
    return site.shape(1) if site.shape(0) is not None else None


def spread_over(x_at: int):
    """s2s.grad_var(g, x, ...) / s2s.grad_std(g, ans, x, ...): x's shape where g is certainly not the zero
    adjoint (an array, or a number literal other than 0; the zero gives the zero)."""

    def shape(site):
        g, literal = site.shape(0), site.literal(0)
        if g is None or site.nargs <= x_at or site.keywords:
            return None
        certain = g != () or type(literal) in (int, float) and literal != 0
        return site.shape(x_at) if certain else None

    return shape


def grad_matmul(operand: int):
    """s2s.grad_matmul_a(g, a, b) / grad_matmul_b: the shape of the operand at `operand` (a or b)."""

    def shape(site):
        if site.nargs != 3:
            return None
        target, g = site.shape(operand), site.shape(0)
        if target in (None, ()):
            return None
        if g == () and type(g) is not ZeroScalar and len(target) == 1 and site.shape(1) == site.shape(2):
            return ZeroOr(target)  # (a dot product's number adjoint, 0.0 or not: 0.0 or the vector's shape)
        return target if _array(g) else None

    shape.symbolic_lengths = True  # (it compares lengths and gives one operand's shape)
    return shape


def grad_dot(operand: int):
    """s2s.grad_dot_a(g, a, b) / grad_dot_b of vectors and matrices (np.dot is np.matmul there): as
    `grad_matmul`; unknown for numbers and arrays of more axes."""
    of_matmul = grad_matmul(operand)

    def shape(site):
        vectors_or_matrices = site.nargs == 3 and all(type(s) is tuple and len(s) in (1, 2)
                                                      for s in (site.shape(1), site.shape(2)))
        return of_matmul(site) if vectors_or_matrices else None

    shape.symbolic_lengths = True
    return shape


def add(site):
    """s2s.add(a, b): two numbers give a number, two lists of known items the items added; arrays broadcast. Where a
    holds 0.0 or an array (an adjoint started at 0.0 before a loop), the one shape both give; where one holds item
    adjoints (`ZeroOrItems`), see `_add_item_adjoints`."""
    if site.nargs != 2:
        return None
    held_a, held_b = site.held(0), site.held(1)
    if type(held_a) is ZeroOrItems or type(held_b) is ZeroOrItems:
        return _add_item_adjoints(held_a, held_b)
    either_a, either_b = site.either(0), site.either(1)
    if len(either_b) == 1 and len(either_a) == 1 and type(either_a[0]) is ZeroScalar:  # add(0.0, b) is b
        b = either_b[0]
        if _array(b):
            return b
        items, keyed = site.items(1), site.keyed(1)  # (a list's or a dict's adjoint: b itself)
        return Seq(items) if items is not None else keyed if keyed is not None else _add(either_a[0], b)
    if len(either_a) == 2 and len(either_b) == 2:  # 0.0 or an array, twice: the same, where both have one shape
        return ZeroOr(either_a[1]) if either_a[1] == either_b[1] else None
    if len(either_b) == 1 and len(either_a) == 2:  # a is 0.0 (add gives b) or an array
        b = either_b[0]
        found = {b if _array(b) else None, _add(either_a[1], b)}
        return found.pop() if len(found) == 1 else None
    if len(either_a) == 1 and len(either_b) == 2:  # b is 0.0 (add gives a) or an array
        a = either_a[0]
        found = {a if _array(a) else None, _add(a, either_b[1])}
        return found.pop() if len(found) == 1 else None
    items_a, items_b = site.items(0), site.items(1)
    if items_a is not None and items_b is not None:
        return _add(Seq(items_a), Seq(items_b))
    keyed_a, keyed_b = site.keyed(0), site.keyed(1)
    if keyed_a is not None and keyed_b is not None:  # two dicts: the union of their keys, shared ones added
        items = dict(keyed_a.items)
        for k, fact in keyed_b.items:
            items[k] = _add_items(items[k], fact) if k in items else fact
        return Keyed(items.items())
    return _add(site.shape(0), site.shape(1))


def _add_item_adjoints(a, b):
    """s2s.add(a, b) where a or b holds 0.0 or a list of item adjoints each 0.0 or of shape S (`ZeroOrItems(S)`):
    with 0.0, the other; with another such, such a list; with a list (or tuple) of arrays all of shape S, a list
    of them (add gives the list back where the other is 0.0, else adds item by item, 0.0 giving way)."""
    items, other = (a, b) if type(a) is ZeroOrItems else (b, a)
    if type(other) is ZeroScalar or other == items:
        return items
    dense = one_item(other)
    return ListOf(items.item) if dense is not None and dense == items.item and type(dense) is tuple else None


def item_added(site):
    """s2s.add_item_grad(acc, g, x, index), `add(acc, getitem_grad(g, x, index))` of a list x whose items all
    have one shape S, g 0.0 or of shape S: where acc is 0.0 or a list of item adjoints of S (`ZeroOrItems(S)`),
    such a list (its items 0.0 where no read reached them); where acc is a list of arrays of shape S, one."""
    if not _plain(site, 4):
        return None
    item = site.listed(2)
    if item is None or type(item) is not tuple:
        return None
    acc, g = site.held(0), site.held(1)
    if not (type(g) is ZeroScalar or g == ZeroOr(item) or type(g) is tuple and g == item):
        return None
    if type(acc) is ZeroScalar or acc == ZeroOrItems(item):
        return ZeroOrItems(item)
    # a list of arrays of shape S (a list adjoint `s2s.grad_stack` made): S plus S, or plus 0.0, is S
    return ListOf(item) if item != () and one_item(acc) == item else None


def _add(a, b):
    if isinstance(a, Seq) and isinstance(b, Seq) and len(a.items) == len(b.items):
        return Seq(_add_items(x, y) for x, y in zip(a.items, b.items))  # two lists: item by item
    if a == () and b == ():
        return ()
    return broadcast(a, b) if _array(a) and b not in (None, ()) else None


def _add_items(a, b):
    """An item of s2s.add of two lists: the zero adjoint added is the other item; 0.0 or an array of one shape
    (`ZeroOr`) added to an array is that array, or the two added, where both have its shape."""
    if type(a) is ZeroScalar:
        return b
    if type(b) is ZeroScalar:
        return a
    if type(a) is ZeroOr and type(b) is ZeroOr:
        return a if a == b else None
    if type(a) is ZeroOr or type(b) is ZeroOr:
        either, other = (a, b) if type(a) is ZeroOr else (b, a)
        return other if type(other) is tuple and other != () and broadcast(either.shape, other) == other else None
    return _add(a, b)


def _fact(site, which):
    """The argument's shape, or its `ZeroOr` where it holds 0.0 or an array (an adjoint started at 0.0)."""
    either = site.either(which)
    return ZeroOr(either[1]) if len(either) == 2 else either[0]


def flipped(site):
    """np.flip(m, axis=None) of an array: m's shape, whatever axes it reverses."""
    if not 1 <= site.nargs <= 2 or not site.keywords <= {"axis"}:
        return None
    m = site.shape(0)
    return m if _array(m) else None


def sorted_shape(site):
    """np.sort(a, axis=-1) of an array: a's shape along an int axis of it; a's size as one axis for axis=None."""
    return _along_axis(site, 1, {"axis", "kind"})


def _along_axis(site, axis_at, keywords):
    """The shape of a result laid out like its first argument along `axis` (its argument `axis_at`, -1 by default):
    that argument's shape for an int axis of it, its size as one axis for None."""
    if not axis_at <= site.nargs <= axis_at + 1 or not site.keywords <= keywords:
        return None
    a = site.shape(0)
    axis = site.literal(axis_at if site.nargs > axis_at else "axis", -1)
    if not _array(a) or axis is NOT_LITERAL:
        return None
    if axis is None:
        return reshaped(a, -1)
    return a if type(axis) is int and -len(a) <= axis < len(a) else None


def rolled(site):
    """np.roll(a, shift, axis=None) of an array: a's shape (its entries moved along, none made or dropped)."""
    if not 1 <= site.nargs <= 3 or not site.keywords <= {"shift", "axis"}:
        return None
    a = site.shape(0)
    return a if _array(a) else None


def partitioned(site):
    """np.partition(a, kth, axis=-1) of an array: a's shape along an int axis of it; a's size as one axis for
    axis=None."""
    return _along_axis(site, 2, {"axis", "kind"})


def fft_shifted(site):
    """np.fft.fftshift(x, axes=None) / ifftshift of an array: x's shape (its entries moved along its axes)."""
    if not 1 <= site.nargs <= 2 or not site.keywords <= {"x", "axes"}:
        return None
    a = site.shape(0)
    return a if _array(a) else None


def real_rolled(site) -> bool:
    """np.roll of a real array: real (its own entries), keywords included (`axis=1`)."""
    return rolled(site) is not None and site.real(0)


real_rolled.judges_keywords = True  # (the shapes pass asks it of a call with keywords too: it checks them itself)


def adjoint_of_third(site):
    """s2s.grad_extreme(g, ans, x, ...) / grad_norm: x's shape, where g is certainly an array; where g is a number
    (the adjoint of a whole array's norm or max), the zero 0.0 (for a g that is a Python 0.0) or x's shape: `ZeroOr`."""
    if site.nargs < 3:
        return None
    x, g = site.shape(2), site.shape(0)
    if x in (None, ()):
        return None
    return x if _array(g) else ZeroOr(x) if g == () else None


def getitem_grad(site):
    """s2s.getitem_grad(g, x, index): zeros shaped like the array x, the items added in; of a tuple x by a
    literal position k, the list whose item k is g and whose other items are the zero adjoint 0.0."""
    if site.nargs != 3:
        return None
    items, k = site.items(1), site.literal(2)
    keyed = site.keyed(1)
    if keyed is not None:  # a dict's: the dict of that one key
        return Keyed([(k, site.shape(0))]) if type(k) in (str, int) and keyed.get(k) is not None else None
    if items is not None:
        if type(k) is not int or not -len(items) <= k < len(items):
            return None
        out = [ZERO_SCALAR] * len(items)
        out[k] = _fact(site, 0)
        return Seq(out)
    x = site.shape(1)
    return x if x not in (None, ()) else None


def transpose_attr(site):
    """s2s.transpose_attr(x), `x.T`: an array's axes reversed (an object's attribute T: not claimed)."""
    x = site.shape(0) if _plain(site, 1) else None
    return x[::-1] if _array(x) else None


def transpose_attr_grad(site):
    """s2s.transpose_attr_grad(g, x): g.T, where x is an array and g certainly one (else the zero 0.0)."""
    if not _plain(site, 2) or not _array(site.shape(1)):
        return None
    g = site.shape(0)
    return g[::-1] if _array(g) else None


def array_grad(site):
    """s2s.array_grad(g, obj), the adjoint of np.array(obj) of a tuple or list of arrays or numbers of one shape S:
    the list [g[0], g[1], ...], where g is certainly an array of shape (len, *S) (else the zero 0.0)."""
    if not _plain(site, 2):
        return None
    g, items = site.shape(0), site.items(1)
    if not _array(g) or array_of_items(_Items(items)) != g:
        return None
    return Seq(g[1:] for _ in items)


class _Items:
    """A site of one argument whose items are `items` (array_of_items of another call's argument)."""

    nargs, keywords = 1, frozenset()

    def __init__(self, items):
        self._items = items

    def items(self, which):
        return self._items

    def shape(self, which):
        return None


def part(site):
    """s2s.part(g, k) of a structured adjoint with a literal k: that item's shape (or its `ZeroOr`)."""
    if not _plain(site, 2):
        return None
    items, k = site.item_facts(0), site.literal(1)
    if items is None or type(k) is not int or not -len(items) <= k < len(items):
        return None
    return items[k]


def balanced_eq(site):
    """s2s.balanced_eq(x, ans, other): (x == ans) / (1.0 + (x == other)), its three arguments broadcast."""
    return broadcast(site.shape(0), site.shape(1), site.shape(2)) if site.nargs == 3 else None


def copy(site):
    """s2s.copy(x): x's shape."""
    return site.shape(0) if site.nargs == 1 else None


def adjoint_widened(site):
    """s2s.seed_of(g, value) and s2s.cast_back(g, x), an adjoint `g` given a wider dtype: g's shape."""
    return site.shape(0) if site.nargs == 2 else None


def eye_product(site):
    """s2s.eye_product(m, g, n, left), a product with an identity (times g): m's shape, a matrix's of n rows
    (`left`) or columns."""
    m, left = site.shape(0), site.literal(3)
    if site.nargs != 4 or site.keywords or not (isinstance(m, tuple) and len(m) == 2) or type(left) is not bool:
        return None
    return m if m[0 if left else 1] == site.literal(2) else None


def real_eye_product(site) -> bool:
    """s2s.eye_product(m, g, n, left) of a real m and a real or absent g: real."""
    g = site.node(1)
    return site.nargs == 4 and site.real(0) and (isinstance(g, ast.Constant) and g.value is None or site.real(1))


def receiver(site):
    """s2s.receiver(obj, cls, name): obj itself, checked (a record's fields' facts, for the method's reads)."""
    return site.whole(0) if site.nargs == 3 and not site.keywords else None


def checked(site):
    """s2s.unshared(value, where, deep, updated, *others): value's shape (the ownership check gives it back)."""
    return site.shape(0) if site.nargs >= 4 and not site.keywords else None


def real_checked(site) -> bool:
    """s2s.unshared(value, where, deep, updated, *others) of a real value: real (the check gives it back)."""
    return site.nargs >= 4 and not site.keywords and site.real(0)


def checked_item(site):
    """s2s.item_number(value, where): a number's shape, (), or the check raises."""
    return () if site.nargs == 2 and not site.keywords else None


def real_checked_item(site) -> bool:
    """s2s.item_number(value, where) of a real value: real (the check gives it back)."""
    return site.nargs == 2 and not site.keywords and site.real(0)


def astype(site):
    """s2s.astype(x, dtype, copy): x's shape (a number converted is a number)."""
    return site.shape(0) if 2 <= site.nargs <= 3 and not site.keywords else None


def setitem(site):
    """s2s.setitem(x, index, v), `x[index] = v` on a copy: the array x's shape (v is cast into it, or it raises)."""
    x = site.shape(0) if _plain(site, 3) else None
    return x if _array(x) and x != () else None


def along_axis_rows(site):
    """s2s.along_axis_rows(arr, axis): the rows of arr along axis, (the other axes' sizes multiplied, its size)."""
    a, axis = site.shape(0) if site.nargs == 2 else None, site.literal(1, None)
    if a is None or type(axis) is not int or not -len(a) <= axis < len(a):
        return None
    axis %= len(a)
    return (math.prod(a[:axis] + a[axis + 1:]), a[axis])


def along_axis_out(site):
    """s2s.along_axis_out(stacked, arr, axis): each result's axes where `axis` was, arr's other axes around them."""
    stacked, a, axis = (site.shape(0), site.shape(1), site.literal(2, None)) if site.nargs == 3 else (None,) * 3
    if stacked is None or a is None or type(axis) is not int or not -len(a) <= axis < len(a) or not stacked:
        return None
    axis %= len(a)
    return a[:axis] + stacked[1:] + a[axis + 1:]


def written(site):
    """s2s.filled_diagonal(a, val), s2s.copied_to(dst, src), ... (NumPy's writers run on a copy): the array's
    shape (the values are cast into it, or it raises)."""
    a = site.shape(0) if site.nargs >= 1 else None
    return a if _array(a) and a != () else None


def written_adjoint(site):
    """s2s.written_target_grad(g, name, a, args, kwargs): the adjoint of a writer's array, a's shape."""
    a = site.shape(2) if site.nargs >= 4 else None
    return a if _array(a) and a != () else None


def setitem_grads(site):
    """s2s.setitem_grads(g, x, index): (the adjoint for x, the item's): the first has the array g's shape, the
    second that of g[index] (the item's adjoint is read from g, then cast as x holds it) where x holds real floats:
    into an int or bool array the item's adjoint is the zero adjoint 0.0 (`np.add.at(counts, i, w)`: w's)."""
    g = site.shape(0) if _plain(site, 3) else None
    if not (_array(g) and g != ()):
        return Seq((None, None))
    return Seq((g, site.item(0, 2) if site.real(1) else None))


def iterated(site):
    """s2s.as_sequence(x), what `for v in x` runs over: x itself where x is an array (of at least one axis), a
    tuple, or a list no one changes; of a list appended to in a loop whose items all have one shape, a
    `ListOf` that shape (its items read by an int index have it). Also s2s.zip_row(x, where)'s (a record second)."""
    if site.nargs not in (1, 2):
        return None
    items = site.items(0)
    if items is not None:
        return Seq(items)
    item = site.listed(0)
    if item is not None:
        return ListOf(item)
    x = site.shape(0)
    return x if _array(x) and x != () else None


def grad_iterated(site):
    """s2s.grad_iterated(g, x): g itself where x is an array, a tuple or a list (only a dict's keys have no
    adjoint)."""
    if site.nargs == 2 and type(site.held(0)) is ZeroOrItems and site.listed(1) is not None:
        return site.held(0)
    if site.nargs == 2 and site.items(1) is not None:
        items = site.items(0)
        return Seq(items) if items is not None else None
    x = site.shape(1) if site.nargs == 2 else None
    return site.shape(0) if _array(x) and x != () else None


# ---- `real` functions: whether a call's result is certainly real floats (`Rule.real`)

def real_of_one(site) -> bool:
    """np.max(x) / np.linalg.norm(x) of one real argument (real, yet it may raise: on an empty x)."""
    return site.nargs == 1 and site.real(0)


def real_norm(site) -> bool:
    """np.linalg.norm(x, ord, axis, keepdims) of a real x: real (every order, along any axes)."""
    return 1 <= site.nargs <= 4 and site.keywords <= {"ord", "axis", "keepdims"} and site.real(0)


real_norm.judges_keywords = True


def real_choice(site) -> bool:
    """np.where(condition, x, y) of real x and y: real (the condition only picks)."""
    return site.nargs == 3 and not site.keywords and site.real(1) and site.real(2)


def real_fill(site) -> bool:
    """np.full(shape, fill_value) of a real fill and no dtype: real floats (the fill's dtype)."""
    return site.nargs == 2 and not site.keywords and site.real(1)


def real_alone(site) -> bool:
    """np.zeros(shape) with no other argument: float64; with a real floating dtype (`np.float32`, `x.dtype` of a
    real x), of that one (another dtype argument may make it anything)."""
    if not site.keywords:
        return site.nargs == 1 or site.nargs == 2 and site.real_dtype(1)
    return site.nargs == 1 and set(site.keywords) == {"dtype"} and site.real_dtype("dtype")


real_alone.judges_keywords = True  # (`np.zeros(n, dtype=np.float32)` as `np.zeros(n, np.float32)`: it checks them)


def real_of_two(site) -> bool:
    """np.outer(a, b) of two real arguments."""
    return site.nargs == 2 and site.real(0) and site.real(1)


def real_scatter(site) -> bool:
    """s2s.getitem_grad(g, x, index), s2s.unbroadcast(g, x), s2s.expand_reduced(g, x, axis, keepdims): g placed
    into, summed down to or spread over x's shape, in the dtype of x and g (a number g takes a complex x's):
    real where both are. Also s2s.grad_cumprod(g, x, axis, ans), computed from g and x alone, and s2s.grad_pad(g,
    array, pad_width, mode), g's entries in the dtype of array and g."""
    return site.nargs >= 2 and site.real(0) and site.real(1)


def real_product(site) -> bool:
    """np.matmul(a, b) / np.dot(a, b): of two real arguments (a product with an int literal is not one
    of matrices); otherwise what `real=True` says."""
    return site.real(0) and site.real(1) if site.nargs == 2 else site.real_args()


def real_of_all(nargs: int):
    """A helper of `nargs` real arguments computing in their dtype (s2s.grad_matmul_a(g, a, b)): real floats."""

    def real(site) -> bool:
        return _plain(site, nargs) and all(site.real(k) for k in range(nargs))

    return real


def real_product_part(site) -> bool:
    """s2s.grad_mult_seq(g, x, y, which) of real g, x and y (numbers or arrays, no repeated sequence): the
    product's adjoint summed down, real."""
    return _plain(site, 4) and all(site.real(k) for k in range(3))


def real_of_first(nargs: int):
    """A helper computing in its first argument's dtype (s2s.balanced_eq(x, ans, other))."""

    def real(site) -> bool:
        return site.nargs == nargs and site.real(0)

    return real


# shape functions that only give an argument's shape or compare lengths, never compute one: they may see lengths that
# follow a loop's counter (transforms/shapes.py's `Extent`); every other one sees such a shape as unknown
for _moves_lengths in (unbroadcast, expand_reduced, copy, add, setitem_grads, matrix_product, dot_product):
    _moves_lengths.symbolic_lengths = True
