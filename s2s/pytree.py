"""Parameters of any structure at the API boundary: flatten a nested value to one vector and back.

A *structure* is a number, a NumPy array, or a dict, list, tuple, namedtuple or dataclass instance
of structures (nested to any depth). Its *leaves* are its numbers and numeric arrays; anything else
inside (a string, None, a bool, an object) is kept as it is and is not a leaf. `flatten` is what
autograd ships as `autograd.misc.flatten`; s2s uses the same walk for the Jacobians and Hessians
of structured parameters (a Jacobian with respect to a dict is a dict of arrays, as in JAX).

    flat, unflatten = s2s.flatten({"w": np.ones((2, 3)), "b": [0.0, np.zeros(2)]})
    flat.shape          # (9,)
    unflatten(flat)     # {'w': array(...), 'b': [0.0, array([0., 0.])]}
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from s2s.runtime.structures import field_names, is_namedtuple, is_record, set_fields

__all__ = ["flatten", "flatten_func", "leaves", "is_leaf", "is_structure", "rebuild", "map_leaves", "basis", "restore"]


def is_leaf(value: Any) -> bool:
    """A number (not a bool) or a numeric NumPy array or scalar: what carries a derivative."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, numbers.Number):
        return True
    if isinstance(value, np.ndarray | np.generic):
        return value.dtype.kind in "iufc"
    return False


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def _is_dataclass(value) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def is_structure(value: Any) -> bool:
    """A dict, list, tuple (namedtuples included) or dataclass instance."""
    return isinstance(value, dict | list | tuple) or _is_dataclass(value)


def _children(value):
    """(keys, children) of a structure node, in a fixed order (a dict's by sorted key)."""
    if isinstance(value, dict):
        keys = _sorted_keys(value)
        return keys, [value[k] for k in keys]
    if isinstance(value, list | tuple):
        return list(range(len(value))), list(value)
    names = _set_fields(value)
    return names, [getattr(value, n) for n in names]


def _set_fields(value) -> list:
    """A dataclass instance's fields that hold a value (one declared `field(init=False)` may never be set)."""
    return list(set_fields(value))


def _sorted_keys(d: dict) -> list:
    """A dict's keys sorted, as autograd and JAX flatten them (insertion order where they do not sort)."""
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def rebuild(like: Any, children: list) -> Any:
    """A node of `like`'s type holding `children` in the order `_children(like)` gives (a dict keeps
    `like`'s own key order)."""
    if isinstance(like, dict):
        by_key = dict(zip(_sorted_keys(like), children))
        out = {} if type(like) is dict else copy.copy(like)
        if type(like) is not dict:
            out.clear()
        for k in like:
            out[k] = by_key[k]
        return out
    if _is_namedtuple(like):
        return tuple.__new__(type(like), children)
    if isinstance(like, tuple):
        return tuple(children) if type(like) is tuple else type(like)(children)
    if isinstance(like, list):
        return list(children)
    new = copy.copy(like)  # a dataclass: every field set, frozen ones too
    for name, c in zip(_set_fields(like), children):
        object.__setattr__(new, name, c)
    return new


def leaves(value: Any) -> list:
    """The leaves of `value` in flattening order."""
    out = []

    def walk(v):
        if is_leaf(v):
            out.append(v)
        elif is_structure(v):
            for c in _children(v)[1]:
                walk(c)

    walk(value)
    return out


def map_leaves(fn: Callable[[Any], Any], value: Any) -> Any:
    """`value` with every leaf replaced by `fn(leaf)` (other entries kept as they are)."""
    if is_leaf(value):
        return fn(value)
    if is_structure(value):
        return rebuild(value, [map_leaves(fn, c) for c in _children(value)[1]])
    return value


def copied(args: list | tuple) -> list:
    """The arguments with every NumPy array in them copied (also inside lists, tuples, dicts, namedtuples and
    dataclasses), for an extra run of the user's function whose in-place updates must not reach the caller.

        >>> p = {"W": np.ones(2)}
        >>> copied([p])[0]["W"] is p["W"]
        False
    """
    def one(value):
        try:
            return map_leaves(lambda leaf: leaf.copy() if isinstance(leaf, np.ndarray) else leaf, value)
        except Exception:  # noqa: BLE001 - a record that cannot be rebuilt: its arrays are copied where seen
            return value.copy() if isinstance(value, np.ndarray) else value
    return [one(a) for a in args]


def _unflattener(value):
    """(size, unflatten): unflatten(vector) puts consecutive slices of the vector into `value`'s leaves."""
    shapes = []

    def note(leaf):
        shapes.append((np.shape(leaf), np.ndim(leaf) == 0 and not isinstance(leaf, np.ndarray)))
        return leaf

    map_leaves(note, value)
    sizes = [int(np.prod(s, dtype=int)) for s, _ in shapes]
    size = sum(sizes)

    def unflatten(vector):
        vector = np.asarray(vector)
        if vector.shape != (size,):
            raise ValueError(f"unflatten needs a vector of shape ({size},), not {vector.shape}")
        it = iter(zip(shapes, np.cumsum([0] + sizes[:-1]), sizes))

        def put(_):
            (shape, number), start, n = next(it)
            part = vector[start:start + n]
            return part[0].item() if number else part.reshape(shape).copy()

        return map_leaves(put, value)

    return size, unflatten


def flatten(value: Any) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """`(vector, unflatten)`: every leaf of `value` raveled into one float vector, and the function
    that puts a vector of that size back into `value`'s structure (like `autograd.misc.flatten`;
    in JAX, `jax.flatten_util.ravel_pytree`).

    Leaves are numbers and numeric arrays, in the order autograd and JAX use: a dict's entries by
    sorted key, lists and tuples in order, a dataclass's fields in declaration order. Other entries
    (strings, None, bools) are kept by `unflatten` as
    they are. Number leaves come back as Python floats, array leaves as arrays of their shape.

    Example::

        flat, unflatten = s2s.flatten({"w": np.ones((2, 2)), "b": 3.0})
        flat                   # array([1., 1., 1., 1., 3.])
        unflatten(flat * 2)    # {'w': array([[2., 2.], [2., 2.]]), 'b': 6.0}
    """
    from s2s.runtime import custom
    parts = [np.ravel(np.asarray(v, dtype=_float_dtype(v))) for v in leaves(value)]
    vector = np.concatenate(parts) if parts else np.zeros(0)
    return vector, _unflatten_function(custom.Layout(value, _unflattener(value)[1]))


_UNFLATTEN_SOURCE = """\
def make(layout):
    def unflatten(vector):
        return unflatten_to(vector, layout)
    return unflatten
"""
_MAKE = []


def _unflatten_function(layout):
    """The `unflatten` that `flatten` returns, a function with source that s2s reads: it calls
    `s2s.custom.unflatten(vector, layout)`, a linear map with a derivative rule, so a function
    differentiated by s2s may call it (`grad(lambda v: loss(unflatten(v)))`)."""
    if not _MAKE:
        import linecache

        from s2s.runtime import custom
        filename = "<s2s.flatten's unflatten>"
        linecache.cache[filename] = (len(_UNFLATTEN_SOURCE), None, _UNFLATTEN_SOURCE.splitlines(True), filename)
        namespace = {"unflatten_to": custom.unflatten, "__name__": "s2s.pytree"}
        exec(compile(_UNFLATTEN_SOURCE, filename, "exec", dont_inherit=True), namespace)
        _MAKE.append(namespace["make"])
    return _MAKE[0](layout)


def _float_dtype(leaf):
    """A leaf's dtype where it is floating or complex (float32 stays float32), else float64."""
    dtype = getattr(leaf, "dtype", None)
    return dtype if dtype is not None and dtype.kind in "fc" else np.float64


def basis(value: Any):
    """Yield, for each element of `value`'s flattened vector, the structure like `value` that is
    one there and zero elsewhere (the tangents of a forward-mode Jacobian)."""
    size, unflatten = _unflattener(value)
    for i in range(size):
        e = np.zeros(size)
        e[i] = 1.0
        yield unflatten(e)


def size(value: Any) -> int:
    """The length of `flatten(value)[0]`."""
    return _unflattener(value)[0]


def restore(grad: Any, like: Any) -> Any:
    """`grad` given the container types of `like`: a namedtuple's gradient computed as a plain tuple
    becomes that namedtuple, a dataclass's computed as a dict (or tuple of fields) that dataclass."""
    if type(grad) is type(like) and _finished_record(like):
        return grad  # (finished already, `s2s.finish`: each field an array's or a number's gradient, and no
        # attribute but its fields, which a copy of `like` would carry)
    if _is_namedtuple(like) and isinstance(grad, tuple) and len(grad) == len(like):
        # (tuple.__new__: the gradient is no argument list for a `__new__` of the class to validate or change)
        return tuple.__new__(type(like), [_field(g, x) for g, x in zip(grad, like)])
    if _is_dataclass(like):
        names = _set_fields(like)
        if isinstance(grad, dict) and set(grad) <= set(names):
            return rebuild(like, [_field(grad.get(n, 0.0), getattr(like, n)) for n in names])
        if type(grad) is type(like):
            # (the fields `grad` holds, those `like` held as given, `s2s.as_given`; like's other attributes kept)
            out, held = copy.copy(like), _set_fields(grad)
            for n in held:
                value = getattr(grad, n)
                object.__setattr__(out, n, _field(value, getattr(like, n)) if hasattr(like, n) else value)
            for n in set(names) - set(held):  # (a field the function set, which it was not given)
                object.__delattr__(out, n)
            return out
        return grad
    if isinstance(like, dict) and isinstance(grad, dict):
        return {k: restore(v, like[k]) if k in like else v for k, v in grad.items()}
    if isinstance(like, list | tuple) and isinstance(grad, list | tuple) and len(grad) == len(like):
        out = [restore(g, x) for g, x in zip(grad, like)]
        return type(grad)(out) if type(grad) in (list, tuple) else grad
    return grad


def _finished_record(like) -> bool:
    """Whether `like` is a namedtuple or dataclass whose fields are all arrays or floats, and a dataclass holds no
    attribute but its fields: its gradient `s2s.finish` made has nothing to restore. (The record's field names are
    looked up once per class: this runs on every call of a gradient with respect to a record.)"""
    if not is_record(like):
        return False
    if is_namedtuple(like):
        values = like
    else:
        d = getattr(like, "__dict__", None)
        names = field_names(like)
        if d is None or len(d) != len(names):
            return False
        values = [d.get(n) for n in names]
    return all(type(v) is np.ndarray or type(v) is float for v in values)


def flat_like(value: Any, like: Any) -> np.ndarray:
    """`value` (a derivative shaped like `like`) raveled in the order of `like`'s leaves.

    Where `value` has a zero (`0.0`, None) in place of a part of `like`, that part's elements
    are zeros; entries of `like` that are not leaves are skipped, whatever `value` holds there."""
    out = []

    def walk(v, x):
        if is_leaf(x):
            n = int(np.size(x))
            if v is None:
                out.append(np.zeros(n))
            else:
                a = np.asarray(v)
                out.append(np.ravel(np.broadcast_to(a, np.shape(x))) if a.shape != np.shape(x) else np.ravel(a))
        elif is_structure(x):
            keys, children = _children(x)
            for k, c in zip(keys, children):
                walk(_child(v, x, k), c)

    walk(value, like)
    return np.concatenate(out) if out else np.zeros(0)


def _child(v, like, key):
    """The part of derivative `v` under `key` of `like` (None where `v` is a zero or lacks it)."""
    if v is None or isinstance(v, numbers.Number) or (not is_structure(v) and np.ndim(v) == 0):
        return None  # a number standing for a whole structure is s2s's zero adjoint
    if isinstance(v, dict):
        return v.get(key)
    if isinstance(v, list | tuple):
        return v[key] if isinstance(key, int) and key < len(v) else None
    if _is_dataclass(v) or (isinstance(key, str) and hasattr(v, key)):
        return getattr(v, key, None)
    return None


def pack(matrix: np.ndarray, out_like: Any, in_like: Any) -> Any:
    """A Jacobian matrix of shape (size(out_like), size(in_like)) as a nested structure: `out_like`'s
    structure whose every leaf is `in_like`'s structure, whose every leaf is the block of shape
    out_leaf.shape + in_leaf.shape (JAX's layout of the Jacobian of a structured function)."""
    out_shapes = [np.shape(v) for v in leaves(out_like)]
    in_shapes = [np.shape(v) for v in leaves(in_like)]
    out_starts = np.cumsum([0] + [int(np.prod(s, dtype=int)) for s in out_shapes])
    in_starts = np.cumsum([0] + [int(np.prod(s, dtype=int)) for s in in_shapes])
    out_iter = iter(range(len(out_shapes)))

    def out_leaf(_):
        k = next(out_iter)
        rows = matrix[out_starts[k]:out_starts[k + 1]]
        in_iter = iter(range(len(in_shapes)))

        def in_leaf(_):
            m = next(in_iter)
            return np.array(rows[:, in_starts[m]:in_starts[m + 1]]).reshape(out_shapes[k] + in_shapes[m])

        return map_leaves(in_leaf, in_like)

    return map_leaves(out_leaf, out_like)


def _field(grad, like):
    """A record field's gradient: a field that holds no leaf (a name, a flag, None) keeps its value, as
    a static field of a JAX dataclass does."""
    if not is_leaf(like) and not is_structure(like):
        return like
    return restore(grad, like)


_RULES_MADE = []


def _register_rules():
    """Rules of the two linear maps a flattened function calls (each the other's adjoint), made once."""
    if _RULES_MADE:
        return
    from s2s import rules
    from s2s.runtime import custom
    rules.defrule_for(custom.unflatten, "unflatten(v, layout)", shape_only=("layout",), structured=True,
                      v="s2s.custom.flat(g, layout)", linear=("v",))
    rules.defrule_for(custom.flat, "flat(t, layout)", shape_only=("layout",),
                      t="s2s.custom.unflatten(g, layout)", linear=("t",))
    # flatten(value) inside a differentiated function: a pair (vector, unflatten), linear in value. The
    # signature's *structure (never bound) tells the activity analysis that `value` may be a container,
    # so its adjoint parts are joined with s2s.add, not + (transforms/analysis.py reads rule.varargs)
    rules.defrule_for(flatten, "flatten(value, *structure)", structured=True, value="s2s.custom.flatten_adjoint(g, value)",
                      value_dot="s2s.custom.flatten_tangent(value_dot, value)")
    # the two are linear maps, each the other's adjoint (second derivatives differentiate them again)
    rules.defrule_for(custom.flatten_adjoint, "flatten_adjoint(g, value)", shape_only=("value",), structured=True,
                      g="s2s.custom.flatten_tangent(g, value)", linear=("g",))
    rules.defrule_for(custom.flatten_tangent, "flatten_tangent(value_dot, value)", shape_only=("value",),
                      structured=True, value_dot="s2s.custom.flatten_adjoint(g, value)", linear=("value_dot",))
    rules.defrule_for(custom.ones_seed, "ones_seed(value)", nondiff=True)
    _RULES_MADE.append(True)


def flatten_func(func: Callable, example: Any) -> tuple[Callable, Callable, np.ndarray]:
    """`(flat_func, unflatten, flat_example)`, autograd's `flatten_func`: `flat_func(v, *rest)` is
    `func(unflatten(v), *rest)` for the structure of `example`, and s2s differentiates it (grad, hvp,
    jacobian... of the flat function take and give vectors), e.g. for `scipy.optimize.minimize`.

    Example::

        def objective(params):
            return np.sum(params["w"] ** 2) + params["b"] ** 2

        flat_obj, unflatten, x0 = s2s.flatten_func(objective, {"w": np.ones(2), "b": 1.0})
        s2s.grad(flat_obj)(x0)      # array([2., 2., 2.]): "b" first, then "w"
    """
    import inspect
    import linecache

    from s2s.runtime import custom
    _register_rules()
    vector, unflatten = flatten(example)
    params = list(inspect.signature(func).parameters.values())
    if not params:
        raise TypeError(f"flatten_func needs a function with a parameter to flatten; {func!r} has none")
    rest, call = [], []
    for p in params[1:]:
        if p.kind == inspect.Parameter.VAR_POSITIONAL:
            rest.append(f"*{p.name}")
            call.append(f"*{p.name}")
        elif p.kind == inspect.Parameter.VAR_KEYWORD:
            rest.append(f"**{p.name}")
            call.append(f"**{p.name}")
        elif p.kind == inspect.Parameter.KEYWORD_ONLY:
            if "*" not in "".join(rest):
                rest.append("*")
            rest.append(p.name)
            call.append(f"{p.name}={p.name}")
        else:
            rest.append(p.name)
            call.append(p.name)
    taken = {p.name for p in params}

    def free(base):
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    own = getattr(func, "__name__", "func")
    callee = free(own if own.isidentifier() else "func")
    name = free(f"flat_{callee}")
    unflat, layout, vector_name = free("unflatten"), free("layout"), free("x")  # (`x_` where f has an `x` of its own)
    head = ", ".join([vector_name] + rest)
    args = ", ".join([f"{unflat}({vector_name}, {layout})"] + call)
    text = f"def {name}({head}):\n    return {callee}({args})\n"
    filename = f"<s2s flatten_func of {getattr(func, '__qualname__', name)} #{len(linecache.cache)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {callee: func, unflat: custom.unflatten, layout: custom.Layout(example, unflatten),
                 "__name__": getattr(func, "__module__", None)}
    exec(compile(text, filename, "exec"), namespace)
    flat_func = namespace[name]
    defaults = [p.default for p in params[1:] if p.default is not inspect.Parameter.empty
                and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,)]
    flat_func.__defaults__ = tuple(defaults) or None
    flat_func.__kwdefaults__ = {p.name: p.default for p in params[1:] if p.kind == inspect.Parameter.KEYWORD_ONLY
                                and p.default is not inspect.Parameter.empty} or None
    return flat_func, unflatten, vector
