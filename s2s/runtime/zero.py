"""The zero adjoint, and the guard that lets an adjoint helper skip its work for it.

`ZERO` stands for an adjoint (or tangent) no contribution has reached yet: zeros of any shape.
A helper linear in its adjoint `g` returns the zero adjoint for it; `@linear_in_g` says so once
instead of an `if is_zero(g): return ZERO` at the top of each helper.
"""

from __future__ import annotations

import functools
import inspect

ZERO = 0.0  # the adjoint of a value no contribution has reached yet


def is_zero(g) -> bool:
    """True for the symbolic zero adjoint."""
    return g is ZERO or (type(g) is float and g == 0.0)


def zero_safe(helper):
    """Mark an adjoint helper `helper(g, ...)` that is right for the zero adjoint `g = ZERO` (a Python
    0.0 standing for zeros of any shape) without a guard: rule templates that pass `g` straight to it
    need none (see `s2s.rules.Rule.zero_guard`).

        >>> @zero_safe
        ... def grad_half(g, x):
        ...     return 0.5 * g
        >>> grad_half.__s2s_zero_safe__
        True
    """
    helper.__s2s_zero_safe__ = True
    return helper


def linear_in_g(helper=None, *, zero=None):
    """Decorator for an adjoint helper `helper(g, ...)` linear in `g`: a zero `g` gives the zero adjoint
    without running the helper (a zero adjoint may stand for an array of any shape: it stays zero).

    `zero`, when given, makes the zero adjoint from the other arguments (a list of zeros for the
    pieces of np.concatenate, a pair for two adjoints); otherwise it is `ZERO`.

        >>> @linear_in_g
        ... def grad_double(g, x):
        ...     return 2 * g
        >>> grad_double(ZERO, 1.0) is ZERO, grad_double(1.0, 1.0)
        (True, 2.0)

    Generated code calls these in its loops, so the wrapper costs as little as a call can: it has
    the helper's own parameters (forwarding `*args` costs several times more in CPython), and the
    test of `is_zero` is written into it.
    """
    if helper is None:
        return functools.partial(linear_in_g, zero=zero)
    params = list(inspect.signature(helper).parameters.values())
    namespace = {"ZERO": ZERO, "_helper": helper, "_zero": zero}
    heads, passes = [], []  # the wrapper's parameter list, and the same arguments passed on
    for p in params[1:]:
        if p.kind is p.VAR_POSITIONAL:
            heads.append(f"*{p.name}")
            passes.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            heads.append(f"**{p.name}")
            passes.append(f"**{p.name}")
        else:
            if p.kind is p.KEYWORD_ONLY and not any(h.startswith("*") for h in heads):
                heads.append("*")
            if p.default is p.empty:
                heads.append(p.name)
            else:
                namespace[f"_default_{p.name}"] = p.default
                heads.append(f"{p.name}=_default_{p.name}")
            passes.append(f"{p.name}={p.name}" if p.kind is p.KEYWORD_ONLY else p.name)
    first = params[0].name
    result = "ZERO" if zero is None else f"_zero({', '.join(passes)})"
    source = (f"def {helper.__name__}({', '.join([first] + heads)}):\n"
              f"    if {first} is ZERO or (type({first}) is float and {first} == 0.0):\n"
              f"        return {result}\n"
              f"    return _helper({', '.join([first] + passes)})\n")
    exec(compile(source, f"<linear_in_g {helper.__name__}>", "exec"), namespace)  # noqa: S102 - built from a signature
    wrapper = zero_safe(functools.wraps(helper)(namespace[helper.__name__]))
    # (the zero adjoint in, the zero adjoint out: what shape inference reads of an adjoint that is 0.0 before a loop)
    wrapper.__s2s_zero_gives_zero__ = zero is None
    return wrapper
