"""Run-time side of the derivative rules written as Python functions (s2s/custom.py).

Generated code calls these by the rule's name, so the code stays readable::

    x_bar = s2s.custom.vjp('mymodule.clip', 0, g, ans, x)         # autograd's defvjp form
    parts = s2s.custom.cotangents('mymodule.f', g, ans, [x, y])    # jax.custom_vjp: fwd, then bwd
    y_dot = s2s.custom.tangent('mymodule.f', [x, y], [x_dot, 0.0])  # jax.custom_jvp
    s2s.custom.name('mymodule', 'helper')                           # a name in a string rule

`RULES` maps each name to its `s2s.custom.PythonRule`; `SCOPES` maps a module label to the globals
a string rule's free names are looked up in (the module where the rule was written).
"""

from __future__ import annotations

import numbers

import numpy as np

from s2s.errors import CustomRuleError

RULES: dict = {}
SCOPES: dict = {}


def vjp(key, index, g, ans, *args):
    """The cotangent of argument `index`: `maker(ans, *args)(g)` with the user's maker for it (autograd's
    `defvjp(f, lambda ans, x, y: lambda g: ...)`). Called in the backward sweep, where `ans` and the
    arguments hold the values they had at the call."""
    rule = RULES[key]
    maker = rule.vjp_makers[index]
    positional, keywords = rule.arguments(args, maker, 1)
    return _zero_if_none(maker(ans, *positional, **keywords)(g))


def jvp(key, index, tangent, ans, *args):
    """The tangent contribution of argument `index`: `maker(tangent, ans, *args)` (autograd's defjvp form)."""
    rule = RULES[key]
    maker = rule.jvp_makers[index]
    positional, keywords = rule.arguments(args, maker, 2)
    return maker(tangent, ans, *positional, **keywords)


def cotangents(key, g, ans, args):
    """jax.custom_vjp: `res` from `fwd(*args)` (run again here: the backward sweep has the arguments, not
    the residuals), then `bwd(res, g)`, a cotangent per argument (0.0 for nondiff_argnums and for None).
    fwd's output must be the value the call gave in the forward sweep (`ans`): a fwd that draws random
    numbers would otherwise pair its residuals with another output, so it is refused.
    A function with a custom_jvp only: its vector-Jacobian product from one jvp per argument element."""
    rule = RULES[key]
    if rule.bwd is None:
        return _cotangents_from_jvp(rule, g, args)
    nondiff = [args[i] for i in rule.nondiff_argnums]
    out, res = _pair(rule.fwd(*args), rule.fwd, "fwd", "(output, residuals)")
    if not _same_value(out, ans):
        raise CustomRuleError(f"the fwd function {_name(rule.fwd)} of the custom_vjp {rule.label} returned another output "
                         "than the function gave for the same arguments in the forward sweep; s2s runs fwd again in "
                         "the backward sweep, so fwd must compute the function's own value and be deterministic (no "
                         "random numbers drawn inside)")
    out = rule.bwd(*nondiff, res, g)
    wanted = len(args) - len(rule.nondiff_argnums)
    every = len(rule.params) - len(rule.nondiff_argnums)  # arguments left to their defaults count too
    if not isinstance(out, tuple | list) or len(out) not in (wanted, every):
        got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, tuple | list) else "")
        raise CustomRuleError(f"the bwd function {_name(rule.bwd)} of the custom_vjp {rule.label} must return a tuple "
                        f"with one cotangent per differentiable argument ({every}), but it returned {got}")
    it = iter(out)
    cts = [None if i in rule.nondiff_argnums else next(it) for i in range(len(args))]
    for i, (ct, a) in enumerate(zip(cts, args)):
        if ct is not None:
            _check_cotangent_shape(rule, i, ct, a)
    return [_zero_if_none(ct) for ct in cts]


def _check_cotangent_shape(rule, i, ct, a):
    """As JAX: bwd's cotangent for an array or number argument has that argument's shape (a plain zero aside);
    s2s would otherwise broadcast a scalar over the argument, or fail later in generated code."""
    if not isinstance(a, numbers.Number | np.ndarray | np.generic) or \
            not isinstance(ct, numbers.Number | np.ndarray | np.generic):
        return
    if np.shape(ct) == np.shape(a) or (np.ndim(ct) == 0 and ct == 0):
        return
    name = rule.params[i][0] if i < len(rule.params) else f"#{i}"
    raise CustomRuleError(f"the bwd function {_name(rule.bwd)} of the custom_vjp {rule.label} returned a cotangent "
                          f"of shape {np.shape(ct)} for its argument {name!r} of shape {np.shape(a)}; each "
                          "cotangent must have the shape of its argument (s2s does not broadcast or sum it)")


def tangent(key, args, tangents):
    """jax.custom_jvp: the tangent output of `jvp(primals, tangents)`; an argument s2s does not vary gets
    a zero tangent of its shape."""
    rule = RULES[key]
    tangents = [_dense_zero(t, a) for t, a in zip(tangents, args)]
    _, out = _pair(rule.jvp(tuple(args), tuple(tangents)), rule.jvp, "jvp", "(primal_out, tangent_out)")
    return out


def name(scope, attribute):
    """The value a string rule's free name has in the module where the rule was written."""
    try:
        return SCOPES[scope][attribute]
    except KeyError:
        raise NameError(f"name {attribute!r} (used in a derivative rule written in {scope}) is not defined there"
                        ) from None


def _cotangents_from_jvp(rule, g, args):
    from s2s import pytree
    g_flat = pytree.flatten(g)[0]
    out = []
    for i, a in enumerate(args):
        if i in rule.nondiff_argnums or not _float_like(a):
            out.append(0.0)
            continue
        columns = []
        for e in pytree.basis(a):
            tangents = [e if j == i else 0.0 for j in range(len(args))]
            columns.append(float(g_flat @ pytree.flatten(tangent(rule.key, args, tangents))[0]))
        _, unflatten = pytree.flatten(a)
        out.append(unflatten(np.array(columns)))
    return out


def _float_like(a) -> bool:
    if isinstance(a, bool | np.bool_):
        return False
    if isinstance(a, np.ndarray | np.generic):
        return a.dtype.kind == "f"
    from s2s import pytree
    return isinstance(a, numbers.Real) or pytree.is_structure(a)


def _dense_zero(t, a):
    """A zero tangent (s2s writes 0.0 for an argument it does not vary) as zeros of the argument's shape."""
    if isinstance(t, float) and t == 0.0 and np.ndim(a) != 0 and not isinstance(a, list | tuple | dict):
        return np.zeros(np.shape(a))
    return t


def _same_value(a, b) -> bool:
    from s2s import pytree
    la, lb = pytree.leaves(a), pytree.leaves(b)
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if np.shape(x) != np.shape(y) or not np.allclose(x, y, rtol=1e-6, atol=1e-12, equal_nan=True):
            return False
    return True


def _zero_if_none(v):
    return 0.0 if v is None else v


def _pair(value, fn, role, what):
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise CustomRuleError(f"the {role} function {_name(fn)} must return a pair {what}, not a {type(value).__name__}")
    return value


def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class Layout:
    """Where the elements of a flat vector go in a structure (s2s.flatten_func): `like` is the example."""

    def __init__(self, like, unflatten):
        self.like = like
        self.unflatten = unflatten

    def __repr__(self):
        return f"<layout of {type(self.like).__name__}>"


def unflatten(v, layout):
    """The structure `layout` describes, filled from the vector `v` (linear in `v`)."""
    return layout.unflatten(v)


def flat(t, layout):
    """A derivative shaped like `layout`'s structure, raveled into one vector (linear in `t`)."""
    from s2s import pytree
    return pytree.flat_like(t, layout.like)


def flatten_adjoint(g, value):
    """The adjoint of `s2s.flatten(value)` (a pair: vector, unflatten): the vector's adjoint `g[0]` put back
    into `value`'s structure (zeros where the pair's adjoint is a zero)."""
    from s2s import pytree
    part = g[0] if isinstance(g, tuple | list) else 0.0  # a number for the pair: s2s's zero adjoint
    size = pytree.size(value)
    vector = np.broadcast_to(np.asarray(0.0 if part is None else part), (size,))
    return pytree._unflattener(value)[1](vector)


def flatten_tangent(value_dot, value):
    """The tangent of `s2s.flatten(value)`: the tangent's vector, and a zero for the unflatten function."""
    from s2s import pytree
    return pytree.flat_like(value_dot, value), 0.0


def ones_seed(value):
    """The output adjoint of elementwise_grad differentiated again: ones shaped like `value`, a number or an
    array (a structure is refused: a number in its place would be taken for s2s's zero adjoint)."""
    from s2s import pytree
    if pytree.is_structure(value) or not (isinstance(value, numbers.Number) or hasattr(value, "shape")):
        raise TypeError("s2s differentiates elementwise_grad(f) again only where f returns a number or an array, "
                        f"not a {type(value).__name__}")
    return np.ones(np.shape(value)) if np.ndim(value) else 1.0
