"""Higher-order differentiation: Jacobians, Hessians, Hessian-vector products and grad of grad.

Everything here is built from the first-order derivatives `s2s.api` makes: s2s differentiates
the code it generated, once more (forward mode over the reverse-mode gradient for Hessians and
Hessian-vector products, forward over forward where the gradient code calls helpers through
pullback closures, which forward mode does not transform). The public functions, with their
documentation, are in `s2s.api`; these are the functions they return.
"""

from __future__ import annotations

import ast
import functools
import types
from collections.abc import Callable

import numpy as np

from s2s import api, codegen, pipeline
from s2s.errors import NonScalarOutputError, UnsupportedSyntaxError


def jacobian_function(func: Callable, wrt: int | str, mode: str) -> Callable:
    """The function `s2s.jacobian(func, wrt, mode)` returns (arguments already checked)."""

    @functools.wraps(func)
    def jac(*args):
        names = pipeline._wrt_names(func, wrt)
        index = pipeline._param_names_of(func).index(names[0])
        x = np.asarray(args[index], dtype=float)
        if mode == "reverse":
            value, pullback = api.vjp(func, *args, wrt=wrt)
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
        fn, _ = api._bound(func, (index,), "jvp")
        api._check_args([(index, names[0])], args, {}, func)
        dot_name = next(iter(api._dot_kwargs(fn, {f"{names[0]}_dot": None})))
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


def hessian_function(func: Callable, wrt: int | str) -> Callable:
    """The function `s2s.hessian(func, wrt)` returns: forward mode over the reverse-mode gradient."""

    def hess(*args):
        # the user's own function may update its arguments in place: run it on copies
        value = func(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        api._check_scalar(value, func)
        df = api.derivative(func, wrt=wrt)
        try:
            return jacobian_function(df, wrt, "forward")(*args)
        except UnsupportedSyntaxError:
            # the gradient code calls helpers through pullback closures, which forward mode does
            # not transform: use forward over forward instead (n * n sweeps, same numbers)
            return _hessian_forward_over_forward(func, wrt, args)

    return hess


def hvp_function(func: Callable, wrt: int | str) -> Callable:
    """The function `s2s.hvp(func, wrt)` returns: one forward sweep through the gradient code."""

    def hessian_vector_product(*args_and_v):
        *args, v = args_and_v
        df = api.derivative(func, wrt=wrt)
        index = pipeline._param_names_of(func).index(pipeline._wrt_names(func, wrt)[0])
        tangents = [None] * len(args)
        tangents[index] = v
        try:
            _, tangent = api.jvp(df, args, tangents)
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


def grad_of_derivative(outer: Callable, plain: Callable, wrt: int | str) -> Callable:
    """grad(grad(f)): forward mode over the code s2s generated for grad(f).

    `plain()` gives the current first derivative (made again when f or what it uses changed);
    the second derivative is made again whenever that is a different function.
    """
    if isinstance(wrt, tuple | list):
        raise TypeError("grad of a gradient takes a single wrt")
    made = {}

    def current():
        inner = plain()
        jvp_fn, names = api._bound(inner, wrt, "jvp")
        target, prefix = api._unbind(inner)
        jvp_target = api._unbind(jvp_fn)[0]
        stamp = (target, jvp_target) + prefix
        old = made.get("stamp", ())
        if len(old) != len(stamp) or any(a is not b for a, b in zip(old, stamp)):
            index = pipeline._param_names_of(inner).index(names[0])
            dot_name = api._dot_kwargs(jvp_fn, {f"{names[0]}_dot": None}).popitem()[0]
            nested = api._rebind(_second_derivative_function(target, jvp_target, names[0], dot_name), prefix)
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
        return jacobian_function(inner, wrt, "forward")(*args)

    gradient.__s2s_target__ = None
    gradient.__s2s_plain__ = lambda: current()["nested"]
    gradient.__s2s_source__ = current()["nested"].__s2s_source__
    return gradient


def _second_derivative_function(inner, jvp_fn, name, dot_name):
    """A generated, source-backed function `x -> d/dx inner(x)` for a scalar x (so it nests again)."""
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


def _forward_over_forward(func, wrt, args):
    """(second, first_dot, second_dot, x): the jvp of the jvp of `func` and its tangent keywords.

    `second(*args, first_dot=u, second_dot=v)` returns ((f, f'u), (f'v, u'Hv)).
    """
    name = pipeline._wrt_names(func, wrt)[0]
    index = pipeline._param_names_of(func).index(name)
    first, _ = api._bound(func, wrt, "jvp")
    first_dot = api._dot_kwargs(first, {f"{name}_dot": None}).popitem()[0]
    target, prefix = api._unbind(first)
    gen = pipeline.derivative_code(target, (name,), "jvp", True)
    x = np.asarray(args[index], dtype=float)
    return api._rebind(gen.bind(target).fn, prefix), first_dot, gen.tangent_names[name], x


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
