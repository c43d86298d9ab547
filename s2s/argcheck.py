"""Arguments s2s refuses at call time, before any derivative code runs.

* `np.matrix` (and its subclasses): `*` and `**` are matrix products there, while s2s's rules
  (and the user's own NumPy code on arrays) treat them elementwise, so the derivative would be
  wrong. Hint: pass `np.asarray(m)`.
* Masked arrays (`np.ma.MaskedArray`): NumPy's masked reductions count only the unmasked entries (`np.mean`
  divides by their number, `np.var` and `np.std` too), which s2s's rules do not follow, so the derivative would
  be wrong. Hint: pass `x.compressed()` (the unmasked entries) or `x.filled(0.0)`.
* Complex numbers and complex arrays: s2s has no complex derivative convention (autograd and
  JAX each have one, and they differ), and its rules are written for real values. Hint: pass the
  real and imaginary parts as two float arguments.

The check looks at every argument, and one level into lists, tuples and dicts (where s2s's
gradients of containers go); a float or an exact `np.ndarray` of real dtype costs one type test.
A complex value that appears *inside* the function (a `1j` constant, `np.sqrt` of a negative
complex...) is refused where the gradient is finished (`s2s.runtime.finish`).
"""

from __future__ import annotations

import numpy as np

from s2s.errors import NoDerivativeRuleError

_PLAIN = (float, int, bool, str, type(None))


# arrays whose NumPy operations s2s's rules do not follow, refused wherever s2s meets one: as an argument (here), as a
# global or closure value the function reads (frontend.resolve), as a gradient that comes out of that kind (finish)
WHY_REFUSED = ("whose NumPy operations s2s's rules do not follow (a masked mean counts the unmasked entries, a "
               "matrix's `*` is a matrix product), so the derivative would be wrong")


def refused_kind(obj) -> str | None:
    """"a masked array" or "an np.matrix" for a value of a kind s2s refuses, else None.

        >>> refused_kind(np.ma.array([1.0], mask=[True])), refused_kind(np.ones(2))
        ('a masked array', None)
    """
    if type(obj) is np.ndarray or not isinstance(obj, np.ndarray):
        return None
    return "a masked array" if isinstance(obj, np.ma.MaskedArray) else "an np.matrix" if isinstance(obj, np.matrix) \
        else None


def plain_hint(name: str) -> str:
    """How to pass `name` as a plain array, for a refused kind's message."""
    return f"{name}.filled(0.0) or {name}.compressed() for a masked array, np.asarray({name}) for a matrix"


def check_arguments(args, kwargs=None, names=None) -> None:
    """Raise NoDerivativeRuleError for an `np.matrix`, masked-array or complex argument (see the module docstring).

    `names` (optional) gives the parameter name of each positional argument, for the message.
    """
    for i, a in enumerate(args):
        if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c"):
            continue
        _check_one(a, names[i] if names is not None and i < len(names) else f"argument {i}")
    if kwargs:
        for k, a in kwargs.items():
            if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c"):
                continue
            _check_one(a, k)


def _check_one(a, name, depth=0) -> None:
    if isinstance(a, np.matrix):
        raise NoDerivativeRuleError(
            f"s2s does not differentiate with np.matrix arguments ({_label(name)} is one): `*` and `**` are matrix "
            "products on np.matrix, and s2s's rules treat them elementwise, so the derivative would be wrong",
            hint=f"pass np.asarray({_pasteable(name)}) instead (and write matrix products with @)")
    if isinstance(a, np.ma.MaskedArray):
        raise NoDerivativeRuleError(
            f"s2s does not differentiate with masked-array arguments ({_label(name)} is one): NumPy's masked "
            "reductions count only the unmasked entries (np.mean divides by their number), which s2s's rules do not "
            "follow, so the derivative would be wrong",
            hint=f"pass the unmasked entries, {_pasteable(name)}.compressed(), or the data with the masked entries "
                 f"filled: {_pasteable(name)}.filled(0.0)")
    if _is_complex(a):
        raise NoDerivativeRuleError(
            f"s2s does not differentiate complex arguments ({_label(name)} is complex): it has no complex "
            "derivative convention whose rules it can prove right",
            hint=f"pass the real and imaginary parts as two float arguments: np.real({_pasteable(name)}), "
                 f"np.imag({_pasteable(name)})")
    if depth == 0 and isinstance(a, list | tuple):
        for v in a:
            if type(v) not in _PLAIN:
                _check_one(v, name, 1)
    elif depth == 0 and isinstance(a, dict):
        for v in a.values():
            if type(v) not in _PLAIN:
                _check_one(v, name, 1)


def _is_complex(a) -> bool:
    if isinstance(a, complex):
        return True
    dtype = getattr(a, "dtype", None)
    try:
        return dtype is not None and np.dtype(dtype).kind == "c"
    except TypeError:  # a dtype NumPy does not know (another library's): not complex as far as s2s can tell
        return False


def _label(name) -> str:
    return name if name.startswith("argument") else f"argument {name!r}"


def _pasteable(name) -> str:
    return name if name.isidentifier() else "m"
