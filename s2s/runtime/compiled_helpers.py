"""numba versions of the runtime helpers that generated code calls, for compiled derivatives (s2s/compiled.py).

Inside compiled code `s2s.finish`, `s2s.unbroadcast`, `s2s.add`... are these functions. Each is a
Python stub with a numba `overload`: the implementation is chosen at compile time from the argument
types (a number or an array of some rank), so a case numba cannot do is a typing error when the
derivative is compiled (and s2s falls back to the NumPy code with a warning), never a guess at run
time. A case that depends on run-time shapes this module does not handle raises
`ValueError(FALLBACK + ...)`, which the compiled runner turns into the same fallback.

Importing this module imports numba (the `s2s-ad[numba]` extra).

Example (inside a function numba compiles)::

    from s2s.runtime import compiled_helpers as s2s
    g = s2s.unbroadcast(np.ones((4, 3)), np.ones(3))   # summed over the first axis
"""

from __future__ import annotations

import functools
import math
import operator

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array, populate_array
from numba.np.unsafe.ndarray import to_fixed_tuple

FALLBACK = "s2s compiled code cannot handle this case: "  # ValueError prefix the runner falls back on
FALLBACK_CALL = "s2s compiled code cannot handle this call: "  # ... for this call alone (the NumPy code runs it)
# The messages compiled code raises are module constants (`raise ValueError(_TAPE_FULL)`): numba reads a global
# string as a constant, where `FALLBACK + "..."` inside the code compiles numba's string concatenation (about a
# second of a process's first compile).


def _plain(t):
    """The type a value of type `t` has when it is there: an Optional's (a list tape's placeholder) inner type."""
    t = types.unliteral(t)
    return t.type if isinstance(t, types.Optional) else t


def _dtype_of(t):
    """The element type of a number or an array type."""
    t = _plain(t)
    return t.dtype if isinstance(t, types.Array) else t


def _is_number(t) -> bool:
    return isinstance(_plain(t), types.Number | types.Boolean)


def _is_array(t) -> bool:
    return isinstance(_plain(t), types.Array)


def _overload(stub, keep_optional=(), **options):
    """numba's `overload(stub)`, except that an Optional argument (a value popped from a list tape that may
    hold the placeholder) is left to numba, which types the call again with it unwrapped (a None raises);
    `keep_optional` names the parameter positions the implementation handles None in itself."""
    def register(typer):
        @functools.wraps(typer)  # numba reads the parameters through __wrapped__
        def typer_or_unwrap(*args):
            loose = [i for i, a in enumerate(args) if isinstance(a, types.Optional) and i not in keep_optional]
            if loose and any(isinstance(args[i], types.Optional) for i in keep_optional):
                # numba would unwrap every Optional, the kept ones too (a None total then raises): only these
                return _unwrapping(stub, len(args), tuple(loose))
            if loose:
                return None
            return typer(*args)
        overload(stub, **options)(typer_or_unwrap)
        return typer
    return register


@functools.cache
def _unwrapping(stub, n, loose):
    """An implementation of `stub` with `n` parameters that calls it again with those at positions `loose`
    unwrapped from their Optional (a None there raises), the others as they are."""
    import inspect
    names = list(inspect.signature(stub).parameters)[:n]
    args = ", ".join(f"_some({p})" if i in loose else p for i, p in enumerate(names))
    namespace = {"_some": _some, "stub": stub}
    exec(f"def impl({', '.join(names)}):\n    return stub({args})\n", namespace)
    return namespace["impl"]


def _refuse(name, *ts):
    raise TypingError(f"s2s compiled helper {name} has no version for ({', '.join(str(t) for t in ts)})")


@numba.njit
def _checked(i, n):
    """Index `i` into an axis of `n` items, negative ones from the end; IndexError outside (NumPy's): the
    helpers' own code is compiled without numba's bounds checks, and np.add.at may be the only check left
    of an index the function reads (transforms/checked_reads.py drops the read it rechecks)."""
    if i < -n or i >= n:
        raise IndexError("index out of bounds")
    return i + n if i < 0 else i


def counter_check(k, limit):
    """Raise the marked fallback where the int counter `k` lies beyond +-`limit` (s2s/compiled.py guards
    counters so, to bound their sums); a None `k` (a sum nothing was added to yet) and a float pass."""
    raise NotImplementedError("only inside compiled code")


_COUNTER_PAST_LIMIT = FALLBACK_CALL + "an int counter passed 2**50 (numba's int64 would wrap around later)"


@_overload(counter_check, keep_optional=(0,))
def _counter_check(k, limit):
    inner = k.type if isinstance(k, types.Optional) else k
    if isinstance(inner, types.Integer):
        def impl(k, limit):
            if k is not None and (k > limit or k < -limit):
                raise ValueError(_COUNTER_PAST_LIMIT)
        return impl
    return lambda k, limit: None


def int_op(a, b, how):
    """`a + b`, `a - b`, `a * b`, `a ** b` or `a << b` (how "add", "sub", "mul", "pow", "lshift"). Of two ints, the
    ValueError marked for one call where the result could lie beyond +-2**62 (Python's int grows where numba's
    int64 wraps around: the NumPy code runs the call); of anything else, the operation itself. s2s/compiled.py
    writes it for int arithmetic it cannot bound (`(2 * n) * (2 * n - 1)` of a while loop's counter)."""
    return {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "pow": operator.pow,
            "lshift": operator.lshift}[how](a, b)


_INT_PAST_2_62 = FALLBACK_CALL + "int arithmetic past 2**62 (numba's int64 would wrap around where Python's int grows)"
_INT_OP_LIMIT = 4611686018427387904.0  # 2.0 ** 62


@_overload(int_op, prefer_literal=True)
def _int_op(a, b, how):
    if not (isinstance(how, types.StringLiteral) and how.literal_value in ("add", "sub", "mul", "pow", "lshift")):
        _refuse("int_op", a, b, how)
    how = how.literal_value
    if not (isinstance(_plain(a), types.Integer) and isinstance(_plain(b), types.Integer)):
        return {"add": lambda a, b, how: a + b, "sub": lambda a, b, how: a - b, "mul": lambda a, b, how: a * b,
                "pow": lambda a, b, how: a ** b, "lshift": lambda a, b, how: a << b}[how]
    if how == "add":
        def impl(a, b, how):
            if not abs(float(a) + float(b)) < _INT_OP_LIMIT:
                raise ValueError(_INT_PAST_2_62)
            return a + b
    elif how == "sub":
        def impl(a, b, how):
            if not abs(float(a) - float(b)) < _INT_OP_LIMIT:
                raise ValueError(_INT_PAST_2_62)
            return a - b
    elif how == "mul":
        def impl(a, b, how):
            if not abs(float(a) * float(b)) < _INT_OP_LIMIT:
                raise ValueError(_INT_PAST_2_62)
            return a * b
    elif how == "pow":  # (a negative exponent: Python's result is a float, numba's an int: the NumPy code)
        def impl(a, b, how):
            if b < 0 or not abs(float(a)) ** float(b) < _INT_OP_LIMIT:
                raise ValueError(_INT_PAST_2_62)
            return a ** b
    else:
        def impl(a, b, how):
            if b < 0 or b >= 62 or not abs(float(a)) * 2.0 ** b < _INT_OP_LIMIT:
                raise ValueError(_INT_PAST_2_62)
            return a << b
    return impl


_CONVERSIONS = {"int": int, "floor": math.floor, "ceil": math.ceil, "trunc": math.trunc, "round": round}


def checked_int(v, how):
    """`int(v)` (how "int"; or "floor", "ceil", "trunc", "round": math's and the builtin) of a number `v`; a
    float beyond +-2**53, NaN or inf raises the ValueError marked for one call: Python's int grows (or
    raises), where numba's conversion to int64 gives a made-up number. So does an int beyond +-2**53 (an
    int64 item made a Python int: s2s/compiled.py, which writes the calls, bounds the result so)."""
    return _CONVERSIONS[how](v)


_INT_PAST_2_53 = FALLBACK_CALL + "an int beyond 2**53 read as a Python int"
_FLOAT_NOT_AN_INT = FALLBACK_CALL + "a float converted to an int is NaN, inf or beyond 2**53"


@_overload(checked_int)
def _checked_int(v, how):
    if not (isinstance(how, types.StringLiteral) and how.literal_value in _CONVERSIONS and _is_number(v)):
        _refuse("checked_int", v, how)
    convert = _CONVERTERS[how.literal_value]
    if isinstance(_plain(v), types.Boolean):
        return lambda v, how: convert(v)
    if isinstance(_plain(v), types.Integer):  # (an item of an int array: bounded too, as s2s/compiled.py takes it)
        def impl_int(v, how):
            if v > 9007199254740992 or v < -9007199254740992:
                raise ValueError(_INT_PAST_2_53)
            return convert(v)
        return impl_int

    def impl(v, how):
        if not abs(v) <= 9007199254740992.0:  # (NaN and inf too)
            raise ValueError(_FLOAT_NOT_AN_INT)
        return convert(v)
    return impl


@numba.njit
def _to_int(v):
    return int(v)


@numba.njit
def _to_floor(v):
    return math.floor(v)


@numba.njit
def _to_ceil(v):
    return math.ceil(v)


@numba.njit
def _to_trunc(v):
    return math.trunc(v)


@numba.njit
def _to_round(v):
    return round(v)


_CONVERTERS = {"int": _to_int, "floor": _to_floor, "ceil": _to_ceil, "trunc": _to_trunc, "round": _to_round}


def float_pow(a, b):
    """`a ** b` of a Python float `a` (s2s/compiled.py writes the calls): where Python's power is no float (a negative
    `a` to a fractional power is complex, 0.0 to a negative one raises ZeroDivisionError, an overflow raises
    OverflowError), numba's is nan or inf: the ValueError marked for one call, and the NumPy code runs it."""
    return a ** b


_POWER_NOT_A_FLOAT = FALLBACK_CALL + "a power of a Python float that Python does not compute as a float"


@_overload(float_pow)
def _float_pow(a, b):
    if not (isinstance(_plain(a), types.Float) and isinstance(_plain(b), types.Float | types.Integer)):
        return lambda a, b: a ** b

    def impl(a, b):
        r = a ** b
        if (a < 0 and not b == np.floor(b)) or (a == 0 and b < 0) \
                or (np.isinf(r) and not np.isinf(a) and not np.isinf(b)):
            raise ValueError(_POWER_NOT_A_FLOAT)
        return r
    return impl


def power_slope(x, y):
    """d(x ** y)/dx = y * x ** (y - 1), exactly 0 where y == 0 (runtime.power_slope): of numbers (a float), and of
    a float64 array and a number; NumPy's inf at x == 0 for y < 1 and nan where the power is not real."""
    raise NotImplementedError("only inside compiled code")


@_overload(power_slope)
def _power_slope(x, y):
    real = not isinstance(_dtype_of(x), types.Complex) and not isinstance(_dtype_of(y), types.Complex)
    if real and _is_number(x) and _is_number(y):
        def impl(x, y):
            if y == 0:
                return 0.0
            return y * np.power(np.float64(x), y - 1)
        return impl
    if real and _is_array(x) and _plain(x).dtype == types.float64 and _is_number(y):
        def impl_array(x, y):
            if y == 0:
                return np.zeros(x.shape)
            return y * np.power(x, y - 1)
        return impl_array
    _refuse("power_slope", x, y)


def math_result(r, a, b):
    """`r`, the result of a `math` function of `a` and `b` (0.0 for a function of one argument; s2s/compiled.py
    writes the calls): where it is NaN and no argument is, or infinite and every argument is finite, Python's math
    raises (ValueError: math domain error, OverflowError), where numba's gives the NaN or inf: the ValueError
    marked for one call, and the NumPy code runs it (and raises Python's error)."""
    return r


_MATH_RAISES = FALLBACK_CALL + "a math function Python raises for (a domain error or an overflow)"


@_overload(math_result)
def _math_result(r, a, b):
    if not (isinstance(_plain(r), types.Float) and _is_number(a) and _is_number(b)):
        return lambda r, a, b: r

    def impl(r, a, b):
        if (np.isnan(r) and not np.isnan(a) and not np.isnan(b)) \
                or (np.isinf(r) and np.isfinite(a) and np.isfinite(b)):
            raise ValueError(_MATH_RAISES)
        return r
    return impl


# -------------------------------------------------------------------------------------------- tape

def tape_set(tape, n, value):
    """`tape[n] = value` on an array tape; `value` must have the tape's element type exactly (no conversion)."""
    raise NotImplementedError("only inside compiled code")


_TAPE_FULL = FALLBACK + "more pushes on a tape than its loops' trip counts"
_ROW_OF_ANOTHER_SHAPE = FALLBACK + "an array pushed on a tape of rows of another shape"


@_overload(tape_set)  # (no numba inlining: LLVM inlines the push into the loop, numba linking the helper in first)
def _tape_set(tape, n, value):
    if _is_array(tape) and tape.ndim == 1 and _is_number(value) and types.unliteral(value) == tape.dtype:
        def impl(tape, n, value):
            if n >= tape.shape[0]:
                raise ValueError(_TAPE_FULL)
            tape[n] = value
        return impl
    if _is_array(tape) and isinstance(value, types.Array) and tape.ndim == value.ndim + 1 \
            and tape.dtype == value.dtype:  # a row per push: the claimed shape is checked here
        def impl_rows(tape, n, value):
            if n >= tape.shape[0]:
                raise ValueError(_TAPE_FULL)
            if value.shape != tape.shape[1:]:
                raise ValueError(_ROW_OF_ANOTHER_SHAPE)
            tape[n] = value
        return impl_rows
    _refuse("tape_set", tape, n, value)  # the element type must be exactly the variable's


@intrinsic
def tape_stack(typingctx, n, dtype):
    """`tape_stack(n, dtype)`: an uninitialised array tape of `n` numbers of `dtype` (`np.float64`...) in the
    stack frame of the compiled function that calls it: no allocation, nothing to free. `n` must be an integer
    constant of the code (the lowering emits it only for tapes of a known length and a small size,
    transforms/numba_lowering.py), and the array must not outlive the call (a tape never leaves its function:
    pops copy values out of it). An intrinsic, so the slot is in the caller's own frame."""
    if not isinstance(n, types.IntegerLiteral) or n.literal_value < 0 \
            or not isinstance(dtype, types.NumberClass | types.DType):
        return None  # a length that is not a constant of the code: a typing error, so a fallback
    element = dtype.dtype
    array_type = types.Array(element, 1, "C")
    length = n.literal_value

    def codegen(context, builder, signature, args):
        data_type = context.get_data_type(element)
        intp = context.get_value_type(types.intp)
        # an alloca in the entry block: one slot for the call, however often this line runs
        data = cgutils.alloca_once(builder, data_type, size=intp(length))
        itemsize = context.get_abi_sizeof(data_type)
        array = make_array(array_type)(context, builder)
        populate_array(array, data=data, shape=[intp(length)], strides=[intp(itemsize)],
                       itemsize=intp(itemsize), meminfo=None)
        return array._getvalue()
    return array_type(n, dtype), codegen


@numba.njit
def tape_grow(tape):
    """A copy of the array tape `tape` with twice the room (rows of arrays: twice the rows)."""
    bigger = np.empty((2 * tape.shape[0] + 16,) + tape.shape[1:], tape.dtype)
    bigger[:tape.shape[0]] = tape
    return bigger


# ------------------------------------------------------------------------------------- adjoints

def accumulate(total, g):
    """`total + g` for an adjoint accumulated in a loop; `total` is None while nothing has reached it (the zero
    adjoint, whatever its shape). An array total is owned and updated in place."""
    raise NotImplementedError("only inside compiled code")


def _add_into(total, g):
    raise NotImplementedError("only inside compiled code")


_BROADCAST_ACCUMULATION = FALLBACK + "an adjoint accumulated with a broadcast shape"


@_overload(_add_into)
def _add_into_impl(total, g):
    if isinstance(total, types.Array) and _is_array(g) and total.ndim == _plain(g).ndim \
            and total.dtype == _plain(g).dtype and total.mutable:
        def impl(total, g):
            if total.shape != g.shape:
                raise ValueError(_BROADCAST_ACCUMULATION)
            total += g
            return total
        return impl
    if (isinstance(total, types.Number) or isinstance(total, types.Array)) and (_is_number(g) or _is_array(g)):
        return lambda total, g: total + g
    _refuse("accumulate", total, g)


# The helpers' own compiled pieces are module-level dispatchers, not made inside the overloads: numba then
# compiles each once for its argument types in a process, whichever overload (an Optional total or not, a
# derivative or the next) calls it.
@numba.njit
def _copy(g):
    return np.copy(g)


@numba.njit
def _same(g):
    return g


@_overload(accumulate, keep_optional=(0,))
def _accumulate(total, g):
    if not (_is_number(g) or _is_array(g)):
        _refuse("accumulate", total, g)
    first = _copy if _is_array(g) else _same
    if isinstance(total, types.NoneType):
        return lambda total, g: first(g)
    if isinstance(total, types.Optional):
        def impl(total, g):
            if total is None:
                return first(g)
            return _add_into(total, g)
        return impl
    return lambda total, g: _add_into(total, g)


def accumulate_matmul(total, a, b):
    """`accumulate(total, a @ b)`. Where `a` has one column and `b` one row (an outer product, the adjoint of a
    weight in a loop over rows), the products are added into `total` in place, each element the single product
    `a @ b` holds, so the same number as the temporary would give; otherwise `a @ b` then `accumulate`."""
    raise NotImplementedError("only inside compiled code")


@_overload(accumulate_matmul, keep_optional=(0,))
def _accumulate_matmul(total, a, b):
    if not (_is_array(a) and _is_array(b)):
        _refuse("accumulate_matmul", total, a, b)
    a_, b_, t_ = _plain(a), _plain(b), _plain(total)
    fused = a_.ndim == 2 and b_.ndim == 2 and a_.dtype == b_.dtype and isinstance(a_.dtype, types.Float) \
        and isinstance(t_, types.Array) and t_.ndim == 2 and t_.dtype == a_.dtype and t_.mutable
    if not fused:
        return lambda total, a, b: accumulate(total, a @ b)
    if isinstance(total, types.Optional):
        def impl(total, a, b):
            if total is None:
                return a @ b
            return _add_matmul_into(total, a, b)
        return impl
    return lambda total, a, b: _add_matmul_into(total, a, b)


@numba.njit
def _add_matmul_into(total, a, b):
    m, n = total.shape
    if a.shape[1] != 1 or b.shape[0] != 1 or a.shape[0] != m or b.shape[1] != n:
        return _add_into(total, a @ b)
    for i in range(m):
        ai = a[i, 0]
        for j in range(n):
            total[i, j] += ai * b[0, j]
    return total


def accumulate_outer(total, a, b):
    """`accumulate(total, np.outer(a, b))`; for vectors `a`, `b` and a matrix `total` of their dtype, the products
    are added into `total` in place (each the single product `np.outer` would hold: the same number)."""
    raise NotImplementedError("only inside compiled code")


@_overload(accumulate_outer, keep_optional=(0,))
def _accumulate_outer(total, a, b):
    if not (_is_array(a) and _is_array(b)):
        _refuse("accumulate_outer", total, a, b)
    a_, b_, t_ = _plain(a), _plain(b), _plain(total)
    vectors = a_.ndim == 1 and b_.ndim == 1 and a_.dtype == b_.dtype and isinstance(a_.dtype, types.Float)
    if vectors and isinstance(total, types.NoneType):  # (numba types this call so too, before the loop's Optional)
        return lambda total, a, b: _outer(a, b)
    fused = vectors and isinstance(t_, types.Array) and t_.ndim == 2 and t_.dtype == a_.dtype and t_.mutable
    if not fused:
        return lambda total, a, b: accumulate(total, np.outer(a, b))
    if isinstance(total, types.Optional):
        def impl(total, a, b):
            if total is None:
                return _outer(a, b)
            return _add_outer_into(total, a, b)
        return impl
    return lambda total, a, b: _add_outer_into(total, a, b)


@numba.njit
def _add_outer_into(total, a, b):
    m, n = total.shape
    if a.shape[0] != m or b.shape[0] != n:  # (NumPy's code may broadcast the outer product: it runs instead)
        raise ValueError(_BROADCAST_ACCUMULATION)
    for i in range(m):
        ai = a[i]
        for j in range(n):
            total[i, j] += ai * b[j]
    return total


@numba.njit
def _outer(a, b):
    """np.outer of two vectors of one float dtype, the same numbers (each a single product), without compiling
    numba's np.outer (seconds) for the fused case."""
    out = np.empty((a.shape[0], b.shape[0]), a.dtype)
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = a[i] * b[j]
    return out


def finish(g, x):
    """The gradient for the argument `x` from its accumulated adjoint `g` (runtime.finish)."""
    raise NotImplementedError("only inside compiled code")


def seed_of(g, value):
    """The output's adjoint `g` in the floating dtype of the output `value` (runtime.seed_of)."""
    raise NotImplementedError("only inside compiled code")


@_overload(seed_of)
def _seed_of(g, value):
    # (numba's numbers are float64 already; a float32 output's seed in float32, as NumPy computes a weak one with
    # float32 values)
    if isinstance(_plain(g), types.Float | types.Integer) and _dtype_of(value) == types.float32:
        return lambda g, value: np.float32(g)
    return lambda g, value: g


def cast_back(g, x):
    """The adjoint `g` of a conversion of `x` in `x`'s floating dtype (runtime.cast_back)."""
    raise NotImplementedError("only inside compiled code")


@_overload(cast_back)
def _cast_back(g, x):  # (widened only, as runtime.cast_back: a float32 adjoint of a float64 x)
    dtype, given = _dtype_of(x), _dtype_of(g)
    if not (isinstance(dtype, types.Float) and isinstance(given, types.Float)) or given.bitwidth >= dtype.bitwidth:
        return lambda g, x: g
    if _is_array(g):
        return lambda g, x: g.astype(np.float64)
    return lambda g, x: np.float64(g)


_GRADIENT_BROADCAST = FALLBACK + "a gradient broadcast to its argument's shape"


@_overload(finish, keep_optional=(0,))
def _finish(g, x):
    if isinstance(g, types.NoneType | types.Optional):  # an accumulated adjoint nothing may have reached
        def impl(g, x):
            if g is None:
                return finish(0.0, x)
            return finish(_some(g), x)
        return impl
    if isinstance(g, types.Complex) or (_is_array(g) and isinstance(g.dtype, types.Complex)):
        _refuse("finish", g, x)
    if _is_number(x):
        if _is_number(g):
            return lambda g, x: np.float64(g)
        if _is_array(g) and g.ndim == 0:
            return lambda g, x: np.float64(g[()])
        _refuse("finish", g, x)
    if not _is_array(x):
        _refuse("finish", g, x)
    dtype = x.dtype if isinstance(x.dtype, types.Float) else types.float64
    if _is_number(g):
        def impl(g, x):
            return np.full(x.shape, g, dtype)
        return impl
    if _is_array(g) and g.ndim == x.ndim:
        def impl(g, x):
            out = np.empty(x.shape, dtype)
            if g.shape != x.shape:
                if g.size != 1:
                    raise ValueError(_GRADIENT_BROADCAST)
                out[...] = g.ravel()[0]
                return out
            out[...] = g
            return out
        return impl
    _refuse("finish", g, x)


def _some(v):
    raise NotImplementedError("only inside compiled code")


@overload(_some)
def _some_impl(v):
    if isinstance(v, types.Optional):
        return None  # numba then types the call again with the value unwrapped (None raises)
    return lambda v: v


def numbers_or_arrays(value, name, methods=()):
    """runtime.numbers_or_arrays inside compiled code: nothing to check, compiled code holds numbers, arrays and
    tuples of them only (an object of a class of yours is refused where compiled code is given one)."""
    raise NotImplementedError("only inside compiled code")


@_overload(numbers_or_arrays)
def _numbers_or_arrays(value, name, methods=()):
    return lambda value, name, methods=(): None


def inplace_check(target, value, op):
    """Check that the user's `target op= value` of an array target keeps its shape and dtype (runtime.inplace_check,
    which raises NumPy's error where it does not): here where it may not, the ValueError marked for one call, so
    that the NumPy code runs the call and raises NumPy's own error, if any."""
    raise NotImplementedError("only inside compiled code")


_MAY_NOT_FIT = FALLBACK_CALL + "an in-place update whose result may not fit its array (NumPy's error, if any)"


def _takes(t, v, op) -> bool:
    """Whether an array of element type `t` takes the result of `t op v` with same_kind casting, whatever v is."""
    if isinstance(t, types.Float):
        return isinstance(v, types.Float | types.Integer | types.Boolean)
    if isinstance(t, types.Complex):
        return isinstance(v, types.Complex | types.Float | types.Integer | types.Boolean)
    if isinstance(t, types.Integer) and op not in ("/", None) and isinstance(v, types.Integer | types.Boolean):
        to = numba.np.numpy_support.as_dtype(t)
        return bool(np.can_cast(np.result_type(to, numba.np.numpy_support.as_dtype(v)), to, "same_kind"))
    return False


@_overload(inplace_check, prefer_literal=True)
def _inplace_check(target, value, op):
    if not _is_array(target):  # a number: `s += x` rebinds it
        return lambda target, value, op: None
    op = getattr(op, "literal_value", None)
    target, value = _plain(target), _plain(value)
    if not (_is_array(value) or _is_number(value)) or not _takes(target.dtype, _dtype_of(value), op) \
            or _is_array(value) and value.ndim > target.ndim or op == "@" and not (
                _is_array(value) and value.ndim == 2 and 1 <= target.ndim <= 2):
        def refuse(target, value, op):
            raise ValueError(_MAY_NOT_FIT)
        return refuse
    if _is_number(value):
        return lambda target, value, op: None
    if op == "@":  # (n, k) @ (k, k) or (k,) @ (k, k): the result has the target's shape
        def impl(target, value, op):
            k = target.shape[-1]
            if value.shape[0] != k or value.shape[1] != k:
                raise ValueError(_MAY_NOT_FIT)
        return impl
    skip = target.ndim - value.ndim

    def impl(target, value, op):  # every axis of the value 1 or the target's
        for i in range(value.ndim):
            n = value.shape[i]
            if n != 1 and n != target.shape[skip + i]:
                raise ValueError(_MAY_NOT_FIT)
    return impl


def unbroadcast(g, x):
    """`g` summed down to the shape of `x` (runtime.unbroadcast)."""
    raise NotImplementedError("only inside compiled code")


_STRETCHED_AXIS = FALLBACK + "an adjoint of a shape that does not broadcast to its value's"


@_overload(unbroadcast)
def _unbroadcast(g, x):
    if _is_number(x):
        if _is_number(g):
            return lambda g, x: g
        if _is_array(g):
            return lambda g, x: np.sum(g)
        _refuse("unbroadcast", g, x)
    if not _is_array(x):
        _refuse("unbroadcast", g, x)
    if _is_number(g):
        return lambda g, x: np.full(x.shape, g)
    if not _is_array(g):
        _refuse("unbroadcast", g, x)
    if g.ndim > x.ndim:
        return lambda g, x: unbroadcast(np.sum(g, axis=0), x)
    if g.ndim < x.ndim:
        _refuse("unbroadcast", g, x)
    def impl(g, x):
        if g.shape == x.shape:
            return g
        return _sum_stretched(g, x.shape)
    return impl


@numba.njit
def _sum_stretched(g, shape):
    """`g` summed over the axes where `shape` (of as many axes) has length 1 and g does not, kept as axes of length
    1 (np.sum(g, axis=..., keepdims=True)): each entry of g added into the one entry of the result it broadcast
    from, in g's order."""
    nd = g.ndim
    size, stride = 1, np.zeros(nd, np.int64)
    for d in range(nd - 1, -1, -1):
        if shape[d] != g.shape[d] and shape[d] != 1:
            raise ValueError(_STRETCHED_AXIS)  # (shapes that do not broadcast: the NumPy code's error)
        stride[d] = size if shape[d] != 1 else 0
        size *= shape[d]
    flat = np.ascontiguousarray(g).ravel()
    out = np.zeros(size, g.dtype)
    for i in range(flat.size):
        rest, at = i, 0
        for d in range(nd - 1, -1, -1):
            at += (rest % g.shape[d]) * stride[d]
            rest //= g.shape[d]
        out[at] += flat[i]
    return out.reshape(shape)


def add(a, b):
    """The sum of two adjoints (runtime.add) for numbers and arrays."""
    raise NotImplementedError("only inside compiled code")


@_overload(add)
def _add(a, b):
    if (_is_number(a) or _is_array(a)) and (_is_number(b) or _is_array(b)):
        return lambda a, b: a + b
    _refuse("add", a, b)


def getitem_grad(g, x, index):
    """Adjoint of `x[index]` for an integer or a tuple of integers (runtime.getitem_grad)."""
    raise NotImplementedError("only inside compiled code")


@_overload(getitem_grad)
def _getitem_grad(g, x, index):
    simple = isinstance(index, types.Integer) or (isinstance(index, types.BaseTuple)
                                                   and all(isinstance(t, types.Integer) for t in index))
    if _is_array(x) and not simple and (_is_number(g) or _is_array(g)):
        # NumPy's zeros of result_type(x, g, 1.0): float32 only where x is and g is a float32 array or a number
        # (a Python number's weak type; a float64 array makes them float64)
        single = x.dtype == types.float32 and (_is_number(g) or _plain(g).dtype == types.float32)
        dtype = types.float32 if single else types.float64
        basic = _basic_index(index, _plain(x).ndim)
        if basic is not None:  # ints, slices and None: each item selected once, so assignment is the sum
            def placed(g, x, index):
                out = np.zeros(x.shape, dtype)
                basic(out, index, g, False)
                return out
            return placed
        if _int_vector(index) or (isinstance(index, types.UniTuple) and index.count == 2
                                  and _int_vector(index.dtype) and _plain(x).ndim == 2):
            def scattered(g, x, index):  # integer arrays may repeat an index: np.add.at's sums
                out = np.zeros(x.shape, dtype)
                add_at(out, index, g)
                return out
            return scattered
    if not (_is_array(x) and simple and (_is_number(g) or _is_array(g))):
        _refuse("getitem_grad", g, x, index)
    dtype = x.dtype if isinstance(x.dtype, types.Float) else types.float64
    if isinstance(index, types.Integer):
        def one(g, x, index):
            out = np.zeros(x.shape, dtype)
            out[_checked(index, x.shape[0])] = g  # (this code has no bounds checks of numba's: the index's own)
            return out
        return one
    if not (isinstance(index, types.UniTuple) and index.count <= _plain(x).ndim):
        _refuse("getitem_grad", g, x, index)

    def impl(g, x, index):
        for j in range(len(index)):  # IndexError as NumPy's, where the read it stands for may be gone
            _checked(index[j], x.shape[j])
        out = np.zeros(x.shape, dtype)
        out[index] = g  # an integer index selects each element once: assignment is the sum
        return out
    return impl


def expand_reduced(g, x, axis, keepdims):
    """The adjoint of a reduction spread back over `x` (runtime.expand_reduced): a number over all of `x`, an
    array over the axis (None or a literal int) it was reduced over."""
    raise NotImplementedError("only inside compiled code")


_REDUCTION_ADJOINT_SHAPE = FALLBACK + "the adjoint of a reduction of another shape than the reduction's"


@_overload(expand_reduced, prefer_literal=True)
def _expand_reduced(g, x, axis, keepdims):
    if _is_number(g):  # (a number broadcasts over x as it is, whatever the axis)
        if _is_number(x) and isinstance(axis, types.NoneType | types.Omitted):
            return lambda g, x, axis, keepdims: g
        if _is_array(x):
            return lambda g, x, axis, keepdims: np.full(x.shape, g)
    if _is_array(g) and _is_array(x) and _constant_axis(axis, _plain(x).ndim) is not False:
        blocks, dtype = _blocks(_plain(x).ndim, _constant_axis(axis, _plain(x).ndim)), _plain(g).dtype
        like = _reduced_like(_plain(x).ndim, _constant_axis(axis, _plain(x).ndim), _plain(g).ndim)

        def impl(g, x, axis, keepdims):  # g holds one value per (pre, post) pair, kept dims or not
            if not like(g.shape, x.shape):
                raise ValueError(_REDUCTION_ADJOINT_SHAPE)
            pre, n, post = blocks(x.shape)
            flat = np.ascontiguousarray(g).reshape((pre, post))
            out = np.empty((pre, n, post), dtype)
            for i in range(pre):
                for j in range(n):
                    for k in range(post):
                        out[i, j, k] = flat[i, k]
            return out.reshape(x.shape)
        return impl
    _refuse("expand_reduced", g, x, axis, keepdims)


def reduced_size(x, axis):
    """The number of entries a reduction of `x` over `axis` combines (runtime.reduced_size): `x.size` for axis None,
    the axis's length for a literal int; 1 for a number."""
    raise NotImplementedError("only inside compiled code")


@_overload(reduced_size, prefer_literal=True)
def _reduced_size(x, axis):
    if _is_number(x) and isinstance(axis, types.NoneType | types.Omitted):
        return lambda x, axis: 1
    if _is_array(x):
        ax = _constant_axis(axis, _plain(x).ndim)
        if ax is None:
            return lambda x, axis: x.size
        if ax is not False:
            return lambda x, axis: x.shape[ax]
    _refuse("reduced_size", x, axis)


def grad_extreme(g, ans, x, axis, keepdims):
    """Adjoint of a max or min over an axis (runtime.grad_extreme): g split evenly between the tied extremes,
    `g * (x == ans) / count` item by item, so NaN where NumPy's gives NaN."""
    raise NotImplementedError("only inside compiled code")


_EXTREME_ADJOINT_SHAPE = FALLBACK + "the adjoint of a max or min of another shape than the max's or min's"


@_overload(grad_extreme, prefer_literal=True)
def _grad_extreme(g, ans, x, axis, keepdims):
    if _is_number(x) and _is_number(g) and _is_number(ans) and isinstance(axis, types.NoneType | types.Omitted):
        def number(g, ans, x, axis, keepdims):  # the max of a number is the number (NaN: NumPy's g * 0 / 0)
            return g if x == ans else np.nan
        return number
    if not (_is_array(x) and isinstance(_plain(x).dtype, types.Float) and (_is_array(g) or _is_number(g))
            and (_is_array(ans) or _is_number(ans)) and _constant_axis(axis, _plain(x).ndim) is not False):
        _refuse("grad_extreme", g, ans, x, axis, keepdims)
    blocks = _blocks(_plain(x).ndim, _constant_axis(axis, _plain(x).ndim))
    like_g = _reduced_like(_plain(x).ndim, _constant_axis(axis, _plain(x).ndim), _plain(g).ndim if _is_array(g) else 0)
    like_ans = _reduced_like(_plain(x).ndim, _constant_axis(axis, _plain(x).ndim),
                             _plain(ans).ndim if _is_array(ans) else 0)
    dtype = _float_of(g, x)
    one = dtype(1.0)

    def impl(g, ans, x, axis, keepdims):
        if not (like_g(np.shape(g), x.shape) and like_ans(np.shape(ans), x.shape)):
            raise ValueError(_EXTREME_ADJOINT_SHAPE)
        pre, n, post = blocks(x.shape)
        gs = np.ascontiguousarray(np.asarray(g)).reshape((pre, post))
        top = np.ascontiguousarray(np.asarray(ans)).reshape((pre, post))
        xs = np.ascontiguousarray(x).reshape((pre, n, post))
        out = np.empty((pre, n, post), dtype)
        for i in range(pre):
            for k in range(post):
                count = dtype(0.0)
                for j in range(n):
                    if xs[i, j, k] == top[i, k]:
                        count += one
                for j in range(n):  # (numba's `/` raises on zero where NumPy's 0 / 0 gives NaN)
                    hit = one if xs[i, j, k] == top[i, k] else dtype(0.0)
                    out[i, j, k] = gs[i, k] * hit / count if count else np.nan
        return out.reshape(x.shape)
    return impl


def grad_matmul_a(g, a, b):
    """Adjoint of `a @ b` for `a` (runtime.grad_matmul_a), for vectors and matrices."""
    raise NotImplementedError("only inside compiled code")


@_overload(grad_matmul_a)
def _grad_matmul_a(g, a, b):
    if not (_is_array(a) and _is_array(b)):
        _refuse("grad_matmul_a", g, a, b)
    if a.ndim == 2 and b.ndim == 2 and _is_array(g) and g.ndim == 2:
        return lambda g, a, b: g @ np.ascontiguousarray(b.T)
    if a.ndim == 2 and b.ndim == 1 and _is_array(g) and g.ndim == 1:
        return lambda g, a, b: np.outer(g, b)
    if a.ndim == 1 and b.ndim == 2 and _is_array(g) and g.ndim == 1:
        return lambda g, a, b: np.ascontiguousarray(b) @ np.ascontiguousarray(g)
    if a.ndim == 1 and b.ndim == 1 and _is_number(g):
        return lambda g, a, b: g * b
    _refuse("grad_matmul_a", g, a, b)


def grad_matmul_b(g, a, b):
    """Adjoint of `a @ b` for `b` (runtime.grad_matmul_b), for vectors and matrices."""
    raise NotImplementedError("only inside compiled code")


@_overload(grad_matmul_b)
def _grad_matmul_b(g, a, b):
    if not (_is_array(a) and _is_array(b)):
        _refuse("grad_matmul_b", g, a, b)
    if a.ndim == 2 and b.ndim == 2 and _is_array(g) and g.ndim == 2:
        return lambda g, a, b: np.ascontiguousarray(a.T) @ g
    if a.ndim == 2 and b.ndim == 1 and _is_array(g) and g.ndim == 1:
        return lambda g, a, b: np.ascontiguousarray(a.T) @ np.ascontiguousarray(g)
    if a.ndim == 1 and b.ndim == 2 and _is_array(g) and g.ndim == 1:
        return lambda g, a, b: np.outer(a, g)
    if a.ndim == 1 and b.ndim == 1 and _is_number(g):
        return lambda g, a, b: g * a
    _refuse("grad_matmul_b", g, a, b)


def balanced_eq(x, ans, other):
    """Mask for max/min adjoints: 1 where `x` won, 0.5 where it tied with `other` (runtime.balanced_eq)."""
    raise NotImplementedError("only inside compiled code")


@_overload(balanced_eq)
def _balanced_eq(x, ans, other):
    if all(_is_number(t) or _is_array(t) for t in (x, ans, other)):
        if _dtype_of(x) == types.float32:  # (NumPy's mask is in x's precision: float32 for float32 x)
            def impl32(x, ans, other):
                one, zero = np.float32(1.0), np.float32(0.0)
                return np.where(x == ans, one, zero) / (one + np.where(x == other, one, zero))
            return impl32

        def impl(x, ans, other):
            return np.where(x == ans, 1.0, 0.0) / (1.0 + np.where(x == other, 1.0, 0.0))
        return impl
    _refuse("balanced_eq", x, ans, other)


def float_mask(mask, like):
    """The bool array `mask` as 0s and 1s in `like`'s precision, as balanced_eq's weights are: float32 for a
    float32 `like`, else float64 (numba_lowering._float_masks writes the calls)."""
    raise NotImplementedError("only inside compiled code")


@_overload(float_mask)
def _float_mask(mask, like):
    if not ((_is_array(mask) or _is_number(mask)) and (_is_number(like) or _is_array(like))):
        _refuse("float_mask", mask, like)
    single = _dtype_of(like) == types.float32
    if _is_number(mask):
        return (lambda mask, like: np.float32(mask)) if single else (lambda mask, like: np.float64(mask))
    return (lambda mask, like: mask.astype(np.float32)) if single else (lambda mask, like: mask.astype(np.float64))


def zero_like(value):
    """Zeros of `value`'s kind: 0.0 for a number, an array of zeros of its shape and dtype for an array. The guard
    `0.0 if s2s.is_zero(g) else E` of an adjoint E that may be an array gives this of E in compiled code
    (numba_lowering._zero_guards), where the branches need one type."""
    raise NotImplementedError("only inside compiled code")


@_overload(zero_like)
def _zero_like(value):
    if _is_array(value):
        return lambda value: np.zeros_like(value)
    if _is_number(value):
        return lambda value: 0.0
    _refuse("zero_like", value)


def grad_norm(g, ans, x, ord, axis, keepdims):
    """Adjoint of the 2-norm of a whole array (runtime.grad_norm with ord and axis None)."""
    raise NotImplementedError("only inside compiled code")


@_overload(grad_norm)
def _grad_norm(g, ans, x, ord, axis, keepdims):
    plain = isinstance(ord, types.NoneType | types.Omitted) and isinstance(axis, types.NoneType | types.Omitted)
    if plain and _is_array(x) and _is_number(g) and _is_number(ans):
        def impl(g, ans, x, ord, axis, keepdims):
            return g * x / (ans if ans != 0 else 1.0)
        return impl
    _refuse("grad_norm", g, ans, x, ord, axis, keepdims)


def grad_add_seq(g, x, y, which):
    """Adjoint of `x + y` (runtime.grad_add_seq) where both are numbers or arrays: arithmetic, not concatenation."""
    raise NotImplementedError("only inside compiled code")


def _literal_which(which):
    """The constant `which` (0 or 1, or a bool) of a call, or None: the two adjoints may have two types (a number's
    and an array's), which one compiled function cannot return."""
    if isinstance(which, types.IntegerLiteral | types.BooleanLiteral):
        return bool(which.literal_value)
    return None


@_overload(grad_add_seq, prefer_literal=True)
def _grad_add_seq(g, x, y, which):
    if not all(_is_number(t) or _is_array(t) for t in (g, x, y)):
        _refuse("grad_add_seq", g, x, y, which)  # a list or tuple: concatenation, not compiled
    if _literal_which(which) is True:
        return lambda g, x, y, which: unbroadcast(g, y)
    if _literal_which(which) is False:
        return lambda g, x, y, which: unbroadcast(g, x)

    def impl(g, x, y, which):
        if which:
            return unbroadcast(g, y)
        return unbroadcast(g, x)
    return impl


def grad_mult_seq(g, x, y, which):
    """Adjoint of `x * y` (runtime.grad_mult_seq) where both are numbers or arrays: arithmetic, not repetition."""
    raise NotImplementedError("only inside compiled code")


@_overload(grad_mult_seq, prefer_literal=True)
def _grad_mult_seq(g, x, y, which):
    if not all(_is_number(t) or _is_array(t) for t in (g, x, y)):
        _refuse("grad_mult_seq", g, x, y, which)  # a list or tuple times an integer: repetition, not compiled
    if _literal_which(which) is True:
        return lambda g, x, y, which: unbroadcast(g * x, y)
    if _literal_which(which) is False:
        return lambda g, x, y, which: unbroadcast(g * y, x)

    def impl(g, x, y, which):
        if which:
            return unbroadcast(g * x, y)
        return unbroadcast(g * y, x)
    return impl


def transpose_attr(x):
    """`x.T` of an array or a number (runtime.transpose_attr; objects are not compiled)."""
    raise NotImplementedError("only inside compiled code")


@_overload(transpose_attr)
def _transpose_attr(x):
    if _is_array(x):
        return lambda x: x.T
    if _is_number(x):
        return lambda x: x
    _refuse("transpose_attr", x)


def transpose_attr_grad(g, x):
    """Adjoint of `transpose_attr(x)` for an array or a number (runtime.transpose_attr_grad)."""
    raise NotImplementedError("only inside compiled code")


@_overload(transpose_attr_grad)
def _transpose_attr_grad(g, x):
    if _is_array(g) and _is_array(x):
        return lambda g, x: g.T
    if _is_number(g) and (_is_array(x) or _is_number(x)):
        return lambda g, x: g  # a number standing for an array of it: its own transpose
    _refuse("transpose_attr_grad", g, x)


# -------------------------------------------------------------------------------------------- reductions

REDUCTIONS = ("sum", "prod", "mean", "max", "min")  # what reduce_axis computes


def reduce_axis(x, op, axis, keepdims):
    """`np.<op>(x, axis=axis, keepdims=keepdims)` for an `op` of REDUCTIONS: numba's reductions take no
    `keepdims` (and its max, min and mean no `axis`). `op`, `axis` (an int or None) and `keepdims` must be
    constants in the code: the result's rank depends on them. numba_lowering.reductions writes the calls.

    max and min give NaN where a NaN is among the values, as NumPy's do; a max or min over an empty axis
    falls back to the NumPy code, which raises NumPy's error."""
    return getattr(np, op)(x, axis=axis, keepdims=keepdims)


@functools.cache
def _blocks(nd, ax):
    """A compiled `shape -> (pre, n, post)`: the sizes before axis `ax` of an array of rank `nd`, along it and
    after it (ax None: all of it along), so that the array is a (pre, n, post) block and a reduction over
    the axis a (pre, post) one."""
    @numba.njit
    def blocks(shape):
        pre, n, post = 1, 1, 1
        for i in range(nd):
            if ax is None or i == ax:
                n *= shape[i]
            elif i < ax:
                pre *= shape[i]
            else:
                post *= shape[i]
        return pre, n, post
    return blocks


@functools.cache
def _reduced_like(nd, ax, gnd):
    """A compiled `(g's shape, x's shape) -> bool`: whether an array of rank `gnd` has the shape of a reduction
    of an array of rank `nd` over axis `ax` (None: all of it), its dims kept or not. Else the helpers' reshape
    would take any array of as many items (another order of them, where NumPy broadcasts or raises)."""
    whole = ax is None
    kept = gnd == nd
    dropped = gnd == (0 if whole else nd - 1)

    @numba.njit
    def like(gshape, xshape):
        if not (kept or dropped):
            return False
        j = 0
        for i in range(nd):
            reduced = whole or i == ax
            if kept:
                if gshape[i] != (1 if reduced else xshape[i]):
                    return False
            elif not reduced:
                if gshape[j] != xshape[i]:
                    return False
                j += 1
        return True
    return like


def _constant_axis(axis, nd):
    """The axis a literal int or None stands for in an array of rank `nd` (None: all), or False."""
    if isinstance(axis, types.NoneType | types.Omitted):
        return None
    if isinstance(axis, types.IntegerLiteral) and -nd <= axis.literal_value < nd:
        return axis.literal_value % nd
    return False


def _float_of(*ts):
    """The float type NumPy's arithmetic of these (numbers and arrays) gives: float32 only where all are."""
    dtypes = [(_plain(t).dtype if _is_array(t) else _plain(t)) for t in ts]
    return types.float32 if all(d == types.float32 for d in dtypes) else types.float64


_WHOLE = {"sum": lambda x, op, axis, keepdims: np.sum(x), "prod": lambda x, op, axis, keepdims: np.prod(x),
          "mean": lambda x, op, axis, keepdims: np.mean(x), "max": lambda x, op, axis, keepdims: np.max(x),
          "min": lambda x, op, axis, keepdims: np.min(x)}


_EXTREME_OF_EMPTY_AXIS = FALLBACK + "a max or min over an empty axis"


@_overload(reduce_axis, prefer_literal=True)
def _reduce_axis(x, op, axis, keepdims):
    if not (isinstance(op, types.StringLiteral) and op.literal_value in REDUCTIONS
            and isinstance(keepdims, types.BooleanLiteral)
            and isinstance(axis, types.IntegerLiteral | types.NoneType | types.Omitted)):
        _refuse("reduce_axis", x, op, axis, keepdims)
    if _is_number(x) and not isinstance(_plain(x), types.Boolean) and not isinstance(axis, types.IntegerLiteral) \
            and not keepdims.literal_value:
        # np.sum(3.0) is 3.0, as are its max, min and prod (an int's are the int); np.mean(3) is 3.0
        if op.literal_value == "mean":
            return lambda x, op, axis, keepdims: np.float64(x)
        return lambda x, op, axis, keepdims: x
    if not _is_array(x):
        _refuse("reduce_axis", x, op, axis, keepdims)
    if not isinstance(axis, types.IntegerLiteral) and not keepdims.literal_value:  # numba's own, any dtype
        return _WHOLE[op.literal_value]
    x = _plain(x)
    if not isinstance(x.dtype, types.Float):
        _refuse("reduce_axis", x, op, axis, keepdims)  # an int array's sum and mean have other dtypes
    name, keep, nd = op.literal_value, keepdims.literal_value, x.ndim
    ax = _constant_axis(axis, nd)
    if ax is False:
        _refuse("reduce_axis", x, op, axis, keepdims)  # NumPy's AxisError, from the NumPy code
    whole = ax is None
    out_nd = nd if keep else 0 if whole else nd - 1
    extreme = name in ("max", "min")

    @numba.njit
    def fold(a, pre, n, post):
        out = np.empty((pre, post), a.dtype)
        if extreme and n == 0 and pre * post:
            raise ValueError(_EXTREME_OF_EMPTY_AXIS)
        for i in range(pre):
            for k in range(post):
                acc = a[i, 0, k] if extreme else a.dtype.type(1 if name == "prod" else 0)
                for j in range(1 if extreme else 0, n):
                    v = a[i, j, k]
                    if name == "max":
                        if v > acc or v != v:
                            acc = v
                    elif name == "min":
                        if v < acc or v != v:
                            acc = v
                    elif name == "prod":
                        acc *= v
                    else:
                        acc += v
                if name == "mean":  # (numba's `/` raises on zero where NumPy's gives NaN)
                    acc = acc / n if n else np.nan
                out[i, k] = acc
        return out

    blocks = _blocks(nd, ax)

    @numba.njit
    def reduced(x):  # the results as a (before the axis, after it) matrix
        pre, n, post = blocks(x.shape)
        return fold(np.ascontiguousarray(x).reshape((pre, n, post)), pre, n, post)

    if out_nd == 0:
        return lambda x, op, axis, keepdims: reduced(x)[0, 0]

    def impl(x, op, axis, keepdims):
        shape = x.shape
        dims = np.empty(out_nd, np.int64)
        j = 0
        for i in range(nd):
            if keep:
                dims[j] = 1 if whole or i == ax else shape[i]
                j += 1
            elif not whole and i != ax:
                dims[j] = shape[i]
                j += 1
        return reduced(x).reshape(to_fixed_tuple(dims, out_nd))
    return impl


def norm(x):
    """`np.linalg.norm(x)` of a number (its absolute value) or an array of any rank (the 2-norm of its items):
    numba's takes vectors and matrices only."""
    return np.linalg.norm(x)


@_overload(norm)
def _norm(x):
    if _is_number(x):
        return lambda x: np.float64(abs(x))
    if _is_array(x) and isinstance(_plain(x).dtype, types.Float):
        if _plain(x).ndim <= 2:
            return lambda x: np.linalg.norm(x)
        return lambda x: np.linalg.norm(np.ascontiguousarray(x).ravel())
    _refuse("norm", x)


def reshape(x, shape, copy_ok):
    """`np.reshape(x, shape)`, the items read in C order whatever `x`'s layout: numba reshapes an F-contiguous
    array in Fortran order (other numbers) and refuses other non-contiguous ones, so those are copied to C
    order first where `copy_ok` (a constant: nothing writes into the result, so a copy where NumPy may give
    a view is the same), and refused otherwise. numba_lowering.reshapes writes the calls."""
    return np.reshape(x, shape)


_NUMBER_RESHAPED = FALLBACK + "a number reshaped to more than one item"


@_overload(reshape, prefer_literal=True)
def _reshape(x, shape, copy_ok):
    if _is_number(x) and isinstance(_plain(x), types.Float):  # np.reshape(2.0, (1, 1)): a one-item array
        dtype = _plain(x)

        def number(x, shape, copy_ok):
            out = np.full(shape, x, dtype)
            if out.size != 1:
                raise ValueError(_NUMBER_RESHAPED)
            return out
        return number
    if _is_array(x) and _plain(x).layout != "C":
        if not (isinstance(copy_ok, types.BooleanLiteral) and copy_ok.literal_value):
            _refuse("reshape (of an array not in C order, whose result is written into)", x, shape, copy_ok)
        return lambda x, shape, copy_ok: np.reshape(np.ascontiguousarray(x), shape)
    return lambda x, shape, copy_ok: np.reshape(x, shape)


def add_at(a, index, v):
    """`np.add.at(a, index, v)` (numba has no ufunc methods) for an int index, a 1-d int array of indices (of
    items or rows of `a`), or a pair of them into a matrix: each index adds its value, repeated ones too. `v`
    is a number, one value per index, or (for rows) one row for every index; another broadcast raises the
    marked fallback. An index out of bounds raises IndexError (the code is compiled with bounds checks).
    numba_lowering.add_at writes the calls."""
    np.add.at(a, index, v)


def _int_vector(t):
    t = _plain(t)
    return isinstance(t, types.Array) and t.ndim == 1 and isinstance(t.dtype, types.Integer)


@functools.cache
def _basic_index_code(kinds, nd, whole=False):
    """A compiled `(out, index, v, add)` for an index tuple of the kinds `kinds` ("int", "slice", "none", in
    order) into an array of rank `nd`: `out[index] = v` (`+= v` where `add`), each int checked against its
    axis (IndexError as NumPy's), `v` a number or an array of exactly the shape of `out[index]`, else the
    marked fallback (NumPy would broadcast it, or raise). Basic indexing selects each item at most once, so
    the assignment (the addition) is np.add.at's sum."""
    lines, items, axis = [], [], 0
    for k, kind in enumerate(kinds):
        if kind == "int":  # (an int popped from a list tape is an Optional: a None raises)
            lines.append(f"    i{k} = _checked(_some(index[{k}]), out.shape[{axis}])")
        items.append(f"i{k}" if kind == "int" else "None" if kind == "none" else "index" if whole else f"index[{k}]")
        if kind != "none":
            axis += 1
    if axis > nd:
        return None  # too many indices: NumPy's IndexError, from the NumPy code
    body = "\n".join(lines) or "    pass"
    source = (f"def basic(out, index, v, add):\n{body}\n"
              f"    view = out[({', '.join(items)},)]\n"
              "    if add:\n"
              "        _fill_or_add(view, v, True)\n"
              "    else:\n"
              "        _fill_or_add(view, v, False)\n")
    namespace = {"_checked": _checked, "_fill_or_add": _fill_or_add, "_some": _some}
    exec(source, namespace)  # noqa: S102 - written from the index's kinds
    return numba.njit(namespace["basic"])


def _basic_index(index, nd):
    """The compiled `_basic_index_code` for an index type of ints, slices and None (a tuple of them or one
    slice), or None for any other index."""
    items = tuple(index) if isinstance(index, types.BaseTuple) else (index,)
    kinds = []
    for t in items:
        t = _plain(t)
        if isinstance(t, types.Integer):
            kinds.append("int")
        elif isinstance(t, types.SliceType):
            kinds.append("slice")
        elif isinstance(t, types.NoneType):
            kinds.append("none")
        else:
            return None
    if not isinstance(index, types.BaseTuple):
        return _basic_index_code(("slice",), nd, True) if kinds == ["slice"] else None
    return _basic_index_code(tuple(kinds), nd)


def _fill_or_add(view, v, add):
    raise NotImplementedError("only inside compiled code")


_INDEXED_ADJOINT_SHAPE = FALLBACK + "an indexed adjoint of another shape than the indexed items"


@overload(_fill_or_add)
def _fill_or_add_impl(view, v, add):
    if isinstance(view, types.Array) and _is_number(v):
        def number(view, v, add):
            if add:
                view += v
            else:
                view[...] = v
        return number
    if isinstance(view, types.Array) and _is_array(v) and _plain(v).ndim == view.ndim:
        def array(view, v, add):  # (numba's in-place `+=` and `[...] =` of arrays check no shapes)
            if v.shape != view.shape:
                raise ValueError(_INDEXED_ADJOINT_SHAPE)
            if add:
                view += v
            else:
                view[...] = v
        return array
    if isinstance(view, types.Number):  # every index an int: one item
        return None
    _refuse("getitem_grad", view, v)


_ADD_AT_BROADCAST = FALLBACK + "np.add.at with values broadcast another way"
_ADD_AT_INDICES_BROADCAST = FALLBACK + "np.add.at with indices or values broadcast"


@_overload(add_at)
def _add_at(a, index, v):
    if not (_is_array(a) and isinstance(_plain(a).dtype, types.Float) and (_is_number(v) or _is_array(v))):
        _refuse("add_at", a, index, v)
    if not isinstance(_plain(index), types.Integer) and not _int_vector(index):
        basic = _basic_index(index, _plain(a).ndim)
        if basic is not None:
            return lambda a, index, v: basic(a, index, v, True)
    nd, number = _plain(a).ndim, _is_number(v)
    # numba's in-place `a[i] += v` of arrays checks no shapes (bounds checks or not): a row of another length
    # reads past v's end or leaves items out, where NumPy raises. Each shape is checked here first.
    if isinstance(_plain(index), types.Integer):
        if number:
            def one_number(a, index, v):  # a single index: no repeats, `a[i] += v` is the same
                a[_checked(index, a.shape[0])] += v
            return one_number

        def one(a, index, v):
            if v.shape != a.shape[1:]:
                raise ValueError(_ADD_AT_BROADCAST)
            a[_checked(index, a.shape[0])] += v
        return one
    if _int_vector(index):
        if number:
            def items(a, index, v):
                for k in range(index.shape[0]):
                    a[_checked(index[k], a.shape[0])] += v
            return items
        vd = _plain(v).ndim

        def each(a, index, v):
            if vd == nd and v.shape[0] == index.shape[0] and v.shape[1:] == a.shape[1:]:  # a value (row) per index
                for k in range(index.shape[0]):
                    a[_checked(index[k], a.shape[0])] += v[k]
            elif vd == nd - 1 and nd > 1 and v.shape == a.shape[1:]:  # one row for every index
                for k in range(index.shape[0]):
                    a[_checked(index[k], a.shape[0])] += v
            else:
                raise ValueError(_ADD_AT_BROADCAST)
        return each
    t = _plain(index)
    if isinstance(t, types.UniTuple) and t.count == 2 and _int_vector(t.dtype) and nd == 2 \
            and (number or _plain(v).ndim == 1):
        def pairs(a, index, v):
            rows, cols = index
            if rows.shape[0] != cols.shape[0] or (not number and v.shape[0] != rows.shape[0]):
                raise ValueError(_ADD_AT_INDICES_BROADCAST)
            for k in range(rows.shape[0]):
                a[_checked(rows[k], a.shape[0]), _checked(cols[k], a.shape[1])] += v if number else v[k]
        return pairs
    _refuse("add_at", a, index, v)


def added_at(a, indices, b):
    """`np.add.at` on a copy of the array `a` (runtime.added_at: `np.add.at(a, i, b)` of your code), as add_at
    takes its indices and values."""
    raise NotImplementedError("only inside compiled code")


def subtracted_at(a, indices, b):
    """`np.subtract.at` on a copy of the array `a` (runtime.subtracted_at): add_at of `-b`."""
    raise NotImplementedError("only inside compiled code")


def _on_a_copy(name: str, sign: float):
    """The overload of added_at (`sign` 1) or subtracted_at (-1): add_at of `sign * b` into a copy of `a`."""
    def typer(a, indices, b):
        if not (_is_array(a) and (_is_number(b) or _is_array(b))):
            _refuse(name, a, indices, b)

        def impl(a, indices, b):
            out = a.copy()
            add_at(out, indices, b if sign > 0 else -b)
            return out
        return impl
    return typer


_overload(added_at)(_on_a_copy("added_at", 1.0))
_overload(subtracted_at)(_on_a_copy("subtracted_at", -1.0))


def is_zero(g):
    """Whether `g` is the zero adjoint 0.0 (runtime.is_zero): of a number, whether it is 0.0; of an array, whether
    all its entries are 0 (compiled code starts an adjoint that is 0.0 before a loop as an array of zeros)."""
    raise NotImplementedError("only inside compiled code")


@overload(is_zero)
def _is_zero(g):
    if _is_number(g):
        return lambda g: g == 0.0
    if _is_array(g):  # (an adjoint started as zeros where the NumPy code has the number 0.0: zeros count as it)
        return lambda g: not g.any()
    _refuse("is_zero", g)


# every helper compiled code may call, by the name generated code uses (`s2s.<name>`)
HELPERS = {f.__name__: f for f in (accumulate, finish, seed_of, cast_back, inplace_check, unbroadcast, add, getitem_grad,
                                    expand_reduced, grad_matmul_a, grad_matmul_b, balanced_eq, grad_norm, grad_add_seq, grad_mult_seq,
                                    transpose_attr, transpose_attr_grad, reduce_axis, norm, grad_extreme, is_zero,
                                    reduced_size, power_slope, added_at, subtracted_at, numbers_or_arrays)}

__all__ = ["FALLBACK", "FALLBACK_CALL", "HELPERS", "counter_check", "checked_int", "int_op", "float_pow",
           "math_result", "tape_set", "tape_grow", "tape_stack",
           "accumulate_matmul", "accumulate_outer", "reshape", "add_at", *HELPERS]

# more of them, in a module of their own (s2s/runtime/compiled_adjoints.py): it reads this one's tools, and adds its
# helpers to HELPERS, this module's names and __all__ once it is made, whichever of the two is imported first
from s2s.runtime import compiled_adjoints  # noqa: E402, F401

_ = numba  # the extra this module needs, imported by name so that a missing numba fails here
