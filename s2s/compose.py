"""Derivative functions s2s made, given to another s2s transform: `jacfwd(jacrev(f))`, `jacobian(grad(f))`,
`hessian(jacrev(f))`, `jvp(jacrev(f), ...)`, `grad(grad(grad(f)))`.

A derivative function D that `s2s.grad`, `s2s.jacobian` (`jacfwd`, `jacrev`) or `s2s.hessian` returns
carries, as `__s2s_derivative__`, what it computes: the k-th derivative of a plain function f with
respect to the parameters `names` (one per order), a tensor of JAX's layout (f's output structure,
each leaf replaced by the first parameter's structure of blocks, and so on;
`out.shape + x1.shape + ... + xk.shape` for arrays). A transform given D does not read D's own
code (a wrapper that loops over a basis and calls the generated code): it takes the next derivative
of f, so `jacfwd(jacrev(f))` is the second derivative of f with respect to x twice, of shape
`out.shape + x.shape + x.shape` (the Hessian for a scalar f), and `jvp(jacrev(f), (x,), (v,))` its
contraction with v in the last slot. Mixed partial derivatives commute (f is taken to be smooth
enough, as every second derivative s2s computes does), so which parameter is differentiated first
only changes how the numbers are computed, never which numbers they are.

The numbers come from `tensor`: forward mode over the reverse-mode code of f where f has fewer
outputs than the first parameter has elements (one sweep per output element and per element of
the later parameters), else forward mode over forward mode, k times (one sweep per combination of
basis elements); where the code over reverse mode cannot be differentiated once more (a pullback
kept on a tape, a helper's generated pullback), forward^k of f is used instead.

The mark holds only for the very function it was put on (functools.wraps copies attributes onto the
functions that wrap it, which compute something else).

Example::

    def f(x):
        return np.sin(x) * x[0]

    s2s.jacfwd(s2s.jacrev(f))(np.ones(3)).shape      # (3, 3, 3)
    s2s.jvp(s2s.jacrev(f), (np.ones(3),), (np.ones(3),))[1].shape   # (3, 3)
"""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Callable

import numpy as np

from s2s import api, higher_order, pipeline, pytree, repeated
from s2s.errors import NoDerivativeRuleError, NonScalarOutputError, UnsupportedSyntaxError


class Derivative:
    """What a derivative function computes: the derivative of the plain function `func` with respect to
    `names` (one parameter name per order). `mark(obj)` is true for the function it was put on only."""

    __slots__ = ("owner", "func", "names")

    def __init__(self, owner, func, names):
        self.owner, self.func, self.names = weakref.ref(owner), func, tuple(names)

    def __call__(self, obj) -> bool:
        return self.owner() is obj


def mark(fn: Callable, func: Callable, names) -> Callable:
    """Put on `fn` that it computes the derivative of `func` with respect to `names`; returns `fn`."""
    fn.__s2s_derivative__ = Derivative(fn, func, names)
    return fn


def of(obj) -> Derivative | None:
    """The Derivative a function s2s made carries, or None (for anything else, a wrapper of it included)."""
    found = getattr(obj, "__s2s_derivative__", None)
    if isinstance(found, Derivative) and found(obj):
        return found
    return None


def names_of(spec: Derivative, wrt) -> tuple:
    """The parameter names of `spec.func` that `wrt` (a position, a name, or a tuple of them) names."""
    return tuple(pipeline._wrt_names(spec.func, wrt))


# ---- the numbers ----------------------------------------------------------------------------------------------

class _Along:
    """A slot contracted with a direction: {parameter name: tangent} (jvp's tangents, hvp's vector)."""

    __slots__ = ("tangents",)

    def __init__(self, tangents):
        self.tangents = dict(tangents)


def _value_of(func, params, name, args, kwargs):
    index = params.index(name)
    if index < len(args):
        return args[index]
    if name in kwargs:
        return kwargs[name]
    raise TypeError(f"the derivative with respect to {name!r} needs a value for it in the call")


def _forward_levels(fn, levels):
    """[fn_1, ..., fn_K], [{name: tangent keyword}, ...]: fn_l is forward mode over fn_{l-1} (fn_0 = fn) with
    respect to the names of level l."""
    dots = []
    for names in levels:
        target, prefix = api._unbind(fn)
        gen = pipeline.derivative_code(target, tuple(names), "jvp", True)
        fn = api._rebind(api._entry(target, tuple(names), "jvp", True).fn, prefix)
        dots.append({n: gen.tangent_names[n] for n in names})
    return fn, dots


def _seeds(slots, xs):
    """For each combination of basis elements of the basis slots: the tangents of every slot."""
    choices = []
    for slot, x in zip(slots, xs):
        if isinstance(slot, _Along):
            choices.append([slot.tangents])
        else:
            choices.append([{slot: e} for e in pytree.basis(x)])
    return itertools.product(*choices)


def _highest(out, order):
    for _ in range(order):
        out = out[1]
    return out


def _level_names(slot):
    return tuple(slot.tangents) if isinstance(slot, _Along) else (slot,)


def _zero_fill(seed, names, xs_by_name):
    """The tangents of a level: the seed's, and zeros for its other parameters."""
    return {n: seed[n] if n in seed else np.zeros(np.shape(xs_by_name[n])) for n in names}


def _by_forward(func, slots, args, kwargs, value, xs, by_name):
    """The flat tensor by forward mode, len(slots) times over f: (size(value), sizes of the basis slots)."""
    levels = [_level_names(s) for s in slots]
    fn, dots = _forward_levels(func, levels)
    m = pytree.size(value)
    sizes = [pytree.size(x) for s, x in zip(slots, xs) if not isinstance(s, _Along)]
    columns = []
    for seed in _seeds(slots, xs):
        keywords = {}
        for level, names, tangents in zip(dots, levels, seed):
            for n, t in _zero_fill(tangents, names, by_name).items():
                keywords[level[n]] = t
        columns.append(pytree.flat_like(_highest(fn(*args, **kwargs, **keywords), len(slots)), value))
    matrix = np.stack(columns, axis=-1) if columns else np.zeros((m, 0))
    return matrix.reshape((m, *sizes))


def _by_reverse_first(func, slots, args, kwargs, value, xs, by_name):
    """The flat tensor by forward mode (len(slots) - 1 times) over the reverse-mode code of f with respect to
    the first slot's parameter: one sweep per element of the output and of the later basis slots."""
    first = slots[0]
    df, _ = api._bound(func, (first,), "flat")
    seed_name = api._seed_name(df)
    rest = slots[1:]
    levels = [_level_names(s) for s in rest]
    fn, dots = _forward_levels(df, levels)
    sizes = [pytree.size(x) for s, x in zip(rest, xs[1:]) if not isinstance(s, _Along)]
    x1 = xs[0]
    rows = []
    scalar = pytree.is_leaf(value) and np.ndim(value) == 0  # the code's default seed, 1.0, is its fastest
    for cotangent in ([1.0] if scalar else pytree.basis(value)):
        cols = []
        for seed in _seeds(rest, xs[1:]):
            keywords = {seed_name: cotangent}
            for level, names, tangents in zip(dots, levels, seed):
                for n, t in _zero_fill(tangents, names, by_name).items():
                    keywords[level[n]] = t
            cols.append(pytree.flat_like(_highest(fn(*args, **kwargs, **keywords), len(rest)), x1))
        rows.append(np.stack(cols, axis=-1).reshape(pytree.size(x1), *sizes))
    m = pytree.size(value)
    return np.stack(rows) if rows else np.zeros((m, pytree.size(x1), *sizes))


def tensor(func: Callable, slots: list, args: tuple, kwargs: dict) -> tuple:
    """(T, value, xs): the derivative of `func` along `slots` at the arguments, flat.

    Each slot is a parameter name (every basis element of that argument: an axis of T) or an _Along (one
    direction: no axis). T has shape (size(value), n_1, ..., n_j) over the basis slots, in the order of
    the leaves of the value and of each argument; `xs` are the slots' arguments (None for an _Along)."""
    params = pipeline._param_names_of(func)
    every = {n for s in slots for n in _level_names(s)}
    by_name = {n: _value_of(func, params, n, args, kwargs) for n in every}
    api._check_args([(params.index(n), n) for n in sorted(every, key=params.index)], args, kwargs, func)
    xs = [None if isinstance(s, _Along) else by_name[s] for s in slots]
    value = func(*pytree.copied(args), **kwargs)  # the user's function may update its arguments in place
    m = pytree.size(value)
    reverse = not isinstance(slots[0], _Along) and m <= pytree.size(xs[0])
    if reverse:
        try:
            return _by_reverse_first(func, slots, args, kwargs, value, xs, by_name), value, xs
        except (UnsupportedSyntaxError, NoDerivativeRuleError) as exc:
            # the reverse-mode code cannot be differentiated once more (a pullback on a tape, a helper's
            # generated pullback): forward mode over forward mode of f itself gives the same numbers
            if higher_order._custom_rule_in(exc) is not None:
                raise
    return _by_forward(func, slots, args, kwargs, value, xs, by_name), value, xs


def layout(value, xs) -> tuple:
    """(JAX's layout for a flat tensor of shape (size(value), size(xs[0]), ...), each leaf holding the flat
    indices of its elements; those indices in the order of the layout's leaves)."""
    structure = value
    order = np.arange(pytree.size(value))
    for x in xs:
        n = pytree.size(x)
        index = np.arange(order.size * n).reshape(order.size, n)[order]  # rows in the structure's leaf order
        structure = pytree.pack(index, structure, x)
        order = pytree.flat_like(structure, structure).astype(np.intp)
    return structure, order


def shaped(flat: np.ndarray, value, xs):
    """The flat tensor in JAX's layout (out.shape + x1.shape + ... for arrays)."""
    structure, _ = layout(value, xs)
    numbers = flat.reshape(-1)
    return pytree.map_leaves(lambda leaf: numbers[np.asarray(leaf)].reshape(np.shape(leaf)), structure)


def tensor_in_layout(func: Callable, names: list, args: tuple, kwargs: dict):
    """The derivative of `func` with respect to `names` (one per order) in JAX's layout."""
    flat, value, xs = tensor(func, names, args, kwargs)
    return shaped(flat, value, xs)


def _evaluate(spec_func, slots, args, kwargs, what):
    @higher_order.refuses_custom_rules(what)
    def run():
        repeated.check(spec_func, args, kwargs, what)
        flat, value, xs = tensor(spec_func, slots, args, kwargs)
        return shaped(flat, value, [x for x in xs if x is not None])
    return run()


# ---- the transforms --------------------------------------------------------------------------------------------
#
# A Derivative's `names` is one derivative (a tuple of parameter names) or a tuple of them, to any depth (what
# grad and jacobian with a tuple wrt and hessian's blocks return): a transform maps over the tuple.

def is_one(names) -> bool:
    """Whether `names` names one derivative (parameter names), not a tuple of derivatives."""
    return all(isinstance(n, str) for n in names)


def _map(names, fn):
    return fn(names) if is_one(names) else tuple(_map(part, fn) for part in names)


def _leaves(names) -> list:
    return [names] if is_one(names) else [leaf for part in names for leaf in _leaves(part)]


def _wrapper(spec: Derivative, extend: Callable, what: str, check: Callable | None = None) -> Callable:
    """The function of the next derivatives: each derivative `names` of `spec` becomes `extend(names)` (one, or
    a tuple of them)."""
    func = spec.func
    order = _map(spec.names, extend)

    @functools.wraps(func)
    def derivative_function(*args, **kwargs):
        if check is not None:
            check(args, kwargs)
        return _map(order, lambda names: _evaluate(func, list(names), args, kwargs, what))

    derivative_function.__s2s_target__ = None
    return mark(derivative_function, func, order)


def _refuse_aux(name):
    raise TypeError(f"s2s.{name}(..., has_aux=True) of a derivative function s2s made: a derivative function "
                    "returns no auxiliary value; leave has_aux= out")


def _extension(spec, wrt, twice=False):
    """names -> the next derivative's names, for `wrt` one parameter or a tuple of them (a tuple of results)."""
    if not isinstance(wrt, tuple | list):
        name = names_of(spec, wrt)[0]
        return lambda names: names + ((name, name) if twice else (name,))
    chosen = [names_of(spec, w)[0] for w in wrt]
    if twice:
        return lambda names: tuple(tuple(names + (a, b) for b in chosen) for a in chosen)
    return lambda names: tuple(names + (n,) for n in chosen)


def jacobian(spec: Derivative, wrt, has_aux: bool = False) -> Callable:
    """`s2s.jacobian(D, wrt)` (and jacfwd, jacrev) for a derivative function D: the next derivative."""
    if has_aux:
        _refuse_aux("jacobian")
    return _wrapper(spec, _extension(spec, wrt), "s2s.jacobian (jacfwd, jacrev) of a derivative function")


def _scalar_check(spec, entry):
    params = pipeline._param_names_of(spec.func)

    def check(args, kwargs):
        if not is_one(spec.names):
            raise NonScalarOutputError(
                f"s2s.{entry} needs a function with a scalar output, but the derivative function of "
                f"{spec.func.__name__} it is given returns a tuple of derivatives",
                hint="use s2s.jacobian on it for the derivatives of each")
        xs = [_value_of(spec.func, params, n, args, kwargs) for n in spec.names]
        shapes = [np.shape(x) if pytree.is_leaf(x) else "a structure" for x in xs]
        if any(s != () for s in shapes):
            raise NonScalarOutputError(
                f"s2s.{entry} needs a function with a scalar output, but the derivative of "
                f"{spec.func.__name__} it is given has the shape of its output and of {', '.join(spec.names)} "
                f"({', '.join(map(str, shapes))})",
                hint=f"use s2s.jacobian on it for the whole tensor of derivatives, or s2s.{entry} of {spec.func.__name__} "
                     "itself")
        value = spec.func(*pytree.copied(args), **kwargs)
        if np.ndim(value) != 0 or pytree.is_structure(value):
            raise NonScalarOutputError(
                f"s2s.{entry} needs a function with a scalar output, but the derivative of {spec.func.__name__} it "
                f"is given has an output of shape {np.shape(value) if pytree.is_leaf(value) else 'a structure'}",
                hint="use s2s.jacobian on it for the whole tensor of derivatives")
    return check


def grad(spec: Derivative, wrt, has_aux: bool = False) -> Callable:
    """`s2s.grad(D, wrt)` for a derivative function D with a scalar output (f scalar, every differentiated
    argument a number): the next derivative."""
    if has_aux:
        _refuse_aux("grad")
    return _wrapper(spec, _extension(spec, wrt), "s2s.grad of a derivative function", _scalar_check(spec, "grad"))


def hessian(spec: Derivative, wrt) -> Callable:
    """`s2s.hessian(D, wrt)` for a derivative function D: `jacfwd(jacrev(D))`, as in JAX (any output shape);
    a tuple `wrt` gives the tuple of tuples of blocks."""
    return _wrapper(spec, _extension(spec, wrt, twice=True), "s2s.hessian of a derivative function")


def hvp(spec: Derivative, wrt) -> Callable:
    """`s2s.hvp(D, wrt)` for a derivative function D with a scalar output: its Hessian times v."""
    name = names_of(spec, wrt)[0]
    check = _scalar_check(spec, "hvp")

    @functools.wraps(spec.func)
    def hessian_vector_product(*args_and_v):
        *args, v = args_and_v
        check(tuple(args), {})
        slots = [*spec.names, name, _Along({name: v})]
        return _evaluate(spec.func, slots, tuple(args), {}, "s2s.hvp of a derivative function")

    return hessian_vector_product


def jvp(spec: Derivative, primals: tuple, tangents: tuple) -> tuple:
    """`s2s.jvp(D, primals, tangents)` for a derivative function D: (D(*primals), the next derivative along
    the tangents), both in D's layout."""
    params = pipeline._param_names_of(spec.func)
    along = {params[i]: t for i, t in enumerate(tangents) if t is not None}
    what = "s2s.jvp of a derivative function"
    value = _map(spec.names, lambda names: _evaluate(spec.func, list(names), primals, {}, what))
    if not along:
        return value, pytree.map_leaves(lambda v: np.zeros(np.shape(v)), value)
    tangent = _map(spec.names, lambda names: _evaluate(spec.func, [*names, _Along(along)], primals, {}, what))
    return value, tangent


def _parts(names, cotangent):
    """(one derivative's names, its part of the cotangent) for each derivative of `names`."""
    if is_one(names):
        return [(names, cotangent)]
    return [pair for part, ct in zip(names, cotangent) for pair in _parts(part, ct)]


def vjp(spec: Derivative, args: tuple, kwargs: dict, wrt) -> tuple:
    """`s2s.vjp(D, *args, wrt=...)` for a derivative function D: (D(*args), pullback). The pullback forms
    the next derivative (one column per element of each argument) and contracts the cotangent with it."""
    single = not isinstance(wrt, tuple | list)
    chosen = [names_of(spec, w)[0] for w in ((wrt,) if single else wrt)]
    what = "s2s.vjp of a derivative function"
    value = _map(spec.names, lambda names: _evaluate(spec.func, list(names), args, kwargs, what))
    # (the next derivatives at this point, now: made when the pullback is called, they read the globals of then,
    # beside the values of now; adv226)
    made = {(names, name): tensor(spec.func, [*names, name], args, kwargs)
            for name in chosen for names in _leaves(spec.names)}

    def pullback(cotangent):
        grads = []
        for name in chosen:
            row, x = None, None
            for names, ct in _parts(spec.names, cotangent):
                flat, f_value, xs = made[(names, name)]
                inner, order = layout(f_value, xs[:-1])
                matrix = flat.reshape(-1, flat.shape[-1])[order]  # rows in the order of the output's leaves
                part = pytree.flat_like(ct, inner) @ matrix
                row, x = (part if row is None else row + part), xs[-1]
            _, unflatten = pytree.flatten(x)
            grads.append(pytree.restore(unflatten(row), x))
        return grads[0] if single else tuple(grads)

    return value, pullback
