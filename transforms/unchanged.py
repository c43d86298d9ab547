"""Which names may refer to an array, and whether a statement may change that array in place.

Rewrites that move or share a computation of an array (transforms/inverses.py: one inverse per
matrix; transforms/checked_reads.py: an index read checked again by its adjoint) need the array
unchanged between two points of the code. Generated code changes arrays in place only through
names: `x += v`, `x[i] = v`, a method such as `x.fill(0.0)`, an `out=` argument, or a call of a
function that is not NumPy's or s2s's own. These two functions find every name that may refer to the
array (copies, views, containers, in both directions) and each statement that may change it:

    >>> # S = t2; T = S.T; L = [T]   ->  aliases of S: {S, t2, T, L}
    >>> # T[0, 0] = 1.0              ->  changed_in_place: True
"""

from __future__ import annotations

import ast
import functools
import types

import numpy as np

from .context import ctx
from .ownership import MUTATING_METHODS, changes_without_a_copy, out_position
from .walk import walk_nodes

__all__ = ["SHAPE_ATTRIBUTES", "aliases", "changed_in_place", "library_function", "root"]

SHAPE_ATTRIBUTES = {"shape", "ndim", "size", "dtype"}
# NumPy's functions that write into an argument
_WRITING = {np.copyto, np.place, np.put, np.putmask, np.put_along_axis, np.fill_diagonal}


def aliases(fdef, name, shapes) -> set:
    """The names that may refer to `name`'s array or to a view of it (or hold it in a container), and the
    names whose arrays `name` may be a view of: a fixed point over every binding in `fdef`."""
    bindings = []  # (target names, the names the value bound to them may be, hold or view)
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Assign):
            targets = {n.id for t in node.targets for n in walk_nodes(t) if isinstance(n, ast.Name)
                       and isinstance(n.ctx, ast.Store)}
            # (`d[k] = x`, `o.a = x`: the container d, o now holds x)
            targets |= {root(n) for t in node.targets for n in walk_nodes(t) if isinstance(n, ast.Subscript | ast.Attribute)
                        and isinstance(n.ctx, ast.Store)} - {None}
            bindings.append((targets, _may_view(node.value, shapes)))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and type(shapes.of(node.target)) is tuple and type(shapes.of(node.value)) is tuple:
            continue  # (`a += v` of arrays or numbers: a keeps its array, or a number becomes a new value)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
            bindings.append(({n.id for n in walk_nodes(node.target) if isinstance(n, ast.Name)}, _may_view(node.value, shapes)))
        elif isinstance(node, ast.For):
            bindings.append(({n.id for n in walk_nodes(node.target) if isinstance(n, ast.Name)}, _may_view(node.iter, shapes)))
    found = {name}
    while True:
        grown = set(found)
        for targets, viewed in bindings:
            if targets & grown or viewed & grown:
                grown |= targets | viewed
        if grown == found:
            return found
        found = grown


def _may_view(node, shapes) -> set:
    """The names whose objects the value of `node` may be, hold, or be a view of (not a module's name: `np` of
    `np.exp(t)` is no array, and through it every NumPy call would seem to view every other)."""
    if isinstance(node, ast.Name):
        return set() if _is_module(shapes, node.id) else {node.id}
    if isinstance(node, ast.Constant):
        return set()
    if isinstance(node, ast.Attribute):
        return set() if node.attr in SHAPE_ATTRIBUTES else _may_view(node.value, shapes)
    if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Compare) and isinstance(shapes.of(node), tuple):
        return set()  # arithmetic on arrays and numbers makes a new array or number
    if isinstance(node, ast.Call) and shapes.callee(node) in (np.linalg.inv, np.linalg.solve):
        return set()
    read_for_shape = _read_for_shape(node, shapes) if isinstance(node, ast.Call) else ()
    out = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr) and not any(child is a for a in read_for_shape):
            out |= _may_view(child, shapes)
    return out


def _read_for_shape(call, shapes) -> list:
    """The arguments of `call` whose shapes alone a runtime helper of s2s.runtime reads (its rule's `shape_only`:
    the value `s2s.grad_diag(g, v, k)` makes is no view of v); none of a helper that returns a structure."""
    fact = getattr(shapes, "fact", None)
    callee = shapes.callee(call) if fact is not None else None
    if callee is None or not ctx().is_runtime_helper(callee) or fact(callee, "structured", False):
        return []  # (s2s.custom.flatten_adjoint(g, value) hands back value's non-leaf entries themselves)
    shape_only = fact(callee, "shape_only", ())
    if not shape_only:
        return []
    params = fact(callee, "params", ())
    return [a for i, a in enumerate(call.args) if i < len(params) and params[i] in shape_only] \
        + [k.value for k in call.keywords if k.arg in shape_only]


def _is_module(shapes, name) -> bool:
    """Whether `name`, not a local of the code, denotes a module where the code runs."""
    resolve = getattr(shapes, "resolve", None)
    if resolve is None or name in getattr(shapes, "local", {name}):
        return False
    try:
        return isinstance(resolve(name), types.ModuleType)
    except Exception:  # noqa: BLE001 - a name that does not resolve may be anything
        return False


def changed_in_place(stmt, aliases, shapes) -> bool:
    """Whether running `stmt` may change in place an array one of `aliases` refers to: `+=` and item or
    attribute assignments through them, methods that change their object, `out=`, and any call that is
    not NumPy's or s2s's own given one of them (an `out` passed by position, `np.nan_to_num(x, copy=False)`
    too; a store into a view a call made, `x.ravel()[i] = v`, changes x)."""
    for node in walk_nodes(stmt):
        if isinstance(node, ast.AugAssign) and _written(node.target, shapes) & aliases:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.For):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in walk_nodes(t):
                    if isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.ctx, ast.Store) \
                            and _written(n, shapes) & aliases:
                        return True
        if isinstance(node, ast.Call):
            reaches = set().union(*(_may_view(a, shapes) for a in node.args), *(_may_view(k.value, shapes)
                                                                                for k in node.keywords))
            f = node.func
            if isinstance(f, ast.Attribute) and _written(f.value, shapes) & aliases and f.attr in MUTATING_METHODS:
                return True
            if any(k.arg == "out" for k in node.keywords) and _may_view(
                    next(k.value for k in node.keywords if k.arg == "out"), shapes) & aliases:
                return True
            callee = shapes.callee(node)
            out = _positional_out(callee)  # (`np.dot(a, b, out)`, `np.cumsum(a, 0, None, out)`)
            if out is not None and len(node.args) > out and _may_view(node.args[out], shapes) & aliases:
                return True
            if node.args and changes_without_a_copy(callee, node) and _may_view(node.args[0], shapes) & aliases:
                return True  # (`np.nan_to_num(x, copy=False)` changes x)
            if isinstance(callee, np.ufunc) and any(_may_view(a, shapes) & aliases for a in node.args[callee.nin:]):
                return True  # (a ufunc's arguments after its inputs are its outputs: np.add(a, b, a))
            if reaches & aliases and not library_function(shapes.callee(node)):
                return True
    return False


def library_function(obj) -> bool:
    """NumPy's functions (not its random module's, nor those of `_WRITING`) and s2s's runtime helpers, which
    do not change their arguments but through `out=`."""
    module = getattr(obj, "__module__", None) or ""
    return obj is not None and not any(obj is w for w in _WRITING) and not module.startswith("numpy.random") \
        and (module == "numpy" or module.startswith(("numpy.", "s2s.runtime")))


def _written(node, shapes) -> set:
    """The names whose arrays a store into `node` (`x[i]`, `x.a`, `x.ravel()[i]`, `x` of `x += v`) may change."""
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
        node = node.value
    return {node.id} if isinstance(node, ast.Name) else _may_view(node, shapes)


def _positional_out(callee):
    try:
        return _cached_out_position(callee)
    except TypeError:  # (unhashable)
        return out_position(callee)


@functools.lru_cache(maxsize=512)  # (bounded: a user's callables are keys too)
def _cached_out_position(callee):
    return out_position(callee)


def root(node):
    """The name at the root of `x[i].a` (`x`), or None."""
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
