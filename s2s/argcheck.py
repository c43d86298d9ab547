"""Arguments s2s refuses at call time, before any derivative code runs.

* `np.matrix` (and its subclasses): `*` and `**` are matrix products there, while s2s's rules
  (and the user's own NumPy code on arrays) treat them elementwise, so the derivative would be
  wrong. Hint: pass `np.asarray(m)`.
* Masked arrays (`np.ma.MaskedArray`): NumPy's masked reductions count only the unmasked entries (`np.mean`
  divides by their number, `np.var` and `np.std` too), which s2s's rules do not follow, so the derivative would
  be wrong. Hint: pass `x.compressed()` (the unmasked entries) or `x.filled(0.0)`.
* Any other subclass of `np.ndarray` whose class (or a base of it below `np.ndarray`) redefines something
  `np.ndarray` has (`dot`, `__mul__`, `sum`, `__array_ufunc__`...): s2s's rules are NumPy's, so the subclass's own
  method would be read as NumPy's and the derivative would be wrong. A subclass that only adds attributes
  (`__new__`, `__array_finalize__`, methods of new names) is differentiated as a plain array. Hint: pass
  `np.asarray(a)`.
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
               "matrix's `*` is a matrix product, a subclass's own method is not NumPy's), so the derivative would be "
               "wrong")


# what a subclass of np.ndarray may define without changing what NumPy's operations on its arrays compute
_HARMLESS = frozenset((
    "__new__", "__init__", "__array_finalize__", "__array_priority__", "__repr__", "__str__", "__format__", "__doc__",
    "__module__", "__qualname__", "__dict__", "__weakref__", "__slots__", "__annotations__", "__firstlineno__",
    "__static_attributes__", "__reduce__", "__reduce_ex__", "__setstate__", "__init_subclass__", "__hash__",
    "__class_getitem__", "__orig_bases__", "__parameters__", "__type_params__"))


def redefined_array_names(kind: type) -> list[str]:
    """The names of `np.ndarray`'s that the ndarray subclass `kind`, or a base of it below ndarray, defines again.

        >>> class Scaled(np.ndarray):
        ...     def dot(self, other): return 2.0 * np.asarray(self).dot(other)
        >>> redefined_array_names(Scaled), redefined_array_names(np.ndarray)
        (['dot'], [])
    """
    names = set()
    for klass in kind.__mro__:
        if klass is np.ndarray or klass is object:
            break
        names.update(name for name in vars(klass) if name not in _HARMLESS and hasattr(np.ndarray, name))
    return sorted(names)


def refused_kind(obj) -> str | None:
    """"a masked array", "an np.matrix" or "an array of a subclass that redefines `dot`" for a value of a kind s2s
    refuses, else None.

        >>> refused_kind(np.ma.array([1.0], mask=[True])), refused_kind(np.ones(2))
        ('a masked array', None)
    """
    if type(obj) is np.ndarray or not isinstance(obj, np.ndarray):
        return None
    if isinstance(obj, np.ma.MaskedArray):
        return "a masked array"
    if isinstance(obj, np.matrix):
        return "an np.matrix"
    names = redefined_array_names(type(obj))
    return f"an array of class {type(obj).__name__}, which redefines {_listed(names)}" if names else None


def _listed(names) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def plain_hint(name: str) -> str:
    """How to pass `name` as a plain array, for a refused kind's message."""
    return (f"{name}.filled(0.0) or {name}.compressed() for a masked array, np.asarray({name}) for a matrix or "
            "another ndarray subclass")


def check_arguments(args, kwargs=None, func=None) -> None:
    """Raise NoDerivativeRuleError for an `np.matrix`, masked-array, complex argument or one of an ndarray subclass
    that redefines NumPy's methods (see the module docstring).

    `func` (optional) is the function called, whose parameter names the message gives.

        >>> check_arguments((np.ones(2), 1.0))   # nothing to say
    """
    for i, a in enumerate(args):
        if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c"):
            continue
        code = getattr(func, "__code__", None)
        names = code.co_varnames[:code.co_argcount] if code is not None else ()
        _check_one(a, names[i] if i < len(names) else f"argument {i}")
    if kwargs:
        for k, a in kwargs.items():
            if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c"):
                continue
            _check_one(a, k)


def check_vector(given, what: str) -> None:
    """Raise NoDerivativeRuleError where a tangent, cotangent or vector `given` (or an item of its list, tuple or
    dict) is of a kind s2s refuses (`refused_kind`): the derivative code would run the kind's own operations on it.

        >>> check_vector(np.ones(2), "the tangent 0")   # nothing to say
    """
    for leaf in (given.values() if type(given) is dict else given if type(given) in (list, tuple) else (given,)):
        kind = refused_kind(leaf)
        if kind is not None:
            raise NoDerivativeRuleError(f"s2s cannot use {what}: it is {kind}, {WHY_REFUSED}",
                                        hint=f"pass a plain array: {plain_hint('v')}")


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
    if isinstance(a, np.ndarray) and (names := redefined_array_names(type(a))):
        raise NoDerivativeRuleError(
            f"s2s does not differentiate with this argument ({_label(name)}, an array of class {type(a).__name__}): "
            f"its class redefines {_listed(names)}, which s2s's rules read as NumPy's, so the derivative would be "
            "wrong", hint=f"pass np.asarray({_pasteable(name)}) instead")
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
