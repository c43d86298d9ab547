"""Adjoint arithmetic: accumulating adjoints, reading parts of structured ones, undoing broadcasting,
and finishing an adjoint into a gradient shaped like its argument.
"""

from __future__ import annotations

import numpy as np

from s2s.argcheck import WHY_REFUSED, plain_hint, refused_kind
from s2s.runtime.arrays import _float_dtype, _in_library_of, _sequence_shape, broadcast_to_like, is_array, is_foreign
from s2s.runtime.structures import add_records, finish_record, is_record, set_fields, zeros_like_record
from s2s.runtime.zero import ZERO, is_zero, linear_in_g, zero_safe


@linear_in_g
@zero_safe  # a zero `g` passes through (its shape () is summed to nothing)
def unbroadcast(g, x):
    """Sum the gradient `g` down to the shape of `x` (undo NumPy broadcasting)."""
    if type(g) is np.ndarray and type(x) is np.ndarray and g.shape == x.shape:
        return g
    if isinstance(x, list | tuple):  # NumPy took the list for an array of its shape
        if isinstance(g, list | tuple) and len(g) != len(x):
            _refuse_structure(g, x)
        return _sum_to_shape(g, _sequence_shape(x), x)
    gs = getattr(g, "shape", ())
    xs = getattr(x, "shape", ())
    if gs == xs:
        return g
    if xs == () and not hasattr(x, "shape"):
        return np.sum(g) if gs != () else g
    g = _with_leading_ones(g, gs, xs)
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    # (a number g, `0.0 * k` of a NumPy scalar k among them, is spread over x's shape below)
    axes = () if np.ndim(g) == 0 else tuple(i for i, n in enumerate(xs) if n == 1 and g.shape[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if getattr(g, "shape", ()) != xs:
        g = broadcast_to_like(g, x)
    return g


def _with_leading_ones(g, gs, xs):
    """`g`, of shape `gs`, with the leading axes of length 1 that `xs` has beyond it: an assignment drops them
    (`Y[0] = c` of c.shape (1, 3) into a row of 3), its adjoint gives them back. (Broadcasting in arithmetic
    never gives a result of fewer axes than an operand.)"""
    lead = len(xs) - len(gs)
    if lead <= 0 or gs == ():
        return g
    if any(n != 1 for n in xs[:lead]):
        if type(g) is np.ndarray and not np.count_nonzero(g) and np.broadcast_shapes(gs, xs) == xs:
            # (zeros smaller than the value: the zero adjoint 0.0 times an operand, `t_bar * x` on a trip whose
            # adjoint stayed 0.0; its sum down to xs is zeros of xs)
            return np.zeros(xs, dtype=g.dtype)
        raise ValueError(f"s2s: an adjoint of shape {gs} for a value of shape {xs}")
    return np.reshape(g, xs[:lead] + tuple(gs))


def _sum_to_shape(g, xs, x):
    """`g` summed over the axes broadcasting added or stretched to reach shape `xs`."""
    if xs is None or getattr(g, "shape", ()) == xs or isinstance(g, list | tuple):
        return g
    gs = np.shape(g)
    g = _with_leading_ones(g, gs, xs)
    extra = len(gs) - len(xs)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(xs) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.broadcast_to(g, xs) if np.shape(g) != xs else g


def add(a, b):
    """Accumulate two adjoints; understands zeros, lists, tuples and dicts."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        return a + b
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    kind = type(a)
    if (kind is list or kind is tuple) and (type(b) is list or type(b) is tuple):  # (no record: those subclass)
        out = [y if x is ZERO else x if y is ZERO else add(x, y) for x, y in zip(a, b)]
        return tuple(out) if kind is tuple else out
    if is_record(a) or is_record(b):  # namedtuples and dataclasses: field by field (s2s/runtime/structures.py)
        return add_records(a, b, add)
    if isinstance(a, list | tuple):
        out = [add(x, y) for x, y in zip(a, b)]
        return tuple(out) if isinstance(a, tuple) else out
    if isinstance(a, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = add(out.get(k, ZERO), v)
        return out
    return a + b


def zeros_like_value(x):
    """A zero adjoint structured like the value `x`."""
    if is_record(x):
        return zeros_like_record(x, zeros_like_value)
    if isinstance(x, list | tuple):
        return [zeros_like_value(v) for v in x]
    if isinstance(x, dict):
        return {k: zeros_like_value(v) for k, v in x.items()}
    return ZERO


def _other_float(g, dtype) -> bool:
    """`g` is a NumPy array of a real float dtype other than the argument's real float `dtype`."""
    gd = getattr(g, "dtype", None)
    return isinstance(g, np.ndarray) and gd != dtype and gd.kind == "f" and dtype.kind == "f"


def _own(g, x) -> bool:
    """Whether `g` is already the gradient of the array `x`: a writable float array of its shape and dtype."""
    return type(g) is np.ndarray and type(x) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype \
        and x.dtype.kind == "f" and g.flags.writeable


_FLOAT64, _FLOAT32 = np.float64, np.float32


def as_container_of(x, items):
    """`items`, the gradients of the items of the list or tuple argument `x`, each already its item's own (a
    float64 array of its shape), as `finish(items, x)` gives them: the list, or a tuple where `x` is one."""
    return items if type(x) is list else tuple(items)


def _refuse_kind(g, kind):
    """A gradient that came out `kind` (a masked array, an np.matrix: `argcheck.refused_kind`): a value of that kind
    reached the derivative some way the transform could not see (an item of a global container, a helper's result,
    one made inside). Refused rather than given."""
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s cannot give this gradient: it came out {kind}, so such a value took part in the computation, "
        f"{WHY_REFUSED}", hint=f"use plain arrays in the function: {plain_hint('x')}")


@zero_safe
def seed_of(g, value):
    """The output's adjoint `g` as a number of the output's dtype where `g` is a Python number (the seed `1.0` of
    `s2s.grad`, a number given to a pullback) and the output `value` is float64 or wider: a Python number is weak
    in NumPy, so the adjoint of a float64 value it reaches would be float32 beside a float32 operand
    (`3.3 * w32[i]`). JAX seeds with ones of the output's dtype for the same reason. A narrower output's seed is
    left as given (as weak it is never narrower than the output), and so is the zero adjoint.

        >>> seed_of(1.0, np.float64(2.0)) * np.float32(3.3) == np.float64(np.float32(3.3))
        True
    """
    if type(g) is float or type(g) is int:
        return cast_back(g, value)  # (a number as cast_back makes one: of a float64 or wider dtype, the zero kept)
    if type(g) in (tuple, list) and type(value) in (tuple, list) and len(g) == len(value):
        return type(g)(seed_of(gi, vi) for gi, vi in zip(g, value))  # (a tuple's seed, `(1.0, 0.0)` of has_aux)
    if type(g) is dict and type(value) is dict:
        return {k: seed_of(gi, value[k]) if k in value else gi for k, gi in g.items()}
    return g


@zero_safe
def cast_back(g, x):
    """The adjoint `g` of a conversion of `x` (`float(x)`, `x.astype(d)`, `np.float32(x)`, `x.item()`) no narrower
    than `x`: a float32 adjoint of a float64 `x` in float64, a Python number (weak beside a float32 operand) as a
    number of x's dtype where that is float64 or wider. JAX's transpose of a conversion casts to x's dtype either
    way; a wider adjoint is left as it is here (a float16 round trip `x.astype(np.float16).astype(float) * 1e6`
    would overflow), and the gradient takes its argument's dtype at the end (`finish`).

        >>> cast_back(np.float32(0.1), np.ones(2)).dtype
        dtype('float64')
    """
    kind = type(x)
    if kind is float:  # (the common scalar cases, first and fast: a Python float has no dtype to give)
        return g
    if kind is _FLOAT64 and (type(g) is _FLOAT64 or type(g) is float and not g):
        return g
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind != "f":
        return g
    if type(g) is float or type(g) is int:
        return dtype.type(g) if dtype.itemsize >= 8 and g != 0 else g
    if (type(g) is np.ndarray or isinstance(g, np.floating)) and g.dtype.kind == "f" \
            and g.dtype.itemsize < dtype.itemsize:
        return g.astype(dtype) if type(g) is np.ndarray else dtype.type(g)
    return g


def finish(g, x):
    """Turn an accumulated adjoint into a gradient shaped like the argument `x`."""
    if type(x) is float or type(x) is int:  # the common scalar cases, first and fast
        if type(g) is float:
            return g
        if type(g) is _FLOAT64 or type(g) is _FLOAT32:  # (`np.sin(x)`, `.sum()`: the long way costs some 1.4 us)
            return float(g)
    if x is None:  # (no number there: the gradient keeps the argument's structure, None for None, as JAX's does)
        return None
    if type(g) is not np.ndarray:
        if refused_kind(g) is not None:
            _refuse_kind(g, refused_kind(g))
        if isinstance(g, np.ndarray):  # (of a subclass that only adds attributes, argcheck: a plain array, as documented)
            g = g.view(np.ndarray)
    if _own(g, x):  # an array's own adjoint (a leaf of a container's)
        return g
    if (type(x) is list or type(x) is tuple) and (type(g) is list or type(g) is tuple) and len(g) == len(x):
        out = [gi if _own(gi, xi) else finish(gi, xi) for gi, xi in zip(g, x)]  # (a list of layers' arrays)
        return out if type(x) is list else tuple(out)
    if type(x) is dict and type(g) is dict:
        return {k: gi if _own(gi := g.get(k, ZERO), xi) else finish(gi, xi) for k, xi in x.items()}
    if type(x) is not list and type(x) is not tuple and type(x) is not dict and is_record(x):
        return finish_record(g, x, finish)  # a namedtuple's or dataclass's gradient has its type
    if isinstance(x, list | tuple):
        if is_zero(g):
            g = [ZERO] * len(x)
        elif isinstance(g, list | tuple) and len(g) != len(x):
            _refuse_structure(g, x)
        out = [finish(gi, xi) for gi, xi in zip(g, x)]
        return tuple(out) if isinstance(x, tuple) else out
    if isinstance(x, dict):
        g = {} if is_zero(g) else g
        return {k: finish(g.get(k, ZERO), v) for k, v in x.items()}
    if getattr(g, "dtype", None) is not None and g.dtype.kind == "c" or type(g) is complex:
        _refuse_complex()
    if is_array(x) and (x.shape != () or is_foreign(x)):
        dtype = _float_dtype(x)
        if is_zero(g):
            return np.zeros_like(x, dtype=dtype)
        if getattr(g, "shape", None) == x.shape:
            if _other_float(g, dtype):  # the gradient of a float32 argument is float32 (as in JAX, PyTorch)
                return g.astype(dtype)
            flags = getattr(g, "flags", None)  # a broadcast view (the gradient of a sum) is read-only: copy it
            return g if flags is None or getattr(flags, "writeable", True) else g.copy()
        if is_foreign(x) or is_foreign(g):  # stays lazy (Dask) / on the device (CuPy)
            return _in_library_of(g, x) + np.zeros_like(x, dtype=dtype)
        out = np.broadcast_to(g, x.shape) + np.zeros_like(x, dtype=dtype)
        return out.astype(dtype) if _other_float(out, dtype) else out
    if isinstance(x, np.ndarray):  # 0-d array
        return np.asarray(g, dtype=_float_dtype(x)) if not is_foreign(g) else g.astype(_float_dtype(x))
    if is_foreign(g):  # a number argument whose gradient is a lazy / device scalar: leave it so
        return g
    if isinstance(x, np.floating) and not isinstance(x, float) and np.ndim(g) == 0 and not isinstance(g, complex):
        return type(x)(g)  # a np.float32 number's gradient is np.float32 (also where its adjoint stayed a Python float)
    return float(g) if isinstance(x, int | float) and np.ndim(g) == 0 and not isinstance(g, complex) else g


def leaves_apart(g, arguments):
    """The gradient `g` (a list, tuple or dict of leaves, to any depth) with each array leaf that may share
    memory with an array of `arguments` copied: a gradient is never the caller's own array, which an update
    of the gradient (`g[0] *= lr`) would change.

        >>> y = np.ones(2)
        >>> leaves_apart([y], (y,))[0] is y
        False
    """
    owners = set()  # ids of the arrays owning the arguments' memory (a view's `.base` is its array's owner)
    seen = set()  # ids of the containers walked (a list may hold itself)

    def collect(v):
        if type(v) is list or type(v) is tuple or type(v) is dict or is_record(v):
            if id(v) in seen:
                return
            seen.add(id(v))
            for item in v.values() if type(v) is dict else v if isinstance(v, list | tuple) else \
                    [getattr(v, n) for n in set_fields(v)]:  # (a dataclass's fields)
                collect(item)
        elif isinstance(v, np.ndarray):
            owners.add(id(v if v.base is None else v.base))

    collect(arguments)
    from s2s import pytree  # (the gradient's own walk: a gradient holds no list that holds itself)

    def apart(leaf):
        owned = isinstance(leaf, np.ndarray) and id(leaf if leaf.base is None else leaf.base) in owners
        return leaf.copy() if owned else leaf

    return pytree.map_leaves(apart, g)


def _refuse_structure(g, x):
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s made an adjoint of {len(g)} parts for a {type(x).__name__} of {len(x)}: a list or tuple was "
        "concatenated or repeated where s2s took + or * for arithmetic (an integer argument differentiated as a "
        "repetition count?)", hint="differentiate with respect to float arguments only, or build the list with "
                                   "append")


def _refuse_complex():
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        "s2s does not differentiate through complex numbers: a complex value came between the arguments and "
        "the output (a complex constant such as 1j, np.sqrt or np.fft of a complex array, a complex argument), "
        "and s2s has no complex derivative convention whose rules it can prove right",
        hint="compute with real arrays: carry the real and imaginary parts as two float arrays "
             "(re * re - im * im for the real part of a product)")


def zero_of_real(g, x):
    """The adjoint (or tangent, `g` then a tangent) of np.imag, np.angle or np.sign at `x`: zero where `x` is
    real; where it is complex their derivative is not zero, and s2s has no complex convention: refused.

        >>> zero_of_real(1.0, np.array([1.0, -2.0]))
        0.0
    """
    if np.iscomplexobj(x):
        _refuse_complex()
    return ZERO


@linear_in_g
def part(g, index):
    """Read one part of a structured adjoint; a zero adjoint has zero parts."""
    if isinstance(g, dict):  # a dict's adjoint holds only the keys something reached
        return g.get(index, ZERO)
    if not isinstance(g, list | tuple | dict) and np.ndim(g) == 0 \
            and not (isinstance(g, np.ndarray) and (index is Ellipsis or type(index) is tuple and not index)):
        # (a 0-d array's `a[...]`, as `a[...] *= c` reads it, is a part of it; a number has no parts)
        from s2s.errors import NonScalarOutputError
        raise NonScalarOutputError(
            "grad needs a function with a scalar output, but this function returns a tuple, list or dict.",
            hint="use s2s.vjp(f, ...) with a cotangent of the same structure, or return a single number")
    return g[index]
