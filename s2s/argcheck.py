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
* Array-likes that are no ndarray but take NumPy's functions over (`__array_ufunc__`, `__array_function__`), but
  the array libraries s2s runs (Dask, CuPy) and SciPy's sparse matrices (read back with `.toarray()`).
* Complex numbers and complex arrays: s2s has no complex derivative convention (autograd and
  JAX each have one, and they differ), and its rules are written for real values. Hint: pass the
  real and imaginary parts as two float arguments.

The check looks at every argument, into its lists, tuples and dicts at any depth (where s2s's gradients of
containers go), and at the defaults a call leaves; in a dataclass's fields and an object argument's attributes
(three objects deep) at the values whose class redefines NumPy's or Python's operations only (an unread masked
array or sparse matrix there costs nothing). A float or an exact `np.ndarray` of real dtype costs one type
test.
A complex value that appears *inside* the function (a `1j` constant, `np.sqrt` of a negative
complex...) is refused where the gradient is finished (`s2s.runtime.finish`).
"""

from __future__ import annotations

import abc
import functools
import types

import numpy as np

from s2s.errors import NoDerivativeRuleError

_PLAIN = (float, int, bool, str, type(None))


# arrays whose NumPy operations s2s's rules do not follow, refused wherever s2s meets one: as an argument (here), as a
# global or closure value the function reads (frontend.resolve), as a gradient that comes out of that kind (finish)
WHY_REFUSED = ("whose NumPy operations s2s's rules do not follow (a masked mean counts the unmasked entries, a "
               "matrix's `*` is a matrix product, a subclass's own method is not NumPy's), so the derivative would be "
               "wrong")


# what a subclass of np.ndarray may define without changing what NumPy's operations on its values compute;
# `__array_finalize__` is read apart (`_finalize_only_labels`)
_HARMLESS = frozenset((
    "__new__", "__init__", "__array_priority__", "__repr__", "__str__", "__format__", "__doc__", "__dir__",
    "__module__", "__qualname__", "__dict__", "__weakref__", "__slots__", "__annotations__", "__firstlineno__",
    "__static_attributes__", "__reduce__", "__reduce_ex__", "__setstate__", "__getnewargs__", "__init_subclass__",
    "__hash__", "__class_getitem__", "__orig_bases__", "__parameters__", "__type_params__", "__copy__",
    "__deepcopy__"))
# what of a number's a subclass of float, int or a NumPy number may not redefine: what computes a value from it
# (a flag's `__or__`, an enum's `__eq__` or `__str__` do not)
_NUMBER_VALUES = frozenset(
    f"__{op}__" for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "divmod", "pow", "matmul")
    for op in (name, "r" + name)) | frozenset(
    f"__{name}__" for name in ("neg", "pos", "abs", "float", "int", "index", "complex", "round", "trunc", "floor",
                               "ceil", "lt", "le", "gt", "ge", "array", "array_ufunc", "array_function"))
# NumPy's own subclasses whose values compute as a plain array's (np.memmap's redefinitions hand back plain arrays)
_PLAIN_NUMPY_SUBCLASSES = (np.memmap,)
_NUMBER_BASES = int | float | complex | np.generic
_ARRAY_LIBRARIES = frozenset(("numpy", "cupy", "cupyx", "dask"))  # array types s2s's runtime dispatches on
_LIMIT = 10_000  # values a check walks in one argument (a long list of numbers costs one type test each)
_OBJECT_DEPTH = 3  # attributes of attributes: `self.layers[0].W`, `self.cfg.W`
_GLOBAL_LIMIT = 1_000  # values looked at in a global container the function reads
_NEVER_REFUSED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, np.ufunc)


def redefined_array_names(kind: type, instance=None) -> list[str]:
    """The names of `np.ndarray`'s (or of the number type's) that the subclass `kind`, a base of it below NumPy's or
    Python's class, or `instance`'s own attributes define again; `__array_finalize__` where it does more than set
    attributes of names arrays do not have. Of a number type's, those that compute values (`_NUMBER_VALUES`).

        >>> class Scaled(np.ndarray):
        ...     def dot(self, other): return 2.0 * np.asarray(self).dot(other)
        >>> redefined_array_names(Scaled), redefined_array_names(np.ndarray)
        (['dot'], [])
    """
    names, finalizers = set(), []
    for klass in kind.__mro__:
        if klass is np.ndarray or klass in _PLAIN_NUMPY_SUBCLASSES or not issubclass(klass, np.ndarray) and (
                klass.__module__ or "").split(".")[0] in ("numpy", "builtins"):
            base = klass
            break
        own = vars(klass)
        names.update(name for name in own if name not in _HARMLESS)
        if "__array_finalize__" in own:
            finalizers.append(own["__array_finalize__"])
    else:
        return []
    if finalizers and all(_finalize_only_labels(f) for f in finalizers):
        names.discard("__array_finalize__")
    if instance is not None:
        names.update(getattr(instance, "__dict__", ()))
    names = {n for n in names if hasattr(base, n)}
    if not issubclass(base, np.ndarray):
        names &= _NUMBER_VALUES
    return sorted(names)


def _finalize_only_labels(method) -> bool:
    """Whether `__array_finalize__` only labels the new array: its statements are `self.<name> = <value>` (a name
    arrays do not have), `self.__dict__.update(<value>)`, `super().__array_finalize__(obj)` (a base's, read too),
    `return`, `pass`, a docstring or an `if` of them, where a value is made of names, constants, attributes and
    calls of `getattr`, `hasattr`, `isinstance`, `dict`, `list`, `tuple`, `set`, `copy.copy` and `copy.deepcopy`.
    NumPy calls it on every array it makes of the class, so one that does more may change values
    (`np.clip(self, 0, None, out=self)`)."""
    import ast
    import inspect
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else None
    return body is not None and all(_labels(stmt) for stmt in body)


_LABEL_CALLS = frozenset(("getattr", "hasattr", "isinstance", "dict", "list", "tuple", "set", "copy", "deepcopy"))


def _labels(stmt) -> bool:
    import ast
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Return):
        return stmt.value is None or _plain_value(stmt.value)
    if isinstance(stmt, ast.Expr):
        call = stmt.value
        if isinstance(call, ast.Constant):
            return True
        return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and all(
            _plain_value(a) for a in [*call.args, *(k.value for k in call.keywords)]) and (
            ast.unparse(call.func) in ("super().__array_finalize__", "self.__dict__.update"))
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
            name = n.func.id if isinstance(n.func, ast.Name) else n.func.attr if isinstance(n.func, ast.Attribute) \
                else None
            if name not in _LABEL_CALLS:
                return False
        elif not isinstance(n, ast.Name | ast.Constant | ast.Attribute | ast.Load | ast.Compare | ast.BoolOp
                            | ast.UnaryOp | ast.IfExp | ast.Tuple | ast.List | ast.Dict | ast.cmpop | ast.boolop
                            | ast.unaryop | ast.keyword):
            return False
    return True


def _parts(value, attributes=False, limit=_LIMIT):
    """(v, whether v is an object's attribute or a dataclass's field) for `value` and what it holds, depth first: the
    items of lists, tuples and dicts at any depth, a dataclass's fields, and with `attributes` the attributes of an
    object of a class of yours, to _OBJECT_DEPTH objects deep (`self.layers[0].W`)."""
    todo, seen, budget = [(value, 0)], set(), limit
    while todo and budget:
        v, depth = todo.pop()
        budget -= 1
        kind = type(v)
        if kind in _PLAIN:
            continue
        yield v, depth > 0
        if isinstance(v, np.ndarray | np.generic) or id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, list | tuple):
            todo.extend((item, depth) for item in reversed(v))
        elif isinstance(v, dict):
            todo.extend((item, depth) for item in reversed(list(v.values())))
        elif depth < _OBJECT_DEPTH and _holds_fields(v, attributes):
            todo.extend((item, depth + 1) for item in reversed(_fields(v)))


def holds_fields(v) -> bool:
    """Whether `v` is an object whose attributes s2s looks into (a dataclass, an object of a class of yours), not a
    module, function, class or a library's object.

        >>> holds_fields(np.ones(2)), holds_fields(np), holds_fields(types.SimpleNamespace(W=1.0))
        (False, False, True)
    """
    return _holds_fields(v, True)


_NOT_LOOKED_INTO = frozenset(("builtins", "scipy", "s2s", "functools", *_ARRAY_LIBRARIES))


def _holds_fields(v, attributes) -> bool:
    import dataclasses
    if isinstance(v, type | types.ModuleType | types.FunctionType | types.MethodType | types.BuiltinFunctionType):
        return False
    return (dataclasses.is_dataclass(v) or attributes) and (type(v).__module__ or "").split(".")[0] not in \
        _NOT_LOOKED_INTO


def _fields(v) -> list:
    import dataclasses
    if dataclasses.is_dataclass(v):
        return [getattr(v, f.name, None) for f in dataclasses.fields(v)]
    held = getattr(v, "__dict__", None)
    values = list(held.values()) if type(held) is dict else []
    for klass in type(v).__mro__:  # (`__slots__` objects keep their attributes outside any __dict__)
        slots = vars(klass).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__"):
                values.append(getattr(v, name, None))
    return values


_SETTLED_BUDGET = 256  # values `settled` looks at on a call (a list longer than what is left: not looked into)
# numbers and strings no check refuses, and what is never looked into (modules, functions, classes, bound methods)
_SETTLED_LEAVES = frozenset((float, int, bool, str, type(None), np.float64, np.float32, np.float16, np.int64, np.int32,
                             np.int16, np.int8, np.uint8, np.bool_, types.ModuleType, types.FunctionType,
                             types.BuiltinFunctionType, types.MethodType, types.BuiltinMethodType, type, np.ufunc,
                             bytes, range, slice, type(Ellipsis), np.dtype))
_NOT_SETTLED = frozenset((np.ndarray, int, float, complex, np.generic, list, tuple, dict, *_NEVER_REFUSED))


def settled(value, seen=None) -> bool | None:
    """Whether `value` is, and holds, only what no check of this module refuses, seen by type tests alone: real
    exact ndarrays, numbers, strings, exact lists, tuples and dicts of such, functions and modules, and objects
    whose class is no array-like (no `__array__` protocol, no ndarray or number subclass, no `__getattr__`), their
    attributes three objects deep. False leaves the value to the full check (`check_arguments`, `refused_kind`),
    which is slower and may still pass it; None where it left a list, dict or object longer than what was left of
    _SETTLED_BUDGET values unseen (and looked at the others): what was seen is plain. This is the test made on every
    call of a value that may change between calls (an object argument's attributes, a global list's items), so its
    cost is bounded whatever the value holds. `seen` (a dict kept through one check of several values: a global
    `NET` and `NET.layers` read through it) holds the ids of the lists, dicts and objects found plain to their end
    (nothing skipped, no object past the depth left unseen), not walked again.

        >>> class Layer:
        ...     def __init__(self): self.W, self.act = np.ones(2), np.tanh
        >>> settled({"layers": [Layer(), Layer()], "lr": 0.1}), settled(np.ones(2).view(np.matrix))
        (True, False)
        >>> settled([0.0] * 10_000) is None
        True
    """
    budget = [_SETTLED_BUDGET, 0, 0]  # (values left to look at, parts skipped, objects past the depth not walked)
    plain = _settled_items((value,), 0, budget, {} if seen is None else seen)
    return None if plain and (budget[0] < 0 or budget[1]) else plain


def may_change(a) -> bool:
    """Whether the argument `a`, which a derivative is made for by its type alone, holds what may change between
    calls: an object's attributes (`net.W = M(...)`, an array of a class that redefines `@`, after the first call),
    a record's lists. `settled` tests it on every call.

        >>> may_change(types.SimpleNamespace()), may_change((np.ones(2), 1.0))
        (True, False)
    """
    if isinstance(a, tuple):  # (a namedtuple's items stay; a list among them may change)
        return type(a) is not tuple and not all(type(v) is np.ndarray or type(v) in _PLAIN for v in a)
    return holds_fields(a)


def _settled_items(values, depth, budget, seen) -> bool:
    """`settled` of each of `values`; True with budget[0] < 0 where it stopped looking, or budget[1] counting the
    lists, dicts or objects longer than what was left of the budget, left unseen (it goes on with the others: a loss
    history of 300 numbers beside the layers)."""
    for v in values:
        budget[0] -= 1
        kind = type(v)
        if kind is np.ndarray:
            if v.dtype.kind == "c":
                return False
            continue
        if kind in _SETTLED_LEAVES or id(v) in seen:
            continue
        before = budget[1] + budget[2]
        if kind is list or kind is tuple or kind is dict or isinstance(v, list | tuple | dict) \
                and _container_kind(v, True) is None:  # (a subclass that redefines nothing of theirs)
            if len(v) > budget[0]:
                budget[1] += 1  # (what is left of the budget would not see it all: not looked into)
                continue
            if not _settled_items(v.values() if isinstance(v, dict) else v, depth, budget, seen):
                return False
        else:
            walked = _PLAIN_CLASSES.get(kind)
            if walked is None:
                walked = _plain_class(kind)
            if walked is False:
                return False  # (an array-like, a dtype, attributes outside a __dict__ or computed: the full check)
            if walked is True and depth >= _OBJECT_DEPTH:
                budget[2] += 1  # (its attributes not looked at, as the full check does not look that deep)
            elif walked is True:
                held = getattr(v, "__dict__", None)
                if type(held) is not dict or "dtype" in held:
                    return False  # (a dtype, maybe complex: `_is_complex`)
                if len(held) > budget[0]:
                    budget[1] += 1
                    continue
                if not _settled_items(held.values(), depth + 1, budget, seen):
                    return False
        if budget[0] < 0:
            return True
        if budget[1] + budget[2] == before:
            seen[id(v)] = v  # (plain to its end: another walk reaching it, at any depth, would find it so; kept
            # alive by the dict while the check runs, so its id is no other object's)
    return True


_PLAIN_CLASSES: dict = {}  # class -> `_plain_class` of it (a class's own names are read once)


def _plain_class(kind):
    """For `settled`: False where objects of class `kind` are left to the full check (a subclass of an array, a
    number or a container, a metaclass of its own, a class with `__array__`, `__array_ufunc__`,
    `__array_function__`, `dtype`, `__slots__`, `__getattr__` or a `__getattribute__` of yours), "library" where
    their attributes are not looked into (a library's class), else True."""
    verdict = True
    if type(kind) is not type and type(kind) is not abc.ABCMeta:
        verdict = False  # (a metaclass of its own may give the class `__array__`)
    for klass in kind.__mro__[:-1]:  # (`object` defines none of these)
        names = klass.__dict__
        if klass in _NOT_SETTLED or "__array__" in names or "__array_ufunc__" in names \
                or "__array_function__" in names or "dtype" in names or "__slots__" in names \
                or "__getattr__" in names or type(names.get("__getattribute__")) is types.FunctionType:
            verdict = False
    if verdict and (kind.__module__ or "").partition(".")[0] in _NOT_LOOKED_INTO:
        verdict = "library"
    if len(_PLAIN_CLASSES) > 4096:
        _PLAIN_CLASSES.clear()
    _PLAIN_CLASSES[kind] = verdict
    return verdict


def refused_kind(obj, inside: bool = True) -> str | None:
    """What s2s refuses in `obj` (itself, or what its lists, tuples, dicts and dataclass fields hold): "a masked
    array", "an np.matrix", "an array of class M, which redefines `dot`"..., else None. Without `inside`, of what
    it holds only values whose class redefines NumPy's or Python's operations (`redefining`): a global's unread
    masked entry costs nothing, and one that is read is refused where the gradient comes out masked.

        >>> refused_kind(np.ma.array([1.0], mask=[True])), refused_kind([np.ones(2), {"a": 1.0}])
        ('a masked array', None)
    """
    if type(obj) is np.ndarray or type(obj) in _PLAIN or isinstance(obj, _NEVER_REFUSED) \
            or _plain_items(obj, None if inside else _GLOBAL_LIMIT) or not inside and settled(obj) is True:
        return None  # (the modules, functions and classes a transform resolves: no walk for each)
    # (a global is read at each of its resolutions in a transform: a long global list is looked into less far; its
    # objects' attributes too, which the function may read at run time: `for layer in LAYERS: layer.W @ h`)
    for v, attribute in _parts(obj, attributes=not inside, limit=_LIMIT if inside else _GLOBAL_LIMIT):
        # (of an attribute of a global object, only an array or number whose class redefines NumPy's: an unread
        # array-like beside the weights, a DataFrame or a SymPy matrix, is no value the derivative reads as NumPy's)
        kind = _kind(v) if inside or v is obj else redefining(v) if not attribute or isinstance(
            v, np.ndarray | _NUMBER_BASES) else None
        if kind is not None:
            return kind
    return None


def still_plain(obj, seen=None) -> bool:
    """Whether a global or closure container or object the derivative reads (cache.same, mode "held") still holds
    nothing `refused_kind` refuses: `settled` on every call, the full check where it cannot tell; one too big for
    `settled` to look into was looked into when the code was made.

        >>> still_plain({"W": np.ones(2)}), still_plain([np.ones(2).view(np.matrix)])
        (True, True)
    """
    plain = settled(obj, seen)
    return plain is not False or refused_kind(obj, inside=False) is None


_ARITHMETIC_CLASSES: dict = {}  # class -> (its classes' sizes, whether it does arithmetic of its own)


def does_arithmetic(v) -> bool:
    """Whether `v` is an object of a class of yours (no number, array or Python sequence) with operator methods
    written in your code (`__mul__`, `__add__`...): s2s differentiates `a * b` as a product of numbers or arrays,
    while such an object computes what its method says (transforms/operator_objects.py).

        >>> class Cube:
        ...     def __mul__(self, v): return v ** 3
        >>> Cube.__module__ = "__main__"  # (a class of yours: this one is made inside s2s's own module)
        >>> does_arithmetic(Cube()), does_arithmetic(np.ones(2)), does_arithmetic([1.0])
        (True, False, False)
    """
    kind = type(v)
    if kind in _PLAIN or kind is np.ndarray or kind is list or kind is tuple or kind is dict:
        return False
    # (found once per class, again where a class of it has gained or lost a name: `Box.__mul__ = ...` later)
    sizes = tuple(len(k.__dict__) for k in kind.__mro__)
    known = _ARITHMETIC_CLASSES.get(kind)
    if known is None or known[0] != sizes:
        from s2s.frontend import is_user_code
        from s2s.transforms.operator_objects import defines_arithmetic
        if len(_ARITHMETIC_CLASSES) > 4096:
            _ARITHMETIC_CLASSES.clear()
        known = _ARITHMETIC_CLASSES[kind] = (sizes, defines_arithmetic(kind, is_user_code))
    return known[1]


def arithmetic_object(value):
    """The first object doing arithmetic of its own (`does_arithmetic`) that `value` is or holds as NumPy reads it
    (transforms/operator_objects.py `arithmetic_object`), else None.

        >>> class Cube:
        ...     def __rmul__(self, v): return v ** 3
        >>> Cube.__module__ = "__main__"  # (a class of yours: this one is made inside s2s's own module)
        >>> type(arithmetic_object([1.0, (2.0, Cube())])).__name__, arithmetic_object(np.ones(2))
        ('Cube', None)
    """
    from s2s.transforms.operator_objects import arithmetic_object as walk_for
    return walk_for(value, does_arithmetic)


def redefining(v) -> str | None:
    """"an array of class M, which redefines `dot`" (or a number's) where the class of `v`, not one of NumPy's,
    redefines NumPy's or Python's operations (`redefined_array_names`), else None: what derivative code would read
    as NumPy's wherever it meets it.

        >>> redefining(np.ones(2)), redefining(np.float32(1.0))
        (None, None)
    """
    if type(v) in _PLAIN or (type(v).__module__ or "").split(".")[0] == "numpy":
        return None
    if not isinstance(v, np.ndarray | _NUMBER_BASES):
        return _convertible(v)
    return _described(v, redefined_array_names(type(v), v))


def _convertible(v) -> str | None:
    """"an array-like of class Bag ..." where `v` is an object of a class of yours that NumPy turns into an array
    (`__array__`) and that has a method of its own named like an array's (`dot`): s2s, which cannot always tell
    `b.dot(x)` of such an object from an array's, would compute NumPy's `dot` of its array."""
    kind = type(v)
    if not hasattr(kind, "__array__") or (kind.__module__ or "").split(".")[0] in (
            "builtins", "scipy", "s2s", *_ARRAY_LIBRARIES):
        return None
    names = sorted({name for klass in kind.__mro__[:-1] for name, value in vars(klass).items()
                    if not name.startswith("__") and hasattr(np.ndarray, name)
                    and isinstance(getattr(value, "__func__", value), types.FunctionType)})
    return (f"an array-like of class {kind.__name__} (NumPy makes an array of it, `__array__`) with methods of its own "
            f"named like an array's ({_listed(names)}), which s2s may read as NumPy's") if names else None


def _described(v, names) -> str | None:
    what = "an array" if isinstance(v, np.ndarray) else "a number"
    return f"{what} of class {type(v).__name__}, which redefines {_listed(names)}" if names else None


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
    if isinstance(v, np.ndarray | _NUMBER_BASES):
        return _described(v, redefined_array_names(kind, v))
    if (hasattr(kind, "__array_ufunc__") or hasattr(kind, "__array_function__")) \
            and module.split(".")[0] not in _ARRAY_LIBRARIES and not module.startswith("scipy.sparse"):
        return f"an array-like of class {kind.__name__}, which NumPy's functions hand its own operations"
    return _convertible(v)


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


def refused_maker(obj) -> str | None:
    """What a call of `obj` (or `x.view(obj)`) makes where s2s refuses it, else None: arrays of a subclass of yours
    that redefines NumPy's methods (`refused_class`), whose operations (an `__array_ufunc__` that hands back plain
    arrays) may leave nothing of the class in the gradient. (NumPy's matrices and masked arrays made inside are
    refused where the gradient comes out of their kind, `finish`: one made of data and read back with `np.asarray`
    or `.filled()` is fine.)

        >>> refused_maker(np.asmatrix), refused_maker(np.asarray)
        (None, None)
    """
    if not isinstance(obj, type) or not issubclass(obj, np.ndarray) or obj.__module__.split(".")[0] == "numpy":
        return None
    made = refused_class(obj)
    return f"an array of class {obj.__name__}" if made is not None and made.startswith("arrays of class") else made


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
    for i, a in enumerate(args):
        if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c") or _plain_items(a) or settled(a) is True:
            continue
        names = _positional_names(func)
        _check_one(a, names[i] if i < len(names) else f"argument {i}")
    if kwargs:
        for k, a in kwargs.items():
            if type(a) in _PLAIN or (type(a) is np.ndarray and a.dtype.kind != "c") or _plain_items(a) or settled(a) is True:
                continue
            _check_one(a, k)
    defaults = getattr(func, "__defaults__", None)  # (most functions have none, or numbers: one type test each)
    if defaults:
        names = _positional_names(func)
        for at, value in enumerate(defaults, len(names) - len(defaults)):
            if type(value) not in _PLAIN and at >= len(args) and (not kwargs or names[at] not in kwargs):
                _check_one(value, names[at], default=True)
    for name, value in (getattr(func, "__kwdefaults__", None) or {}).items():
        if (not kwargs or name not in kwargs) and type(value) not in _PLAIN:
            _check_one(value, name, default=True)


def _positional_names(func) -> tuple:
    code = getattr(func, "__code__", None)
    return code.co_varnames[:code.co_argcount] if code is not None else ()


def _plain_items(a, limit=None) -> bool:
    """Whether `a` is a list, tuple or dict of numbers and exact real ndarrays only (a model's parameters), of at most
    `limit` items where one is given: checked on every call, without the walk `_parts` makes."""
    kind = type(a)
    if kind is not list and kind is not tuple and kind is not dict or limit is not None and len(a) > limit:
        return False
    for v in a.values() if kind is dict else a:
        if type(v) is np.ndarray:
            if v.dtype.kind == "c":
                return False
        elif type(v) not in _PLAIN:
            return False
    return True


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
        held = v is not a
        label = (f"the default of {name!r}" if default else _label(name)) + (" holds one" if held else " is one")
        where = "it" if held else f"{_pasteable(name)}"
        container = _container_kind(v, held)
        if container is not None:
            raise NoDerivativeRuleError(
                f"s2s does not differentiate with this value ({label}: {container}): s2s reads a list, tuple or dict "
                "by Python's own operations and its methods named like an array's as NumPy's, so the derivative "
                "would be wrong", hint=f"pass a plain {_container_base(v)} "
                                       f"of the values ({_container_base(v)}({where})), and call your methods "
                                       "through the class (`YourClass.sum(obj)`)")
        if attribute or default:  # (only what the derivative code would read as NumPy's or Python's own: a matrix
            # or masked array is refused where the gradient comes out of its kind, and an unread one costs nothing)
            kind = redefining(v)
            if kind is not None:
                raise NoDerivativeRuleError(
                    f"s2s does not differentiate with this value ({label}{' as an attribute or field' * attribute}: "
                    f"{kind}): s2s's rules are NumPy's and Python's own, so the derivative would be wrong",
                    hint="hold np.asarray(...) (or float(...)) there instead")
            continue
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


# what s2s reads as a list's, tuple's or dict's own operation (`L + M`, `L[i]`, `for v in L`, `len(L)`); the others
# (`__getattr__` of a dict read by attribute, `__repr__`) compute nothing s2s derives
_CONTAINER_OPERATIONS = frozenset(f"__{name}__" for name in (
    "add", "radd", "iadd", "mul", "rmul", "imul", "getitem", "setitem", "delitem", "iter", "reversed", "len",
    "contains", "or", "ror", "ior", "array", "array_ufunc", "array_function", "float", "index", "missing"))
_RUN_AS_THEY_ARE = frozenset(("index", "count"))  # (a subclass's own are called as they are, never read as a list's)


@functools.lru_cache(maxsize=64)
def _namedtuple_names(fields: tuple) -> frozenset:
    """The names `collections.namedtuple` itself writes into a class of these fields."""
    import collections
    return frozenset(vars(collections.namedtuple("_Written", fields, rename=True))) | frozenset(fields)


def _container_base(v) -> str:
    return "list" if isinstance(v, list) else "dict" if isinstance(v, dict) else "tuple"


def _container_kind(v, held) -> str | None:
    """"a list of class Bag, which redefines `sum`" where `v` is a list, tuple or dict of a class of yours that
    defines a name lists, tuples, dicts or arrays have (`sum`, `values`, `__add__`, `append`), else None: s2s would
    read `bag.sum()` as NumPy's sum and `bag + other` as a list's. A record (a namedtuple) given as an argument
    itself is one only where it redefines an operator s2s reads as a tuple's (`p[0]`, `a, b = p`): its methods are
    read as its class's (transforms/objects.py); one held in a container is checked as the others.

        >>> class Bag(list):
        ...     def sum(self): return 42.0
        >>> _container_kind(Bag([1.0]), held=False), _container_kind([1.0], held=False)
        ('a list of class Bag, which redefines `sum`', None)
    """
    kind = type(v)
    if kind in (list, tuple, dict) or not isinstance(v, list | tuple | dict):
        return None
    from s2s.runtime.structures import is_namedtuple_type  # (the runtime imports this module)
    # (a record given as an argument itself: only what s2s reads as a tuple's own operation, `p[0]`, `a, b = p`)
    record = not held and is_namedtuple_type(kind)
    base = list if isinstance(v, list) else dict if isinstance(v, dict) else tuple
    names = set()
    for klass in kind.__mro__:
        if (klass.__module__ or "").split(".")[0] in ("builtins", "collections", "typing"):
            continue
        own = set(vars(klass))
        if issubclass(klass, tuple) and "_fields" in own:  # (what namedtuple() writes; a typing.NamedTuple's own too)
            own -= _namedtuple_names(klass._fields)
        # (s2s reads a list's or dict's own methods, `values`, `items`, `copy`, `append`, as the builtin's: a
        # subclass's changed ones gave wrong gradients, even of a dict held constant; `index` and `count` it runs)
        names.update(n for n in own if n in _CONTAINER_OPERATIONS or not record and not n.startswith("__")
                     and (hasattr(np.ndarray, n) or hasattr(base, n)) and n not in _RUN_AS_THEY_ARE)
    return f"a {base.__name__} of class {kind.__name__}, which redefines {_listed(sorted(names))}" if names else None


def _is_complex(a) -> bool:
    if isinstance(a, complex):
        return True
    try:  # (an attribute dict whose `__getattr__` raises KeyError: no dtype)
        dtype = getattr(a, "dtype", None)
    except Exception:  # noqa: BLE001
        return False
    try:
        return dtype is not None and np.dtype(dtype).kind == "c"
    except TypeError:  # a dtype NumPy does not know (another library's): not complex as far as s2s can tell
        return False


def _label(name) -> str:
    return name if name.startswith("argument") else f"argument {name!r}"


def _pasteable(name) -> str:
    return name if name.isidentifier() else "m"
