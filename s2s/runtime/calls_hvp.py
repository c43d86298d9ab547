"""Forward mode over reverse-mode code that calls a function value (Hessian-vector products and Hessians
through `s2s.call_vjp`): the tangent of `call_vjp`'s value and of the pullback it returns.

The pullback's tangent is the tangent of the callee's gradient seeded with the cotangent, a plain function
s2s generates (form "flat") and differentiates once more through `call_jvp`, like any function value.
"""

from __future__ import annotations

from s2s.runtime.calls import _flat_active, _flatten, _plan, _refuse_at, _regroup, call_jvp, call_jvp_of_jvp, call_vjp
from s2s.runtime.tangents import dense_tangent


def _seeded(f, site, active, args, kwargs):
    """(the wrapper's gradient function with the cotangent as its keyword `seed` parameter, its arguments,
    the seed's name): the pullback of `call_vjp` as a plain generated function that s2s can differentiate."""
    from s2s import api
    wrapper, values, wrt = _plan(f, active, args, kwargs, site)
    try:
        entry = api._entry(wrapper, wrt, "flat")
    except Exception as exc:  # noqa: BLE001 - a refusal inside the wrapper is reported at the user's line
        raise _refuse_at(exc, site, f) from None
    seed = next(iter(entry.fn.__kwdefaults__ or {}), None)
    if seed is None:
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError("s2s cannot differentiate this pullback once more (its gradient has no seed)")
    return entry.fn, values, seed


def call_vjp_jvp(f, site, active, active2, tangents2, /, *args, **kwargs):
    """The tangent of `call_vjp(f, site, active, *args, **kwargs)` (forward over reverse: Hessian-vector
    products through a function value) along `tangents2` of the arguments `active2` names: returns
    `((value, pullback), (value_dot, pullback_dot))`. `pullback_dot(g, g_dot)` is `(pullback(g), its
    tangent)`, the tangent made by `call_jvp` of the callee's seeded gradient (a generated function)
    along the arguments' tangents and `g_dot` (None: a constant cotangent)."""
    value, pullback = call_vjp(f, site, active, *args, **kwargs)
    if active2:
        value_dot = call_jvp(f, site, active2, tangents2, *args, **kwargs)[1]
    else:
        from s2s.runtime.tangents import dense_tangent
        value_dot = dense_tangent(0.0, value)

    def pullback_dot(g, g_dot):
        gfn, values, seed = _seeded(f, site, active, args, kwargs)
        offset = len(values) - len(args) - len(kwargs)
        kwnames = tuple(kwargs)
        where = tuple(offset + a if isinstance(a, int) else offset + len(args) + kwnames.index(a) for a in active2)
        outer, outer_tangents = where, tuple(tangents2)
        if g_dot is not None:
            outer, outer_tangents = outer + (seed,), outer_tangents + (g_dot,)
        grads = pullback(g)
        if not outer:
            from s2s.runtime.tangents import dense_tangent
            return grads, tuple(dense_tangent(0.0, x) for x in grads)
        _, grads_dot = call_jvp(gfn, site, outer, outer_tangents, *values, **{seed: g})
        return grads, (grads_dot,) if len(active) == 1 else tuple(grads_dot)

    return (value, pullback), (value_dot, pullback_dot)


def call_star_vjp_jvp(f, site, layout, active, active2, tangents2, /, *values):
    """`call_vjp_jvp` of a call written with `*xs` or `**d` (see call_star_vjp); `active2` lists the values
    with tangents, `tangents2` their tangents (a sequence for `*xs`, a dict for `**d`)."""
    args, kwargs, where = _flatten(layout, values)
    flat, flat2 = _flat_active(where, active), _flat_active(where, active2)
    flat_tangents = _flat_tangents(where, active2, tangents2, args, kwargs)
    (value, pullback), (value_dot, pullback_dot) = call_vjp_jvp(f, site, flat, flat2, flat_tangents,
                                                                *args, **kwargs)

    def star_pullback(g):
        return _regroup(where, active, values, pullback(g))

    def star_pullback_dot(g, g_dot):
        grads, grads_dot = pullback_dot(g, g_dot)
        return _regroup(where, active, values, grads), _regroup(where, active, values, grads_dot)

    return (value, star_pullback), (value_dot, star_pullback_dot)


def pullback_jvp(pullback, pullback_dot, g, g_dot):
    """`(pullback(g), its tangent)` in forward code over reverse code: `pullback_dot` comes from
    call_vjp_jvp (None where the call's arguments are constant: the pullback is then linear in `g`)."""
    if pullback_dot is not None:
        return pullback_dot(g, g_dot)
    return pullback(g), pullback(g_dot)


def _flat_tangents(where, active, tangents, args=(), kwargs=None):
    """The tangents of the active values, in the order of their flat parts (see call_star_jvp). The zero tangent
    0.0 of a `*xs` or `**d` value becomes zeros shaped like each part of `args` and `kwargs` (the flat values): the
    code the parts are given to reads their tangents as values of their structure."""
    out = []
    for i, t in zip(active, tangents):
        kind, at = where[i]
        whole = isinstance(t, list | tuple | dict)
        if kind == "*":
            out.extend((list(t) if whole else [dense_tangent(t, args[j]) for j in at]) if len(at) else [])
        elif kind == "**":
            out.extend(t[k] if whole else dense_tangent(t, kwargs[k]) for k in at)
        else:
            out.append(t)
    return tuple(out)


def call_star_jvp_of_jvp(f, site, layout, active, tangents, active2, tangents2, tangents_dot, /, *values):
    """`call_jvp_of_jvp` of a call written with `*xs` or `**d` (forward over forward through call_star_jvp):
    `active2` lists the values with tangents `tangents2`, `tangents_dot` the tangents of `tangents` (None:
    constant)."""
    args, kwargs, where = _flatten(layout, values)
    flat, flat2 = _flat_active(where, active), _flat_active(where, active2)
    flat_dot = None if tangents_dot is None else _flat_tangents(where, active, tangents_dot, args, kwargs)
    return call_jvp_of_jvp(f, site, flat, _flat_tangents(where, active, tangents, args, kwargs), flat2,
                           _flat_tangents(where, active2, tangents2, args, kwargs), flat_dot, *args, **kwargs)


def split_vjp_jvp(split, active2, tangents2, *args, **kwargs):
    """The tangent of `split(*args, **kwargs)`, the linked split derivative (value, pullback) of a user
    function in reverse-mode code differentiated again: `((value, pullback), (value_dot, pullback_dot))`
    as call_vjp_jvp gives, the pullback's tangent from forward mode over the callee's own seeded gradient."""
    made = getattr(split, "__s2s_split_of__", None)
    if made is None:
        from s2s.errors import UnsupportedSyntaxError
        raise UnsupportedSyntaxError("s2s cannot differentiate this call of a derivative again")
    callee, wrt = made
    from s2s import api
    value, pullback = split(*args, **kwargs)
    if active2:
        value_dot = call_jvp(callee, -1, active2, tangents2, *args, **kwargs)[1]
    else:
        from s2s.runtime.tangents import dense_tangent
        value_dot = dense_tangent(0.0, value)

    def pullback_dot(g, g_dot):
        gfn = api._entry(callee, tuple(wrt), "flat", records=api._record_params(callee, args, kwargs, tuple(wrt))).fn
        seed = next(iter(gfn.__kwdefaults__ or {}), None)
        grads = pullback(g)
        outer, outer_tangents = tuple(active2), tuple(tangents2)
        if g_dot is not None and seed is not None:
            outer, outer_tangents = outer + (seed,), outer_tangents + (g_dot,)
        if seed is None or not outer:
            from s2s.runtime.tangents import dense_tangent
            if seed is None:
                from s2s.errors import UnsupportedSyntaxError
                raise UnsupportedSyntaxError("s2s cannot differentiate this pullback once more (no seed)")
            return grads, tuple(dense_tangent(0.0, x) for x in grads)
        _, grads_dot = call_jvp(gfn, -1, outer, outer_tangents, *args, **kwargs, **{seed: g})
        return grads, (grads_dot,) if len(wrt) == 1 else tuple(grads_dot)

    return (value, pullback), (value_dot, pullback_dot)
