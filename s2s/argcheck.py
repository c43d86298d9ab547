"""Arguments s2s refuses at call time, before any derivative code runs.

* `np.matrix` (and its subclasses): `*` and `**` are matrix products there, while s2s's rules
  (and the user's own NumPy code on arrays) treat them elementwise, so the derivative would be
  wrong. Hint: pass `np.asarray(m)`.
* Masked arrays (`np.ma.MaskedArray`): NumPy's masked reductions count only the unmasked entries (`np.mean`
  divides by their number, `np.var` and `np.std` too), which s2s's rules do not follow, so the derivative would
  be wrong. Hint: pass `x.compressed()` (the unmasked entries) or `x.filled(0.0)`.
* Any other subclass of `np.ndarray` whose class (or a base of it below `np.ndarray`), or the array itself,
  redefines something `np.ndarray` has (`dot`, `__mul__`, `sum`, `__array_ufunc__`...), or whose
  `__array_finalize__` does more than label: s2s's rules are NumPy's, so the subclass's own method would be read
  as NumPy's and the derivative would be wrong. A subclass that only adds attributes (`__new__`, a labelling
  `__array_finalize__`, methods of new names) and `np.memmap` are differentiated as plain arrays. Hint: pass
  `np.asarray(a)`. The same for a subclass of a number type that redefines an operator (hint: `float(s)`).
* `scipy.sparse` matrices and arrays (hint: `A.toarray()`), and array-likes that are no ndarray but take NumPy's
  functions over (`__array_ufunc__`, `__array_function__`), but the array libraries s2s runs (Dask, CuPy).
* Complex numbers and complex arrays: s2s has no complex derivative convention (autograd and
  JAX each have one, and they differ), and its rules are written for real values. Hint: pass the
  real and imaginary parts as two float arguments.

The check looks at every argument, into its lists, tuples and dicts at any depth and a dataclass's fields (where
s2s's gradients of containers go), at the arrays an object argument holds as attributes, and at the defaults a
call leaves; a float or an exact `np.ndarray` of real dtype costs one type test.
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


# what a subclass of np.ndarray (or of a number type) may define without changing what NumPy's operations on its
# values compute; `__array_finalize__` is read apart (`_finalize_only_labels`)
_HARMLESS = frozenset((
    "__new__", "__init__", "__array_priority__", "__repr__", "__str__", "__format__", "__doc__", "__dir__",
    "__module__", "__qualname__", "__dict__", "__weakref__", "__slots__", "__annotations__", "__firstlineno__",
    "__static_attributes__", "__reduce__", "__reduce_ex__", "__setstate__", "__getnewargs__", "__init_subclass__",
    "__hash__", "__class_getitem__", "__orig_bases__", "__parameters__", "__type_params__"))
# NumPy's own subclasses whose values compute as a plain array's (np.memmap's redefinitions hand back plain arrays)
_PLAIN_NUMPY_SUBCLASSES = (np.memmap,)
_NUMBER_BASES = int | float | complex | np.generic
_ARRAY_LIBRARIES = frozenset(("numpy", "cupy", "cupyx", "dask"))  # array types s2s's runtime dispatches on
_LIMIT = 10_000  # values a check walks in one argument (a long list of numbers costs one type test each)


def redefined_array_names(kind: type, instance=None) -> list[str]:
    """The names of `np.ndarray`'s (or of the number type's) that the subclass `kind`, a base of it below NumPy's or
    Python's class, or `instance`'s own attributes define again; `__array_finalize__` where it does more than set
    attributes of names arrays do not have.

        >>> class Scaled(np.ndarray):
        ...     def dot(self, other): return 2.0 * np.asarray(self).dot(other)
        >>> redefined_array_names(Scaled), redefined_array_names(np.ndarray)
        (['dot'], [])
    """
    names = set()
    for klass in kind.__mro__:
        if klass is np.ndarray or klass in _PLAIN_NUMPY_SUBCLASSES or not issubclass(klass, np.ndarray) and (
                klass.__module__ or "").split(".")[0] in ("numpy", "builtins"):
            base = klass
            break
        names.update(name for name in vars(klass) if name not in _HARMLESS)
    else:
        return []
    finalize = "__array_finalize__" in names and _finalize_only_labels(kind.__array_finalize__)
    names = {n for n in names if hasattr(base, n)} - ({"__array_finalize__"} if finalize else set())
    if instance is not None:
        names.update(n for n in getattr(instance, "__dict__", ()) if hasattr(base, n))
    return sorted(names)


def _finalize_only_labels(method) -> bool:
    """Whether `__array_finalize__` only labels the new array: its statements are `self.<name> = <value>` (a name
    arrays do not have; a value of names, constants, attributes and `getattr(...)`), `return`, `pass`, a docstring
    or an `if` of them. NumPy calls it on every array it makes of the class, so one that does more may change
    values (`np.clip(self, 0, None, out=self)`)."""
    import ast
    import inspect
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else None
    return body is not None and all(_labels(stmt) for stmt in body)


def _labels(stmt) -> bool:
    import ast
    if isinstance(stmt, ast.Return | ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
        return stmt.value is None or _plain_value(stmt.value) if isinstance(stmt, ast.Return) else True
    if isinstance(stmt, ast.If):
        return _plain_value(stmt.test) and all(_labels(s) for s in stmt.body + stmt.orelse)
    if isinstance(stmt, ast.Assign):
        return _plain_value(stmt.value) and all(
            isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
            and not hasattr(np.ndarray, t.attr) for t in stmt.targets)
    return False


def _plain_value(node) -> bool:
    import ast
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            if not (isinstance(n.func, ast.Name) and n.func.id == "getattr"):
                return False
        elif not isinstance(n, ast.Name | ast.Constant | ast.Attribute | ast.Load | ast.Compare | ast.BoolOp
                            | ast.UnaryOp | ast.IfExp | ast.Tuple | ast.List | ast.Dict | ast.cmpop | ast.boolop
                            | ast.unaryop):
            return False
    return True


def _parts(value, attributes=False):
    """(v, whether v is an object's attribute) for `value` and what it holds, depth first: the items of lists, tuples
    and dicts at any depth, a dataclass's fields, and with `attributes` the attributes of an object of a class of
    yours (one level: `self.W`, or a layer object's in a list)."""
    todo, seen, budget = [(value, False)], set(), _LIMIT
    while todo and budget:
        v, attribute = todo.pop()
        budget -= 1
        kind = type(v)
        if kind in _PLAIN:
            continue
        yield v, attribute
        if isinstance(v, np.ndarray | np.generic) or id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, list | tuple):
            todo.extend((item, attribute) for item in reversed(v))
        elif isinstance(v, dict):
            todo.extend((item, attribute) for item in reversed(list(v.values())))
        elif not attribute and _holds_fields(v, attributes):
            todo.extend((item, not _is_dataclass(v)) for item in reversed(_fields(v)))


def _is_dataclass(v) -> bool:
    import dataclasses
    return dataclasses.is_dataclass(v)


def _holds_fields(v, attributes) -> bool:
    import dataclasses
    import types
    if isinstance(v, type | types.ModuleType | types.FunctionType | types.MethodType | types.BuiltinFunctionType):
        return False
    return (dataclasses.is_dataclass(v) or attributes) and (type(v).__module__ or "").split(".")[0] not in (
        "builtins", "scipy", "s2s", "functools", *_ARRAY_LIBRARIES)


def _fields(v) -> list:
    import dataclasses
    if dataclasses.is_dataclass(v):
        return [getattr(v, f.name, None) for f in dataclasses.fields(v)]
    held = getattr(v, "__dict__", None)
    return list(held.values()) if type(held) is dict else []


def refused_kind(obj) -> str | None:
    """What s2s refuses in `obj` (itself, or what its lists, tuples, dicts and dataclass fields hold): "a masked
    array", "an np.matrix", "an array of class M, which redefines `dot`"..., else None.

        >>> refused_kind(np.ma.array([1.0], mask=[True])), refused_kind([np.ones(2), {"a": 1.0}])
        ('a masked array', None)
    """
    if type(obj) is np.ndarray or type(obj) in _PLAIN:
        return None
    for v, _ in _parts(obj):
        kind = _kind(v)
        if kind is not None:
            return kind
    return None


def _kind(v) -> str | None:
    """What the one value `v` is where s2s refuses it (not looking inside it), else None."""
    kind = type(v)
    if kind is np.ndarray or kind in _PLAIN:
        return None
    module = kind.__module__ or ""
    if isinstance(v, np.ma.MaskedArray):
        return "a masked array"
    if isinstance(v, np.matrix):
        return "an np.matrix"
    if module.startswith("scipy.sparse"):
        return f"a scipy.sparse {kind.__name__}"
    if isinstance(v, np.ndarray | _NUMBER_BASES):
        names = redefined_array_names(kind, v)
        what = "an array" if isinstance(v, np.ndarray) else "a number"
        return f"{what} of class {kind.__name__}, which redefines {_listed(names)}" if names else None
    if (hasattr(kind, "__array_ufunc__") or hasattr(kind, "__array_function__")) \
            and module.split(".")[0] not in _ARRAY_LIBRARIES:
        return f"an array-like of class {kind.__name__}, which NumPy's functions hand its own operations"
    return None


def refused_class(obj) -> str | None:
    """What arrays of the class `obj` would be where s2s refuses them (a masked array, an np.matrix, a subclass that
    redefines `dot`), else None (also where `obj` is no ndarray class): a function that reads such a class makes
    such arrays (`x.view(M)`, `M(x)`), whose operations the derivative code, with NumPy's rules, would not follow.

        >>> refused_class(np.matrix), refused_class(np.ndarray), refused_class(float)
        ('np.matrix', None, None)
    """
    if not isinstance(obj, type) or not issubclass(obj, np.ndarray) or obj is np.ndarray:
        return None
    if issubclass(obj, np.ma.MaskedArray):
        return "masked arrays"
    if issubclass(obj, np.matrix):
        return "np.matrix"
    names = redefined_array_names(obj)
    return f"arrays of class {obj.__name__}, which redefines {_listed(names)}" if names else None


def _listed(names) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def plain_hint(name: str) -> str:
    """How to pass `name` as a plain array, for a refused kind's message."""
    return (f"{name}.filled(0.0) or {name}.compressed() for a masked array, {name}.toarray() for a sparse matrix, "
            f"np.asarray({name}) for a matrix or another array-like, float({name}) for a number")


def check_arguments(args, kwargs=None, func=None) -> None:
    """Raise NoDerivativeRuleError for an argument of a kind s2s refuses (see the module docstring), or one that
    holds one (in its lists, tuples, dicts, dataclass fields, or as an attribute of an object of your class), and
    for such a value among `func`'s defaults that the call leaves to them.

    `func` (optional) is the function called, whose parameter names the message gives.

        >>> check_arguments((np.ones(2), 1.0))   # nothing to say
    """
    code = getattr(func, "__code__", None)
    names = code.co_varnames[:code.co_argcount] if code is not None else ()
    for i, a in enumerate(args):
        if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c"):
            continue
        _check_one(a, names[i] if i < len(names) else f"argument {i}")
    if kwargs:
        for k, a in kwargs.items():
            if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c"):
                continue
            _check_one(a, k)
    defaults = getattr(func, "__defaults__", None) or ()
    for name, value in zip(names[len(names) - len(defaults):], defaults):
        if names.index(name) >= len(args) and (not kwargs or name not in kwargs) and type(value) not in _PLAIN:
            _check_one(value, name, default=True)
    for name, value in (getattr(func, "__kwdefaults__", None) or {}).items():
        if (not kwargs or name not in kwargs) and type(value) not in _PLAIN:
            _check_one(value, name, default=True)


def check_vector(given, what: str) -> None:
    """Raise NoDerivativeRuleError where a tangent, cotangent or vector `given` is, or holds, a value of a kind s2s
    refuses (`refused_kind`): the derivative code would run the kind's own operations on it.

        >>> check_vector(np.ones(2), "the tangent 0")   # nothing to say
    """
    kind = refused_kind(given)
    if kind is not None:
        raise NoDerivativeRuleError(f"s2s cannot use {what}: it is or holds {kind}, {WHY_REFUSED}",
                                    hint=f"pass plain arrays: {plain_hint('v')}")


def _check_one(a, name, default=False) -> None:
    """Refuse the argument `a` (or the default value `a` of the parameter `name`) where it is or holds a refused
    value: in its containers and dataclass fields any kind, complex values included; among an object's attributes
    the arrays the function would read as NumPy's (one it does not read costs nothing: other kinds are left to the
    run)."""
    for v, attribute in _parts(a, attributes=True):
        if attribute and not isinstance(v, np.ndarray):
            continue
        held = v is not a
        label = (f"the default of {name!r}" if default else _label(name)) + (" holds one" if held else " is one")
        where = "it" if held else f"{_pasteable(name)}"
        if isinstance(v, np.matrix):
            raise NoDerivativeRuleError(
                f"s2s does not differentiate with np.matrix arguments ({label}): `*` and `**` are matrix "
                "products on np.matrix, and s2s's rules treat them elementwise, so the derivative would be wrong",
                hint=f"pass np.asarray({where}) instead (and write matrix products with @)")
        if isinstance(v, np.ma.MaskedArray):
            raise NoDerivativeRuleError(
                f"s2s does not differentiate with masked-array arguments ({label}): NumPy's masked "
                "reductions count only the unmasked entries (np.mean divides by their number), which s2s's rules do "
                "not follow, so the derivative would be wrong",
                hint=f"pass the unmasked entries, {where}.compressed(), or the data with the masked entries "
                     f"filled: {where}.filled(0.0)")
        kind = _kind(v)
        if kind is not None:
            fix = f"{where}.toarray()" if kind.startswith("a scipy") else \
                f"float({where})" if kind.startswith("a number") else f"np.asarray({where})"
            raise NoDerivativeRuleError(
                f"s2s does not differentiate with this value ({label}: {kind}): s2s's rules are NumPy's and "
                "Python's own, so the derivative would be wrong", hint=f"pass {fix} instead")
        if not attribute and _is_complex(v):
            raise NoDerivativeRuleError(
                f"s2s does not differentiate complex arguments ({label.replace(' is one', ' is complex')}): it has "
                "no complex derivative convention whose rules it can prove right",
                hint=f"pass the real and imaginary parts as two float arguments: np.real({where}), "
                     f"np.imag({where})")


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
