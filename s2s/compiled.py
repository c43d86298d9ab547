"""Compiled derivatives: the generated gradient code rewritten for numba and compiled with `numba.njit`.

`s2s.grad(f, compile=True)` (api.grad plumbs it here) returns a function that, for each kind of
arguments (shapes and dtypes, as s2s's own specialisation keys them), takes the code `s2s.grad(f)`
would run, rewrites it with `s2s.transforms.numba_lowering` (one typed tape per variable, runtime
helpers from `s2s.runtime.compiled_helpers`, loops kept), compiles it, and runs the machine code.
The NumPy code stays the reference: before every call the variant is checked fresh (the user's
function, every helper it uses, every rule: `cache.Bound.fresh`'s tests, written inline in the
variant's own call function, s2s/compiled_call.py), and made again when it is not.

Where the compiled path cannot go -- a construct numba has no type for, a runtime helper without a
compiled version, a call to a user function s2s did not inline -- `compile=True` warns once
(`CompiledFallbackWarning`, naming the user's line and the reason) and runs the NumPy code;
`compile="strict"` raises `NotCompilableError` instead. Never a different number.

Example::

    def f(x):
        total = x
        for k in range(1, 25):
            total = total + np.sin(total) * x
        return total

    df = s2s.grad(f, compile=True)
    df(0.3)                                # compiles once for a float, then runs machine code
    print(s2s.compiled.source(f, 0.3))     # the code given to numba
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import math
import re
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from s2s import api, argshapes, codegen, compiled_call, compiled_tapes, pipeline
from s2s.errors import NotCompilableError
from s2s.tables import Table
from s2s.transforms import flat_params, numba_lowering
from s2s.transforms.names import bound_values
from s2s.transforms.walk import walk

_NUMBER_TYPES = (float, int, bool, np.float64, np.float32, np.int64, np.int32)
_DATA_TYPES = (float, int, bool, np.ndarray, np.floating, np.integer, np.bool_)
_BUILTINS = {"range", "len", "float", "int", "abs", "min", "max", "bool", "round", "pow", "slice",
             "UnboundLocalError"}  # (raised by the guards of reads that may find a name unbound: transforms/definite.py)


class CompiledFallbackWarning(UserWarning):
    """compile=True ran the NumPy code for a call: the message names the line numba could not take."""


class _Variant:
    """One kind of arguments: the NumPy entry (freshness, fallback) and the compiled function, or None."""

    __slots__ = ("entry", "fresh", "call", "getters", "returns_value", "plan", "zero_d", "plain", "hot", "cast",
                 "on_error", "reason", "post")

    def __init__(self, entry, call, getters, returns_value, plan):
        self.entry = entry
        self.fresh = entry.fresh
        self.call = call
        self.getters = getters
        self.returns_value = returns_value
        self.plan = plan
        self.zero_d = None  # (positions of 0-d array arguments, their gradients' (index, dtype)) or None
        self.plain = False  # compiled, one gradient, no 0-d arguments: a hot function calls it
        self.hot = {}  # its hot codes for the runner (s2s/compiled_call.py) by how many arguments a call gives,
        # each made on the first such call of this kind (False where it could not be made: the general call)
        self.on_error = None  # what its hot code calls on an error from the compiled code
        self.cast = None  # np.float32 where the one argument differentiated is a float32 scalar (numba boxes floats)
        self.reason = None  # why numba did not compile it (the CompiledFallbackWarning's text), where it did not
        # compiled but not plain (a tuple of gradients, wrt=(0,)'s 1-tuple): what its hot code does to the gradient
        # the compiled code returns (done's cast and copies, without the call's other work), or None
        self.post = None


class Plan:
    """What compiling a derivative produced: the lowered function and how its names are bound."""

    def __init__(self, source: str, bindings: dict, data: list, params: list, dispatcher=None):
        self.source = source  # the code given to numba
        self.bindings = bindings  # global name -> the object numba reads (modules, compiled helpers)
        self.data = data  # names of the user's globals / closure values passed in on each call
        self.params = params
        self.dispatcher = dispatcher
        self.array_tapes = {}  # tape -> dtype of the tapes preallocated as arrays
        self.tapes = {}  # every tape -> the variable it holds
        self.flat = None  # flat_params.Flattened where container arguments are passed by their items
        self.user_lines = (None, {})  # (the user's file, {line of `source`: the user's line}) for numba's errors
        self.returns_value = False  # whether the code returns (value, gradient), as the generic code does
        self.int_guarded = frozenset()  # int parameters the code checks at its top (guard_ints)
        self.int64_arrays = frozenset()  # parameters given int64 arrays (their items are np.int64 in NumPy's code)


_DISPATCHERS = Table("numba dispatchers", 128)  # lowered source text -> numba dispatcher (numba keys by type inside)


def grad(func: Callable, wrt=0, optimize: bool = True, *, mode: bool | str = True, need_value: bool = False) -> Callable:
    """`s2s.grad(func, wrt)` as compiled code (`s2s.grad(func, compile=mode)` calls this).

    mode True: for each kind of arguments, the compiled code where numba compiles it and it runs
    faster than the NumPy code on the first calls (straight-line code on large arrays often does
    not: NumPy's own loops are vectorised), else the NumPy code; what cannot be compiled warns
    (CompiledFallbackWarning). "always": the compiled code wherever it compiles. "strict": as
    "always", and what cannot be compiled raises NotCompilableError. `need_value` returns
    (value, gradient).

    Example::

        df = s2s.compiled.grad(f)
        df(0.7)
    """
    if mode not in (True, "always", "strict"):
        raise ValueError(f"compile must be True, 'always' or 'strict', not {mode!r}")
    strict = mode == "strict"
    _require_numba()
    from numba.core.errors import TypingError
    call_errors = compiled_call._call_errors()
    api._validate(func, wrt)
    target, prefix = api._unbind(func)
    if not hasattr(target, "__code__"):  # (a callable object: the runner below is made from the function's code)
        api._require_code(target)
    variants: dict = {}
    as_tuple = isinstance(wrt, tuple | list) and len(wrt) == 1
    ndarray, containers = np.ndarray, api._CONTAINERS

    def make(args, key, passed=None):
        api._require_code(target)
        api.argcheck.check_arguments(args, {}, target)
        names = pipeline._wrt_names(func, wrt)
        api._check_args(api._positions(target, names), args, {}, target)
        zero_d = [i for i, a in enumerate(args) if type(a) is ndarray and a.ndim == 0]
        scalar_args = tuple(a[()] if i in zero_d else a for i, a in enumerate(args))  # numba: 0-d arithmetic
        left_out = api._fixed_defaults(target, args[:passed]) if passed is not None and passed < len(args) else ()
        entry, plan, reason = _build(target, names, optimize, args, strict, scalar_args, left_out,  # gives scalars
                                     passed)
        call = getters = None
        if plan is not None:
            call, getters = plan.dispatcher, [_getter(target, n) for n in plan.data]
            if plan.flat is not None:
                call = _flat_call(call, plan.flat, len(args))
            if mode is True and not _faster(call, getters, entry.fn, args, zero_d):
                call = None
        elif reason is not None:
            warnings.warn(reason, CompiledFallbackWarning, stacklevel=3)
        if call is None and passed is not None and passed < len(args):
            # the NumPy code runs: s2s.grad's own for the arguments as given, specialised to the defaults of
            # parameters left out (the compiled code, where it runs, and its fallback take every parameter)
            entry, _ = api._entry_for(target, names, "grad", optimize, args[:passed])
        returns_value = entry.fn.__s2s_returns_value__
        if len(variants) > 4 * api.SHAPE_VARIANTS:
            variants.clear()
        variant = variants[key] = _Variant(entry, call, getters, returns_value, plan)
        variant.reason = reason
        variant.plain = call is not None and not zero_d and not as_tuple and len(names) == 1 and plan.flat is None
        if call is not None and len(names) == 1 and type(args[api._positions(target, names)[0][0]]) is np.float32:
            variant.cast = np.float32
        elif call is not None and len(names) > 1:  # (a tuple of gradients: those of np.float32 scalars made so again)
            f32 = frozenset(k for k, (p, _) in enumerate(api._positions(target, names)) if type(args[p]) is np.float32)
            if f32:
                variant.cast = functools.partial(_cast_items, f32)
        if call is not None and not zero_d and not variant.plain and plan.flat is None:
            variant.post = functools.partial(_gradient, variant.cast)
        if zero_d:
            positions = [p for p, _ in api._positions(target, names)]
            several = isinstance(wrt, tuple | list) and len(names) > 1
            variant.zero_d = (zero_d, [(k if several else None, args[p].dtype)
                                       for k, p in enumerate(positions) if p in zero_d])
        return variant

    def slow(args, kwargs, numpy_only=False):
        """The general call: the variant for these arguments' kind, made or made again when stale (`numpy_only`:
        its NumPy code for this call)."""
        code = target.__code__  # the current one: f.__code__ may have been replaced
        if code.co_kwonlyargcount or code.co_flags & 0x0C:  # keyword-only, *args, **kwargs: the NumPy code
            return numpy_runner(args, kwargs or {})
        if prefix:
            args = prefix + args
        passed = None if kwargs else len(args)  # (fewer than the parameters: the rest left out, their defaults used)
        if kwargs or len(args) != code.co_argcount:
            args = _complete(target, args, kwargs or {})  # defaults, keywords, *args, **kwargs
        kinds = kind_key(args)
        key = _key_of(args, passed, kinds)
        variant = variants.get(key)
        if variant is None or not variant.fresh():
            variant = make(args, key, passed)
        elif any(type(a) is not ndarray and type(a) not in _NUMBER_TYPES and api.argcheck.settled(a) is False
                 for a in args):
            api.argcheck.check_arguments(args, {}, target)  # (what an object, list or dict holds may have changed)
        hot_ok = fixed and passed is not None and len(args) == arity and not numpy_only
        if (variant.plain or variant.post) and hot_ok:  # next calls: straight to machine code
            if variant.hot.get(passed) is None:
                if variant.on_error is None:
                    variant.on_error = functools.partial(on_error, variant)  # kept here: the hot code holds it weakly
                variant.hot[passed] = compiled_call.make_hot(
                    variant, kinds, args, params, fixed, variant.on_error,
                    [_data_source(target, n) for n in variant.plan.data], check_value, need_value, target,
                    compiled_call.global_names(fixed), passed, variant.post) or False
            compiled_call.install(fixed, variant.hot[passed] or cold)
        elif variant.call is None and hot_ok and not variant.zero_d \
                and not any(type(a) in containers and type(k) is not tuple
                            for a, k in zip(args, (kinds,) if len(args) == 1 else kinds)):
            # the NumPy code kept: its own hot call (a container keyed by its structure, as api's hot code takes it)
            if variant.hot.get(passed) is None:
                variant.hot[passed] = compiled_call.make_hot_numpy(
                    variant.entry, kinds, args, params, fixed, functools.partial(numpy_failed, variant),
                    functools.partial(done, variant.returns_value, variant.cast),  # (not the variant: it holds the code)
                    not variant.returns_value and variant.cast is None and not as_tuple and not need_value,
                    target, compiled_call.global_names(fixed), passed) or False
            compiled_call.install(fixed, variant.hot[passed] or cold)
        call = None if numpy_only else variant.call
        if call is None:
            try:
                out = variant.entry.fn(*args)
            except (ZeroDivisionError, OverflowError) as exc:
                return numpy_failed(variant, exc, args)
        else:
            try:
                if variant.zero_d:
                    out = _call_zero_d(call, variant, args)
                else:
                    out = call(*args, *[g() for g in variant.getters]) if variant.getters else call(*args)
            except call_errors as exc:
                return on_error(variant, exc, args)
        return done(variant.returns_value, variant.cast, out)

    def done(returns_value, cast, out, args=None):
        """What the call returns, from what the variant's code returned."""
        if returns_value:
            value, g = out
            api._check_scalar(value, func)
        else:
            value, g = None, out
        g = _gradient(cast, g)
        return (value, g) if need_value else g

    def _gradient(cast, g):
        """The gradient the call gives for the one the variant's code returned."""
        if cast is not None:
            g = cast(g)
        if type(g) in api._CONTAINERS:
            g = api._unshared(g)
        if as_tuple:
            g = (g,)
        return g

    def on_error(variant, exc, args):
        """A ValueError from the compiled code: the marked fallback runs the NumPy code from now on, with a warning.
        A ZeroDivisionError: numba's `/` raises for NumPy floats too (np.float64(1.0) / 0.0 is inf), and the
        ValueError marked for one call (an int beyond the bounds the code was checked for), or an OverflowError
        (an int beyond int64, which numba cannot take as an argument), so this call runs the NumPy code, which
        gives NumPy's inf or NaN, or raises where Python's division does. An IndexError (an index out of bounds:
        the compiled code checks them) runs the NumPy code too, which raises NumPy's."""
        if isinstance(exc, TypingError):  # an argument the key does not tell apart (a big-endian array)
            warnings.warn(f"s2s.grad(compile=True) runs the NumPy code of {func.__name__} for this call: numba "
                          f"cannot type its arguments ({str(exc).strip().splitlines()[-1]})", CompiledFallbackWarning,
                          stacklevel=4)
        if isinstance(exc, ZeroDivisionError | TypingError | IndexError | OverflowError) \
                or str(exc).startswith(_FALLBACK_CALL):
            return slow(args[len(prefix):], None, numpy_only=True)
        if not str(exc).startswith(_FALLBACK):
            raise exc
        variant.call, variant.plain, variant.hot = None, False, {}
        if fixed:
            compiled_call.install(fixed, cold)
        warnings.warn(f"s2s.grad(compile=True) runs the NumPy code of {func.__name__} for these arguments: "
                      f"{exc}", CompiledFallbackWarning, stacklevel=4)  # the user's call: run, then slow or hot
        return slow(args[len(prefix):], None)

    def numpy_failed(variant, exc, args):
        """The variant's NumPy code raised `exc` on `args`: where that is Python's division by zero (or overflow)
        and the function gives a number, NumPy's infinity or NaN (api.in_numpy_numbers); else `exc`."""
        if isinstance(exc, ZeroDivisionError | OverflowError):
            out = api.in_numpy_numbers(target, pipeline._wrt_names(func, wrt), optimize, args, {})
            if out is not None:
                return done(variant.returns_value, variant.cast, out if variant.returns_value else out[1])
        raise exc

    def check_value(value):
        api._check_scalar(value, func)

    general = []  # api's runner, made on the first call that needs it

    def numpy_runner(args, kwargs):
        """A signature with keyword-only or variadic parameters: s2s.grad's NumPy code, called as given. (The
        compiled code takes one value per parameter, `_complete`'s: its NumPy fallback, its entry's
        specialisation and its variants' keys would read `*xs` as one tuple argument.)"""
        why = "compiled code takes positional parameters only, not keyword-only ones, *args or **kwargs"
        if strict:
            raise NotCompilableError(f"s2s.grad(compile='strict') cannot compile {func.__name__}: {why}",
                                     hint="call s2s.grad(f) without compile=..., or give the function positional "
                                          "parameters only")
        why = f"s2s.grad(compile=True) runs the NumPy code of {func.__name__}: {why}"
        if not general:
            warnings.warn(why, CompiledFallbackWarning, stacklevel=4)
            general.append(api._runner(func, wrt, optimize, need_value=need_value))
        return general[0](*args, **kwargs)  # (wrt=(0,)'s 1-tuple, need_value's pair: as the runner gives them)

    def run(*args, **kwargs):  # where the signature has no runner of its own: the general call every time
        return slow(args, kwargs)

    # the function the user calls, whose code is the hot code of the variant called last (s2s/compiled_call.py)
    fixed = compiled_call.make_runner(target, slow) if not prefix else None
    cold = fixed.__code__ if fixed else None  # its first code: the general call
    arity = target.__code__.co_argcount  # the runner's parameters (f.__code__ may change later)
    params = tuple(target.__code__.co_varnames[:arity])
    run = functools.wraps(func)(fixed or run)
    run.__s2s_compiled__ = (func, wrt, optimize)
    run.__s2s_variants__ = variants
    return run


def _cast_items(positions, g):
    """The tuple of gradients `g` with those at `positions` made np.float32 (numba returns float32 numbers as floats)."""
    return tuple(np.float32(x) if k in positions else x for k, x in enumerate(g))


def _key_of(args: tuple, passed: int | None, kinds=None):
    """The key of the variant for a call that gave the first `passed` of `args` (None: all of them, or keywords),
    the rest its parameters' defaults: the NumPy code of such a call is specialised to those defaults (api's).
    `kinds`: kind_key(args), where the caller has it."""
    key = kind_key(args) if kinds is None else kinds
    return key if passed is None or passed >= len(args) else (key, _LEFT_OUT, passed)


_LEFT_OUT = object()  # in a variant's key: parameters left to their defaults


def kind_key(args: tuple):
    """The key of a compiled gradient's variant for these arguments: an array by its shape and dtype, a list, tuple
    or dict by its structure (the NumPy code is specialised to it, as api._runner's), anything else by its type.

        >>> kind_key((0.7,))
        <class 'float'>
    """
    ndarray, containers, structure_key, is_record = np.ndarray, api._CONTAINERS, argshapes.structure_key, \
        argshapes.is_record

    def kind(a):  # (a namedtuple or dataclass by its fields, as api._runner keys it: its code knows their shapes)
        if type(a) is ndarray:
            return a.shape, a.dtype.char
        return structure_key(a) or type(a) if type(a) in containers or is_record(a) else type(a)

    if len(args) == 1:
        return kind(args[0])
    return tuple([kind(a) for a in args])


def source_of(df: Callable, *args: Any) -> str:
    """What `s2s.source(df, *args)` prints for `df = s2s.grad(f, compile=...)`: the code given to numba where
    `df` runs compiled code for these arguments (after calling `df(*args)`, which decides), else the NumPy code it
    runs, with a comment that says why; without arguments, the NumPy code (the reference and the fallback).

        print(s2s.source(s2s.grad(f, compile=True), 0.7))
    """
    func, wrt, optimize = df.__s2s_compiled__
    numpy_grad = api.grad(func, wrt=wrt, optimize=optimize)
    if not args:
        return ("# s2s.grad(f, compile=...): pass the arguments (s2s.source(df, *args)) to see the code given to "
                "numba for them; the NumPy code, the reference and the fallback:\n" + api.source(numpy_grad))
    df(*args)
    target, prefix = api._unbind(func)
    given = prefix + tuple(args)
    passed = len(given)
    if _defaults_left(target, given):  # (keyed as the call keys them)
        given = _complete(target, given, {})
    variant = df.__s2s_variants__.get(_key_of(given, passed))
    if variant is not None and variant.call is not None:
        return source(func, *args, wrt=wrt, optimize=optimize)
    if variant is not None and variant.plan is not None:
        why = "its compiled code ran slower than the NumPy code on the first calls"
    else:
        why = " ".join(str(getattr(variant, "reason", None) or "numba cannot compile its derivative").split())
    return f"# s2s.grad(f, compile=True) runs this NumPy code for these arguments: {why}\n" + \
        api.source(numpy_grad, *args)


def _defaults_left(target, args) -> bool:
    """Whether `args` leave some of `target`'s parameters to their defaults (a plain signature: no *args, **kwargs
    or keyword-only parameters, whose calls run the NumPy code)."""
    code = target.__code__
    return len(args) < code.co_argcount and not code.co_kwonlyargcount and not code.co_flags & 0x0C


def _flat_call(dispatcher, flat, arity):
    """The dispatcher of a plan whose container arguments are passed by their items (transforms/flat_params.py),
    called as the NumPy code is, with the containers: the gradient's container is made of the items returned."""
    from s2s.runtime import finish

    def call(*given):
        args = given[:arity]
        return flat.gradient(dispatcher(*flat.arguments(args), *given[arity:]), args, finish)
    return call


def dispatcher(df: Callable, *args: Any):
    """The numba dispatcher `df = s2s.grad(f, compile=...)` runs for these arguments (None where it runs
    the NumPy code), called with the same positional arguments. It skips s2s's per-call work, the
    freshness check included: if `f` or anything it uses changes, it goes on computing the old
    derivative. For a hot loop that accepts that; otherwise call `df`.

    Example::

        df = s2s.grad(f, compile=True)
        fast = s2s.compiled.dispatcher(df, 0.7)
        fast(0.7)                          # the same number as df(0.7)
    """
    variants = getattr(df, "__s2s_variants__", None)
    if variants is None:
        raise TypeError("dispatcher() takes a function made by s2s.grad(f, compile=...)")
    df(*args)
    variant = variants.get(kind_key(args))
    if variant is None or variant.call is None or variant.zero_d or variant.getters or variant.returns_value \
            or variant.plan.flat is not None:
        return None
    return variant.call


def source(func: Callable, *args: Any, wrt=0, optimize: bool = True) -> str:
    """The code given to numba for `s2s.grad(func, wrt, compile=True)` called with `args` (`s2s show --compile`),
    compiled for them.

    Raises NotCompilableError where the code cannot be compiled. Example::

        print(s2s.compiled.source(f, 0.7))
    """
    target, prefix = api._unbind(func)
    args = prefix + tuple(args)
    left_out = ()
    if _defaults_left(target, args):  # (as the call completes them)
        left_out = api._fixed_defaults(target, args)
        args = _complete(target, args, {})
    names = pipeline._wrt_names(func, wrt)
    plan = _compiled_plan(target, names, optimize, args, left_out)  # (as compiled: int arithmetic checked)
    head = [f"# {name} = {_describe(obj)}" for name, obj in sorted(plan.bindings.items())]
    if plan.data:
        head.append(f"# passed in on every call (read live, as the NumPy code reads them): {', '.join(plan.data)}")
    if plan.flat is not None:
        old = pipeline._param_names_of(target)
        for position, name in enumerate(old):
            items = [(key, new.arg) for (i, key), new in zip(plan.flat.items, plan.flat.fdef.args.args)
                     if i == position and key is not None]
            if items:
                head.append(f"# {name}: passed by its items " + ", ".join(
                    f"{name}{''.join(f'[{j!r}]' for j in (k if isinstance(k, flat_params.Path) else (k,)))} as {n}"
                    for k, n in items)
                            + "; the gradient's container is made of the items returned")
    return "\n".join(head + ["@numba.njit", plan.source])


# ------------------------------------------------------------------------------------------ building

def _require_numba():
    try:
        import numba  # noqa: F401
    except ImportError as exc:  # pragma: no cover - numba is in the dev extra
        raise NotCompilableError("compiled derivatives need numba, which is not installed",
                                 hint='pip install "s2s-ad[numba]"') from exc


_FALLBACK = "s2s compiled code cannot handle this case: "
_FALLBACK_CALL = "s2s compiled code cannot handle this call: "  # compiled_helpers.FALLBACK_CALL: this call alone


def _call_zero_d(call, variant, args):
    """The compiled call with 0-d array arguments passed as scalars, their gradients made 0-d arrays again."""
    positions, grads = variant.zero_d
    scalars = [a[()] if i in positions else a for i, a in enumerate(args)]
    out = call(*scalars, *[g() for g in variant.getters])
    value, g = out if variant.returns_value else (None, out)
    if grads and grads[0][0] is None:
        g = np.asarray(g, dtype=grads[0][1])
    elif grads:
        g = list(g)
        for k, dtype in grads:
            g[k] = np.asarray(g[k], dtype=dtype)
        g = tuple(g)
    return (value, g) if variant.returns_value else g


def _faster(call, getters, numpy_fn, args, zero_d) -> bool:
    """Whether the compiled code ran faster than the NumPy code (the best of three calls each; one call
    each where a call takes over 50 ms). Both compute the same numbers: this only picks the faster. A
    ZeroDivisionError from the compiled code (numba's `/` of NumPy floats), an IndexError (an index out of
    bounds) or the ValueError marked for one call measures nothing: the compiled code is kept, and the call that follows runs the NumPy code
    (grad's on_error)."""
    import time
    extra = [g() for g in getters]
    scalars = tuple(a[()] if i in zero_d else a for i, a in enumerate(args))
    best = {}
    for name, fn, a in (("compiled", call, (*scalars, *extra)), ("numpy", numpy_fn, args)):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            try:
                fn(*a)
            except (ZeroDivisionError, IndexError, ValueError) as exc:
                if name == "compiled" and (not isinstance(exc, ValueError) or str(exc).startswith(_FALLBACK_CALL)):
                    return True
                raise
            times.append(time.perf_counter() - start)
            if times[-1] > 0.05:
                break
        best[name] = min(times)
    return best["compiled"] <= best["numpy"]


def _complete(target, args, kwargs):
    """Every parameter's value for a call of `target` with `args` and `kwargs`: defaults where left out."""
    code = target.__code__
    defaults = target.__defaults__ or ()
    if not kwargs and not code.co_kwonlyargcount and not code.co_flags & 0x0C \
            and code.co_argcount - len(defaults) <= len(args) <= code.co_argcount:
        return tuple(args) + defaults[len(defaults) - (code.co_argcount - len(args)):]  # (the common call: fast)
    import inspect
    bound = inspect.signature(target).bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def _build(target, names, optimize, args, strict, scalar_args, left_out=(), passed=None):
    """(NumPy entry, Plan with a compiled dispatcher or None, the warning to give or None); the plan is made
    for `scalar_args` (`args` with 0-d arrays as scalars), specialised to the int defaults `left_out` (parameter,
    value) of parameters the call leaves out, as the NumPy code is (the variant's key tells such a call apart):
    the NumPy code they are compared with is the one made for the `passed` arguments the call gave."""
    given = args if passed is None or passed >= len(args) else args[:passed]
    entry, specialised = api._entry_for(target, names, "grad", optimize, given)
    try:
        plan = _compiled_plan(target, names, optimize, scalar_args, left_out, specialised, entry.fn.__s2s_returns_value__)
        return entry, plan, None
    except NotCompilableError as exc:
        if strict:
            raise
        return entry, None, (f"s2s.grad(compile=True) runs the NumPy code of {target.__name__}: {exc}")


def _compiled_plan(target, names, optimize, args, left_out=(), specialise=True, returns_value=None):
    """The Plan `_plan` makes for these arguments, compiled by numba for them (`_compile_for`); NotCompilableError
    where numba cannot compile it. Where numba refuses the code it is made again, with lists for tapes where an
    array tape's claimed type did not hold, and with a loop's last trip written out where one can be. The
    compiled code returns the value beside the gradient where `returns_value` (the NumPy code's) says so."""
    def attempt(peel_last):
        # (past api.SHAPE_VARIANTS shapes the NumPy code is the generic one, which returns the value beside the
        # gradient: the compiled code is made from it too, so that the two return alike)
        _, plan = _plan(target, names, optimize, args, left_out=left_out, specialise=specialise,
                        peel_last=peel_last)
        if returns_value is not None and (
                bool(plan.returns_value) != bool(returns_value)
                or plan.flat is not None and plan.flat.with_value != bool(returns_value)):
            # (the call reads the value beside the gradient where the NumPy code returns one)
            raise NotCompilableError("its compiled code returns the value beside the gradient where the NumPy "
                                     "code does not, or the other way round")
        plan.dispatcher = _dispatcher(plan)
        try:
            _compile_for(plan, target, args)
        except NotCompilableError as first:
            if not plan.array_tapes:
                raise
            _, plan = _plan(target, names, optimize, args, arrays=False, left_out=left_out,
                            specialise=specialise, peel_last=peel_last)  # a claimed tape type did not hold
            plan.dispatcher = _dispatcher(plan)
            try:
                _compile_for(plan, target, args)
            except NotCompilableError as second:
                # numba crashing inside its typing of the list tapes says less than why the array tapes failed
                raise (first if str(second).startswith("numba failed compiling") else second) from None
        return plan

    try:
        return attempt(False)
    except NotCompilableError as refused:
        # an adjoint that starts as 0.0 in the backward sweep's first trip and is an array after it (a loop state
        # the loss never reads at the end): numba gives a variable one type. With the loop's last trip written
        # out after it the adjoint starts as an array (the NumPy code keeps its 0.0 where that leaves no general
        # helper: pipeline._peeled_if_specialised).
        if not _could_peel_last(target, names, optimize, args, left_out, specialise):
            raise
        try:
            return attempt(True)
        except NotCompilableError:
            raise refused from None


def _could_peel_last(target, names, optimize, args, left_out=(), specialise=True) -> bool:
    """Whether the code `_plan` lowers for these arguments has a loop whose last trip could be written out after
    it (pipeline.derivative_code's `peel_last`), and was made without."""
    shapes = api._shaped_params(target, args) if optimize and specialise else ()
    gen = pipeline.derivative_code(target, names, "grad", optimize, api._scalar_params(target, args), shapes,
                                   left_out if shapes else (), record_params=_records(target, args))
    return bool(getattr(gen, "could_peel_last", False))


def _records(target, args) -> tuple:
    """`api._record_params` of a call of `target`: the records, and the records their fields hold, whose methods
    the code reads as their classes' (`model.layers`: a call of a layer is linked, so the NumPy code runs)."""
    return tuple((name, kind) for name, kind in api._record_params(target, args) if not (type(kind) is tuple
                                                                                      and kind[0] == "dict"))


def _plan(target, names, optimize, args, arrays=True, left_out=(), specialise=True, peel_last=False):
    """The generated code for these arguments, lowered for numba (Generated, Plan); NotCompilableError if not.
    `left_out`: (parameter, int) for parameters the call leaves to their defaults, which the code may read as
    those ints (api._fixed_defaults). `specialise`: made for the arguments' shapes (else the generic code).
    `peel_last`: the code made with a loop's last trip written out (pipeline.derivative_code)."""
    shapes = api._shaped_params(target, args) if optimize and specialise else ()
    gen = pipeline.derivative_code(target, names, "grad", optimize, api._scalar_params(target, args), shapes,
                                   left_out if shapes else (), peel_last=peel_last, record_params=_records(target, args))
    fdef = ast.parse(gen.source).body[0]
    if gen.links:
        callee = ast.unparse(gen.links[0].callee_expr)
        raise _error(gen, f"a call of the user function {callee}, whose derivative s2s links at run time", fdef)
    params = pipeline._param_names_of(target)
    runtime_name = next((n for n, cell in gen.helper_cells.items()
                         if getattr(cell.cell_contents, "__name__", "") == "s2s.runtime"), "s2s")
    flat = None
    containers = {p: a for p, a in zip(params, args) if type(a) in (dict, list, tuple)}
    if containers:  # each item a parameter of its own (transforms/flat_params.py)
        if any(argshapes.structure_key(a) is None for a in containers.values()):
            # (a variant is keyed by the container's structure: without one, by its type alone, and the code
            # made for one dict would run for another)
            raise _error(gen, "a container argument whose structure the variants are not keyed by (more than "
                              f"{argshapes.MAX_LEAVES} leaves, or items other than arrays and numbers)", fdef)
        try:
            flat = flat_params.flatten(fdef, containers, runtime_name, bool(gen.returns_value))
        except flat_params.NotFlattenable as exc:
            raise _error(gen, exc.message, exc.node or fdef) from None
        fdef, args = flat.fdef, tuple(flat.arguments(args))
        params = [a.arg for a in fdef.args.args]
    for a in args:
        if not isinstance(a, _DATA_TYPES) and a is not None:  # (None: its `is None` tests folded by the shapes)
            raise _error(gen, f"a {type(a).__name__} as an argument; it takes numbers and arrays", fdef)
        if isinstance(a, np.ndarray) and type(a) is not np.ndarray:
            raise _error(gen, f"a {type(a).__name__} as an argument (a subclass of np.ndarray, whose NumPy operations "
                              "may differ: a mask, a matrix product); it takes plain arrays", fdef)
        if flat is not None and type(a) is np.ndarray and a.ndim == 0:
            raise _error(gen, "a 0-d array in a container argument", fdef)
    nones = [p for p, a in zip(params, args) if a is None]
    if nones:
        fdef = _none_params_as_locals(fdef, nones)
        params = [a.arg for a in fdef.args.args]
    numpy_names = frozenset(_numpy_names(target, gen, fdef))
    builtin_int = getattr(target, "__globals__", {}).get("int", int) is int
    tape_types = _tape_types(fdef, args, params, numpy_names, builtin_int) if arrays else {}
    kinds = _scalar_kinds(fdef, *_float_int_params(fdef, args, params), _vector_params(args, params), builtin_int)
    scalars = frozenset(n for n, k in kinds.items() if k == "float64")
    # an adjoint that starts as 0.0 and is an array after: numba gives a variable one type
    zero_arrays = compiled_tapes.zero_arrays(fdef, dict(zip(params, args)), kinds, numpy_names)
    zero_dtype = compiled_tapes.array_dtype(dict(zip(params, args)))
    strong = _numpy_scalars(fdef, _vector_params(args, params), builtin_int)
    global_values = [_getter(target, n)() for n in _read_globals(target, fdef)]
    try:
        low = numba_lowering.lower(fdef, tape_types, runtime_name, scalars, zero_arrays, numpy_names,
                                   frozenset(_numpy_names(target, gen, fdef, np.linalg)),
                                   frozenset(n for n, k in kinds.items() if k == "int64"),
                                   float32=any(_has_float32(a) or _has_narrow_int(a) for a in args)
                                   or any(_has_narrow_int(v) for v in global_values)
                                   or _names_numpy(fdef, numpy_names, {"float32"}),
                                   zero_dtype=zero_dtype, strong=strong,
                                   wide_ints=_wide_ints(fdef, args, global_values, numpy_names, strong),
                                   stacks=any(type(a) is np.ndarray and a.ndim > 2 for a in args))
    except numba_lowering.NotLowerable as exc:
        raise _error(gen, exc.message, exc.node or fdef) from None
    bindings, data = _bind(target, gen, low)
    seed = low.params[-1]  # the output's adjoint, 1.0 unless given: last, with its default
    args_ = low.fdef.args
    args_.args = args_.args[:-1] + [ast.arg(arg=d) for d in data] + [args_.args[-1]]
    args_.defaults = [ast.Constant(low.defaults.get(seed, 1.0))]
    if check_float_powers(low.fdef, scalars):
        from s2s.runtime import compiled_helpers
        bindings[FLOAT_POW] = compiled_helpers.float_pow
    if check_math_results(low.fdef, bindings):
        from s2s.runtime import compiled_helpers
        bindings[MATH_RESULT] = compiled_helpers.math_result
    if check_int_conversions(low.fdef, bindings, data):
        from s2s.runtime import compiled_helpers
        bindings[CHECKED_INT] = compiled_helpers.checked_int
    given = dict(zip(params, args)) | {d: _getter(target, d)() for d in data}
    guarded = frozenset(n for n, a in given.items() if isinstance(a, int | np.integer))
    guard_ints(low.fdef, sorted(guarded))
    if guard_counters(low.fdef, set(low.tapes), guarded):
        from s2s.runtime import compiled_helpers
        bindings[COUNTER_CHECK] = compiled_helpers.counter_check
    plan = Plan(ast.unparse(low.fdef), bindings, data, low.params[:-1] + data + [seed])
    plan.returns_value = bool(gen.returns_value) if flat is None else flat.with_value
    plan.int_guarded = guarded
    plan.int64_arrays = frozenset(n for n, a in given.items() if type(a) is np.ndarray and a.dtype == np.int64)
    plan.user_lines = _user_lines(gen, low.fdef, plan.source)
    plan.array_tapes = low.array_tapes
    plan.tapes = low.tapes
    plan.flat = flat
    return gen, plan


def _none_params_as_locals(fdef, names):
    """`fdef` with each parameter of `names` (given None) renamed `_s2s_none_<name>`, unread, and the name bound
    to None at the top: a local whose kinds come from its assignments (`beta = 1.0 - alpha` after the folded
    `if beta is None:`), where numba would give the parameter None's type.

        >>> # def d(x, beta): beta = 1.0 - x    ->    def d(x, _s2s_none_beta): beta = None; beta = 1.0 - x
    """
    fdef = copy.deepcopy(fdef)
    for a in fdef.args.args:
        if a.arg in names:
            a.arg = f"_s2s_none_{a.arg}"
    fdef.body[:0] = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=ast.Constant(None), lineno=1)
                     for n in names]
    ast.fix_missing_locations(fdef)
    return fdef


def _int_dtype(a):
    """The dtype of `a` where it is an integer array or NumPy integer, else None."""
    dtype = getattr(a, "dtype", None) if type(a) is np.ndarray or isinstance(a, np.integer) else None
    return dtype if dtype is not None and dtype.kind in "iu" else None


def _narrow(t) -> bool:
    """Whether the numba type `t` is an integer NumPy computes with otherwise than int64 (int8, int16, int32, an
    unsigned one: NumPy keeps its dtype, where numba widens to int64)."""
    from numba.core import types as nb_types
    t = t.type if isinstance(t, nb_types.Optional) else t
    return isinstance(t, nb_types.Integer) and not isinstance(t, nb_types.Boolean) \
        and (t.bitwidth < 64 or not t.signed) and not isinstance(t, nb_types.IntegerLiteral)


def _has_narrow_int(a) -> bool:
    """Whether `a` is an integer array or NumPy integer of another dtype than int64 (uint8, int32...), with which
    NumPy computes a Python int in `a`'s dtype (NEP 50), numba in int64."""
    dtype = _int_dtype(a)
    return dtype is not None and dtype != np.int64


def _read_globals(target, fdef):
    """The names `fdef` reads that are the user's globals or closure values (candidates for data)."""
    code = target.__code__
    names = set(code.co_freevars if target.__closure__ else ()) | set(target.__globals__)
    return sorted({n.id for n in walk(fdef) if isinstance(n, ast.Name) and n.id in names})


def _numpy_scalars(fdef, vectors, builtin_int=False) -> frozenset:
    r"""The names some assignment of which reads an item of a 1-d array argument of `vectors` (`k = idx[t]`,
    `v[0] * 2.0`: an np.int64 or np.float64, which NumPy 2 computes with float32 arrays in float64, neither
    converting it as it converts a Python number nor keeping float32) or such a name. A least fixed point; a
    read inside the builtin `int(...)` or `float(...)` (`builtin_int`: the code's int and float are the
    builtins), a Python number, does not count.

        >>> f = ast.parse("def f(x, v):\n    a = v[0] * 2.0\n    b = a + 1.0\n    c = int(b)").body[0]
        >>> sorted(_numpy_scalars(f, {"v": "float64"}, builtin_int=True))
        ['a', 'b']
    """
    def reads(value):
        """The Names and vector items `value` reads, not inside a builtin int() or float()."""
        if builtin_int and isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id in ("int", "float"):
            return []
        found = [value] if isinstance(value, ast.Name) or isinstance(value, ast.Subscript) \
            and isinstance(value.value, ast.Name) and value.value.id in vectors else []
        return found + [r for child in ast.iter_child_nodes(value) for r in reads(child)]

    values = [(t.id, node.value) for node in walk(fdef) if isinstance(node, ast.Assign)
              for t in node.targets if isinstance(t, ast.Name)]
    values += [(node.target.id, node.value) for node in walk(fdef)
               if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)]
    read = [(name, reads(value)) for name, value in values]
    strong: set = set()
    while True:
        more = {name for name, found in read if name not in strong
                and any(isinstance(e, ast.Subscript) or e.id in strong for e in found)}
        if not more:
            return frozenset(strong)
        strong |= more


_INT_MAKERS = {"arange", "argmax", "argmin", "argsort", "nonzero", "flatnonzero", "searchsorted", "digitize",
               "indices", "int32", "int64", "uint32", "uint64", "intp", "count_nonzero", "bincount"}


def _wide_ints(fdef, args, data, numpy_names, strong) -> bool:
    """Whether the code may meet integer arrays or NumPy ints of 32 bits or more (NumPy computes float32 with them
    in float64): an argument or global it reads that is one, a NumPy number it reads items into (`strong`), or a
    NumPy function that makes them (`np.arange`, `np.argmax`, `np.int64(...)`...)."""
    return bool(strong) or any(_int_dtype(a) is not None and _int_dtype(a).itemsize >= 4 for a in (*args, *data)) \
        or _names_numpy(fdef, numpy_names, _INT_MAKERS)


def _names_numpy(fdef, numpy_names, attrs) -> bool:
    """Whether the code reads `np.<attr>` for some attr of `attrs`. `{"float32"}`: `np.zeros(n, dtype=np.float32)`,
    `x.astype(np.float32)`, whose float32 values then meet Python numbers and float64 arrays as float32
    arguments do."""
    return any(isinstance(n, ast.Attribute) and n.attr in attrs and isinstance(n.value, ast.Name)
               and n.value.id in numpy_names for n in walk(fdef))


def _has_float32(a) -> bool:
    """Whether `a` is a float32 number or array (where NumPy's arithmetic with Python numbers stays float32)."""
    return type(a) is np.float32 or (type(a) is np.ndarray and a.dtype == np.float32)


def _tape_types(fdef, args, params, numpy_names=frozenset(), builtin_int=False):
    """The dtype of each pushed variable that holds a Python float (or int) wherever the code is typed, and
    ("float64", shape) of each that holds a float64 array of one shape.

    Claimed only where every assignment of the variable is float (int) arithmetic of such variables,
    float (int) arguments and constants; compiled_helpers.tape_set refuses at compile time to store a
    value of any other type, so a wrong claim is a compile error (and a retry with list tapes), never
    a conversion."""
    kinds = _scalar_kinds(fdef, *_float_int_params(fdef, args, params), _vector_params(args, params), builtin_int)
    shapes = compiled_tapes.array_kinds(fdef, dict(zip(params, args)), kinds, numpy_names)
    out = {}
    for v in numba_lowering.pushed_variables(fdef):
        if kinds.get(v) in ("float64", "int64"):
            out[v] = kinds[v]
        elif v in shapes:  # a float64 array of one shape (a tape of rows), or a norm (s2s/compiled_tapes.py)
            out[v] = shapes[v]
    return out


def _numpy_names(target, gen, fdef, module=np):
    """The names the generated code reads NumPy (or `module`: np.linalg) by (`np` in `np.tanh(...)`)."""
    out = set()
    for name in {n.value.id for n in walk(fdef) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}:
        cell = gen.helper_cells.get(name)
        try:
            obj = cell.cell_contents if cell is not None else gen.frozen[name] if name in gen.frozen \
                else pipeline.resolve_in(target, ast.Name(id=name, ctx=ast.Load()))
        except (AttributeError, KeyError, ValueError, NameError):
            continue
        if obj is module:
            out.add(name)
    return out


def _float_int_params(fdef, args, params):
    """(parameters given Python floats, the seed included; parameters given Python ints)."""
    given = dict(zip(params, args))
    floats = {p for p, a in given.items() if type(a) is float}
    if fdef.args.kwonlyargs:
        floats.add(fdef.args.kwonlyargs[-1].arg)
    return floats, {p for p, a in given.items() if type(a) is int}


_ARITH = (ast.Add, ast.Sub, ast.Mult)


def _vector_params(args, params):
    """parameter -> "float64" / "int64" for those given a 1-d array of that dtype: `xs[t]` of one is a number."""
    kinds = {np.dtype(np.float64): "float64", np.dtype(np.int64): "int64"}
    return {p: kinds[a.dtype] for p, a in zip(params, args)
            if type(a) is np.ndarray and a.ndim == 1 and a.dtype in kinds and a.dtype.isnative}


def _scalar_kinds(fdef, floats, ints, vectors=None, builtin_int=False):
    """name -> "float64" / "int64" for variables all of whose assignments give a Python float / int, or an
    item of a 1-d array parameter of `vectors` (parameter -> the kind of its items) at an int index (a fixed
    point from every assigned name being either; anything else is left out). `builtin_int`: the code's `int`
    is the builtin (`i = int(x)` is an int)."""
    vectors = vectors or {}
    params = {a.arg for a in fdef.args.args + fdef.args.kwonlyargs}
    assigns: dict = {}
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and not _is_pop(node.value):  # a pop restores an earlier value
            for t in node.targets:
                for n in walk(t):
                    if isinstance(n, ast.Name):
                        assigns.setdefault(n.id, []).append(node.value if isinstance(t, ast.Name) else False)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Name):
            assigns.setdefault(node.target.id, []).append(False)
        elif isinstance(node, ast.For):
            it = node.iter
            if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "reversed" \
                    and len(it.args) == 1:
                it = it.args[0]
            is_range = isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" \
                and isinstance(node.target, ast.Name)
            for n in walk(node.target):
                if isinstance(n, ast.Name):
                    assigns.setdefault(n.id, []).append("range" if is_range else False)
    kind = {p: "float64" for p in floats if p not in assigns}
    kind.update({p: "int64" for p in ints if p not in assigns})
    candidates = {n for n in assigns if n not in params}
    asking = set()  # (tuple name, item) whose kind `of` is finding

    def of(e):
        if isinstance(e, ast.Constant):
            return {float: "float64", int: "int64"}.get(type(e.value))
        if isinstance(e, ast.Name):
            return kind.get(e.id)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            return of(e.operand)
        if isinstance(e, ast.BinOp) and isinstance(e.op, _ARITH + (ast.Div,)):
            a, b = of(e.left), of(e.right)
            if a is None or b is None:
                return None
            return "float64" if isinstance(e.op, ast.Div) or "float64" in (a, b) else "int64"
        if builtin_int and isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "int" \
                and "int" not in assigns \
                and len(e.args) == 1 and not e.keywords:
            return "int64"  # `i = int(x)`: the builtin gives an int (numba's too)
        if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name) and e.value.id in vectors \
                and e.value.id not in assigns and of(e.slice) == "int64":
            return vectors[e.value.id]  # `i = actions[t]`: an item of a 1-d int64 (float64) array argument
        if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name) and e.value.id not in params \
                and isinstance(e.slice, ast.Constant) and type(e.slice.value) is int:
            # `x = t[0]` of `t = x0, 0.0` (tuple assignment, lowered): the element's kind, if every
            # assignment of t is a tuple display with that element
            i = e.slice.value
            values = assigns.get(e.value.id, [])
            if (e.value.id, i) in asking:
                return None  # (`state = (state[0] + dx, ...)`: an item made from that item claims nothing)
            if values and all(isinstance(v, ast.Tuple) and -len(v.elts) <= i < len(v.elts) for v in values):
                asking.add((e.value.id, i))
                try:
                    kinds_ = {of(v.elts[i]) for v in values}
                finally:
                    asking.discard((e.value.id, i))
                return kinds_.pop() if len(kinds_) == 1 else None
        return None

    def holds(value, guess):
        if value == "range":
            return guess == "int64"
        return value is not False and (_is_none(value) or of(value) == guess)

    # first the names that are ints (a greatest fixed point), then, of the rest, the floats
    for guess in ("int64", "float64"):
        trial = set(candidates)
        kind.update((n, guess) for n in trial)
        changed = True
        while changed:
            changed = False
            for name in list(trial):
                if not all(holds(v, guess) for v in assigns[name]):
                    trial.discard(name)
                    del kind[name]
                    changed = True
        candidates -= trial
    return kind


def _is_pop(e):
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr == "pop" and not e.args


def _is_none(e):
    return isinstance(e, ast.Constant) and e.value is None


def _bind(target, gen, low):
    """Bindings of the lowered code's free names (modules, compiled helpers) and the data names it reads."""
    from s2s.runtime import Refusal, compiled_helpers
    helper_names = {n: cell.cell_contents for n, cell in gen.helper_cells.items()}
    bindings, data = {}, []
    s2s_name = next((n for n, v in helper_names.items() if getattr(v, "__name__", "") == "s2s.runtime"), None)
    for name in low.free:
        if name == numba_lowering.NUMPY:
            bindings[name] = np
            continue
        if name in numba_lowering.HELPERS:  # a helper the lowering writes calls of
            bindings[name] = getattr(compiled_helpers, numba_lowering.HELPERS[name])
            continue
        if name == s2s_name:
            missing = sorted(low.helper_attrs.get(name, set()) - set(compiled_helpers.HELPERS))
            if missing:
                raise _error(gen, f"the runtime helper s2s.{missing[0]}, which has no compiled version",
                             _first_use(low.fdef, name, missing[0]))
            bindings[name] = compiled_helpers
            continue
        if isinstance(helper_names.get(name), Refusal) and "text" in helper_names[name]:  # where s2s.call_vjp is
            raise _error(gen, "a call through a function value (s2s.call_vjp, s2s.call_jvp), which has no compiled "
                         "version", _first_use(low.fdef, name))
        if isinstance(helper_names.get(name), Refusal):  # the error record of s2s.unshared / s2s.effect_free
            raise _error(gen, "the run-time check of an in-place update, of an item read before one or of a "
                         "function value (s2s.unshared, s2s.item_number, s2s.effect_free), which has no compiled "
                         "version", _first_use(low.fdef, name))
        if name in helper_names:
            obj = helper_names[name]
        elif name in gen.frozen:
            obj = gen.frozen[name]
        else:
            try:
                obj = pipeline.resolve_in(target, ast.Name(id=name, ctx=ast.Load()))
            except AttributeError:
                raise _error(gen, f"the name {name!r} is not defined", _first_use(low.fdef, name)) from None
        if isinstance(obj, types.ModuleType):
            if obj not in (np, math, np.linalg, np.random):
                raise _error(gen, f"the module {obj.__name__} ({name}): numba compiles NumPy and math only",
                             _first_use(low.fdef, name))
            bindings[name] = obj
        elif name in _BUILTINS and obj is getattr(builtins, name):
            continue
        elif isinstance(obj, np.ufunc) or (callable(obj) and getattr(obj, "__module__", None) in ("math", "numpy")):
            bindings[name] = obj  # `from numpy import sin`: numba calls NumPy's and math's functions by object
        elif getattr(obj, "__name__", None) == "unbroadcast" and obj is helper_names.get(name):
            bindings[name] = compiled_helpers.unbroadcast
        elif isinstance(obj, _DATA_TYPES) and not isinstance(obj, np.ndarray) or (
                isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf"):
            data.append(name)
        else:
            raise _error(gen, f"{name!r}, a {type(obj).__name__} it can neither call nor read",
                         _first_use(low.fdef, name))
    return bindings, data


def _first_use(fdef, name, attr=None):
    for node in walk(fdef):
        if attr is not None and isinstance(node, ast.Attribute) and node.attr == attr \
                and isinstance(node.value, ast.Name) and node.value.id == name:
            return node
        if attr is None and isinstance(node, ast.Name) and node.id == name:
            return node
    return fdef


def _getter(target, name):
    """A function reading the current value of the user's global or closure variable `name`."""
    code = target.__code__
    if target.__closure__ and name in code.co_freevars:
        cell = target.__closure__[code.co_freevars.index(name)]
        return lambda: cell.cell_contents
    space = target.__globals__
    return lambda: space[name]


def _data_source(target, name):
    """Where the compiled code's data value `name` is read on each call: ("cell", cell) or ("dict", globals, name)."""
    code = target.__code__
    if target.__closure__ and name in code.co_freevars:
        return ("cell", target.__closure__[code.co_freevars.index(name)])
    return ("dict", target.__globals__, name)


def _dispatcher(plan):
    import numba
    disp = _DISPATCHERS.find(plan.source)
    if disp is not None and all(disp.py_func.__globals__.get(k) is v for k, v in plan.bindings.items()):
        return disp
    namespace = dict(plan.bindings)
    namespace["__builtins__"] = builtins
    code = compile(plan.source, "<s2s compiled>", "exec")  # numba's line numbers are plan.source's
    exec(code, namespace)  # noqa: S102 - s2s's own generated code
    fn = namespace[ast.parse(plan.source).body[0].name]
    # bounds checked: an index past an array's end raises IndexError (the call then runs the NumPy code, which
    # raises NumPy's), where unchecked machine code reads and writes memory past the array
    disp = numba.njit(fn, nogil=True, boundscheck=True)
    _DISPATCHERS.put(plan.source, disp)
    return disp


def _compile_for(plan, target, args):
    """Compile the dispatcher for these arguments' types now, so that a failure is a fallback, not a crash."""
    import numba
    from numba.core.errors import NumbaError
    given = args
    if plan.flat is not None:  # (container arguments passed by their items)
        args = plan.flat.arguments(args)
    extra = [_getter(target, n)() for n in plan.data]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", numba.NumbaPerformanceWarning)
            plan.dispatcher(*args, *extra)  # compiles for these types (and runs once; the result is not used)
    except NumbaError as exc:
        raise _numba_error(target, plan, exc) from None
    except ValueError as exc:
        if str(exc).startswith(_FALLBACK):
            raise NotCompilableError(str(exc)) from None
        if not _compiled_for(plan.dispatcher, (*args, *extra)):  # numba.typeof of something it has no type for
            raise NotCompilableError(f"numba has no type for an argument: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - compiled, and the code raised as the NumPy code would: the call will say
        if not _compiled_for(plan.dispatcher, (*args, *extra)):
            # numba failed inside its own typing (an AttributeError of its ufunc typing for an int32 index
            # array read into a list tape): nothing ran, so the NumPy code can (a fallback, not a crash)
            why = ": a value that may still be None there (the tape's placeholder `t = None` before a loop's " \
                  "first trip, whose shape the compiled code could not claim) reaches an operation numba types " \
                  "for arrays only" if "Optional" in str(exc) else ""
            raise NotCompilableError(f"numba failed compiling the derivative of {target.__name__}{why} "
                                     f"({type(exc).__name__}: {exc})") from None
    if _check_integer_products(plan, target):  # checked int arithmetic written in: compiled again
        plan.dispatcher = _dispatcher(plan)
        _compile_for(plan, target, given)


def _compiled_for(dispatcher, args) -> bool:
    """Whether `dispatcher` has machine code for these arguments' types. (Not whether it has any: a dispatcher is
    shared by identical lowered code, so one compiled for np.float32 numbers failed for np.float16 ones unseen.)"""
    try:
        key = tuple(dispatcher.typeof_pyval(a) for a in args)
    except Exception:  # noqa: BLE001 - numba has no type for one of them
        return False
    return any(made[:len(key)] == key and all(type(t).__name__ == "Omitted" for t in made[len(key):])
               for made in dispatcher.overloads)  # (parameters left at their defaults, `out_bar=1.0`: omitted)


_INT_OPS = {"mul", "pow", "lshift", "imul", "ipow", "ilshift", "add", "sub", "iadd", "isub"}
_INT_LIMIT = 2 ** 62
# An int argument, or an int global read as data, is checked at the top of the compiled code to lie within
# +-_GUARD (a larger one runs the NumPy code); a counter (`k = k + e`, `k += e`, `e` within +-_STEP) is checked
# after each update to lie within +-_COUNTER: so both have bounds, and sums of them stay far from 2**63.
_GUARD = 2 ** 31
_COUNTER = 2 ** 50
_STEP = 2 ** 20
_SUMS = ("_s2s_accumulate", "_s2s_add_zero")  # helpers the lowering writes for `a + b` (a may still be None)


def _check_integer_products(plan, target) -> bool:
    """Integer sums, products, powers and shifts numba compiled as int64 whose operands s2s cannot show are
    small enough become `_s2s_int_op(a, b, how)` (compiled_helpers.int_op), which runs the NumPy code for the
    call where the result could pass 2**62: numba's int64 wraps around where Python's ints grow (3 ** 40, or a
    Fibonacci number past the 92nd, would be a wrong number). Those it cannot write so (an int sum inside a
    helper, an update of an item) are refused. The lines come from numba's own typing; the bounds from
    `_int_bounds` on the code given to numba (with its guards of int arguments and counters). Whether it
    rewrote `plan.source` (the caller compiles it again)."""
    risky = _int_lines(plan, target)
    if not risky:
        return False
    fdef = ast.parse(plan.source).body[0]
    lines = plan.source.splitlines()
    wrote = False
    while True:  # (a checked result is bounded by 2**62: a sum of two such is checked in turn)
        bounds = _int_bounds(fdef, set(plan.tapes), plan.int_guarded)
        numpy_ints = _numpy_ints(fdef, plan.int64_arrays, set(plan.tapes))
        unbounded = set()
        for node in walk(fdef):
            if getattr(node, "lineno", None) not in risky:
                continue
            op = ast.BinOp(left=node.target, op=node.op, right=node.value) if isinstance(node, ast.AugAssign) \
                else _as_sum(node) if _sum_call(node) else node
            if isinstance(op, ast.BinOp) and isinstance(op.op, _INT_AST_OPS) \
                    and not _small(_bound_of(op, bounds)) and not _numpy_int(op, numpy_ints):
                if _sum_call(node) or isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
                    text = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else "?"
                    raise NotCompilableError(
                        f"the derivative of {target.__name__} adds or multiplies integers that s2s cannot show stay "
                        f"below 2**62 (the generated line `{text}`): numba's int64 wraps around where Python's "
                        "integers grow",
                        hint="write the constant as a float (3.0 ** k, 0.0 + k), or call s2s.grad(f) without compile")
                unbounded.add(id(node))
        if not unbounded:
            break
        fdef = _CheckedIntOps(unbounded).visit(fdef)
        wrote = True
    if wrote:
        from s2s.runtime import compiled_helpers
        plan.source = ast.unparse(fdef)  # (one statement a line, as before: the user lines still match)
        plan.bindings[INT_OP] = compiled_helpers.int_op
    return wrote


def _int_lines(plan, target) -> set:
    """The lines of `plan.source` where numba's typing computes an int sum, product, power or shift (an int
    sum inside a compiled helper: refused, it has no line of ours to check)."""
    import operator

    from numba.core import ir
    from numba.core import types as nb_types
    names = {getattr(operator, n) for n in _INT_OPS}
    fdef = ast.parse(plan.source).body[0]
    fdef_lines = plan.source.splitlines()
    sum_lines = {n.lineno for n in walk(fdef) if _sum_call(n)}

    def integer(t):
        return isinstance(t, nb_types.Integer) or (isinstance(t, nb_types.Optional)
                                                   and isinstance(t.type, nb_types.Integer))
    risky = set()
    for cres in plan.dispatcher.overloads.values():
        ta = cres.type_annotation
        for block in ta.blocks.values():
            for st in block.body:
                if not (isinstance(st, ir.Assign) and isinstance(st.value, ir.Expr)
                        and integer(ta.typemap.get(st.target.name))):
                    continue
                if st.value.op in ("binop", "inplace_binop") and any(
                        _narrow(ta.typemap.get(v.name)) for v in (st.value.lhs, st.value.rhs)):
                    text = fdef_lines[st.loc.line - 1].strip() if 0 < st.loc.line <= len(fdef_lines) else "?"
                    raise NotCompilableError(
                        f"the derivative of {target.__name__} computes with integers of a dtype narrower than int64 "
                        f"(the generated line `{text}`): NumPy computes them in their own dtype, where they wrap "
                        "around, numba in int64 (`int8(100) + int8(100)` is -56 in NumPy, 200 in numba)",
                        hint="convert them where they are read (`.astype(np.int64)`, or `float(...)`), or call "
                             "s2s.grad(f) without compile")
                if st.value.op in ("binop", "inplace_binop") \
                        and (st.value.fn in names or st.value._kws.get("immutable_fn") in names):
                    if st.loc.filename != "<s2s compiled>":  # in a helper inlined (weak_op): no line of ours
                        raise NotCompilableError(
                            f"the derivative of {target.__name__} computes with a NumPy integer (an np.int32 or "
                            "np.int64 argument, or an item of an int array) as NumPy does, in a compiled helper "
                            "whose integer sums and products s2s cannot bound: numba's int64 wraps around where "
                            "Python's integers grow, and NumPy's int32 arithmetic wraps around where numba's "
                            "int64 does not",
                            hint="pass Python ints (`int(n)`) where the function takes a count, write an int "
                                 "constant the arithmetic mixes with floats as a float, or call s2s.grad(f) "
                                 "without compile")
                    risky.add(st.loc.line)
                elif st.value.op == "call" and st.loc.line in sum_lines:  # an int sum inside a helper
                    risky.add(st.loc.line)
    return risky


INT_OP = "_s2s_int_op"  # compiled_helpers.int_op
_INT_OP_NAMES = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Pow: "pow", ast.LShift: "lshift"}


class _CheckedIntOps(ast.NodeTransformer):
    """`a * b` becomes `_s2s_int_op(a, b, "mul")`, `k *= b` `k = _s2s_int_op(k, b, "mul")`, for the nodes whose
    ids are given (inner ones first)."""

    def __init__(self, ids):
        self.ids = ids

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if id(node) not in self.ids:
            return node
        return ast.copy_location(ast.Call(func=ast.Name(id=INT_OP, ctx=ast.Load()), args=[
            node.left, node.right, ast.Constant(_INT_OP_NAMES[type(node.op)])], keywords=[]), node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if id(node) not in self.ids:
            return node
        read = ast.Name(id=node.target.id, ctx=ast.Load())
        return ast.copy_location(ast.Assign(targets=[node.target], value=ast.Call(
            func=ast.Name(id=INT_OP, ctx=ast.Load()), args=[read, node.value, ast.Constant(
                _INT_OP_NAMES[type(node.op)])], keywords=[])), node)


_INT_AST_OPS = (ast.Mult, ast.Pow, ast.LShift, ast.Add, ast.Sub)


def _numpy_int(e, names) -> bool:
    """Whether `e` is an np.int64 in the NumPy code: an item of an int64 array of `names`' arrays (or a name of
    `names`' numbers), or arithmetic with one. NumPy's int64 wraps around as numba's does: the same numbers."""
    if isinstance(e, ast.Name):
        return e.id in names
    if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name):
        return ("array", e.value.id) in names and not isinstance(e.slice, ast.Slice | ast.Tuple)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod):
        return _numpy_int(e.left, names) or _numpy_int(e.right, names)
    return isinstance(e, ast.UnaryOp) and _numpy_int(e.operand, names)


def _numpy_ints(fdef, arrays, tapes):
    """The names (and ("array", name) of the int64 arrays `arrays`) whose values are np.int64 in the NumPy code:
    every assignment is such arithmetic, a read of a tape `tapes` (it restores an earlier value) or 0 (the
    placeholder pushed before the first assignment)."""
    names = {("array", a) for a in arrays}
    assigns = bound_values(fdef)  # (every binding: `for i, j in ...` binds i to no such arithmetic)

    def held(v):
        return v is not None and (_numpy_int(v, names) or _is_pop(v) or (
            isinstance(v, ast.Constant) and type(v.value) is int and v.value == 0)
            or isinstance(v, ast.Subscript) and isinstance(v.value, ast.Name) and v.value.id in tapes)
    changed = True
    while changed:
        changed = False
        for name, values in assigns.items():
            if name not in names and all(held(v) for v in values) \
                    and any(v is not None and _numpy_int(v, names) for v in values):
                names.add(name)
                changed = True
    return names


def _sum_call(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SUMS \
        and len(node.args) == 2 and not node.keywords


def _as_sum(call):
    """`_s2s_accumulate(a, b)` as `a + b` (a None `a` adds nothing: the bound of the sum holds for it too)."""
    return ast.BinOp(left=call.args[0], op=ast.Add(), right=call.args[1])


def _small(b):
    return b is not None and -_INT_LIMIT < b[0] and b[1] < _INT_LIMIT


_SHAPE = (0, 2 ** 40)  # a length or a dimension


def _bound_of(e, bounds):
    """(lo, hi) of the integer expression `e` given `bounds` of names, or None when unknown or not an integer."""
    if isinstance(e, ast.Constant):
        return (int(e.value), int(e.value)) if type(e.value) in (int, bool) else None
    if isinstance(e, ast.Name):
        return bounds.get(e.id)
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        b = _bound_of(e.operand, bounds)
        return (-b[1], -b[0]) if b else None
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.Pow):
        a, b = _bound_of(e.left, bounds), _bound_of(e.right, bounds)
        if a is None or b is None or not (_small(a) and _small(b)):
            return None
        if isinstance(e.op, ast.Add):
            return a[0] + b[0], a[1] + b[1]
        if isinstance(e.op, ast.Sub):
            return a[0] - b[1], a[1] - b[0]
        if isinstance(e.op, ast.Mult):
            corners = [x * y for x in a for y in b]
            return min(corners), max(corners)
        if b[0] < 0 or b[1] > 64:
            return None
        corners = [x ** y for x in a for y in b]
        if a[0] < 0:
            corners += [a[0] ** (b[1] - 1)] if b[1] >= 1 else []
        return min(corners), max(corners)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.FloorDiv | ast.Mod):
        return _quotient_bound(e, bounds)
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == INT_OP:  # (checked)
        return -_INT_LIMIT + 1, _INT_LIMIT - 1
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "len":
        return _SHAPE
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id in ("max", "min") and e.args:
        parts = [_bound_of(a, bounds) for a in e.args]
        if any(p is None for p in parts):
            return None
        pick = max if e.func.id == "max" else min
        return pick(p[0] for p in parts), pick(p[1] for p in parts)
    if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Attribute) and e.value.attr == "shape":
        return _SHAPE
    if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name) and bounds.get(("shape", e.value.id)):
        return _SHAPE
    if _sum_call(e):
        return _bound_of(_as_sum(e), bounds)
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == CHECKED_INT:
        return -2 ** 53, 2 ** 53  # (checked so)
    return None


def _quotient_bound(e, bounds):
    """`a // k` and `a % k` of a positive constant `k`: within a's bound (the quotient) or [0, k) (the rest)."""
    k = e.right.value if isinstance(e.right, ast.Constant) and type(e.right.value) is int else None
    a = _bound_of(e.left, bounds)
    if k is None or k <= 0 or a is None:
        return None
    if isinstance(e.op, ast.Mod):
        return 0, k - 1
    return a[0] // k, a[1] // k


def _counter_step(node):
    """(name, step) where `node` is the statement `k = k + e`, `k = e + k`, `k = k - e`, `k += e`, `k -= e` or
    `k = _s2s_accumulate(k, e)` (step `e`, or `-e`), else None."""
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add | ast.Sub):
        step = node.value if isinstance(node.op, ast.Add) else ast.UnaryOp(op=ast.USub(), operand=node.value)
        return node.target.id, step
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return None
    name, v = node.targets[0].id, node.value
    if _sum_call(v):
        v = _as_sum(v)
    if not (isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add | ast.Sub)):
        return None

    def me(e):
        return isinstance(e, ast.Name) and e.id == name
    if me(v.left) and not me(v.right):
        return name, v.right if isinstance(v.op, ast.Add) else ast.UnaryOp(op=ast.USub(), operand=v.right)
    if isinstance(v.op, ast.Add) and me(v.right) and not me(v.left):
        return name, v.left
    return None


def _small_step(step, bounds) -> bool:
    b = _bound_of(step, bounds)
    return b is not None and -_STEP <= b[0] and b[1] <= _STEP


def _int_bounds(fdef, tapes, guarded=frozenset()):
    """name -> (lo, hi) for integer variables all of whose assignments are bounded by the names bounded
    before them (range loop variables, constants, lengths, sums and products of those; the parameters
    `guarded`, which the code checks lie within +-_GUARD; counters `k = k + e` of a bounded step, which
    `guard_counters` checks after each update). Another variable that depends on itself (p = p * 3, k = k + k)
    gets no bound. Reads from a tape restore an earlier value: skipped."""
    assigns: dict = {p: [("guard",)] for p in guarded}
    for node in walk(fdef):
        counter = _counter_step(node)
        if counter is not None:
            assigns.setdefault(counter[0], []).append(("counter", counter[1], _tape_counter(counter[0], tapes)))
        elif isinstance(node, ast.Assign):
            value = node.value
            if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and value.value.id in tapes \
                    or _is_pop(value):
                continue
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigns.setdefault(t.id, []).append(value)
                else:  # (names bound: not those an item assignment reads, `y[i] = v` binds no i)
                    for n in walk(t):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            assigns.setdefault(n.id, []).append(None)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Name):
            assigns.setdefault(node.target.id, []).append(None)
        elif isinstance(node, ast.For):
            for n in walk(node.target):
                if isinstance(n, ast.Name):
                    assigns.setdefault(n.id, []).append(("for", node.iter) if n is node.target else None)
    bounds: dict = {}
    for name, values in assigns.items():  # `t = x.shape`: its items are dimensions
        if all(isinstance(v, ast.Attribute) and v.attr == "shape" for v in values):
            bounds[("shape", name)] = True

    def of(v):
        if v is None:
            return None
        if isinstance(v, ast.Constant) and v.value is None:  # a sum's zero before anything is added to it
            return 0, 0
        if isinstance(v, tuple) and v[0] == "guard":
            return -_GUARD + 1, _GUARD - 1
        if isinstance(v, tuple) and v[0] == "counter" and v[2]:  # a tape's: at most the items it holds
            return _SHAPE
        if isinstance(v, tuple) and v[0] == "counter":  # checked within +-_COUNTER after each update
            return (-_COUNTER - _STEP, _COUNTER + _STEP) if _small_step(v[1], bounds) else None
        if isinstance(v, tuple):
            it = v[1]
            if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"):
                return None
            parts = [_bound_of(a, bounds) for a in it.args]
            if any(p is None for p in parts) or not 1 <= len(parts) <= 3:
                return None
            if len(parts) == 1:
                return (0, max(0, parts[0][1] - 1))
            step = parts[2] if len(parts) == 3 else (1, 1)
            lo, hi = parts[0], parts[1]
            if step[0] > 0:
                return lo[0], max(lo[0], hi[1] - 1)
            return min(hi[0] + 1, lo[1]), lo[1]
        return _bound_of(v, bounds)

    for _ in range(len(assigns) + 1):
        changed = False
        for name, values in assigns.items():
            parts = [of(v) for v in values]
            new = None if any(p is None for p in parts) or not parts else (min(p[0] for p in parts),
                                                                             max(p[1] for p in parts))
            counted = [p for p, v in zip(parts, values) if isinstance(v, tuple) and v[0] == "counter" and not v[2]]
            if new is not None and counted and not all(-_COUNTER <= p[0] and p[1] <= _COUNTER
                                                       for p, v in zip(parts, values) if p not in counted):
                new = None  # a counter that starts beyond the guard's bound: the guard would not hold it
            if bounds.get(name) != new:
                if new is None:
                    bounds.pop(name, None)
                else:
                    bounds[name] = new
                changed = True
        if not changed:
            break
    return bounds


CHECKED_INT = "_s2s_checked_int"  # compiled_helpers.checked_int
FLOAT_POW = "_s2s_float_pow"  # compiled_helpers.float_pow


def check_float_powers(fdef, floats) -> bool:
    """`a ** b` of a name `a` of `floats` (a Python float wherever it is assigned) and an exponent other than an
    int constant becomes `_s2s_float_pow(a, b)`: Python's `(-8.0) ** (1 / 3)` is complex (the NumPy code then
    refuses), `0.0 ** -1.0` raises, where numba gives nan or inf. Whether it wrote one."""
    wrote = False

    def checked(value):
        nonlocal wrote
        if not (isinstance(value, ast.BinOp) and _float_power(value, floats)):
            return value
        wrote = True
        return ast.Call(func=ast.Name(id=FLOAT_POW, ctx=ast.Load()), args=[value.left, value.right], keywords=[])
    _replace_values(fdef, checked)
    return wrote


def _replace_values(fdef, replace) -> None:
    """Put `replace(v)` in place of every field value `v` of every node of `fdef` (each item of a list field)."""
    for node in list(walk(fdef)):
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [replace(v) for v in value]
            else:
                setattr(node, field, replace(value))


MATH_RESULT = "_s2s_math_result"  # compiled_helpers.math_result
_UNCHECKED_MATH = {"floor", "ceil", "trunc", "isnan", "isinf", "isfinite", "copysign", "fabs", "fmod", "isclose",
                   "degrees", "radians", "modf", "frexp", "ldexp"}  # (no domain error nor overflow; or not a float)


def check_math_results(fdef, bindings) -> bool:
    """`math.f(a)` and `math.f(a, b)` (math's own functions, read through the module or by name) become
    `_s2s_math_result(math.f(a), a, 0.0)`: Python's math raises where numba's gives NaN or inf (math.sqrt(-1.0),
    math.log(0.0), math.exp(1000.0)); the helper runs the NumPy code for that call. Whether it wrote one."""
    def math_function(func):
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and bindings.get(func.value.id) is math:
            return func.attr
        obj = bindings.get(func.id) if isinstance(func, ast.Name) else None
        return obj.__name__ if callable(obj) and getattr(obj, "__module__", None) == "math" else None

    wrote = False

    def checked(value):
        nonlocal wrote
        if not (isinstance(value, ast.Call) and 1 <= len(value.args) <= 2 and not value.keywords
                and not any(isinstance(a, ast.Starred) for a in value.args)):
            return value
        name = math_function(value.func)
        if name is None or name in _UNCHECKED_MATH or not all(_plain_operand(a) for a in value.args):
            return value
        wrote = True
        args = [value, *value.args] + ([ast.Constant(0.0)] if len(value.args) == 1 else [])
        return ast.Call(func=ast.Name(id=MATH_RESULT, ctx=ast.Load()), args=args, keywords=[])
    _replace_values(fdef, checked)
    return wrote


def _plain_operand(e) -> bool:
    """A name or a constant: read twice (the call's argument and the check's), it gives the same value."""
    return isinstance(e, ast.Name | ast.Constant) or (isinstance(e, ast.UnaryOp) and _plain_operand(e.operand))


def _float_power(e, floats) -> bool:
    return isinstance(e.op, ast.Pow) and isinstance(e.left, ast.Name) and e.left.id in floats \
        and not (isinstance(e.right, ast.Constant) and type(e.right.value) is int)


def check_int_conversions(fdef, bindings, data) -> bool:
    """`int(v)`, `round(v)`, `math.floor(v)`, `math.ceil(v)`, `math.trunc(v)` become `_s2s_checked_int(v, how)`:
    numba converts a float beyond int64's range, NaN or inf to a made-up int, where Python's int grows (or
    Python raises); the helper checks the float lies within +-2**53 (else the NumPy code runs the call), so
    `_int_bounds` takes the result so. Whether it wrote one."""
    wrote = False

    def how(func):
        if isinstance(func, ast.Name) and func.id in ("int", "round") and func.id not in bindings \
                and func.id not in data:
            return func.id
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and bindings.get(func.value.id) is math and func.attr in ("floor", "ceil", "trunc"):
            return func.attr
        if isinstance(func, ast.Name) and bindings.get(func.id) in (math.floor, math.ceil, math.trunc):
            return bindings[func.id].__name__
        return None

    for node in walk(fdef):
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords \
                and not isinstance(node.args[0], ast.Starred) and how(node.func) is not None:
            node.args = [node.args[0], ast.Constant(how(node.func))]
            node.func = ast.Name(id=CHECKED_INT, ctx=ast.Load())
            wrote = True
    return wrote


def _tape_counter(name, tapes) -> bool:
    """Whether `name` is the counter of an array tape (`stack_t_n`, numba_lowering's name): it counts the items
    stored in an array (its stores are bounds-checked), so it stays below the array's length."""
    return any(name.startswith(f"{t}_n") and not name[len(t) + 2:].strip("_") for t in tapes)


def _fallback_raise(why):
    """`raise ValueError(...)` marked for one call: the NumPy code runs for it, the compiled code stays."""
    return ast.Raise(exc=ast.Call(func=ast.Name(id="ValueError", ctx=ast.Load()),
                                  args=[ast.Constant(_FALLBACK_CALL + why)], keywords=[]), cause=None)


def _outside(name, limit):
    n = ast.Name(id=name, ctx=ast.Load())
    return ast.BoolOp(op=ast.Or(), values=[
        ast.Compare(left=n, ops=[ast.Gt()], comparators=[ast.Constant(limit)]),
        ast.Compare(left=n, ops=[ast.Lt()], comparators=[ast.Constant(-limit)])])


def guard_ints(fdef, names):
    """Check at the top of `fdef` that each int parameter of `names` lies within +-_GUARD (`_int_bounds` takes
    them so); a larger one raises the marked fallback, and the NumPy code computes with Python's ints."""
    guards = [ast.If(test=_outside(n, _GUARD - 1), body=[_fallback_raise(
        f"the int argument {n} is 2**31 or more in size (numba's int64 would wrap around where Python's int "
        "grows)")], orelse=[]) for n in names]
    fdef.body[:0] = guards


def guard_counters(fdef, tapes, guarded):
    """After each counter update `k = k + e` of a step within +-_STEP, check that `k` lies within +-_COUNTER
    (`_int_bounds` takes counters so): past it, the marked fallback. (A counter moving by 1 a trip needs 2**50
    trips to get there; the check is one comparison.) Whether it wrote a check."""
    bounds = _int_bounds(fdef, tapes, guarded)

    def visit(body):
        out = []
        for stmt in body:
            for field in ("body", "orelse"):
                if isinstance(stmt, ast.For | ast.While | ast.If):
                    setattr(stmt, field, visit(getattr(stmt, field)))
            out.append(stmt)
            counter = _counter_step(stmt)
            if counter is not None and _small_step(counter[1], bounds) and counter[0] in bounds \
                    and not _tape_counter(counter[0], tapes):
                out.append(ast.Expr(value=ast.Call(func=ast.Name(id=COUNTER_CHECK, ctx=ast.Load()), args=[
                    ast.Name(id=counter[0], ctx=ast.Load()), ast.Constant(_COUNTER)], keywords=[])))
        return out
    fdef.body = visit(fdef.body)
    return any(isinstance(n, ast.Name) and n.id == COUNTER_CHECK for n in walk(fdef))


COUNTER_CHECK = "_s2s_counter_check"  # compiled_helpers.counter_check: None passes, unlike `k > limit`


def _user_lines(gen, fdef, source):
    """(the user's file, {line of `source`, the lowered code's text: the user's line its statement comes from}),
    through the lines of the generated code the lowered statements kept (`_error`'s map)."""
    user_file, mapping = codegen._LINE_MAPS.get(gen.filename, (None, {}))
    if not mapping:
        return None, {}
    lowered = [n for n in walk(fdef) if isinstance(n, ast.stmt)]
    printed = [n for n in walk(ast.parse(source).body[0]) if isinstance(n, ast.stmt)]
    if len(lowered) != len(printed):  # (the printed code parses to the same statements: should not happen)
        return None, {}
    out = {}
    for old, new in zip(lowered, printed):
        line = getattr(old, "lineno", None)
        if line is None:
            continue
        at = codegen.function_line(gen.filename, line)
        if at not in mapping and isinstance(old, ast.For | ast.While | ast.If) and old.body \
                and codegen.function_line(gen.filename, old.body[0].lineno) in mapping:
            # (a loop the backward sweep made has no line of the user's: its body's first statement's, not the
            # line above it, which is the return or the end of another loop)
            out[new.lineno] = mapping[codegen.function_line(gen.filename, old.body[0].lineno)]
            continue
        below = [g for g in mapping if g <= at]
        if below:
            out[new.lineno] = mapping[max(below)]
    return user_file, out


def _plain_reason(reason, lines) -> str:
    """numba's reason in words a user can read: which helper has no compiled version for which arguments (not a
    function object's address), which name would hold two types (not numba's name for one of its versions)."""
    m = re.match(r"No implementation of function Function\(<(?:built-in )?function (\w+)[^>]*>\) found for "
                 r"signature:?", reason)
    if m:
        called = next((ln.lstrip("> ").strip() for ln in lines if ln.startswith(">>>")), None)
        return f"no compiled version of {m.group(1)} takes these arguments" + (f" ({called})" if called else "")
    m = re.match(r"Cannot unify (.+) and (.+) for '([A-Za-z_]\w*?)(?:\.\d+)?'", reason)
    if m:
        return (f"`{m.group(3)}` holds {m.group(1)} in one place and {m.group(2)} in another, and compiled code "
                "gives a name one type (keep its dtype the same throughout: `.astype(...)` where it changes)")
    return reason


def _numba_error(target, plan, exc):
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    skip = ("Failed in nopython mode", "During:", "File ", "<source", "There are", "- Of which", "Rewrite",
            "Type Restricted", "Overload", "With argument", "No match", "Current", "The following", "Resolution")
    reason = next((ln for ln in lines if not ln.startswith(skip)), lines[0] if lines else "a numba error")
    reason = _plain_reason(re.sub(r"\x1b\[[0-9;]*m", "", reason), [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in lines])
    reason = reason[:300]
    where = ""
    m = re.search(r'File "<s2s compiled>", line (\d+)', text)
    if m:
        n = int(m.group(1))
        src = plan.source.splitlines()
        if 0 < n <= len(src):
            where = f" at the generated line `{src[n - 1].strip()}`"
    user_file, lines = plan.user_lines
    user_line = lines.get(int(m.group(1))) if m else None
    import linecache
    return NotCompilableError(f"numba cannot compile the derivative of {target.__name__}{where}: {reason}",
                              filename=user_file if user_line else None, lineno=user_line,
                              line=linecache.getline(user_file, user_line) if user_line else None,
                              hint="call s2s.grad(f) without compile=True for this function, or rewrite the "
                                   "line with NumPy calls numba supports")


def _error(gen, what, node):
    """NotCompilableError for `what` at `node` of the generated code, pointing at the user's line."""
    import linecache
    line = getattr(node, "lineno", None)
    user_file, mapping = codegen._LINE_MAPS.get(gen.filename, (None, {}))
    user_line = None
    if line is not None and mapping:
        below = [g for g in mapping if g <= codegen.function_line(gen.filename, line)]  # (the factory's lines first)
        if below:
            user_line = mapping[max(below)]
    construct = ast.unparse(node).splitlines()[0] if node is not None and not isinstance(node, ast.FunctionDef) \
        else None
    message = "compiled code cannot take " + what
    if construct:
        message += f" (generated code: `{construct[:120]}`)"
    return NotCompilableError(message, filename=user_file if user_line else None, lineno=user_line,
                              line=linecache.getline(user_file, user_line) if user_line else None,
                              hint="call s2s.grad(f) without compile=True for this function, or rewrite this "
                                   "line so that it uses numbers and NumPy arrays only")


def _describe(obj):
    if isinstance(obj, types.ModuleType):
        return f"the module {obj.__name__}"
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__name__', type(obj).__name__)}"


__all__ = ["grad", "source", "dispatcher", "CompiledFallbackWarning", "Plan"]
