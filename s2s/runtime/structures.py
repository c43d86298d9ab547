"""Records (namedtuples and dataclass instances) as differentiable values.

A record's adjoint (or tangent) is a record of the same type holding one adjoint per field; a field
no contribution reached holds the zero adjoint `ZERO`. Generated code reads a field with `field`,
builds a record with `record` and replaces fields with `replace`; the adjoint helpers below are
their derivatives (rules in s2s/rules/structures.py). `add`, `finish` and `zeros_like_value` of
s2s/runtime/adjoint.py hand records to `add_records`, `finish_record` and `zeros_like_record`.

    >>> from collections import namedtuple
    >>> P = namedtuple("P", "w b")
    >>> field_grad(2.0, P(1.0, 3.0), ["b"])
    P(w=0.0, b=2.0)
"""

from __future__ import annotations

import collections
import dataclasses
import types

import numpy as np

from s2s.runtime.zero import ZERO, is_zero, linear_in_g

# fields s2s reads as an array's attributes (transforms/objects.py ARRAY_NAMES): .shape, .size... have no
# derivative there, .T and .real are desugared to NumPy calls, so a record with such a field is refused
ARRAY_NAMES = frozenset({"shape", "ndim", "size", "dtype", "real", "T", "imag", "itemsize", "nbytes"})


_KINDS: dict = {}  # type -> (kind: "namedtuple" | "dataclass" | "", field names, names clashing with ARRAY_NAMES)


def _kind(cls) -> tuple:
    """What `cls` is as a record, looked up once per type (add and finish ask it of every value)."""
    kind = _KINDS.get(cls)
    if kind is None:
        if issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple):
            kind = ("namedtuple", cls._fields)
        elif dataclasses.is_dataclass(cls):
            kind = ("dataclass", tuple(f.name for f in dataclasses.fields(cls)))
        else:
            kind = ("", ())
        kind += (tuple(sorted(ARRAY_NAMES.intersection(kind[1]))),)
        if len(_KINDS) > 4096:  # classes made at run time: keep the table bounded
            _KINDS.clear()
        _KINDS[cls] = kind
    return kind


def check_fields(x):
    """Refuse a record with a field named like an array attribute (it would be read without derivative)."""
    clash = _kind(x if isinstance(x, type) else type(x))[2]
    if clash:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s cannot differentiate a {type(x).__name__ if not isinstance(x, type) else x.__name__} with a field "
            f"named {clash[0]!r}: inside differentiated code s2s reads `.{clash[0]}` of a value as an array's "
            "attribute (with no derivative), not as a field",
            hint=f"rename the field {clash[0]!r} (fields may not be named {', '.join(sorted(ARRAY_NAMES))})")


def is_namedtuple(x) -> bool:
    """A namedtuple instance (a tuple whose type lists `_fields`)."""
    return _kind(type(x))[0] == "namedtuple"


def is_record(x) -> bool:
    """A namedtuple or a dataclass instance (not a dataclass type)."""
    return _kind(type(x))[0] != ""


def field_names(x) -> tuple:
    """The fields of a record (or record type), in order."""
    return _kind(x if isinstance(x, type) else type(x))[1]


def set_fields(x) -> tuple:
    """The fields record `x` holds, in order: a dataclass field declared `field(init=False)` and never
    set is not one of them (its gradient has no such field either)."""
    names = field_names(x)
    if is_namedtuple(x):
        return names
    return tuple(n for n in names if hasattr(x, n))


def rebuild(like, values: dict):
    """A record of `like`'s type whose fields are `values` (by name; a missing one is ZERO, unless `like`
    has no value there either), made without running the type's `__init__` (a gradient is not an
    argument list to validate)."""
    if is_namedtuple(like):
        return type(like)._make(values.get(n, ZERO) for n in field_names(like))
    out = object.__new__(type(like))
    for n in field_names(like):
        if n in values or hasattr(like, n):
            object.__setattr__(out, n, values.get(n, ZERO))
    return out


def as_given(x):
    """`x`'s fields as the differentiated function was given them, where it stores into them (`x.h = ...`): a
    record of `x`'s type holding what its fields hold now, made without running `__init__`, which `finish`
    shapes the gradient by (the function leaves `x` holding what it stored). Anything else is `x` itself.

        >>> import dataclasses
        >>> P = dataclasses.make_dataclass("P", ["h"])
        >>> p = P(1.0); given = as_given(p); p.h = [2.0, 3.0]; given.h
        1.0
    """
    if is_record(x) and not is_namedtuple(x):
        return rebuild(x, {n: getattr(x, n) for n in set_fields(x)})
    return x


def _by_name(g, like) -> dict:
    """An adjoint of the record `like` as {field: adjoint}: `g` may be such a record, ZERO, or (for a
    namedtuple, reached through indexing or unpacking) a list or tuple by position."""
    if is_zero(g):
        return {}
    names = field_names(like)
    if is_record(g):
        return {n: getattr(g, n) for n in set_fields(g)}
    if type(g) is dict and set(g) <= set(names):  # (by its fields' names: transforms/container_adjoints.py)
        return g
    if isinstance(g, list | tuple) and is_namedtuple(like) and len(g) == len(names):
        return dict(zip(names, g))
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s made an adjoint of a {type(like).__name__} that is a {type(g).__name__}"
        f"{f' of {len(g)} parts for its {len(names)} fields' if isinstance(g, list | tuple) else ''}: it took the "
        f"{type(like).__name__} for a number or an array somewhere (passed to len() or a NumPy function) and added "
        "two of its adjoints with + (which joins tuples)",
        hint="read the fields first (w, b = p, or p.w) and pass those values on, not the record itself")


def _refuse(obj, why=""):
    from s2s.errors import NoDerivativeRuleError
    raise NoDerivativeRuleError(
        f"s2s differentiates attributes of namedtuples and dataclass instances only, and this value is a "
        f"{type(obj).__name__}{': ' + why if why else ''}",
        hint="hold the parameters in a namedtuple, a dataclass, a dict or a tuple, or differentiate with "
             "respect to the arrays themselves (pass the object as an argument not in wrt=)")


def _check_is_field(obj, name):
    """Refuse an attribute of a record that is not one of its fields (a property, a method, a class
    attribute): its value is computed from the fields in code s2s has not read, so no derivative. So is a field
    that Python reads through a descriptor of its class (a property of a namedtuple's subclass named as a field, a
    data descriptor named as a dataclass's field): `obj.W` is not the value the field holds."""
    if name not in field_names(obj) or not read_as_stored(type(obj), name):
        from s2s.errors import NoDerivativeRuleError
        what = ("is read through a property or descriptor of its class, not as the value the field holds"
                if name in field_names(obj) else
                "is not one (a property, a method or a class attribute computes it in code s2s does not read)")
        raise NoDerivativeRuleError(
            f"s2s differentiates the fields of a {type(obj).__name__} ({', '.join(field_names(obj))}), and .{name} "
            f"{what}",
            hint=f"compute it from the fields in the differentiated function, or make it a function of the record "
                 f"(def {name}(p): ...) that s2s reads")


def read_as_stored(cls, name) -> bool:
    """Whether `obj.name` of an instance of the record class `cls` reads the value its field holds: the first class
    of its MRO that defines `name` holds namedtuple's getter of the item or a `__slots__` member, or (a dataclass's
    field, in the instance's dict) nothing that reads it another way (a property or another data descriptor); no
    class defines it at all for a dataclass field without a default. Else Python reads something else there (a
    subclass's property named as a namedtuple's field): no gradient of the field, and no shape of its value.

        >>> import collections
        >>> read_as_stored(collections.namedtuple("P", "W b"), "W")
        True
    """
    for klass in cls.__mro__:
        found = klass.__dict__.get(name, _ABSENT)
        if found is not _ABSENT:
            if type(found) in _FIELD_GETTERS:
                return True
            return not issubclass(cls, tuple) and (type(found) in _PLAIN_DEFAULTS or not hasattr(type(found), "__set__"))
    return not issubclass(cls, tuple)


_ABSENT = object()
_FIELD_GETTERS = (type(collections.namedtuple("_Probe", "a").a), types.MemberDescriptorType)
_PLAIN_DEFAULTS = frozenset((float, int, bool, str, type(None), tuple))  # (a default's type: one test, no hasattr)


def field(obj, *names):
    """`obj.a.b` for `field(obj, "a", "b")`: the attribute read that transforms/objects.py writes."""
    for n in names:
        obj = getattr(obj, n)
    return obj


def transpose_attr(x):
    """`x.T` as Python reads it: an array's (or a number's) transpose, else the object's own attribute `T`
    (a namedtuple's field, a configuration's temperature), which np.transpose would turn into an array.

        >>> import collections
        >>> transpose_attr(collections.namedtuple("H", "lr T")(0.1, 10.0))
        10.0
    """
    if hasattr(x, "T") and hasattr(x, "ndim") and hasattr(x, "shape"):  # NumPy, CuPy, Dask arrays and scalars
        return x.T
    if isinstance(x, int | float | complex):
        return x
    return x.T


def _array_like(x) -> bool:
    return (hasattr(x, "ndim") and hasattr(x, "shape")) or isinstance(x, int | float | complex)


@linear_in_g
def transpose_attr_grad(g, x):
    """Adjoint of `transpose_attr(x)`: the transposed adjoint for an array; an object's `.T` is refused where
    it is differentiated (`check_fields`: s2s reads `.T` as an array's)."""
    if _array_like(x):
        return g.T if hasattr(g, "T") else g
    check_fields(x)
    _refuse(x, "s2s cannot give a gradient for its attribute .T")


def transpose_attr_tangent(t, x):
    """Tangent of `transpose_attr(x)` from x's tangent `t`."""
    if is_zero(t):
        return ZERO
    if _array_like(x):
        return t.T if hasattr(t, "T") else t
    check_fields(x)
    _refuse(x, "s2s cannot give a tangent for its attribute .T")


_UNSET = type("Unset", (), {"__repr__": lambda self: "<attribute not set>", "__slots__": ()})()


def field_if_set(obj, name):
    """`obj.name`, or a marker where the object has no such attribute yet (the starting value of an
    attribute the differentiated function stores: Python would raise only where it is read unset)."""
    return getattr(obj, name, _UNSET)


def plain_attribute(obj, *names):
    """`obj.name` in a function that stores attributes of `obj`: refused where the attribute is computed
    (a property or other descriptor, a method, `__getattr__` or `__getattribute__`), since that code could
    read a stored attribute behind s2s's back (its derivative would be lost)."""
    import inspect
    cls = type(obj)
    name = names[0]
    missing = object()
    desc = inspect.getattr_static(cls, name, missing)
    own = name in getattr(obj, "__dict__", {})
    computed = cls.__getattribute__ is not object.__getattribute__
    if desc is not missing and hasattr(type(desc), "__get__") and not isinstance(desc, types.MemberDescriptorType):
        computed = computed or hasattr(type(desc), "__set__") or not own
    if desc is missing and not own and hasattr(cls, "__getattr__"):
        computed = True
    if computed:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s cannot differentiate reading .{name} of a {cls.__name__} in a function that stores its attributes: "
            f".{name} is computed (a property, a method, __getattr__), and that code may read a stored attribute, "
            "whose derivative s2s would not see",
            hint=f"compute it in the function from the attributes themselves, or read .{name} before the stores "
                 "in a function of its own")
    return field(obj, *names)


def store_field(obj, name, value):
    """`obj.name = value`: the store a differentiated function makes (its derivative flows through the
    local variable s2s reads back instead). Refused where reading `obj.name` back might not give `value`:
    a property or other descriptor of that name, or a class that overrides __setattr__ or __getattribute__."""
    import inspect
    cls = type(obj)
    desc = inspect.getattr_static(cls, name, None)
    if (desc is not None and hasattr(type(desc), "__set__") and not isinstance(desc, types.MemberDescriptorType)) \
            or cls.__setattr__ is not object.__setattr__ or cls.__getattribute__ is not object.__getattribute__:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s cannot differentiate storing .{name} of a {cls.__name__}: "
            + ("it is a property (or another descriptor)" if desc is not None and hasattr(type(desc), "__set__")
               else "its class overrides __setattr__ or __getattribute__")
            + ", so reading it back may not give the value stored, which s2s's derivative assumes",
            hint="assign the value to a local variable and use that; store it on the object after the computation")
    setattr(obj, name, value)


@linear_in_g
def field_grad(g, obj, names):
    """Adjoint of `field(obj, *names)`: `g` placed into zero records shaped like `obj`."""
    parents = [obj]
    for n in names[:-1]:
        parents.append(getattr(parents[-1], n))
    for parent, n in zip(reversed(parents), reversed(names)):
        if not is_record(parent):
            _refuse(parent, f"s2s cannot give a gradient for its attribute .{n}")
        check_fields(parent)
        _check_is_field(parent, n)
        g = rebuild(parent, {n: g})
    return g


def field_tangent(t, obj, names):
    """Tangent of `field(obj, *names)` from the tangent `t` of `obj`."""
    for n in names:
        if is_zero(t):
            return ZERO
        if not is_record(obj):
            _refuse(obj, f"s2s cannot give a tangent for its attribute .{n}")
        check_fields(obj)
        _check_is_field(obj, n)
        t = _by_name(t, obj).get(n, ZERO)
        obj = getattr(obj, n)
    if is_zero(t) and isinstance(obj, np.ndarray) and obj.ndim:
        # (a field the direction does not move, read where its tangent meets an operation that needs its shape:
        # `x @ layer.W` of a Hessian in b alone)
        return np.zeros(obj.shape, np.result_type(obj.dtype, 1.0))
    return t


def receiver(obj, cls, name, explicit=False):
    """`obj`, checked to be what Python would call `cls.name` of: `cls.name(receiver(p, cls, "name"), x)` is the
    call transforms/objects.py writes for `p.name(x)`, whose derivative s2s makes from `cls.name`'s code. Refused
    where Python would call something else: `obj` of another class whose `name` is not `cls`'s, or holding an
    attribute `name` of its own (not for a special method such as `__call__` called implicitly, `p(x)`, which Python
    looks up on the class; `explicit`: written `p.__call__(x)`, an attribute read, where the object's own comes first).

        >>> import collections
        >>> P = collections.namedtuple("P", "w")
        >>> receiver(P(1.0), P, "count") == P(1.0)
        True
    """
    kind = type(obj)
    special = name.startswith("__") and name.endswith("__") and not explicit
    if kind is cls and (special or name not in getattr(obj, "__dict__", ())):
        return obj
    import inspect
    mine = inspect.getattr_static(cls, name, None)
    if (mine is not None and inspect.getattr_static(kind, name, None) is mine
            and kind.__getattribute__ is cls.__getattribute__ and (special or name not in getattr(obj, "__dict__", ()))):
        return obj
    from s2s.errors import NoDerivativeRuleError
    why = f"it holds an attribute .{name} of its own" if kind is cls or mine is not None and \
        inspect.getattr_static(kind, name, None) is mine else f"its .{name} is not {cls.__name__}'s"
    raise NoDerivativeRuleError(
        f"s2s differentiated {cls.__name__}.{name} for this call of .{name}() on a {kind.__name__}, but Python "
        f"would call another function: {why}",
        hint=f"call the function you mean through its class ({kind.__name__}.{name}(obj, ...)), or give the "
             "method another name than the attribute")


def record(values, cls, *names):
    """`cls(**dict(zip(names, values)))`: a record built in differentiated code."""
    return cls(**dict(zip(names, values)))


@linear_in_g
def record_grad(g, like, names):
    """Adjoint of the `values` of `record(cls, values, names)` (or of `replace`'s): one part per name.
    `like` is the built record (or the record replaced), for the positions of a namedtuple's fields."""
    parts = _by_name(g, like)
    return tuple(parts.get(n, ZERO) for n in names)


def record_tangent(values_dot, like, names):
    """Tangent of `record(cls, values, names)`: a record shaped like the result `like`."""
    if is_zero(values_dot):
        return ZERO
    return rebuild(like, dict(zip(names, values_dot)))


def replace(obj, values, *names):
    """`obj._replace(...)` / `dataclasses.replace(obj, ...)` with the fields `names` set to `values`."""
    changes = dict(zip(names, values))
    if is_record(obj):
        check_fields(obj)
        _check_plain_constructor(type(obj))
    if is_namedtuple(obj):
        return obj._replace(**changes)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **changes)
    _refuse(obj, "s2s can replace fields of namedtuples and dataclass instances only")


@linear_in_g
def replace_grad(g, obj, names):
    """Adjoint of `obj` in `replace(obj, values, names)`: `g` with the replaced fields zero."""
    parts = _by_name(g, obj)
    return rebuild(obj, {n: v for n, v in parts.items() if n not in names})


def _check_plain_constructor(cls):
    """Refuse replacing fields of a record whose type rebuilds it with code of its own (an __init__ the user
    wrote, __post_init__, __new__, or an overridden _make/_replace): the derivative takes the new fields to be
    the values given."""
    if is_namedtuple_type(cls):
        base = next(c for c in cls.__mro__ if "_fields" in c.__dict__)
        own = cls.__mro__[:cls.__mro__.index(base)]
        custom = any(name in c.__dict__ for c in own for name in ("_make", "_replace"))
    else:
        init = getattr(cls.__init__, "__code__", None)
        custom = (not cls.__dataclass_params__.init or hasattr(cls, "__post_init__") or init is None or
                  init.co_filename != "<string>" or any("__new__" in c.__dict__ for c in cls.__mro__[:-1]))
    if custom:
        from s2s.errors import NoDerivativeRuleError
        raise NoDerivativeRuleError(
            f"s2s cannot differentiate replacing fields of a {cls.__name__}: its type rebuilds it with code of its "
            "own (__init__, __post_init__, __new__, _make or _replace), not only storing the fields",
            hint=f"build the new {cls.__name__} from plain values in code s2s reads, or use a plain namedtuple "
                 "or dataclass")


def is_namedtuple_type(cls) -> bool:
    """A namedtuple class."""
    return isinstance(cls, type) and issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)


def add_records(a, b, add):
    """`add(a, b)` where one of them is a record: field by field, a record of that type."""
    like = a if is_record(a) else b
    pa, pb = _by_name(a, like), _by_name(b, like)
    return rebuild(like, {n: add(pa.get(n, ZERO), pb.get(n, ZERO)) for n in set(pa) | set(pb)})


def finish_record(g, x, finish):
    """`finish(g, x)` for a record `x`: a gradient of `x`'s type, each field finished like its value."""
    kind, names, clash = _kind(type(x))
    d = getattr(x, "__dict__", None)
    if type(g) is dict and kind == "dataclass" and not clash and d is not None and len(d) >= len(names) \
            and type(x).__getattribute__ is object.__getattribute__ and all(n in d for n in names) \
            and all(n in d for n in g):
        # (the generated code's adjoint, by field names, of a dataclass holding every field in its __dict__: made
        # at once, as `rebuild` would, at half the cost; this runs on every call of a gradient of a record)
        out = object.__new__(type(x))
        out.__dict__.update({n: finish(g.get(n, ZERO), d[n]) for n in names})
        return out
    check_fields(x)
    parts = _by_name(g, x)
    return rebuild(x, {n: finish(parts.get(n, ZERO), getattr(x, n)) for n in set_fields(x)})


def zeros_like_record(x, zeros_like_value):
    """`zeros_like_value(x)` for a record `x`."""
    return rebuild(x, {n: zeros_like_value(getattr(x, n)) for n in set_fields(x)})
