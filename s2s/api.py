"""The public API: grad, value_and_grad, vjp, derivative, source."""

from __future__ import annotations

import functools
import numbers
import types
import weakref

import numpy as np

from s2s import argcheck, pipeline, rules
from s2s.errors import NonScalarOutputError, NotDifferentiableArgumentError, S2SError, UnsupportedSyntaxError

_BOUND = "__s2s_bound__"


_NUMBER = (float, int)


def _scalar_params(func, args):
    """Names of the parameters that receive Python numbers positionally in this call."""
    code = getattr(func, "__code__", None)
    if code is None:
        return ()
    params = code.co_varnames[:code.co_argcount]
    return tuple(p for p, a in zip(params, args) if type(a) in _NUMBER)


def _shaped_params(func, args):
    """(name, shape, dtype character) for the parameters that receive arrays or numbers positionally."""
    code = getattr(func, "__code__", None)
    if code is None:
        return ()
    params = code.co_varnames[:code.co_argcount]
    out = []
    for p, a in zip(params, args):
        if (type(a) is np.ndarray or isinstance(a, np.generic)) and a.dtype.kind in "biufc":
            out.append((p, a.shape, a.dtype.char))
        elif type(a) in (float, int, bool):
            out.append((p, (), {float: "d", int: "l", bool: "?"}[type(a)]))
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


class _Store(dict):
    """The generated functions made for one function object: (wrt names, form, optimize, scalar params,
    shaped params) -> pipeline.Bound. Bounded: beyond _STORE_MAX the oldest entry goes."""

    __slots__ = ("owner", "shaped")


_STORE_MAX = 64


def _store(func) -> _Store:
    space = getattr(func, "__dict__", None)
    store = space.get(_BOUND) if space is not None else None
    # functools.wraps copies a function's __dict__ into its wrapper: a store is used only by its owner
    if store is None or store.owner() is not func:
        store = _Store()
        store.owner = weakref.ref(func)
        store.shaped = set()
        if space is not None:
            space[_BOUND] = store
    return store


def _require_code(func):
    if not hasattr(func, "__code__"):
        from s2s import frontend
        frontend.parse_function(func)  # raises SourceUnavailableError with a hint


def _entry(func, names, form, optimize=True, scalars=(), shapes=()):
    """The generated function for the plain function `func`, cached on it while it is fresh (pipeline.Bound)."""
    _require_code(func)
    key = (names, form, optimize, scalars, shapes)
    store = _store(func)
    entry = store.get(key)
    if entry is None or not entry.fresh():
        gen = pipeline.derivative_code(func, names, form, optimize, scalars, shapes)
        entry = gen.bind(func)
        entry.fn.__s2s_returns_value__ = form == "value" or gen.returns_value
        store.pop(key, None)
        store[key] = entry
        while len(store) > _STORE_MAX:
            del store[next(iter(store))]
    return entry


def _entry_for(func, names, form, optimize, args, specialise=True):
    """`_entry` for the arguments of a call (`func` plain, `args` all of them), by their kinds and shapes.

    Returns (entry, whether it is specialised to some argument's shape). Each function gets
    at most SHAPE_VARIANTS shape-specialised variants; further shapes share the generic code.
    """
    shapes = _shaped_params(func, args) if optimize and specialise else ()
    if shapes:
        shaped = _store(func).shaped
        if shapes not in shaped:
            if len(shaped) >= SHAPE_VARIANTS:
                shapes = ()
            else:
                shaped.add(shapes)
    return _entry(func, names, form, optimize, _scalar_params(func, args), shapes), bool(shapes)


def _bound_for(func, wrt, form, optimize, args, specialise=True):
    """`_bound` for the arguments of a call, by their kinds and (with `specialise`) their shapes.

    Returns (function, wrt names, whether it is specialised to some argument's shape).
    """
    target, prefix = _unbind(func)
    names = pipeline._wrt_names(func, wrt)
    entry, specialised = _entry_for(target, names, form, optimize, prefix + tuple(args), specialise)
    return _rebind(entry.fn, prefix), names, specialised


def _bound(func, wrt, form, optimize=True, scalars=(), shapes=()):
    """The generated function for `func` itself (a bound method: bound to the same object), and the wrt names."""
    _require_code(func)
    target, prefix = _unbind(func)
    names = pipeline._wrt_names(func, wrt)
    return _rebind(_entry(target, names, form, optimize, scalars, shapes).fn, prefix), names


def _check_scalar(value, func):
    if np.ndim(value) != 0 or isinstance(value, list | tuple | dict):
        shape = np.shape(value) if not isinstance(value, dict) else "a dict"
        raise NonScalarOutputError(
            f"grad needs a function with a scalar output, but {func.__name__} returned a value of shape {shape}.",
            hint="use s2s.vjp(f, ...) for a vector-Jacobian product, or reduce the output first "
                 "(for example return np.sum(y)).")


def _note_user_line(exc):
    """Add to an exception from generated code the user's line that code came from (Python 3.11+ notes)."""
    from s2s import codegen
    note = codegen.user_line_note(exc)
    if note and hasattr(exc, "add_note") and note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)


def _positions(func, names):
    params = pipeline._param_names_of(func)
    return [(params.index(n), n) for n in names]


def _check_args(positions, args, kwargs, func=None):
    """Refuse integer arrays as differentiated arguments (their gradient has no dtype to live in), and
    arguments that are neither numbers, arrays nor containers (an object: `self`, when a method was
    decorated with @s2s.grad and wrt=0 names `self`)."""
    argcheck.check_arguments(args, kwargs)
    for i, n in positions:
        if i >= len(args) and n not in kwargs:
            continue  # its default value
        v = args[i] if i < len(args) else kwargs[n]
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "fc":
                raise TypeError(f"cannot differentiate with respect to {n!r}: it is an array of dtype {v.dtype}; "
                                "pass floats, e.g. x.astype(float)")
        elif not (isinstance(v, numbers.Number | np.generic | list | tuple | dict) or hasattr(v, "__array__")
                  or (hasattr(v, "shape") and hasattr(v, "dtype"))):
            name = getattr(func, "__name__", "the function")
            params = pipeline._param_names_of(func) if func is not None else []
            after = f"wrt={params[i + 1]!r}" if n in ("self", "cls") and i + 1 < len(params) else "wrt=..."
            method = (f"{name} is called as a method, and wrt={i} is its parameter {n!r}, the object itself"
                      if n in ("self", "cls") else f"the argument for {n!r} is a {type(v).__name__}")
            raise NotDifferentiableArgumentError(
                f"s2s cannot differentiate {name} with respect to {n!r}: {method}, not a number or an array.",
                hint=f"choose the parameter to differentiate with {after} (for a method: @s2s.grad({after}) on the "
                     "def, or s2s.grad(obj.method), which differentiates with respect to the arguments after self)")


def grad(func=None, wrt=0, *, optimize=True):
    """Return a function computing the gradient of scalar-valued `func`.

    `wrt` is a parameter position, a parameter name, or a tuple of them; a
    tuple gives a tuple of gradients. Works as `@grad` and `@grad(wrt=...)`.
    """
    if func is None:
        return functools.partial(grad, wrt=wrt, optimize=optimize)
    _validate(func, wrt)
    plain = getattr(func, "__s2s_plain__", None)
    if plain is not None:
        return _grad_of_derivative(func, plain, wrt)

    gradient = functools.wraps(func)(_runner(func, wrt, optimize, need_value=False))
    gradient.__s2s_target__ = (func, wrt, "flat", optimize)
    if not isinstance(wrt, tuple | list):
        gradient.__s2s_plain__ = lambda: derivative(func, wrt=wrt, optimize=optimize)
    return gradient


_CONTAINERS = {list, tuple, dict}
SHAPE_VARIANTS = 16  # per function: beyond this many argument shapes, one generic variant serves the rest


def _runner(func, wrt, optimize, need_value=True):
    """The function grad (`need_value` false) or value_and_grad returns: one generated variant per kind
    of arguments, each checked to be fresh (pipeline.Bound.fresh) before every call.

    Array arguments key the variant by their shape, so that the code is specialised to it
    (transforms/specialize.py): after SHAPE_VARIANTS shapes, further ones share generic code.
    Without `need_value` the code may not compute the value where the output is known to be
    a scalar.
    """
    target, prefix = _unbind(func)
    variants = {}
    as_tuple = isinstance(wrt, tuple | list) and len(wrt) == 1  # wrt=(0,) gives a 1-tuple, as documented
    form = "value" if need_value else "grad"
    ndarray = np.ndarray

    def make(args, key, kwargs):
        argcheck.check_arguments(args, kwargs)  # np.matrix and complex arguments have keys of their own
        _require_code(target)
        names = pipeline._wrt_names(func, wrt)
        entry, _ = _entry_for(target, names, form, optimize, args)
        kinds = tuple(map(type, args))
        positions = [p for p in _positions(target, names) if p[0] >= len(args) or kinds[p[0]] not in _NUMBER]
        if len(variants) > 4 * SHAPE_VARIANTS:
            variants.clear()
        variant = variants[key] = (entry, entry.fn, positions, entry.fn.__s2s_returns_value__)
        return variant

    def run(*args, **kwargs):
        if prefix:
            args = prefix + args
        if len(args) == 1:
            a = args[0]
            key = (a.shape, a.dtype.char) if type(a) is ndarray else type(a)
        else:
            key = tuple([(a.shape, a.dtype.char) if type(a) is ndarray else type(a) for a in args])
        variant = variants.get(key)
        if variant is None or not variant[0].fresh():
            variant = make(args, key, kwargs)
        elif kwargs or _CONTAINERS.intersection(key if type(key) is tuple else (key,)):
            argcheck.check_arguments(args, kwargs)  # what a list or a keyword holds is not in the key
        _, fn, positions, returns_value = variant
        if positions:
            _check_args(positions, args, kwargs, target)
        try:
            out = fn(*args, **kwargs) if kwargs else fn(*args)
        except NonScalarOutputError as exc:
            raise NonScalarOutputError(
                f"grad needs a function with a scalar output, but {func.__name__} returns a tuple, list or dict.",
                hint=exc.hint) from None
        except Exception as exc:
            _note_user_line(exc)
            raise
        if returns_value:
            value, g = out
            if type(value) is not float:
                _check_scalar(value, func)
        else:
            value, g = None, out
        if type(g) is tuple and len(g) > 1:
            g = _unshared(g)
        if as_tuple:
            g = (g,)
        return (value, g) if need_value else g

    return run


def _unshared(grads):
    """Gradients that are one array object (`x + y`: both adjoints are the same array) become copies."""
    seen = set()
    out = []
    for g in grads:
        if isinstance(g, np.ndarray) and id(g) in seen:
            g = g.copy()
        seen.add(id(g))
        out.append(g)
    return tuple(out)


def _grad_of_derivative(outer, plain, wrt):
    """grad(grad(f)): forward mode over the code s2s generated for grad(f).

    `plain()` gives the current first derivative (made again when f or what it uses changed);
    the second derivative is made again whenever that is a different function.
    """
    if isinstance(wrt, tuple | list):
        raise TypeError("grad of a gradient takes a single wrt")
    made = {}

    def current():
        inner = plain()
        jvp_fn, names = _bound(inner, wrt, "jvp")
        target, prefix = _unbind(inner)
        jvp_target = _unbind(jvp_fn)[0]
        stamp = (target, jvp_target) + prefix
        old = made.get("stamp", ())
        if len(old) != len(stamp) or any(a is not b for a, b in zip(old, stamp)):
            index = pipeline._param_names_of(inner).index(names[0])
            dot_name = _dot_kwargs(jvp_fn, {f"{names[0]}_dot": None}).popitem()[0]
            nested = _rebind(_second_derivative_function(target, jvp_target, names[0], dot_name), prefix)
            made.update(stamp=stamp, inner=inner, jvp_fn=jvp_fn, names=names, index=index, dot_name=dot_name,
                        nested=nested)
        return made

    @functools.wraps(outer)
    def gradient(*args, **kwargs):
        m = current()
        inner, jvp_fn, names, index, dot_name = m["inner"], m["jvp_fn"], m["names"], m["index"], m["dot_name"]
        x = args[index] if index < len(args) else kwargs[names[0]]
        if np.ndim(x) == 0:
            return m["nested"](*args, **kwargs)
        value, _ = jvp_fn(*args, **kwargs, **{dot_name: np.zeros(np.shape(x))})
        if np.ndim(value) != 0:
            raise NonScalarOutputError(
                f"grad of a gradient needs a scalar argument: the gradient of {outer.__name__} with respect to "
                f"{names[0]!r} has shape {np.shape(value)}.",
                hint="use s2s.hessian(f) for the matrix of second derivatives")
        return jacobian(inner, wrt=wrt, mode="forward")(*args)

    gradient.__s2s_target__ = None
    gradient.__s2s_plain__ = lambda: current()["nested"]
    gradient.__s2s_source__ = current()["nested"].__s2s_source__
    return gradient


def _second_derivative_function(inner, jvp_fn, name, dot_name):
    """A generated, source-backed function `x -> d/dx inner(x)` for a scalar x (so it nests again)."""
    import ast

    from s2s import codegen
    code = inner.__code__
    positional = list(code.co_varnames[:code.co_argcount])
    call_args = ", ".join(positional)
    sig = ", ".join(positional)
    helper = f"{jvp_fn.__name__}"
    text = (f"def d{inner.__name__}_d{name}({sig}):\n"
            f"    if np.ndim({name}) != 0:\n"
            f"        raise TypeError('this second derivative is for a scalar {name}')\n"
            f"    value, tangent = {helper}({call_args}, {dot_name}=1.0)\n"
            f"    return tangent\n")
    fdef = ast.parse(text).body[0]
    gen_code, source, _ = codegen.compile_function(fdef, ["np", helper], f"d{inner.__name__}_d{name}")
    cells = {"np": types.CellType(np), helper: types.CellType(jvp_fn)}
    return codegen.make_function(gen_code, inner.__globals__, cells, inner.__defaults__, None, source)


def value_and_grad(func=None, wrt=0, *, optimize=True):
    """Like `grad`, but the function returns `(value, gradient)`."""
    if func is None:
        return functools.partial(value_and_grad, wrt=wrt, optimize=optimize)
    _validate(func, wrt)

    value_and_gradient = functools.wraps(func)(_runner(func, wrt, optimize, need_value=True))
    value_and_gradient.__s2s_target__ = (func, wrt, "value", optimize)
    return value_and_gradient


def vjp(func, *args, wrt=0, **kwargs):
    """Evaluate `func(*args)` and return `(value, pullback)`.

    `pullback(cotangent)` returns the gradient of `<cotangent, func(*args)>`
    with respect to `wrt` (a tuple of them when `wrt` is a tuple). It can be
    called any number of times.
    """
    _validate(func, wrt)
    fn, names = _bound(func, wrt, "split")
    _check_args(_positions(func, names), args, kwargs, func)
    value, pb = fn(*args, **kwargs)
    single = not isinstance(wrt, tuple | list)

    def pullback(cotangent):
        grads = pb(cotangent)
        return grads[0] if single else grads

    return value, pullback


def checkpoint(iterable, every=None):
    """Mark a loop for checkpointing: `for t in s2s.checkpoint(range(n), every=k): ...`.

    When it runs, this returns `iterable` unchanged. In reverse mode s2s then
    keeps no tape for the loop's iterations: the forward sweep saves the loop's
    variables every `k` iterations (every ~sqrt(n) by default), and the
    backward sweep re-runs one segment at a time from its snapshot, recording
    only that segment. Peak memory falls from n iterations' tape to about
    n/k snapshots plus k iterations' tape; the price is one extra forward run.
    """
    return iterable


checkpoint.__s2s_checkpoint__ = True


def derivative(func, mode="reverse", wrt=0, optimize=True):
    """The raw generated function.

    mode="reverse": `df(*args, *, out_bar=1.0)` returning the gradient(s);
    mode="forward": `f_jvp(*args, *, x_dot, ...)` returning `(value, tangent)`.
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    _validate(func, wrt)
    fn, _ = _bound(func, wrt, "flat" if mode == "reverse" else "jvp", optimize)
    return fn


def hvp(func, wrt=0):
    """Return `hvp(*args, v)`: the Hessian of scalar `func` times `v`, without forming the Hessian.

    Forward mode over the reverse-mode gradient code (one forward sweep through the gradient).
    """
    if isinstance(wrt, tuple | list):
        raise TypeError("hvp takes a single wrt")
    _validate(func, wrt)

    def hessian_vector_product(*args_and_v):
        *args, v = args_and_v
        df = derivative(func, wrt=wrt)
        index = pipeline._param_names_of(func).index(pipeline._wrt_names(func, wrt)[0])
        tangents = [None] * len(args)
        tangents[index] = v
        try:
            _, tangent = jvp(df, args, tangents)
        except UnsupportedSyntaxError:
            # gradient code that calls helpers through pullbacks: forward over forward, one sweep
            # per input element, still without forming H
            second, first_dot, second_dot, x = _forward_over_forward(func, wrt, args)
            out = np.empty(x.size)
            for i, ei in enumerate(np.eye(x.size)):
                _, (_, out[i]) = second(*args, **{first_dot: ei.reshape(x.shape) if x.shape else 1.0,
                                                  second_dot: v})
            return out.reshape(x.shape) if x.shape else float(out[0])
        return tangent

    return hessian_vector_product


def hessian(func, wrt=0):
    """Return a function computing the Hessian of scalar `func` (forward over reverse), shape arg.shape * 2."""
    if isinstance(wrt, tuple | list):
        raise TypeError("hessian takes a single wrt")
    _validate(func, wrt)

    def hess(*args):
        # the user's own function may update its arguments in place: run it on copies
        value = func(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        _check_scalar(value, func)
        df = derivative(func, wrt=wrt)
        try:
            return jacobian(df, wrt=wrt, mode="forward")(*args)
        except UnsupportedSyntaxError:
            # the gradient code calls helpers through pullback closures, which forward mode does
            # not transform: use forward over forward instead (n * n sweeps, same numbers)
            return _hessian_forward_over_forward(func, wrt, args)

    return hess


def _forward_over_forward(func, wrt, args):
    """(second, first_dot, second_dot, x): the jvp of the jvp of `func` and its tangent keywords.

    `second(*args, first_dot=u, second_dot=v)` returns ((f, f'u), (f'v, u'Hv)).
    """
    name = pipeline._wrt_names(func, wrt)[0]
    index = pipeline._param_names_of(func).index(name)
    first, _ = _bound(func, wrt, "jvp")
    first_dot = _dot_kwargs(first, {f"{name}_dot": None}).popitem()[0]
    target, prefix = _unbind(first)
    gen = pipeline.derivative_code(target, (name,), "jvp", True)
    x = np.asarray(args[index], dtype=float)
    return _rebind(gen.bind(target).fn, prefix), first_dot, gen.tangent_names[name], x


def _hessian_forward_over_forward(func, wrt, args):
    second, first_dot, second_dot, x = _forward_over_forward(func, wrt, args)
    n = x.size
    out = np.empty((n, n))
    basis = np.eye(n)
    for i in range(n):
        for j in range(i, n):
            ei, ej = basis[i].reshape(x.shape), basis[j].reshape(x.shape)
            if not x.shape:
                ei, ej = 1.0, 1.0
            _, (_, second_order) = second(*args, **{first_dot: ei, second_dot: ej})
            out[i, j] = out[j, i] = float(second_order)
    return out.reshape(x.shape + x.shape)


def jvp(func, primals, tangents):
    """Forward mode: `(func(*primals), J @ tangents)`.

    `tangents` has one entry per primal; `None` means that argument is not varied.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp needs one tangent per primal: got {len(primals)} primals and {len(tangents)} tangents")
    _validate(func, 0)
    positions = tuple(i for i, t in enumerate(tangents) if t is not None)
    if not positions:
        return func(*primals), 0.0 * np.asarray(func(*primals), dtype=float)
    fn, names = _bound(func, positions, "jvp")
    _check_args(_positions(func, names), primals, {}, func)
    dots = {f"{n}_dot": tangents[i] for i, n in zip(positions, names)}
    return fn(*primals, **_dot_kwargs(fn, dots))


def _dot_kwargs(fn, dots):
    # the generated parameter for x's tangent is `x_dot` unless the user already had that name
    kwonly = fn.__code__.co_varnames[fn.__code__.co_argcount:fn.__code__.co_argcount + fn.__code__.co_kwonlyargcount]
    out = {}
    for key, value in dots.items():
        name = key if key in kwonly else next(k for k in kwonly if k.startswith(key))
        out[name] = value
    return out


def jacobian(func, wrt=0, mode="reverse"):
    """Return a function computing the Jacobian of `func` with respect to one argument.

    The result has shape `out.shape + arg.shape`. mode="reverse" runs one pullback per output
    element; mode="forward" one tangent sweep per input element.
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    if isinstance(wrt, tuple | list):
        raise TypeError("jacobian takes a single wrt; call it once per argument")
    _validate(func, wrt)

    @functools.wraps(func)
    def jac(*args):
        names = pipeline._wrt_names(func, wrt)
        index = pipeline._param_names_of(func).index(names[0])
        x = np.asarray(args[index], dtype=float)
        if mode == "reverse":
            value, pullback = vjp(func, *args, wrt=wrt)
            out_shape = np.shape(value)
            rows = []
            for i in np.ndindex(*out_shape):
                ct = np.zeros(out_shape)
                ct[i] = 1.0
                rows.append(np.asarray(pullback(ct if out_shape else 1.0), dtype=float).reshape(x.shape))
            return np.stack(rows).reshape(out_shape + x.shape) if rows else np.zeros(out_shape + x.shape)
        cols = []
        out_shape = None
        # the tangent function is looked up once; each column is one bare forward sweep
        fn, _ = _bound(func, (index,), "jvp")
        _check_args([(index, names[0])], args, {}, func)
        dot_name = next(iter(_dot_kwargs(fn, {f"{names[0]}_dot": None})))
        for j in np.ndindex(*x.shape):
            t = np.zeros(x.shape)
            t[j] = 1.0
            value, tout = fn(*args, **{dot_name: t if x.shape else 1.0})
            out_shape = np.shape(value)
            cols.append(np.asarray(tout, dtype=float).reshape(out_shape))
        if out_shape is None:
            out_shape = np.shape(func(*args))
            return np.zeros(out_shape + x.shape)
        stacked = np.stack(cols, axis=-1)
        return stacked.reshape(out_shape + x.shape)

    return jac


def source(df, *args) -> str:
    """The generated source of a function s2s made (or of the derivative behind grad(f)).

    Given the arguments of a call, `source(grad(f), *args)` is the code grad(f) runs for
    them: specialised to their shapes (and, where f's output is certainly a scalar,
    without computing f's value). Without arguments it is the general code, for any shapes.
    """
    target = getattr(df, "__s2s_target__", None)
    if target is not None:
        func, wrt, form, optimize = target
        if args:
            form = "grad" if form == "flat" else form
            return _bound_for(func, wrt, form, optimize, args)[0].__s2s_source__
        fn, _ = _bound(func, wrt, form if form != "value" else "flat", optimize)
        return fn.__s2s_source__
    text = getattr(df, "__s2s_source__", None)
    if text is None:
        raise S2SError(f"{getattr(df, '__name__', df)!r} is not a function generated by s2s")
    return text


def _validate(func, wrt):
    if not callable(func):
        raise TypeError(f"s2s differentiates functions, not {type(func).__name__}")
    if hasattr(func, "__code__"):
        pipeline._wrt_names(func, wrt)


def defvjp(func, params, **adjoints):
    """Register reverse-mode rules for your own primitive `func`.

    `params` is the parameter list as a string, e.g. "x, axis=None"; each
    keyword gives the adjoint of one parameter as a template expression in
    `g` (the output's adjoint), `ans` (the output) and the parameters, e.g.
    `defvjp(logsumexp, "x", x="g * np.exp(x - ans)")`. Forward rules use
    keywords ending in `_dot`.
    """
    name = getattr(func, "__name__", "f")
    # registering bumps rules.version: every cached derivative is made again before its next use
    return rules.defrule_for(func, f"{name}({params})", **adjoints)
