"""Second derivatives through a closure over differentiated values (Hessians, Hessian-vector products and
grad of grad through `s2s.call_closure_vjp` / `s2s.call_closure_jvp`).

The closure's own source is differentiated with its free variables as extra parameters (the lifted function
of s2s.runtime.calls): its derivatives are plain generated functions, which s2s differentiates once more
through `call_jvp`, like any function value. Forward over reverse: the tangent of `call_closure_vjp`'s value
and of its pullback (the tangent of the lifted function's gradient seeded with the cotangent). Forward over
forward: the tangent of `call_closure_jvp`'s value and tangent. The closure's cells take their tangents from
the closure's own tangent, a FunctionAdjoint by free name.
"""

from __future__ import annotations

from s2s.runtime.calls import (
    FunctionAdjoint,
    _as_positional,
    _closure_entry,
    _dense_tangent,
    _lifted,
    _refuse_closure,
    call_closure_jvp,
    call_closure_vjp,
    call_jvp,
)

_HINT = "pass those values to the function as arguments instead of capturing them (def f(w, x) rather than a " \
        "closure over w)"


def _cell_tangents(f, values, diff, f_tangent):
    """The tangents of the closure's differentiated cells `diff`, read from its tangent `f_tangent` (a
    FunctionAdjoint by free name; a missing name, or the zero tangent, is zero)."""
    held = f_tangent if isinstance(f_tangent, dict) else {}
    cells = dict(zip(f.__code__.co_freevars, values))
    return tuple(_dense_tangent(held.get(n, 0.0), cells[n]) for n in diff)


def _outer(f, site, args, kwargs, diff, active2, f_dot2, values):
    """(positions in the lifted function's arguments `values`, their tangents) for the closure's differentiated
    cells (tangents from `f_dot2`) and the arguments `active2` names (positions, or keyword names)."""
    frees = f.__code__.co_freevars
    if kwargs:
        positions = _as_positional(f, args, kwargs, tuple(a for a, _ in active2), site, _HINT)[2]
    else:
        positions = tuple(a for a, _ in active2)
    held = f_dot2 if isinstance(f_dot2, dict) else {}
    where = tuple(frees.index(n) for n in diff if n in held)
    tangents = tuple(_dense_tangent(held[n], values[frees.index(n)]) for n in diff if n in held)
    return where + tuple(len(frees) + p for p in positions), tangents + tuple(t for _, t in active2)


def _seeded(f, site, active, args, kwargs):
    """(the lifted closure's gradient with the cotangent as its keyword `seed`, its arguments, the seed's name,
    the differentiated cells, the number of arguments differentiated), or None when nothing is."""
    from s2s import api
    entry, values, diff, positions = _closure_entry(f, site, active, args, kwargs, "split")
    if entry is None:
        return None
    lift = _lifted(f, len(values) - len(f.__code__.co_freevars), ())
    wrt = tuple(f"s2s_a{a}" for a in positions) + tuple(diff)
    gfn = api._entry(lift, wrt, "flat").fn
    seed = next(iter(gfn.__kwdefaults__ or {}), None)
    if seed is None:
        _refuse_closure(site, "s2s cannot differentiate its gradient once more (the gradient has no seed)", _HINT)
    return gfn, values, seed, diff, len(positions)


def call_closure_vjp_jvp(f, site, active, f_dot, active2, tangents2, /, *args, **kwargs):
    """The tangent of `call_closure_vjp(f, site, active, *args, **kwargs)` (forward over reverse) along the
    closure's tangent `f_dot` (a FunctionAdjoint of its cells' tangents, or zero) and `tangents2` of the
    arguments `active2` names: `((value, pullback), (value_dot, pullback_dot))`, as s2s.call_vjp_jvp gives.
    `pullback_dot(g, g_dot)` is `(pullback(g), its tangent)`: the arguments' gradients and the closure's
    adjoint (a FunctionAdjoint), each with its tangent."""
    value, pullback = call_closure_vjp(f, site, active, *args, **kwargs)
    value_dot = call_closure_jvp(f, site, tuple(active2), tuple(tangents2), f_dot, *args, **kwargs)[1]

    def pullback_dot(g, g_dot):
        grads = pullback(g)
        made = _seeded(f, site, active, args, kwargs)
        if made is None:
            return grads, (FunctionAdjoint(),)
        gfn, values, seed, diff, n = made
        outer, outer_tangents = _outer(f, site, args, kwargs, diff, tuple(zip(active2, tangents2)), f_dot, values)
        if g_dot is not None:
            outer, outer_tangents = outer + (seed,), outer_tangents + (g_dot,)
        if not outer:
            from s2s.runtime.tangents import dense_tangent
            flat = tuple(grads[:n]) + tuple(grads[n].get(name, 0.0) for name in diff)
            flat_dot = tuple(dense_tangent(0.0, x) for x in flat)
        else:
            _, flat_dot = call_jvp(gfn, site, outer, outer_tangents, *values, **{seed: g})
            flat_dot = (flat_dot,) if n + len(diff) == 1 else tuple(flat_dot)
        return grads, tuple(flat_dot[:n]) + (FunctionAdjoint(zip(diff, flat_dot[n:])),)

    return (value, pullback), (value_dot, pullback_dot)


def call_closure_jvp_of_jvp(f, site, active, tangents, f_tangent, active2, tangents2, f_dot2, tangents_dot,
                            f_tangent_dot, /, *args, **kwargs):
    """The tangent of `call_closure_jvp(f, site, active, tangents, f_tangent, *args, **kwargs)` itself (forward
    over forward: Hessians through a closure): `((value, tangent), (value_dot, tangent_dot))`, the second
    direction given by the closure's tangent `f_dot2`, `tangents2` of the arguments `active2` names, and the
    tangents of the first-order tangents (`tangents_dot` of `tangents`, `f_tangent_dot` of `f_tangent`;
    None: constant)."""
    entry, values, diff, positions = _closure_entry(f, site, active, args, kwargs, "jvp")
    if entry is None:  # nothing differentiated at first order: the tangent is zero, and so is its tangent
        value, tangent = call_closure_jvp(f, site, active, tangents, f_tangent, *args, **kwargs)
        value_dot = call_closure_jvp(f, site, tuple(active2), tuple(tangents2), f_dot2, *args, **kwargs)[1]
        return (value, tangent), (value_dot, _dense_tangent(0.0, value))
    jf = entry.fn
    names = jf.__s2s_tangent_names__
    first = tuple(tangents) + _cell_tangents(f, values, diff, f_tangent)
    outer, outer_tangents = _outer(f, site, args, kwargs, diff, tuple(zip(active2, tangents2)), f_dot2, values)
    if tangents_dot is not None:
        outer, outer_tangents = outer + names[:len(positions)], outer_tangents + tuple(tangents_dot)
    if f_tangent_dot is not None:
        more = _cell_tangents(f, values, diff, f_tangent_dot)
        outer, outer_tangents = outer + names[len(positions):], outer_tangents + more
    if not outer:
        from s2s.runtime.tangents import dense_tangent
        out = jf(*values, **dict(zip(names, first)))
        return out, tuple(dense_tangent(0.0, x) for x in out)
    return call_jvp(jf, site, outer, outer_tangents, *values, **dict(zip(names, first)))


def call_vjp_closure_jvp(f, site, active, f_dot, active2, tangents2, /, *args, **kwargs):
    """The tangent of `call_vjp(f, site, active, *args, **kwargs)` where the closure `f` held values the first
    derivative did not differentiate and the second one does (a mixed second derivative): as
    call_closure_vjp_jvp along the closure's tangent `f_dot`, the pullback giving the arguments' gradients
    only, as call_vjp's does."""
    (value, pullback), (value_dot, pullback_dot) = call_closure_vjp_jvp(f, site, active, f_dot, active2, tangents2,
                                                                        *args, **kwargs)
    n = len(active)

    def args_pullback(g):
        return tuple(pullback(g)[:n])

    def args_pullback_dot(g, g_dot):
        grads, grads_dot = pullback_dot(g, g_dot)
        return tuple(grads[:n]), tuple(grads_dot[:n])

    return (value, args_pullback), (value_dot, args_pullback_dot)
