"""The public API: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp, derivative, source,
checkpoint, defvjp.

The functions s2s generates are kept in s2s/cache.py, on the function they differentiate (`_entry`),
and made again when it or anything it uses changed (cache.Bound.fresh). Higher-order derivatives
(jacobian, hessian, hvp, grad of grad) are built in `s2s.higher_order` from the ones made here.

Every example in these docstrings assumes `import numpy as np` and `import s2s`, and a function
defined in a file or a notebook cell: s2s reads the function's source, which a function typed at
a plain interpreter prompt does not have.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import inspect
import linecache
import numbers
import os
import types
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from s2s import argcheck, argshapes, cache, compiled_call, compose, higher_order, pipeline, pytree, repeated, reruns, rules, tables
from s2s.errors import NonScalarOutputError, NotDifferentiableArgumentError, S2SError, ShapeMismatchError
from s2s.transforms.shapes import NONE_VALUE, RANDOM_GENERATOR

pytree._register_rules()  # flatten and unflatten are called inside differentiated functions too

_BOUND = cache.BOUND_ATTRIBUTE

Wrt = int | str | tuple[int | str, ...] | list[int | str]  # a parameter by position or name, or several


_NUMBER = (float, int)

# keywords of JAX's and autograd's transformations that s2s has no use for, with what to do instead
_FOREIGN = {
    "static_argnums": "it is jax.jit's: s2s traces nothing and needs no static arguments (arguments that are not "
                      "differentiated are passed as they are); remove it",
    "static_argnames": "it is jax.jit's: s2s traces nothing and needs no static arguments; remove it",
    "donate_argnums": "it is jax.jit's (buffer donation); s2s has nothing to donate; remove it",
    "holomorphic": "s2s does not differentiate complex functions; pass the real and imaginary parts as two float "
                   "arguments",
    "allow_int": "s2s differentiates with respect to float arrays and Python numbers; pass x.astype(float) for an "
                 "integer array",
    "reduce_axes": "s2s has no named axes; remove it",
    "argnames": "s2s takes parameter names in wrt=: wrt='x' or wrt=('x', 'y')",
    "chunk_size": "s2s computes a Jacobian one row (reverse) or one column (forward) at a time; remove it",
}


def _reject(entry: str, unknown: dict, accepted: tuple[str, ...]) -> None:
    """TypeError for keywords `entry` does not take, saying the s2s spelling of JAX's and autograd's."""
    if not unknown:
        return
    name = next(iter(unknown))
    listed = ", ".join(f"{a}=" for a in accepted)
    if name in _FOREIGN:
        raise TypeError(f"s2s.{entry}() takes no {name}=: {_FOREIGN[name]} (it accepts {listed})")
    raise TypeError(f"s2s.{entry}() got an unexpected keyword argument {name!r}; it accepts {listed}")


def _pick_wrt(entry: str, wrt, argnums, argnum, default=0):
    """The parameters to differentiate, from s2s's `wrt=`, JAX's `argnums=` or autograd's `argnum=` (one of them)."""
    given = [(n, v) for n, v in (("wrt", wrt), ("argnums", argnums), ("argnum", argnum)) if v is not None]
    if len(given) > 1:
        (a, _), (b, _) = given[:2]
        raise TypeError(f"s2s.{entry}() got both {a}= and {b}=: they name the same thing (the parameters to "
                        f"differentiate with respect to); pass only {a}=")
    return given[0][1] if given else default


def _positional_values(func, args, kwargs=None):
    """(parameter, value) for the parameters this call gives positionally, then for those it leaves to a
    default that is a Python number or None (`step=0.1`, `n_steps=5`, `beta=None`): the generated code is fresh
    only while the function's `__defaults__` is the same tuple (cache.py), and a number in it cannot change. A call
    passing keywords leaves those parameters out (its key holds their names: `_runner`)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    params = code.co_varnames[:code.co_argcount]
    pairs = list(zip(params, args))
    defaults = getattr(func, "__defaults__", None) or ()
    first_default = len(params) - len(defaults)
    for k in range(len(args), len(params)):
        p = params[k]
        if k >= first_default and (not kwargs or p not in kwargs) \
                and (type(defaults[k - first_default]) in _NUMBER or defaults[k - first_default] is None):
            pairs.append((p, defaults[k - first_default]))
    return pairs


def _fixed_defaults(func, args, kwargs=None):
    """(parameter, value) for the int parameters this call leaves to their defaults: the code made for it may
    read them as those ints (transforms/defaults.py); the call's key tells it from one that passes them."""
    return tuple((p, a) for p, a in _positional_values(func, args, kwargs)[len(args):] if type(a) is int)


def _scalar_params(func, args, kwargs=None):
    """Names of the parameters that receive Python numbers positionally in this call (or from a default)."""
    return tuple(p for p, a in _positional_values(func, args, kwargs) if type(a) in _NUMBER)


def _shaped_params(func, args, kwargs=None):
    """(name, shape, dtype character) for the parameters that receive arrays or numbers positionally (or
    numbers from their defaults); for those that receive lists, tuples or dicts of them, (name, `Seq`/`Keyed`
    of shapes, one of dtypes); for None (given, or a default), (name, NONE_VALUE, "O")."""
    out = []
    for p, a in _positional_values(func, args, kwargs):
        if (type(a) is np.ndarray or isinstance(a, np.generic)) and a.dtype.kind in "biufc":
            out.append((p, a.shape, a.dtype.char))
        elif type(a) in (float, int, bool):
            out.append((p, (), {float: "d", int: "l", bool: "?"}[type(a)]))
        elif type(a) in _CONTAINERS or argshapes.is_record(a):  # (a record: its fields' facts, `p.W`)
            key = argshapes.structure_key(a)
            if key is not None:
                out.append((p, *argshapes.structure_facts(key)))
        elif type(a) is np.random.Generator:  # (its draws have the shapes asked for: shapes.RandomGenerator)
            out.append((p, RANDOM_GENERATOR, "O"))
        elif a is None:  # (`if beta is None:` of a `beta=None` left out takes its branch: shapes.NONE_VALUE)
            out.append((p, NONE_VALUE, "O"))
    return tuple(out)


def _unbind(func):
    """(the function whose code runs, the arguments bound before the user's): a bound method or
    classmethod is its function with `self` (or the class) passed first, untouched."""
    if isinstance(func, types.MethodType) and hasattr(func.__func__, "__code__"):
        inner, prefix = _unbind(func.__func__)
        return inner, prefix + (func.__self__,)
    return func, ()


def _rebind(fn, prefix):
    """`fn` with the arguments `_unbind` took off bound again (a bound method of the generated function)."""
    for obj in reversed(prefix):
        fn = types.MethodType(fn, obj)
    return fn


def _require_code(func):
    if not hasattr(func, "__code__"):
        from s2s import frontend
        frontend.parse_function(func)  # raises SourceUnavailableError with a hint


def _entry(func, names, form, optimize=True, scalars=(), shapes=(), fixed=(), records=()):
    """The generated function for the plain function `func`, kept on it while it is fresh (cache.entry)."""
    _require_code(func)

    def make():
        gen = pipeline.derivative_code(func, names, form, optimize, scalars, shapes, fixed,
                                       trip_tuples=form in ("grad", "value"), record_params=records)
        bound = gen.bind(func)
        bound.fn.__s2s_returns_value__ = form == "value" or gen.returns_value
        bound.fn.__s2s_writes_checked__ = getattr(gen, "writes_checked", False)
        return bound

    return cache.entry(func, (names, form, optimize, scalars, shapes, fixed) + ((records,) if records else ()), make)


def _entry_for(func, names, form, optimize, args, specialise=True, kwargs=None):
    """`_entry` for the arguments of a call (`func` plain, `args` all of them), by their kinds and shapes.

    Returns (entry, whether it is specialised to some argument's shape). Each function gets
    at most SHAPE_VARIANTS shape-specialised variants; further shapes share the generic code.
    """
    shapes = cache.shapes_for(func, _shaped_params(func, args, kwargs) if optimize and specialise else ())
    fixed = _fixed_defaults(func, args, kwargs) if shapes else ()
    return _entry(func, names, form, optimize, _scalar_params(func, args, kwargs), shapes, fixed,
                  _record_params(func, args, kwargs, names)), bool(shapes)


def _record_params(func, args, kwargs=None, wrt=()) -> tuple:
    """(name, class) for the parameters given a namedtuple or dataclass instance whose class has a method of yours,
    (name, ("items", class)) for those given a list or tuple of such records of one class: the code made for the
    call reads `model(x)`, `model.forward(x)`, `layer(h)` of `for layer in layers` as that class's
    (transforms/objects.py; `s2s.receiver` checks each such call when it runs); (name, ("dict", paths)) for those of
    `wrt` given a dict, whose `.get` (and its dicts' at `paths`, `p["l1"].get`) it reads as a dict's
    (transforms/desugar.py; `s2s.has_key` checks it)."""
    out = []
    for p, a in _positional_values(func, args, kwargs):
        kind = _records_kind(a)
        if kind is not None:
            out.append((p, kind))
        elif type(a) is dict and p in wrt:  # (`p.get("b", 0.0)` of a dict differentiated: `p["b"] if "b" in p
            out.append((p, ("dict", _dict_paths(a))))  # else 0.0`; a dict of options keeps its `.get`)
        if _is_record(a):  # (`net.layers`, `model.encoder` of a record passed in, Equinox's way: `p.field` keys)
            out.extend((f"{p}.{field}", held) for field, held in _held_records(a))
    return tuple(out)


def _records_kind(a):
    """The class of a namedtuple or dataclass instance whose class has a method of yours (or that holds a function),
    `("items", class)` for a list or tuple of such records of one class (`for layer in layers: h = layer(h)`), else
    None."""
    if _is_record(a) and (_has_own_methods(type(a)) or _holds_functions(a)):
        return type(a)
    if type(a) in (list, tuple) and a and _is_record(a[0]) and all(type(v) is type(a[0]) for v in a) \
            and _has_own_methods(type(a[0])):
        return ("items", type(a[0]))
    return None


def _held_records(record) -> list:
    """(field, `_records_kind` of its value) for the fields of the namedtuple or dataclass instance `record` that
    hold such records, read as stored (a dataclass's `__dict__`, a namedtuple's items: no code of the class runs)."""
    if isinstance(record, tuple):
        values = zip(getattr(type(record), "_fields", ()), record)
    else:
        held = getattr(record, "__dict__", None)
        names = argshapes.dataclass_fields(type(record))
        if type(held) is not dict or names is None:
            return []
        values = ((name, held.get(name)) for name in names)
    return [(field, kind) for field, value in values if (kind := _records_kind(value)) is not None]


def _dict_paths(d, depth=0) -> tuple:
    """The keys that lead from the dict `d` to a dict it holds (`()` for itself), str and int keys only, four deep;
    `"*"` for any key of a dict whose values are all dicts (`params[name]`).

        >>> _dict_paths({"l1": {"W": 1.0}, "lr": 0.1})
        ((), ('l1',))
        >>> _dict_paths({"l1": {"W": 1.0}, "l2": {"W": 2.0}})
        ((), ('l1',), ('l2',), ('*',))
    """
    out = [()]
    if depth < 4:
        for k, v in d.items():
            if type(v) is dict and type(k) in (str, int):
                out.extend((k, *path) for path in _dict_paths(v, depth + 1))
        if d and all(type(v) is dict for v in d.values()):
            out.append(("*",))
    return tuple(out)


def _holds_functions(record) -> bool:
    """Whether a field of the namedtuple or dataclass instance `record` holds a function (`f: object = np.tanh`),
    which `record.f(z)` calls (transforms/objects.py)."""
    try:
        values = record if isinstance(record, tuple) else [getattr(record, f.name, None)
                                                           for f in dataclasses.fields(record)]
    except TypeError:  # (a class that reads its fields its own way)
        return False
    return any(callable(v) and not isinstance(v, type | np.ndarray) for v in values)


def _has_own_methods(cls) -> bool:
    """Whether the record class `cls` has a method of yours, or a property whose getter is yours."""
    from s2s import frontend
    return any(isinstance(v, types.FunctionType) and frontend.is_user_code(v)
               or type(v) is property and isinstance(v.fget, types.FunctionType) and frontend.is_user_code(v.fget)
               for c in cls.__mro__[:-1] for k, v in vars(c).items() if not k.startswith("__") or k == "__call__")


def _bound_for(func, wrt, form, optimize, args, specialise=True):
    """`_bound` for the arguments of a call, by their kinds and (with `specialise`) their shapes.

    Returns (function, wrt names, whether it is specialised to some argument's shape).
    """
    target, prefix = _unbind(func)
    names = pipeline._wrt_names(func, wrt)
    entry, specialised = _entry_for(target, names, form, optimize, prefix + tuple(args), specialise)
    return _rebind(entry.fn, prefix), names, specialised


def _bound(func, wrt, form, optimize=True, scalars=(), shapes=(), args=None, kwargs=None):
    """The generated function for `func` itself (a bound method: bound to the same object), and the wrt names;
    given the call's `args`, the code is made for the records and dicts among them (`_record_params`)."""
    _require_code(func)
    target, prefix = _unbind(func)
    names = pipeline._wrt_names(func, wrt)
    records = () if args is None else _record_params(target, prefix + tuple(args), kwargs, names)
    return _rebind(_entry(target, names, form, optimize, scalars, shapes, records=records).fn, prefix), names


def _check_scalar(value, func):
    if np.ndim(value) != 0 or isinstance(value, list | tuple | dict):
        shape = np.shape(value) if not isinstance(value, dict) else "a dict"
        raise NonScalarOutputError(
            f"grad needs a function with a scalar output, but {func.__name__} returned a value of shape {shape}.",
            hint="use s2s.vjp(f, ...) for a vector-Jacobian product, or reduce the output first "
                 "(for example return np.sum(y)).")


def _note_user_line(exc):
    """Add to an exception from generated code the user's line that code came from (Python 3.11+ notes); an
    error of s2s's own that a runtime helper raised without a place (a cdist metric held in a variable) is told
    at that line, as those raised when the code is made are."""
    from s2s import codegen
    found = codegen.raised_at(exc)
    if found is None:
        return
    if isinstance(exc, S2SError) and exc.filename is None:
        exc.filename, exc.lineno = found[1]
        exc.line = linecache.getline(exc.filename, exc.lineno)
        exc.args = (exc._render(),)
        return
    note = codegen.user_line_note(found)
    if hasattr(exc, "add_note") and note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)


def _positions(func, names):
    params = pipeline._param_names_of(func)
    return [(params.index(n), n) for n in names]


def check_like(given: Any, like: Any, what: str, of: str) -> None:
    """Refuse a tangent or cotangent `given` (a number or an array) whose shape is not that of `like`
    (a plain 0 stands for zeros of any shape); structures are checked leaf by leaf where they are read.

        check_like(np.ones(2), np.zeros(3), "the tangent 0", "its primal 0")   # ShapeMismatchError
    """
    leaf = (numbers.Number, np.ndarray, np.generic)
    if type(given) is not np.ndarray:
        argcheck.check_vector(given, what)
    if given is None and isinstance(like, leaf):  # (None is no value: JAX refuses it too)
        raise ShapeMismatchError(f"{what} is None, but {of} has shape {np.shape(like)}",
                                 hint="give a number or an array of the shape of the value it goes with (0.0 for zeros)")
    if not (isinstance(given, leaf) and isinstance(like, leaf)):
        return
    if np.shape(given) != np.shape(like) and not (np.ndim(given) == 0 and given == 0):
        raise ShapeMismatchError(f"{what} has shape {np.shape(given)}, but {of} has shape {np.shape(like)}",
                                 hint="give it the shape of the value it goes with (JAX requires the same)")


_NO_DEFAULT = object()


def _default_of(func, i, name):
    """The default of `func`'s parameter `name` (at position `i`), or _NO_DEFAULT."""
    code = getattr(func, "__code__", None)
    if code is None:
        return _NO_DEFAULT
    defaults = getattr(func, "__defaults__", None) or ()
    first = code.co_argcount - len(defaults)
    if first <= i < code.co_argcount:
        return defaults[i - first]
    return (getattr(func, "__kwdefaults__", None) or {}).get(name, _NO_DEFAULT)


def _check_args(positions, args, kwargs, func=None):
    """Refuse integer arrays as differentiated arguments (their gradient has no dtype to live in), and
    arguments that are neither numbers, arrays nor containers (an object: `self`, when a method was
    decorated with @s2s.grad and wrt=0 names `self`)."""
    argcheck.check_arguments(args, kwargs, func)
    for i, n in positions:
        if i >= len(args) and n not in kwargs:
            v = _default_of(func, i, n)  # its default value: checked as the value passed would be
            if v is _NO_DEFAULT or v is not None:
                continue
        else:
            v = args[i] if i < len(args) else kwargs[n]
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "fc":
                raise NotDifferentiableArgumentError(
                    f"cannot differentiate with respect to {n!r}: it is an array of dtype {v.dtype}; pass floats, "
                    "e.g. x.astype(float)", hint="pass floats (a structured array: its fields as a dict of arrays)")
        elif isinstance(v, numbers.Number) and not isinstance(v, numbers.Complex):
            raise NotDifferentiableArgumentError(
                f"cannot differentiate with respect to {n!r}: it is a {type(v).__name__}, not a float, complex or "
                "array (s2s's derivative code computes in floats)", hint=f"pass float({n}) instead")
        elif not (isinstance(v, numbers.Number | np.generic | list | tuple | dict) or hasattr(v, "__array__")
                  or (hasattr(v, "shape") and hasattr(v, "dtype")) or pytree.is_structure(v)):  # a dataclass too
            name = getattr(func, "__name__", "the function")
            params = pipeline._param_names_of(func) if func is not None else []
            after = f"wrt={params[i + 1]!r}" if n in ("self", "cls") and i + 1 < len(params) else "wrt=..."
            method = (f"{name} is called as a method, and wrt={i} is its parameter {n!r}, the object itself"
                      if n in ("self", "cls") else f"the argument for {n!r} is a {type(v).__name__}")
            raise NotDifferentiableArgumentError(
                f"s2s cannot differentiate {name} with respect to {n!r}: {method}, not a number or an array.",
                hint=f"choose the parameter to differentiate with {after} (for a method: @s2s.grad({after}) on the "
                     "def, or s2s.grad(obj.method), which differentiates with respect to the arguments after self)")


_GRAD_OPTIONS = ("wrt", "argnums", "argnum", "has_aux", "optimize")


def _follows_partials(transform):
    """`transform` (grad, jacobian, ...) that, for a functools.partial `p`, returns a function following `p`: the
    derivative is made again when p's function, arguments or keywords are no longer those it was made from
    (`p.keywords[k] = v` changes the dict in place, `p.__setstate__` replaces all three), as p's own calls
    follow them. A transform of such a function (grad(grad(p))) follows p too."""

    @functools.wraps(transform)
    def transform_following(func=None, *args, **kwargs):
        now = _changing(func)
        if now is None:
            return transform(func, *args, **kwargs)
        return _following(now, lambda value: transform(value, *args, **kwargs))

    return transform_following


def _changing(func):
    """For a partial, or a function `_following` made: `now()` giving (a token that is another object once what
    `func` computes has changed, what to transform now); None for anything else."""
    follows = getattr(func, "__s2s_follows__", None)
    if follows is not None:
        return lambda: (follows(), follows())
    if not isinstance(func, functools.partial):
        return None
    held = [_partial_state(func), object()]

    def now():
        if not _partial_state_holds(func, held[0]):
            held[:] = [_partial_state(func), object()]
        return held[1], func

    return now


def _partial_state(p: functools.partial) -> tuple:
    """What the calls of the partial `p` depend on: its function (the state of an inner partial too), its
    arguments, its keywords dict and the (key, value) pairs in it."""
    inner = _partial_state(p.func) if isinstance(p.func, functools.partial) else None
    return p.func, p.args, p.keywords, tuple(p.keywords.items()), inner


def _partial_state_holds(p: functools.partial, state: tuple) -> bool:
    """Whether `p` holds the very objects `state` (from `_partial_state`) names: compared by identity, as a
    keyword rebound to an equal value may still be another kind of value."""
    func, args, keywords, items, inner = state
    if p.func is not func or p.args is not args or p.keywords is not keywords or len(keywords) != len(items):
        return False
    if any(keywords.get(k, _NOTHING) is not v for k, v in items):
        return False
    return inner is None or _partial_state_holds(func, inner)


_NOTHING = object()


def _following(now, make):
    """A function calling `make(value)` for the `value` from `now()` (`_changing`), made again when the token
    changes. Its `__s2s_follows__` gives the function it calls now."""
    token, value = now()
    held = [token, make(value)]

    def current():
        token, value = now()
        if token is not held[0]:
            held[:] = [token, make(value)]
        return held[1]

    def following(*args, **kwargs):
        return current()(*args, **kwargs)

    functools.update_wrapper(following, held[1], updated=())
    del following.__wrapped__  # (not the function it calls for ever: inspect would read its signature)
    following.__s2s_follows__ = current
    return following


@_follows_partials
def grad(func: Callable | None = None, wrt: Wrt | None = None, *, argnums: Wrt | None = None,
         argnum: Wrt | None = None, has_aux: bool = False, optimize: bool = True, compile: bool | str = False,
         **unknown: Any) -> Callable:
    """Return a function computing the gradient of scalar-valued `func` (reverse mode; like
    `jax.grad` and `autograd.grad`).

    `wrt` is a parameter position, a parameter name, or a tuple of them (default 0); a
    tuple gives a tuple of gradients. JAX's `argnums=` and autograd's `argnum=` mean the same.
    A parameter may hold a number, an array, or a dict, list, tuple, namedtuple or dataclass of
    them, to any depth: its gradient has the same structure. With `has_aux=True` `func` returns
    `(value, aux)`: `aux` is returned as it is, not differentiated, and the gradient function
    returns `(gradient, aux)` (as in JAX). Works as `@grad` and `@grad(wrt=...)`.
    `optimize=False` runs the generated code without s2s's optimizer. `grad(grad(f))`
    gives second derivatives of a scalar argument. `compile=True` compiles the gradient with
    numba where that is faster (docs/compiled.md; "always", "strict": compiled code only).

    Example::

        def f(x, y):
            return np.sum(np.sin(x) * y)

        df = s2s.grad(f)                    # d/dx
        df(np.ones(3), 2.0)                 # 2 * cos(x)
        s2s.grad(f, wrt=(0, "y"))(np.ones(3), 2.0)   # (d/dx, d/dy)
        s2s.grad(f, argnums=1)(np.ones(3), 2.0)      # d/dy, JAX's spelling
    """
    _reject("grad", unknown, _GRAD_OPTIONS)
    wrt = _pick_wrt("grad", wrt, argnums, argnum)
    if func is None:
        return functools.partial(grad, wrt=wrt, has_aux=has_aux, optimize=optimize, compile=compile)
    func = _function_of(func)
    spec = _derivative_of(func)
    if spec is not None and getattr(func, "__s2s_plain__", None) is None:  # grad(jacrev(f)), grad(hessian(f))
        if compile:
            raise TypeError("s2s.grad(..., compile=...) of a derivative function s2s made runs the NumPy code: leave "
                            "compile= out")
        return compose.grad(spec, wrt, has_aux)
    _validate(func, wrt)
    if compile and has_aux:
        raise TypeError("s2s.grad(f, has_aux=True) runs the NumPy code: compile= does not take an auxiliary output "
                        "yet; leave compile= out, or return the value alone from a function of its own")
    if compile:  # numba-compiled code (s2s/compiled.py, docs/compiled.md): True, "always" or "strict"
        from s2s import compiled
        return compiled.grad(func, wrt, optimize, mode=compile)
    if has_aux:
        gradient = functools.wraps(func)(_aux_runner(func, wrt, optimize, need_value=False))
        gradient.__s2s_target__ = (func, wrt, "flat", optimize)
        return gradient
    plain = getattr(func, "__s2s_plain__", None)
    if plain is not None:
        return higher_order.grad_of_derivative(func, plain, wrt)

    single = not isinstance(wrt, tuple | list)
    if single:
        from s2s import nested  # called inside a differentiated function, it is differentiated there
        known = nested.remembered(func, wrt, optimize)
        # grad(loglike) made anew at each call of a lambda: the same function, its code kept (where it takes
        # the parameters f's code has now: f.__code__ may have been replaced by code naming others)
        if known is not None and getattr(known, "__s2s_params__", None) in (None, _own_params(func)):
            return known
    gradient = functools.wraps(func)(_runner(func, wrt, optimize, need_value=False))
    gradient.__s2s_target__ = (func, wrt, "flat", optimize)
    if single:
        gradient.__s2s_plain__ = lambda: derivative(func, wrt=wrt, optimize=optimize)
        gradient.__s2s_plain_wrt__ = lambda: pipeline._wrt_names(func, wrt)[0]
        nested.remember(gradient, func, wrt, optimize)  # marked __s2s_nested__
        if _composable(func):  # given to another transform, it is f's first derivative
            compose.mark(gradient, func, pipeline._wrt_names(func, wrt))
    elif _composable(func):  # a tuple of first derivatives
        compose.mark(gradient, func, tuple((n,) for n in pipeline._wrt_names(func, wrt)))
    return gradient


def _composable(func) -> bool:
    """A function (or bound method) whose derivative functions another transform differentiates through it."""
    inner = func.__func__ if isinstance(func, types.MethodType) else func
    return isinstance(inner, types.FunctionType)


def _derivative_of(func):
    """What the derivative function `func` that s2s made computes (s2s/compose.py), or None."""
    return compose.of(func)


def _seed_name(fn):
    """The keyword of the output's adjoint in generated reverse-mode code (`out_bar` unless taken)."""
    code = getattr(fn, "__func__", fn).__code__
    return code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]


def _aux_error(func, value):
    kind = type(value).__name__
    return TypeError(f"has_aux=True needs {getattr(func, '__name__', 'the function')} to return a pair (value, aux), "
                     f"but it returned a {kind}" + (f" of length {len(value)}" if isinstance(value, tuple | list)
                                                      else ""))


def _split_aux(func, value):
    """(value, aux) from what a has_aux function returned, refused when it is not a pair."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise _aux_error(func, value)
    return value[0], value[1]


def _aux_runner(func, wrt, optimize, need_value):
    """grad / value_and_grad of a function returning (value, aux): the output's adjoint is seeded with
    (1.0, 0.0), so no derivative flows from aux; the code is not specialised to shapes (the seed is
    not a number)."""
    target, prefix = _unbind(func)
    as_tuple = isinstance(wrt, tuple | list) and len(wrt) == 1

    known = {}  # the wrt names and their positions, read from the signature once

    def run(*args, **kwargs):
        args = prefix + args
        argcheck.check_arguments(args, kwargs, target)
        if not known:
            known["names"] = pipeline._wrt_names(func, wrt)
            known["positions"] = _positions(target, known["names"])
        names, positions = known["names"], known["positions"]
        _check_args(positions, args, kwargs, target)
        fn = _entry(target, names, "value", optimize).fn
        try:
            out, g = fn(*args, **kwargs, **{_seed_name(fn): (1.0, 0.0)})
        except Exception as exc:
            # a function that does not return a pair fails on the pair seed: say so (its run on copies)
            if not isinstance(exc, S2SError):
                _split_aux(func, func(*pytree.copied(args), **kwargs))
            _note_user_line(exc)
            raise
        value, aux = _split_aux(func, out)
        _check_scalar(value, func)
        if type(g) in _CONTAINERS:
            g = _unshared(g)
        g = _restored(g, positions, args, kwargs)
        if as_tuple:
            g = (g,)
        return ((value, aux), g) if need_value else (g, aux)

    return run


def _restored(g, positions, args, kwargs):
    """Gradients given the container types of their arguments (pytree.restore): one, or a tuple of them."""
    likes = [args[i] if i < len(args) else kwargs.get(n) for i, n in positions]
    if len(likes) == 1:
        return pytree.restore(g, likes[0])
    return tuple(pytree.restore(gi, x) for gi, x in zip(g, likes))


_CONTAINERS = {list, tuple, dict}
_KEYWORDS = object()  # marks a call's key that holds the names of the keywords it passed
SHAPE_VARIANTS = cache.SHAPE_VARIANTS


def _own_params(func):
    """The names of the positional parameters of the code `func` (a function or bound method) runs now."""
    target, prefix = _unbind(func)
    code = getattr(target, "__code__", None)
    return tuple(code.co_varnames[:code.co_argcount]) if code is not None else None


def _runner(func, wrt, optimize, need_value=True):
    """The function grad (`need_value` false) or value_and_grad returns: one generated variant per kind
    of arguments (a cache.Memo), each checked to be fresh (cache.Bound.fresh) before every call.

    Array arguments key the variant by their shape, so that the code is specialised to it
    (transforms/specialize.py): after SHAPE_VARIANTS shapes, further ones share generic code.
    Without `need_value` the code may not compute the value where the output is known to be
    a scalar.

    Where the function's signature allows (s2s/compiled_call.py), the function returned has its parameters,
    and its code is the hot code of the variant called last: the same tests of the arguments' kinds and of
    freshness, written out inline, and the generated function's call, with no key built and no lookup.
    """
    target, prefix = _unbind(func)
    variants = cache.Memo()
    find = variants.get  # bound once: a dict subclass's method lookup costs each call some 40 ns
    as_tuple = isinstance(wrt, tuple | list) and len(wrt) == 1  # wrt=(0,) gives a 1-tuple, as documented
    form = "value" if need_value else "grad"
    ndarray = np.ndarray
    structure_key = argshapes.structure_key  # a list, tuple or dict of arrays and numbers: keyed by its structure
    settled = argcheck.settled
    is_record = argshapes.is_record  # a namedtuple or dataclass: keyed by its fields' structure (`model.W`)

    def make(args, key, kwargs):
        argcheck.check_arguments(args, kwargs, target)  # np.matrix and complex arguments have keys of their own
        _require_code(target)
        names = pipeline._wrt_names(func, wrt)
        entry, _ = _entry_for(target, names, form, optimize, args, kwargs=kwargs)
        kinds = tuple(map(type, args))
        every = _positions(target, names)
        _check_args(every, args, kwargs, target)
        # a number, an exact ndarray (its dtype) or a container keyed by its structure is what the key says:
        # `_check_args` has nothing to add on the calls that find this variant
        positions = [p for p in every if p[0] >= len(args) or kinds[p[0]] not in _NUMBER and kinds[p[0]] is not ndarray
                     and not ((kinds[p[0]] in _CONTAINERS or is_record(args[p[0]]))
                              and structure_key(args[p[0]]) is not None)]
        # a namedtuple's or dataclass's gradient made as a plain tuple or dict gets its type (pytree.restore)
        records = every if any(i < len(args) and _is_record(args[i]) for i, _ in every) else None
        # (an ndarray subclass's key is its class: an instance's own `dot`, argcheck, is checked on each call)
        recheck = bool(kwargs) or bool(_CONTAINERS.intersection(key if type(key) is tuple else (key,))) \
            or any(type(a) is not ndarray and isinstance(a, ndarray) for a in args)
        # (an object's attributes, a record's lists: what they hold may change between calls, so `settled` tests
        # them on every call, and the full check runs where it cannot tell)
        keys = (key,) if len(args) == 1 else key
        watched = () if kwargs else tuple(i for i, a in enumerate(args) if type(keys[i]) is type and argcheck.may_change(a))
        # (a default the call leaves that is a list, dict or object: `def f(x, Ws=[W0])`, changed in place later)
        watched += tuple(("default", v) for v in _changing_defaults(target, len(args)))
        hot = {}  # its hot codes for the runner by how many arguments a call gives (False: none), made on the
        # first call that may use one
        return variants.put(key, (entry, entry.fn, positions, entry.fn.__s2s_returns_value__, records, recheck, hot,
                                  watched))

    def slow(args, kwargs):
        """The general call: the variant for these arguments' kind, made or made again when stale."""
        if prefix:
            args = prefix + args
        if kwargs is None:  # from the runner's code: no keywords
            kwargs = {}
        if len(args) == 1:
            a = args[0]
            key = (a.shape, a.dtype.char) if type(a) is ndarray else type(a) if type(a) in _NUMBER or (
                type(a) not in _CONTAINERS and not is_record(a)) else structure_key(a) or type(a)
        else:
            key = tuple([(a.shape, a.dtype.char) if type(a) is ndarray else type(a) if type(a) in _NUMBER or (
                type(a) not in _CONTAINERS and not is_record(a)) else structure_key(a) or type(a) for a in args])
        if kwargs:  # the code for a call without keywords may be specialised to defaults these replace
            key = (key, _KEYWORDS, tuple(kwargs))
        variant = find(key)
        made = variant is None or not variant[0].fresh()
        if made:
            variant = make(args, key, kwargs)
        elif variant[5] or variant[7] and not all(settled(v) is not False for v in _watched_values(variant[7], args)):
            argcheck.check_arguments(args, kwargs, target)  # what a list or a keyword holds is not in the key
        entry, fn, positions, returns_value, records, recheck, hot, watched = variant
        if positions:
            _check_args(positions, args, kwargs, target)
        if fixed is not None and not kwargs and not positions and not recheck and len(args) <= arity \
                and not any(type(w) is tuple for w in watched):  # (the hot code tests arguments, not defaults)
            code = hot.get(len(args))  # (fewer: parameters left out, their defaults part of the variant's freshness)
            if code is None and not (made and len(variants) > 1):
                # (a variant made beside others has its hot code made when it is found again: one made for each
                # call, a record's class made anew each step, would pay for a hot code it never runs)
                code = hot[len(args)] = _hot_code(entry, key, args, returns_value, records) or False
            if code:
                compiled_call.install(fixed, code)  # the next calls of this kind go straight to fn
        try:
            out = fn(*args, **kwargs) if kwargs else fn(*args)
        except Exception as exc:
            return failed(exc, args, kwargs, records, fn)
        return done(out, args, kwargs, returns_value, records)

    def failed(exc, args, kwargs, records, fn):
        """The generated function `fn` raised: a non-scalar output said in grad's words, a one-element output
        computed by the code for arrays, anything else raised with the user's line noted."""
        if isinstance(exc, NonScalarOutputError):
            raise NonScalarOutputError(
                f"grad needs a function with a scalar output, but {func.__name__} returns a tuple, list or dict.",
                hint=exc.hint) from None
        # a refusal is final; another failure may be a one-element output in a scalar's code, or Python's
        # division by zero where the function computes in NumPy numbers
        out = None
        if not isinstance(exc, S2SError) and not reruns.writes_globals(target) \
                and not (isinstance(exc, ZeroDivisionError | OverflowError)
                                                  and reruns.may_differ_when_run_again(
                                                      target, getattr(fn, "__s2s_writes_checked__", False))):
            # (a function that draws or prints is not run again on copies to find its value: the draw or the
            # print would be seen twice, and a rerun in NumPy numbers would be refused anyway)
            value = _value_on_copies(target, args, kwargs)
            if value is not _NO_VALUE:
                out = _size_one_output(func, target, wrt, optimize, args, kwargs, value)
                if out is None and isinstance(exc, ZeroDivisionError | OverflowError):
                    out = in_numpy_numbers(target, pipeline._wrt_names(func, wrt), optimize, args, kwargs, value,
                                           getattr(fn, "__s2s_writes_checked__", False))
        if out is None:
            _note_user_line(exc)
            raise exc
        return done(out, args, kwargs, True, records)

    def done(out, args, kwargs, returns_value, records):
        """What the call returns, from the generated function's output `out`."""
        if returns_value:
            value, g = out
            number = type(value) in _FLOAT_TYPES
            if not number and (value is None or isinstance(value, str | bytes)):
                raise NonScalarOutputError(f"grad needs a function with a number output, but {func.__name__} "
                                           f"returned {type(value).__name__} here",
                                           hint="return the number to differentiate on every path")
            if not number and np.ndim(value) != 0:
                size_one = _size_one_output(func, target, wrt, optimize, args, kwargs, value)
                if size_one is None:
                    _check_scalar(value, func)
                value, g = size_one
        else:
            value, g = None, out
        if type(g) in _CONTAINERS:  # (a tuple of gradients, or a container argument's)
            g = _unshared(g)
        if records is not None:
            g = _restored(g, records, args, kwargs)
        if as_tuple:
            g = (g,)
        return (value, g) if need_value else g

    def _hot_code(entry, key, args, returns_value, records):
        """The hot code for a variant keyed by its arguments' types, exact ndarrays' shapes and dtypes and
        containers' structures, which a hot code tests as the key does (compiled_call); None where a container
        has no structure key (its type alone is the key: what it holds is checked on every call)."""
        keys = (key,) if len(args) == 1 else key
        if any(type(a) in _CONTAINERS and type(k) is not tuple for a, k in zip(args, keys)):
            return None
        plain = records is None and not as_tuple and not need_value

        def done_here(out, args):
            return done(out, args, {}, returns_value, records)

        def failed_here(exc, args):
            return failed(exc, args, {}, records, entry.fn)

        return compiled_call.make_hot_numpy(entry, key, args, params, fixed, failed_here, done_here, plain, target,
                                            compiled_call.global_names(fixed), value_first=returns_value)

    def run(*args, **kwargs):  # where the signature has no runner of its own: the general call every time
        return slow(args, kwargs)

    # the function the user calls, whose code is the hot code of the variant called last (s2s/compiled_call.py)
    code = getattr(target, "__code__", None)  # (none: a NumPy function given as itself, refused at its call)
    fixed = compiled_call.make_runner(target, slow) if not prefix and type(code) is types.CodeType else None
    arity = code.co_argcount if fixed else 0  # the runner's parameters (f.__code__ may change later)
    params = tuple(code.co_varnames[:arity]) if fixed else ()
    return fixed or run


_NO_VALUE = object()


def _watched_values(watched, args):
    """The values a variant's `watched` names: argument positions, ("default", value) for defaults."""
    return [w[1] if type(w) is tuple else args[w] for w in watched]


def _changing_defaults(func, given) -> list:
    """The defaults of `func` a call of `given` positional arguments leaves (keyword-only ones too) that may change
    in place between calls: lists, dicts and objects (`argcheck.may_change`)."""
    code = getattr(func, "__code__", None)
    defaults = getattr(func, "__defaults__", None) or ()
    left = defaults[max(0, given - (code.co_argcount - len(defaults))):] if code is not None else ()
    values = list(left) + list((getattr(func, "__kwdefaults__", None) or {}).values())
    return [v for v in values if type(v) in _CONTAINERS or argcheck.may_change(v)]


def _size_one_output(func, target, wrt, optimize, args, kwargs, value):
    """(value, gradient) of a function whose output is an array of one element (shape (1,), (1, 1)), as
    autograd accepts it: the pullback of an array of ones of that shape, through code not specialised to
    a scalar output. None where the output is anything else.

    `value`: the output, where the derivative code gave it, or the function's on copies (_value_on_copies)."""
    if not isinstance(value, np.ndarray) or value.size != 1 or value.ndim == 0 or value.dtype.kind not in "fc":
        return None
    if reruns.writes_globals(target):
        raise NonScalarOutputError(
            f"grad needs a function with a scalar output, but {target.__name__} returns an array of shape "
            f"{value.shape}, which s2s differentiates by running its code once more, and {target.__name__} binds a "
            "global name (it would count or log twice)",
            hint="return a number: `np.sum(...)` without keepdims=True, or the array's item (`out[0]`)")
    fn = _entry(target, pipeline._wrt_names(func, wrt), "value", optimize).fn
    try:
        return fn(*args, **kwargs, **{_seed_name(fn): np.ones(value.shape, value.dtype)})
    except Exception as exc:
        _note_user_line(exc)
        raise


def _value_on_copies(target, args, kwargs):
    """The function's output on deep copies of the arguments (so that it updates and draws from none of the
    caller's objects), with NumPy's warnings silenced; _NO_VALUE where it cannot be copied or raises."""
    try:
        copied = copy.deepcopy((args, kwargs))
    except Exception:  # noqa: BLE001 - arguments that cannot be copied: the caller re-raises the first error
        return _NO_VALUE
    try:
        with np.errstate(all="ignore"):
            return target(*copied[0], **copied[1])
    except Exception:  # noqa: BLE001 - the function itself fails: the caller re-raises the first error
        return _NO_VALUE


def in_numpy_numbers(target, names, optimize, args, kwargs, value=_NO_VALUE, writes_checked=False):
    """(value, gradient) where the derivative code raised ZeroDivisionError or OverflowError on Python numbers
    but the function itself gives `value`, a real number: NumPy's numbers make infinity or NaN there.

    The function's own arithmetic ran in NumPy numbers (`np.log(0.0)` is -inf; `np.sum(x) / x.size` of an empty
    array is NaN), while its adjoints, from a Python float argument, `x.size` and the seed 1.0, were Python
    numbers, whose division by zero raises (`1.0 / x`). So the generated code (not specialised, the output's
    adjoint a parameter) runs again with each Python float among the arguments, and the output's adjoint, given
    as np.float64: the same IEEE operations on the same values, except that those which raised give NumPy's
    infinity or NaN (with NumPy's warning). Its value must be the function's; a Python float argument's gradient
    is a Python float again. None where it raises too, or gives another value. `value`: the function's output,
    where the caller has it; else the function is run on copies (_value_on_copies). `writes_checked`: the code that
    raised writes only into what it made (reruns.may_differ_when_run_again).

        >>> in_numpy_numbers(f, ["x"], True, (0.0,), {}, -np.inf)   # f(x) = np.log(x)
        (-inf, inf)
    """
    if value is _NO_VALUE:
        value = _value_on_copies(target, args, kwargs)
    if not isinstance(value, numbers.Real | np.floating) or np.ndim(value) != 0 \
            or not all(reruns.plain_data(a) for a in [*args, *kwargs.values()]) \
            or reruns.may_differ_when_run_again(target, writes_checked):
        return None

    def numpy_float(leaf):
        return np.float64(leaf) if type(leaf) is float else leaf

    fn = _entry(target, names, "value", optimize).fn
    try:
        again, g = fn(*pytree.map_leaves(numpy_float, list(args)),
                      **{k: pytree.map_leaves(numpy_float, v) for k, v in kwargs.items()},
                      **{_seed_name(fn): np.float64(1.0)})
    except Exception:  # noqa: BLE001 - it fails in NumPy numbers too: the caller re-raises the first error
        return None
    if not (again == value or again != again and value != value):
        return None
    params = pipeline._param_names_of(target)
    given = [args[i] if i < len(args) else kwargs.get(n) for i, n in ((params.index(n), n) for n in names)]
    if len(names) == 1:
        return value, _python_floats(g, given[0])
    return value, type(g)(_python_floats(gi, a) for gi, a in zip(g, given, strict=True))


def _python_floats(g, given):
    """The gradient `g` with each entry for a Python float of the argument `given` a Python float."""
    if type(given) is float:
        return float(g)
    if type(given) in (list, tuple) and type(g) in (list, tuple) and len(g) == len(given):
        return type(g)(_python_floats(gi, a) for gi, a in zip(g, given))
    if type(given) is dict and type(g) is dict:
        return {k: _python_floats(gi, given.get(k)) for k, gi in g.items()}
    return g


def _is_record(value) -> bool:
    """A structure whose type is not a plain dict, list or tuple (a namedtuple, a dataclass, ...)."""
    return type(value) not in _CONTAINERS and pytree.is_structure(value)


_FLOAT_TYPES, _LEAF_TYPES = compiled_call.FLOAT_TYPES, compiled_call.LEAF_TYPES


def _unshared(grads):
    """Gradients that are one array object (`x + y`: both adjoints are the same array) become copies, the
    leaves of a list, tuple or dict gradient among them (`p["a"] + p["b"]`: `g["a"] is g["b"]`).

        >>> a = np.ones(2)
        >>> g = _unshared((a, a))
        >>> g[0] is a and g[1] is not a
        True
    """
    if type(grads) is tuple:  # the common cases, tested fast: numbers (none can change), distinct arrays
        kinds = set(map(type, grads))
        if kinds <= _FLOAT_TYPES or kinds <= _LEAF_TYPES and len(set(map(id, grads))) == len(grads):
            return grads
    if type(grads) in _CONTAINERS:  # lists of layers' arrays, one level down: distinct arrays and numbers
        leaves = []
        for g in grads.values() if type(grads) is dict else grads:
            kind = type(g)
            if kind is list or kind is tuple:
                leaves.extend(g)
            elif kind is dict:
                leaves.extend(g.values())
            else:
                leaves.append(g)
        if set(map(type, leaves)) <= _LEAF_TYPES and len(set(map(id, leaves))) == len(leaves):
            return grads
    seen = set()

    def unshared(g):
        kind = type(g)
        if kind is tuple or kind is list:
            out = [unshared(v) for v in g]
            return g if all(a is b for a, b in zip(out, g)) else kind(out)
        if kind is dict:
            out = {k: unshared(v) for k, v in g.items()}
            return g if all(out[k] is v for k, v in g.items()) else out
        if isinstance(g, np.ndarray) and id(g) in seen:
            return g.copy()
        seen.add(id(g))
        return g

    return unshared(grads)


@_follows_partials
def value_and_grad(func: Callable | None = None, wrt: Wrt | None = None, *, argnums: Wrt | None = None,
                   argnum: Wrt | None = None, has_aux: bool = False, optimize: bool = True,
                   **unknown: Any) -> Callable:
    """Like `grad`, but the function returns `(value, gradient)` from one run (like `jax.value_and_grad`,
    `autograd.value_and_grad`); with `has_aux=True`, `((value, aux), gradient)` as in JAX.

    Example::

        def loss(w, x):
            return np.sum((x @ w) ** 2)

        value, g = s2s.value_and_grad(loss)(np.ones(3), np.eye(3))   # 3.0, [2. 2. 2.]
    """
    _reject("value_and_grad", unknown, _GRAD_OPTIONS)
    wrt = _pick_wrt("value_and_grad", wrt, argnums, argnum)
    if func is None:
        return functools.partial(value_and_grad, wrt=wrt, has_aux=has_aux, optimize=optimize)
    func = _function_of(func)
    spec = _derivative_of(func)
    if spec is not None and not has_aux:  # value_and_grad(jacrev(f)): D's value and the next derivative
        gradient = compose.grad(spec, wrt)

        @functools.wraps(func)
        def value_and_gradient_of(*args, **kwargs):
            return func(*args, **kwargs), gradient(*args, **kwargs)

        return value_and_gradient_of
    _validate(func, wrt)
    run = _aux_runner(func, wrt, optimize, need_value=True) if has_aux else _runner(func, wrt, optimize, need_value=True)
    value_and_gradient = functools.wraps(func)(run)
    value_and_gradient.__s2s_target__ = (func, wrt, "value", optimize)
    return value_and_gradient


def _all_positions(args) -> tuple[int, ...]:
    """The positions of the arguments `wrt="all"` differentiates: numbers, float arrays and structures."""
    return tuple(i for i, a in enumerate(args) if _differentiable(a))


def _differentiable(a) -> bool:
    if isinstance(a, bool | np.bool_) or a is None or isinstance(a, str):
        return False
    if isinstance(a, np.ndarray | np.generic):
        return a.dtype.kind == "f"
    return isinstance(a, numbers.Real) or pytree.is_structure(a) or hasattr(a, "__array__")


def vjp(func: Callable, *args: Any, wrt: Wrt | str | None = None, argnums: Wrt | None = None,
        argnum: Wrt | None = None, has_aux: bool = False, **kwargs: Any) -> tuple:
    """Evaluate `func(*args)` and return `(value, pullback)` (like `jax.vjp`, `autograd`'s `make_vjp`).

    `pullback(cotangent)` returns the gradient of `<cotangent, func(*args)>` with respect to
    `wrt` (default 0; a tuple of them when `wrt` is a tuple; `argnums=` and `argnum=` mean the
    same). `wrt="all"` gives a tuple with one cotangent per positional argument, as
    `jax.vjp`'s pullback does (None for an argument that is not a number, a float array or a
    structure of them). The cotangent has the structure of the value; each gradient the
    structure of its argument. With `has_aux=True`, `func` returns `(value, aux)` and vjp returns
    `(value, pullback, aux)` (as in JAX). The pullback can be called any number of times.
    Other keyword arguments are passed to `func`.

    Example::

        def f(x, y):
            return np.sin(x) * y

        y, pullback = s2s.vjp(f, np.zeros(3), 2.0)
        pullback(np.ones(3))                # cos(x) * y = [2. 2. 2.]
        s2s.vjp(f, np.zeros(3), 2.0, wrt="all")[1](np.ones(3))   # (d/dx, d/dy)
    """
    wrt = _pick_wrt("vjp", wrt, argnums, argnum)
    func = _function_of(func)
    spec = _derivative_of(func)
    if spec is not None and getattr(func, "__s2s_nested__", None) is None:  # vjp(jacrev(f), x)
        return _vjp_of_derivative(spec, args, kwargs, wrt, has_aux)
    plain = _plain_now(func)
    if plain is not None:  # vjp(elementwise_grad(f)): the cotangent times its forward-mode Jacobian
        repeated.check(func, args, kwargs, "s2s.vjp of elementwise_grad")
        return _vjp_by_jacobian(plain(), args, kwargs, wrt, has_aux)
    every = isinstance(wrt, str) and wrt == "all" and "all" not in _param_names(func)
    chosen = _all_positions(args) if every else wrt
    if every and not chosen:
        value = func(*args, **kwargs)
        return (value[0], lambda ct: (None,) * len(args), value[1]) if has_aux else \
            (value, lambda ct: (None,) * len(args))
    _validate(func, chosen)
    fn, names = _bound(func, chosen, "split", args=args, kwargs=kwargs)
    positions = _positions(func, names)
    _check_args(positions, args, kwargs, func)
    out, pb = fn(*args, **kwargs)
    single = not isinstance(chosen, tuple | list)
    value, aux = _split_aux(func, out) if has_aux else (out, None)

    def pullback(cotangent):
        check_like(cotangent, value, "the cotangent given to the pullback", "the function's output")
        cotangent = _in_output_dtype(cotangent, value)
        grads = pb((cotangent, 0.0) if has_aux else cotangent)
        grads = tuple(pytree.restore(g, args[i] if i < len(args) else kwargs.get(n)) for g, (i, n) in zip(grads, positions))
        if every:
            by_position = dict(zip(chosen, grads))
            return tuple(by_position.get(i) for i in range(len(args)))
        return grads[0] if single else grads

    return (value, pullback, aux) if has_aux else (value, pullback)


def _in_output_dtype(cotangent, value):
    """`cotangent` with each float leaf of a narrower dtype than the output's leaf widened to it: a float32
    cotangent of a float64 output is pulled back in float64, as the output was computed (it was computed in
    float32, which lost digits the output has).

        >>> _in_output_dtype(np.ones(2, np.float32), np.ones(2)).dtype
        dtype('float64')
    """
    pairs = iter(zip(pytree.leaves(cotangent), pytree.leaves(value)))

    def widened(leaf):
        _, like = next(pairs, (leaf, None))
        kind, wide = getattr(leaf, "dtype", None), getattr(like, "dtype", None)
        if kind is None or wide is None or kind == wide or not (np.issubdtype(kind, np.floating)
                                                                 and np.issubdtype(wide, np.floating)) \
                or np.promote_types(kind, wide) != wide:
            return leaf
        return leaf.astype(wide) if isinstance(leaf, np.ndarray) else wide.type(leaf)
    return pytree.map_leaves(widened, cotangent)


def _vjp_of_derivative(spec, args, kwargs, wrt, has_aux):
    """vjp of a derivative function s2s made (s2s/compose.py); wrt="all" as for any function."""
    if has_aux:
        raise TypeError("s2s.vjp(..., has_aux=True) of a derivative function s2s made: it returns no auxiliary "
                        "value; leave has_aux= out")
    every = isinstance(wrt, str) and wrt == "all" and "all" not in _param_names(spec.func)
    chosen = _all_positions(args) if every else wrt
    value, pullback = compose.vjp(spec, args, kwargs, tuple(chosen) if every else chosen)
    if not every:
        return value, pullback

    def by_position(cotangent):
        grads = dict(zip(chosen, pullback(cotangent)))
        return tuple(grads.get(i) for i in range(len(args)))

    return value, by_position


def _vjp_by_jacobian(func, args, kwargs, wrt, has_aux):
    """(value, pullback) of `func`, a generated function that forward mode differentiates again, whose output
    is an array: the pullback contracts the cotangent with the forward-mode Jacobian."""
    if has_aux or isinstance(wrt, str) and wrt == "all":
        raise TypeError("s2s.vjp of elementwise_grad(f) takes one wrt (or a tuple of them), without has_aux")
    value = func(*args, **kwargs)
    if pytree.is_structure(value):
        raise TypeError("s2s.vjp of elementwise_grad(f) needs an array output; use s2s.jacfwd on it")
    single = not isinstance(wrt, tuple | list)
    # (the Jacobians at this point, now: made when the pullback is called, they read the globals of then; adv226)
    jacobians = [jacobian(func, w, "forward")(*args, **kwargs) for w in ((wrt,) if single else wrt)]

    def pullback(cotangent):
        grads = tuple(np.tensordot(cotangent, j, axes=np.ndim(value)) for j in jacobians)
        return grads[0] if single else grads

    return value, pullback


def _param_names(func) -> list[str]:
    try:
        return pipeline._param_names_of(func)
    except (TypeError, ValueError):
        return []


def checkpoint(iterable: Any, every: int | None = None) -> Any:
    """Mark a loop for checkpointing: `for t in s2s.checkpoint(range(n), every=k): ...`
    (like `jax.checkpoint`, for one loop).

    When it runs, this returns `iterable` unchanged. In reverse mode s2s then
    keeps no tape for the loop's iterations: the forward sweep saves the loop's
    variables every `k` iterations (every ~sqrt(n) by default), and the
    backward sweep re-runs one segment at a time from its snapshot, recording
    only that segment. Peak memory falls from n iterations' tape to about
    n/k snapshots plus k iterations' tape; the price is one extra forward run.

    Example::

        def f(x):
            for _ in s2s.checkpoint(range(1000), every=30):
                x = np.tanh(x)
            return np.sum(x)

        s2s.grad(f)(np.ones(4))             # keeps about 33 snapshots, not 1000 iterations
    """
    return iterable


checkpoint.__s2s_checkpoint__ = True


@_follows_partials
def derivative(func: Callable, mode: str = "reverse", wrt: Wrt | None = None, optimize: bool = True, *,
               argnums: Wrt | None = None, argnum: Wrt | None = None, **unknown: Any) -> Callable:
    """The raw generated function, for any argument shapes (what `s2s.source(df)` prints).

    mode="reverse": `df(*args, *, out_bar=1.0)` returning the gradient(s);
    mode="forward": `f_jvp(*args, *, x_dot, ...)` returning `(value, tangent)`.

    Example::

        def f(x):
            return x * np.sin(x)

        df = s2s.derivative(f)
        df(1.0)                             # sin(1) + cos(1)
        s2s.derivative(f, mode="forward")(1.0, x_dot=1.0)   # (f(1), f'(1))
    """
    _reject("derivative", unknown, ("mode", "wrt", "argnums", "argnum", "optimize"))
    wrt = _pick_wrt("derivative", wrt, argnums, argnum)
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    func = _function_of(func)
    _validate(func, wrt)
    fn, _ = _bound(func, wrt, "flat" if mode == "reverse" else "jvp", optimize)
    return fn


def jvp(func: Callable, primals: tuple | list, tangents: tuple | list, *, has_aux: bool = False,
        **unknown: Any) -> tuple:
    """Forward mode: `(func(*primals), J @ tangents)` (like `jax.jvp`).

    `tangents` has one entry per primal, of the primal's structure (a dict of arrays for a dict of
    arrays); `None` means that argument is not varied. The output tangent has the structure of the
    output. With `has_aux=True`, `func` returns `(value, aux)` and jvp returns
    `(value, tangent, aux)` (as in JAX).

    Example::

        def f(x, y):
            return x * y

        s2s.jvp(f, (2.0, 3.0), (1.0, None))   # (6.0, 3.0): d/dx in direction 1
    """
    _reject("jvp", unknown, ("has_aux",))
    if not (isinstance(primals, tuple | list) and isinstance(tangents, tuple | list)):
        raise NotDifferentiableArgumentError(
            f"jvp takes the primals and the tangents as tuples (one entry per argument), not a "
            f"{type(primals if not isinstance(primals, tuple | list) else tangents).__name__}",
            hint="write s2s.jvp(f, (x,), (t,)), as jax.jvp")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp needs one tangent per primal: got {len(primals)} primals and {len(tangents)} tangents")
    func = _function_of(func)
    spec = _derivative_of(func)
    if spec is not None and getattr(func, "__s2s_nested__", None) is None:  # jvp(jacrev(f), (x,), (v,))
        if has_aux:
            raise TypeError("s2s.jvp(..., has_aux=True) of a derivative function s2s made: it returns no auxiliary "
                            "value; leave has_aux= out")
        return compose.jvp(spec, primals, tangents)
    plain = _plain_now(func)
    if plain is not None:  # through the generated source of elementwise_grad(f)
        repeated.check(func, primals, {}, "s2s.jvp of elementwise_grad")
        func = plain()
    _validate(func, 0)
    positions = tuple(i for i, t in enumerate(tangents) if t is not None)
    if not positions:
        out = func(*primals)
        value, aux = _split_aux(func, out) if has_aux else (out, None)
        zero = pytree.map_leaves(lambda v: 0.0 * np.asarray(v, dtype=float), value) if pytree.is_structure(value) \
            else 0.0 * np.asarray(value, dtype=float)
        return (value, zero, aux) if has_aux else (value, zero)
    fn, names = _bound(func, positions, "jvp", args=primals)
    _check_args(_positions(func, names), primals, {}, func)
    for i in positions:
        check_like(tangents[i], primals[i], f"the tangent {i}", f"its primal {i}")
    dots = {f"{n}_dot": tangents[i] for i, n in zip(positions, names)}
    out, tangent = fn(*primals, **_dot_kwargs(fn, dots))
    if has_aux:
        value, aux = _split_aux(func, out)
        tangent = tangent[0] if isinstance(tangent, tuple | list) else tangent
        return value, pytree.restore(tangent, value), aux
    return out, pytree.restore(tangent, out)


_JAC_OPTIONS = ("wrt", "argnums", "argnum", "mode", "has_aux")


@_follows_partials
def jacobian(func: Callable, wrt: Wrt | None = None, mode: str = "reverse", *, argnums: Wrt | None = None,
             argnum: Wrt | None = None, has_aux: bool = False, **unknown: Any) -> Callable:
    """Return a function computing the Jacobian of `func` with respect to one argument, or a tuple of
    Jacobians for a tuple `wrt` (`jax.jacrev` / `jax.jacfwd`, `autograd.jacobian`).

    The result has shape `out.shape + arg.shape`. For structured arguments and outputs the layout is
    JAX's: the output's structure, each of whose arrays is replaced by the argument's structure of
    blocks of shape `out_leaf.shape + arg_leaf.shape` (the Jacobian of a function returning an array
    with respect to a dict is a dict of arrays). mode="reverse" runs one pullback per output element;
    mode="forward" one tangent sweep per input element. With `has_aux=True` the function returns
    `(jacobian, aux)`.

    Example::

        def f(x):
            return np.sin(x) * 2

        s2s.jacobian(f)(np.zeros(3))        # 2 * np.eye(3)
        s2s.jacobian(f, mode="forward")(np.zeros(3))
    """
    _reject("jacobian", unknown, _JAC_OPTIONS)
    wrt = _pick_wrt("jacobian", wrt, argnums, argnum)
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    func = _function_of(func)
    spec = _derivative_of(func)
    if spec is not None:  # jacfwd(jacrev(f)): the next derivative of f (s2s/compose.py)
        return compose.jacobian(spec, wrt, has_aux)
    plain = _plain_now(func)
    if plain is not None:  # jacrev(elementwise_grad(f)): forward mode over its generated source (the same numbers;
        # reverse mode over generated reverse-mode code is refused), made again when f changed
        def through_plain(*a, **k):
            repeated.check(func, a, k, "s2s.jacobian of elementwise_grad")  # (f evaluated per direction: adv230)
            return jacobian(plain(), wrt, "forward", has_aux=has_aux)(*a, **k)
        return functools.wraps(func)(through_plain)
    _validate(func, wrt)
    if isinstance(wrt, tuple | list):
        parts = [higher_order.jacobian_function(func, w, mode, has_aux) for w in wrt]

        @functools.wraps(func)
        def jacobians(*args, **kwargs):
            if len(parts) > 1:  # (each part evaluates func: random draws or a stepped iterator would differ)
                from s2s import repeated
                repeated.check(func, args, kwargs, f"s2s.jacobian(..., wrt={tuple(wrt)!r})")
            results = [p(*args, **kwargs) for p in parts]
            if has_aux:
                return tuple(r[0] for r in results), results[0][1] if results else None
            return tuple(results)

        if not has_aux and _composable(func):  # a tuple of first derivatives
            compose.mark(jacobians, func, tuple((n,) for n in pipeline._wrt_names(func, wrt)))
        return jacobians
    made = higher_order.jacobian_function(func, wrt, mode, has_aux)
    if not has_aux and _composable(func):  # given to another transform: f's first derivative
        compose.mark(made, func, pipeline._wrt_names(func, wrt))
    return made


def jacfwd(func: Callable, argnums: Wrt | None = None, *, wrt: Wrt | None = None, argnum: Wrt | None = None,
           has_aux: bool = False, **unknown: Any) -> Callable:
    """The Jacobian by forward mode, one tangent sweep per input element (like `jax.jacfwd`):
    `s2s.jacobian(func, wrt, mode="forward")`. Shape `out.shape + arg.shape`; cheaper than `jacrev`
    when the argument has fewer elements than the output.

    Example::

        def f(x):
            return np.outer(x, x)

        s2s.jacfwd(f)(np.ones(2)).shape     # (2, 2, 2)
    """
    _reject("jacfwd", unknown, ("argnums", "wrt", "argnum", "has_aux"))
    wrt = _pick_wrt("jacfwd", wrt, argnums, argnum)
    return jacobian(func, wrt, "forward", has_aux=has_aux)


def jacrev(func: Callable, argnums: Wrt | None = None, *, wrt: Wrt | None = None, argnum: Wrt | None = None,
           has_aux: bool = False, **unknown: Any) -> Callable:
    """The Jacobian by reverse mode, one pullback per output element (like `jax.jacrev`):
    `s2s.jacobian(func, wrt, mode="reverse")`. Shape `out.shape + arg.shape`.

    Example::

        def f(x):
            return np.sum(x ** 2, axis=0)

        s2s.jacrev(f)(np.ones((2, 3))).shape   # (3, 2, 3)
    """
    _reject("jacrev", unknown, ("argnums", "wrt", "argnum", "has_aux"))
    wrt = _pick_wrt("jacrev", wrt, argnums, argnum)
    return jacobian(func, wrt, "reverse", has_aux=has_aux)


@_follows_partials
def elementwise_grad(func: Callable, wrt: Wrt | None = None, *, argnum: Wrt | None = None,
                     argnums: Wrt | None = None, **unknown: Any) -> Callable:
    """autograd's `elementwise_grad`: the pullback of a vector of ones, i.e. the gradient of
    `np.sum(func(...))` (the sum of the Jacobian's rows). It is the elementwise derivative where
    `func` acts elementwise: `elementwise_grad(np.tanh)`-style functions of an array.

    Example::

        def f(x):
            return np.tanh(x)

        s2s.elementwise_grad(f)(np.zeros(3))    # [1. 1. 1.]
    """
    _reject("elementwise_grad", unknown, ("wrt", "argnum", "argnums"))
    wrt = _pick_wrt("elementwise_grad", wrt, argnums, argnum)
    func = _function_of(func)
    _validate(func, wrt)
    plain = getattr(func, "__s2s_plain__", None)
    if plain is not None:  # elementwise_grad(elementwise_grad(f)), elementwise_grad(grad(f))
        return higher_order.elementwise_of_derivative(func, plain, wrt)

    @functools.wraps(func)
    def gradient(*args, **kwargs):
        value, pullback = vjp(func, *args, wrt=wrt, **kwargs)
        ones = pytree.map_leaves(lambda v: np.ones(np.shape(v)) if np.ndim(v) else 1.0, value)
        return pullback(ones)

    if not isinstance(wrt, tuple | list) and hasattr(func, "__code__"):
        # differentiated again, it is the gradient of np.sum(func(...)) (the same numbers for an array output)
        made = {}

        def ones_plain():
            df = derivative(func, wrt=wrt)  # made again where func or what it uses changed
            if made.get("df") is not df:
                plain = higher_order.pullback_of_ones_function(func, df, _seed_name(df))
                if plain is None:
                    raise TypeError(f"s2s differentiates elementwise_grad({func.__name__}) again only for a function "
                                    "of positional parameters")
                made.update(df=df, plain=plain)
            return made["plain"]

        gradient.__s2s_plain__ = ones_plain
        gradient.__s2s_plain_wrt__ = lambda: pipeline._wrt_names(func, wrt)[0]
    gradient.__s2s_made__ = "elementwise_grad"  # called inside a differentiated function: refused, named
    return gradient


@_follows_partials
def hessian(func: Callable, wrt: Wrt | None = None, *, argnums: Wrt | None = None, argnum: Wrt | None = None,
            **unknown: Any) -> Callable:
    """Return a function computing the Hessian of scalar `func` (forward over reverse), of shape
    `arg.shape * 2` (`jax.hessian`, `autograd.hessian`). For an array output, as theirs, the second
    derivatives of each element: shape `out.shape + arg.shape * 2` (s2s/compose.py).

    For a structured argument the Hessian is nested like JAX's: `hessian(f)(p)["w"]["b"]` is the block
    of shape `w.shape + b.shape`. A tuple `wrt` gives the tuple of tuples of blocks `H[i][j]`.

    Example::

        def f(x):
            return np.sum(x ** 3)

        s2s.hessian(f)(np.ones(2))          # 6 * np.eye(2)
    """
    _reject("hessian", unknown, ("wrt", "argnums", "argnum"))
    wrt = _pick_wrt("hessian", wrt, argnums, argnum)
    func = _function_of(func)
    spec = _derivative_of(func)
    if spec is not None:  # hessian(jacrev(f)): jacfwd(jacrev(D)), any output shape, as in JAX
        return compose.hessian(spec, wrt)
    plain = _plain_now(func)
    if plain is not None:  # through the generated source of elementwise_grad(f)
        def checked_hessian(*a, **k):
            repeated.check(func, a, k, "s2s.hessian of elementwise_grad")  # (f evaluated per direction)
            return hessian(plain(), wrt)(*a, **k)
        return functools.wraps(func)(checked_hessian)
    _validate(func, wrt)
    if isinstance(wrt, tuple | list):
        blocks = higher_order.hessian_blocks(func, tuple(wrt))
        if _composable(func):  # a tuple of tuples of second derivatives
            names = pipeline._wrt_names(func, wrt)
            compose.mark(blocks, func, tuple(tuple((a, b) for b in names) for a in names))
        return blocks
    made = higher_order.hessian_function(func, wrt)
    if _composable(func):  # given to another transform: f's second derivative
        name = pipeline._wrt_names(func, wrt)[0]
        compose.mark(made, func, (name, name))
    return made


@_follows_partials
def hvp(func: Callable, wrt: Wrt | None = None, *, argnums: Wrt | None = None, argnum: Wrt | None = None,
        **unknown: Any) -> Callable:
    """Return `hvp(*args, v)`: the Hessian of scalar `func` times `v`, without forming the Hessian
    (`autograd.hessian_vector_product`; in JAX, `jax.jvp` over `jax.grad`).

    `v` has the structure of the argument (a dict for a dict), and so has the result. Forward mode
    over the reverse-mode gradient code (one forward sweep through the gradient).

    Example::

        def f(x):
            return np.sum(x ** 3)

        s2s.hvp(f)(np.ones(2), np.array([1.0, 0.0]))   # [6. 0.]
    """
    _reject("hvp", unknown, ("wrt", "argnums", "argnum"))
    wrt = _pick_wrt("hvp", wrt, argnums, argnum)
    if isinstance(wrt, tuple | list):
        raise TypeError("hvp takes a single wrt (one parameter; a dict or tuple parameter holds several arrays)")
    func = _function_of(func)
    spec = _derivative_of(func)
    if spec is not None:  # hvp(jacrev(f)) for a scalar output
        return compose.hvp(spec, wrt)
    plain = _plain_now(func)
    if plain is not None:  # through the generated source of elementwise_grad(f)
        def checked_hvp(*a):
            repeated.check(func, a[:-1], {}, "s2s.hvp of elementwise_grad")  # (f evaluated per direction)
            return hvp(plain(), wrt)(*a)
        return functools.wraps(func)(checked_hvp)
    _validate(func, wrt)
    return higher_order.hvp_function(func, wrt)


def _dot_kwargs(fn, dots):
    # the generated parameter for x's tangent is `x_dot` unless the user already had that name
    kwonly = fn.__code__.co_varnames[fn.__code__.co_argcount:fn.__code__.co_argcount + fn.__code__.co_kwonlyargcount]
    out = {}
    for key, value in dots.items():
        name = key if key in kwonly else next(k for k in kwonly if k.startswith(key))
        out[name] = value
    return out


def source(df: Callable, *args: Any) -> str:
    """The generated source of a function s2s made (or of the derivative behind grad(f)).

    Given the arguments of a call, `source(grad(f), *args)` is the code grad(f) runs for
    them: specialised to their shapes (and, where f's output is certainly a scalar,
    without computing f's value). Without arguments it is the general code, for any shapes.

    The text runs as printed: it starts with the import lines the code needs (inside generated
    code `s2s` is `s2s.runtime`, hence `import s2s.runtime as s2s`), the user's globals imported
    from the module that defines them, and the generated derivatives of the user's functions it
    calls printed before it; what cannot be imported is named in a comment.

    Example::

        def f(x):
            return np.sum(x * x)

        print(s2s.source(s2s.grad(f), np.ones(3)))   # def df_dx(x, *, out_bar=1.0): ...
    """
    from s2s import codegen
    follows = getattr(df, "__s2s_follows__", None)
    if follows is not None:  # s2s.grad(functools.partial(...)): the function it calls now
        return source(follows(), *args)
    if getattr(df, "__s2s_compiled__", None) is not None:  # s2s.grad(f, compile=...)
        from s2s import compiled
        return compiled.source_of(df, *args)
    target = getattr(df, "__s2s_target__", None)
    if target is not None:
        func, wrt, form, optimize = target
        if args:
            form = "grad" if form == "flat" else form
            return codegen.runnable_source(_bound_for(func, wrt, form, optimize, args)[0])
        fn, _ = _bound(func, wrt, form if form != "value" else "flat", optimize)
        return codegen.runnable_source(fn)
    if getattr(df, "__s2s_source__", None) is None:
        raise S2SError(f"{getattr(df, '__name__', df)!r} is not a function generated by s2s")
    plain = getattr(df, "__s2s_plain__", None)  # grad(grad(f)): the generated function behind it
    fn = plain() if plain is not None else df
    return codegen.runnable_source(fn) if hasattr(getattr(fn, "__func__", fn), "__code__") else df.__s2s_source__


def _function_of(func):
    """The function s2s transforms for `func`: itself, for a functools.partial of a function the function
    with the bound arguments in place (`_partial_function`), or for a custom_vjp / custom_jvp function the
    plain function with source that calls it (s2s/custom.py). For a function following a partial
    (`_following`), the derivative function it calls now."""
    follows = getattr(func, "__s2s_follows__", None)
    if follows is not None:
        return _function_of(follows())
    if hasattr(func, "__code__"):
        return func
    if isinstance(func, functools.partial):
        return _partial_function(func) or func
    through = getattr(func, "__s2s_function__", None)
    if through is not None:
        return through
    return _primitive_function(func) or func


def _partial_function(p: functools.partial):
    """`functools.partial(f, *args, **keywords)` as s2s differentiates it, or None (refused as before): the
    keywords become the defaults of a copy of f (sharing its code, so its source), and the positional
    arguments are bound first like `self` of a method (`_unbind`). `wrt` then counts the arguments the
    partial object takes, as JAX does for `grad(partial(f, ...))`.

        >>> def f(x, y, scale=1.0):
        ...     return scale * x * y
        >>> _partial_function(functools.partial(f, 2.0, scale=3.0))(4.0)
        24.0
    """
    inner = p.func
    if isinstance(inner, functools.partial):
        inner = _partial_function(inner)
    if p.keywords and isinstance(inner, types.MethodType):
        plain = _with_defaults(inner.__func__, p.keywords)
        inner = None if plain is None else types.MethodType(plain, inner.__self__)
    elif p.keywords:
        inner = _with_defaults(inner, p.keywords)
    if inner is None or not hasattr(getattr(inner, "__func__", inner), "__code__"):
        return None
    for arg in p.args:
        inner = types.MethodType(inner, arg)
    return inner


def _with_defaults(fn, keywords: dict):
    """A copy of the plain function `fn` whose parameters named in `keywords` default to those values, or None
    where that cannot stand for the partial call: a name that is no parameter, a positional-only or starred one,
    or a required parameter after one bound by keyword (Python's defaults are a tail of the parameters)."""
    if not isinstance(fn, types.FunctionType):
        return None
    params = list(inspect.signature(fn).parameters.values())
    kinds = {q.name: q.kind for q in params}
    if any(kinds.get(k) not in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
           for k in keywords):
        return None
    positional = [q for q in params if q.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    first = min((i for i, q in enumerate(positional) if q.name in keywords), default=len(positional))
    defaults = [q.default for q in positional[:first] if q.default is not inspect.Parameter.empty]
    for q in positional[first:]:  # a parameter bound by keyword and those after it: all take defaults
        if q.name in keywords:
            defaults.append(keywords[q.name])
        elif q.default is not inspect.Parameter.empty:
            defaults.append(q.default)
        else:
            return None
    kwdefaults = dict(fn.__kwdefaults__ or {})
    kwdefaults.update({k: v for k, v in keywords.items() if kinds[k] is inspect.Parameter.KEYWORD_ONLY})
    bound = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, tuple(defaults), fn.__closure__)
    bound.__kwdefaults__ = kwdefaults or None
    bound.__qualname__, bound.__module__, bound.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    bound.__dict__.update(fn.__dict__)
    return bound


_PRIMITIVES = tables.Table("functions for primitives", 256)  # id(primitive) -> (primitive, the function with source)


def _primitive_function(func):
    """For a primitive with a derivative rule and no Python code (`np.sqrt`, `np.sum`): a function with source,
    `def sqrt(x): return F(x)` with F the primitive, of its required parameters, so `grad(np.sqrt)` is the
    gradient of that function (its rule, and its rule's derivatives for grad(grad(np.sqrt))). None otherwise."""
    hit = _PRIMITIVES.find(id(func))
    if hit is not None and hit[0] is func:
        return hit[1]
    try:
        rule = rules.lookup(func)
    except TypeError:  # unhashable
        return None
    if rule is None or rule.nondiff:
        return None
    if isinstance(func, np.ufunc):
        params = list(rule.params[:func.nin])
    else:
        params = [p for p in rule.params if p not in rule.defaults and p != rule.varargs]
    name = getattr(func, "__name__", "")
    name = name if name.isidentifier() else "primitive"
    if not params or any(not p.isidentifier() for p in params) or "F" in params:
        return None
    import linecache
    callee = f"np.{name}" if getattr(np, name, None) is func and "np" not in params else "F"  # readable source
    text = f"def {name}({', '.join(params)}):\n    return {callee}({', '.join(params)})\n"
    filename = f"<s2s: the function {name} for a derivative of {getattr(func, '__module__', None) or 'numpy'}.{name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"F": func, "np": np, "__name__": "s2s.api"}
    exec(compile(text, filename, "exec", dont_inherit=True), namespace)
    made = namespace[name]
    made.__doc__ = getattr(func, "__doc__", None)
    _PRIMITIVES.put(id(func), (func, made))
    return made


def _validate(func, wrt):
    if not callable(func):
        raise TypeError(f"s2s differentiates functions, not {type(func).__name__}")
    if _made_here(func):
        if getattr(func, "__s2s_plain__", None) is None:
            raise _made_refusal(func)
    elif hasattr(func, "__code__"):
        _refuse_other_signature(func)
        _refuse_no_output(func)
    if hasattr(func, "__code__"):
        pipeline._wrt_names(func, wrt)


_RETURNS_NUMBER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code -> True: no `return None`


def _refuse_no_output(func):
    """A function that returns None (a forgotten `return`, a branch falling off the end) or a string where
    it is differentiated as a whole: its derivative would be a silent 0 (transforms/outputs.py)."""
    from s2s import frontend
    from s2s.transforms.outputs import no_number_output
    func = getattr(func, "__func__", func)
    if _RETURNS_NUMBER.get(func.__code__):  # s2s.grad(f)(x) in a loop reads the source once
        return
    try:
        pf = frontend.parse_function(func)
    except S2SError:  # no source: the transform itself says so
        return
    node = no_number_output(pf.tree)
    if node is None:
        _RETURNS_NUMBER[func.__code__] = True
        return
    name = getattr(func, "__qualname__", "the function")
    if isinstance(node, ast.Return):
        what = "None" if node.value is None or getattr(node.value, "value", None) is None else "a string"
        raise pf.error(NonScalarOutputError, f"s2s differentiates {name}, but it returns {what} here, not a number",
                       node, hint="return the number to differentiate (for example `return loss`)")
    last = node.body[-1] if node.body else node
    raise pf.error(NonScalarOutputError, f"s2s differentiates {name}, but its body can end without a `return` "
                   "(it then returns None, not a number)", last,
                   hint="end every path with `return <number>` (a forgotten `return loss`?)")


def _refuse_other_signature(func):
    """A wrapper made with functools.wraps whose own parameters are not those of the function it wraps
    (`def w(*args, **kwargs)`): s2s differentiates the code that runs, but would read the wrapped function's
    parameters from its signature (a derivative of zero where a parameter name is not the code's)."""
    from s2s import frontend
    other = frontend.other_signature(getattr(func, "__func__", func))  # a bound method: its function's
    if other is not None:
        shown, own = other
        name = getattr(func, "__qualname__", "the function")
        raise NotDifferentiableArgumentError(
            f"s2s cannot differentiate {name}: it is a wrapper (functools.wraps) whose own parameters "
            f"({', '.join(own)}) are not those of the function it wraps ({', '.join(shown)}); s2s differentiates "
            "the code that runs and names its parameters",
            hint=(f"differentiate the wrapped function itself ({name}.__wrapped__"
                  + (f", the object its first argument: s2s.grad({name}.__wrapped__, wrt=1)(obj, ...)"
                     if hasattr(func, "__self__") else "")
                  + "), or give the wrapper the parameters of the function it wraps"))


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _made_here(func) -> bool:
    """Whether `func` runs code of s2s's own modules: a wrapper s2s made (value_and_grad(f), hvp(f), a tuple of
    Jacobians), whose code calls generated code by a function value; its signature is f's (functools.wraps)."""
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    return code is not None and (code.co_filename == compiled_call.FILENAME
                                 or os.path.abspath(code.co_filename).startswith(_PACKAGE))


def _made_refusal(func):
    from s2s.errors import NoDerivativeRuleError
    inner = func
    while _made_here(inner) and getattr(inner, "__wrapped__", None) is not None:
        inner = inner.__wrapped__
    name = "" if _made_here(inner) else f" from {getattr(inner, '__qualname__', 'f')}"
    return NoDerivativeRuleError(
        f"s2s does not differentiate this function it made{name} (value_and_grad, hvp, or one made with "
        "has_aux=True) once more: it differentiates again grad(f), jacobian(f), jacfwd(f), jacrev(f) and hessian(f) "
        "without has_aux, elementwise_grad(f), and the derivative functions made from them",
        hint="nest those: s2s.jacfwd(s2s.jacrev(f, argnums=0), argnums=1) for d2f/dx dy, s2s.jacfwd(s2s.hessian(f)) "
             "for third derivatives, s2s.jvp(s2s.grad(f), (x,), (v,)) for a Hessian-vector product; return the "
             "value alone (no aux) from a function of its own")


def _plain_now(func):
    """`__s2s_plain__` of a derivative function s2s made that a transform differentiates through the generated,
    source-backed function it gives (elementwise_grad(f)); None for the others (their own paths)."""
    if _derivative_of(func) is not None or getattr(func, "__s2s_nested__", None) is not None:
        return None
    return getattr(func, "__s2s_plain__", None)


def defvjp(func: Callable, *rule: Any, argnums: Wrt | None = None, **templates: str) -> Any:
    """Register a derivative rule for your own primitive `func` (like `autograd.extend.defvjp`, or
    `jax.custom_vjp`); returns the rule. Two forms:

    - **String templates**: `defvjp(func, "x, axis=None", x="...", x_dot="...")`. The first argument
      after `func` is the parameter list; each keyword gives the adjoint of one parameter as a template
      expression in `g` (the output's adjoint), `ans` (the output) and the parameters, and keywords
      ending in `_dot` give tangents (forward mode). s2s writes the templates into the generated
      code, so Hessians through them work. Other names in a template mean what they mean in the
      module where `defvjp` was called.
    - **Python functions** (autograd's form): `defvjp(func, lambda ans, x, y: lambda g: ..., ...)`, one
      maker per argument (`argnums=` says which, default 0, 1, ...; None for an argument without one).
      The generated code calls the maker with the value and the arguments and the function it returns
      with `g`. s2s runs these rules; it does not differentiate them again (a Hessian through one is
      refused). `s2s.defjvp` gives forward-mode rules the same way.

    Example::

        def logsumexp(x):
            return np.log(np.sum(np.exp(x)))

        s2s.defvjp(logsumexp, "x", x="g * np.exp(x - ans)", x_dot="np.sum(x_dot * np.exp(x - ans))")
        # or, autograd's form:
        s2s.defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
    """
    import sys

    from s2s import custom
    if rule and isinstance(rule[0], str):
        if len(rule) > 1 or argnums is not None:
            raise TypeError("defvjp(func, params, **templates) takes the parameter list and keyword templates only")
        name = getattr(func, "__name__", "f")
        # registering bumps rules.version: every cached derivative is made again before its next use
        registered = rules.defrule_for(func, f"{name}({rule[0]})", **templates)
        frame = sys._getframe(1)  # the template's other names mean what they mean where defvjp is called
        scope = frame.f_globals if frame.f_locals is frame.f_globals else {**frame.f_globals, **frame.f_locals}
        return custom.localise(registered, scope)
    if templates:
        raise TypeError(f"defvjp takes either a parameter list and templates (defvjp(f, 'x', x='g * ...')) or "
                        f"functions (defvjp(f, lambda ans, x: lambda g: ...)), not both (got {sorted(templates)})")
    if not rule:
        raise TypeError("defvjp needs rules: defvjp(f, 'x', x='g * ...') or defvjp(f, lambda ans, x: lambda g: ...)")
    return custom.defvjp(func, *rule, argnums=argnums)


def defjvp(func: Callable, *makers: Callable | None, argnums: Wrt | None = None) -> Any:
    """autograd's `defjvp(f, lambda g, ans, x, y: ..., ...)`: forward-mode rules as Python functions, one
    per argument, each given that argument's tangent `g`, the value and the arguments, returning the
    output's tangent from it. Reverse mode through `f` then needs a `defvjp` too.

    Example::

        def cube(x):
            return x ** 3

        s2s.defjvp(cube, lambda g, ans, x: 3 * x ** 2 * g)
        s2s.jvp(cube, (2.0,), (1.0,))       # (8.0, 12.0)
    """
    from s2s import custom
    return custom.defjvp(func, *makers, argnums=argnums)
