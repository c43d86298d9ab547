"""Items of float64 array arguments read as Python floats in the NumPy path's scalar code.

A loop that reads an array item by item (`e = zs[t] - x` of a Kalman filter, `y[i] - a * y[i - 1]` of an
AR(1) likelihood) makes every scalar after it a NumPy scalar, whose arithmetic costs some 50 to 80 ns an
operation where a Python float's costs 10 to 15. A person writing the gradient by hand reads `zs.tolist()`
once; this pass does the same in the code `s2s.grad` runs with NumPy (`s2s.float_items(zs)` is `zs.tolist()`):

    zs_items = s2s.float_items(zs)
    for t in range(24):            for t in range(24):
        e = zs_items[t] - x    <-      e = zs[t] - x

Python floats and NumPy's float64 are the same IEEE doubles and `+ - * / // %`, comparisons and the
ufuncs give the same results on them. What differs is known, and each is excluded or handled (the greatest
set of arrays for which the proof below holds is converted; none where it fails):

- a division by zero or an overflowing power raises ZeroDivisionError / OverflowError on Python floats where
  NumPy gives infinity or NaN: `s2s.grad` then runs the derivative again in NumPy numbers (`api.in_numpy_numbers`,
  as for a Python float argument), so the result is NumPy's there. Such an operation is converted only where that
  second run changes nothing and gives the same (`rerun_safe`: no random draw, no print, no call of anything but
  NumPy, `math`, the runtime and builtins without effects, no argument updated), and never inside a `try`;
- `x ** y` of a negative float is complex in Python: only a power with a literal integral exponent (or of a
  positive literal base) may read a converted value;
- a Python bool is not NumPy's: `~b` is -2 and `b + b` is 2. A comparison of a converted value may only be
  tested (`if`, `while`, `and`, `or`, `not`, a conditional expression);
- NEP 50: a Python float is a "weak" scalar (`x32 * 2.5` stays float32, `x32 * np.float64(2.5)` does not), and a
  bool, int8 or int16 array's ufuncs give float16 or float32: every argument must have a dtype, float64 or an
  integer of 32 or 64 bits (a Python bool only tested), no complex number may appear, no other dtype be named
  (an attribute, a keyword, an `astype`, a string such as `"f"`, a free name such as `DT`), no ufunc with a
  floating result be given booleans (`np.sqrt(x > 0)` is float16), and the other operand of a converted value
  must be one too, a number literal or a value whose shape the shapes pass knows (not an object's attribute);
- a Python float has no `.shape`, `.item()` or other array attribute, `np.squeeze` of one is a 0-d array and
  `np.isreal` of one a Python bool, and the user's value (`value_and_grad`'s) must stay the NumPy scalar it
  was: a converted value is never an attribute's object, never returned, and passed only to ufuncs, the NumPy
  functions of `NUMPY_SAME` (each checked to give the same), `math`'s functions, a few builtins and the
  runtime helpers that take it as an adjoint or for its shape. Lists and tuples may hold converted values;
  what comes out of them is taken to be one again;
- the items are read once, where the function starts (a slice's where it is bound), so the array must not change
  during the call: it is an argument, or a slice of one at literal bounds a name is bound to once before any loop
  (`t = x[:-1]` of `enumerate(x[:-1])`, `zip(x[:-1], x[1:])`), the code never binds again, never writes into,
  calls no method of but those that read and passes to no `out=` (a view of it updated in place is copied
  first: the ownership analysis, transforms/ownership.py);
  every index is an integer expression certainly within its axis (a list's IndexError would not say NumPy's
  words).

NumPy's error settings: where they ask more than a warning (`np.errstate(over="raise")`), or a warning filter
makes a RuntimeWarning an error, `s2s.float_items` gives NumPy's scalars instead, so their arithmetic raises as
NumPy's does; under the default settings the Python floats' overflow gives inf without NumPy's "overflow
encountered" warning (the same values).
The zero adjoint's guard `s2s.is_zero(g)` takes a Python float 0.0 for the zero adjoint, as it does for the
adjoints of Python float arguments: where a partial derivative is infinite or NaN and its adjoint 0.0, the
term is 0.0 (it is 0.0 * inf = NaN in NumPy numbers). Only arrays read at least a quarter of their items'
number of times inside loops (counted by the ranges' lengths), of at most `MAX_ITEMS` items, are converted.
"""

from __future__ import annotations

import ast
import math

import numpy as np

from . import annotations
from .context import ctx
from .item_updates import fresh_array
from .names import NameAllocator, bound_names, called_name
from .ownership import _root
from .precision import Once, names_only_float64
from .reverse import Comment
from .shapes import RandomGenerator, hashable, slices_only
from .specialize import _number
from .walk import fix_locations, walk, walk_nodes

__all__ = ["MAX_ITEMS", "NUMPY_SAME", "literal_range", "one_float64_precision", "range_trips", "read_items_as_floats"]

MAX_ITEMS = 1 << 20  # (a million Python floats take 24 MB beside the array's 8)

_FLOAT = "float"  # a value that is a Python float here and was a NumPy float64 before
_BOOL = "bool"  # a comparison of one: a Python bool here, np.bool_ before
_BOX = "box"  # a list, tuple or dict that may hold them

# float64, integers of 32 and 64 bits, None and random generators (a bool, int8 or int16 array's ufuncs give float16
# or float32, which a weak Python float would keep; a Python bool argument only where it is tested)
_PLAIN_KINDS = frozenset("dilqpILQPO")
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
_RAISING = (ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)  # (ZeroDivisionError, OverflowError on Python floats)
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_READ_ONLY_METHODS = frozenset({"sum", "mean", "max", "min", "prod", "std", "var", "dot", "copy", "tolist", "item",
                                "cumsum", "cumprod", "any", "all", "argmax", "argmin", "reshape", "ravel", "flatten",
                                "transpose", "clip", "conj", "round", "trace", "diagonal", "squeeze", "astype"})
_LIST_METHODS = frozenset({"append", "extend", "insert"})
# runtime helpers that treat a Python float as they treat a float64 scalar (`finish` gives both back as a float;
# `inplace_check` leaves both alone, as numbers, where its target is no list)
_SAME_ON_FLOATS = frozenset({"is_zero", "finish", "inplace_check"})
# NumPy functions whose result is a NumPy scalar or array whatever numbers they are given (beside the ufuncs)
_NUMPY_RESULTS = frozenset({"sum", "mean", "prod", "max", "min", "amax", "amin", "dot", "vdot", "inner", "float64",
                            "array", "asarray", "std", "var", "where", "clip", "cumsum", "outer"})
# NumPy functions that give the same type and value for a Python float as for a float64 (each checked, beside every
# ufunc, in tests/transforms/test_float_items.py); np.squeeze, np.transpose, np.real, np.isreal and others do not
NUMPY_SAME = frozenset({"sum", "mean", "prod", "max", "min", "amax", "amin", "dot", "vdot", "inner", "float64",
                        "array", "asarray", "asanyarray", "std", "var", "where", "clip", "cumsum", "cumprod", "outer",
                        "round", "around", "norm", "atleast_1d", "ravel", "copy", "full_like", "zeros_like",
                        "ones_like", "nan_to_num", "median", "average", "nansum", "nanmean", "isclose", "allclose",
                        "any", "all", "argmax", "argmin", "shape", "ndim", "size", "isscalar", "sinc", "ptp"})
_KEPT_BUILTINS = {float: "number", int: "number", bool: "number", len: "number", abs: "same", min: "same",
                  max: "same", sum: "items", reversed: "box", list: "box", tuple: "box", zip: "box",
                  enumerate: "box", iter: "box", sorted: "box"}


class _Refused(Exception):
    """A converted value reaches a place where a Python float may behave otherwise than NumPy's."""


def read_items_as_floats(fdef: ast.FunctionDef, shapes, params: dict, kinds: dict, np_name: str,
                         tapes=frozenset(), rerun_safe=lambda own_writes_only: False) -> list[str]:
    """Read the items of float64 array arguments as Python floats where that is provably the same computation
    (see the module's docstring); returns the names of the arrays whose items are now read from lists.

    `shapes`: `Shapes` of `fdef` as it is; `params`: parameter -> shape, `kinds`: parameter -> dtype character
    (specialize.Context); `tapes`: the lists the tape saves values on (a restore gives a name its own value back);
    `rerun_safe(own_writes_only)`: whether running the derivative again gives the same result and changes nothing
    (no random draw, no effect, no argument updated), told whether this code, calling nothing else, writes only
    into what it made (`changes_nothing_outside`: then no argument is updated, whatever the function's summary
    fears of `N = p[2]; N += ...`): asked only where a converted value may be divided by zero or raised to an
    overflowing power, where s2s.grad then runs it again in NumPy numbers.

        >>> # def f(q, zs): ... for t in range(24): e = zs[t] - x ...
        >>> # read_items_as_floats(fdef, shapes, {"q": (), "zs": (24,)}, {"q": "d", "zs": "d"}, "np") == ["zs"]
    """
    if not one_float64_precision(fdef, params, kinds, np_name, shapes):
        return []
    arguments = {a.arg for a in (*fdef.args.posonlyargs, *fdef.args.args, *fdef.args.kwonlyargs)}
    candidates = {p: shape for p, shape in params.items()
                  if p in arguments and kinds.get(p) == "d" and isinstance(shape, tuple) and len(shape) >= 1
                  and all(type(n) is int for n in shape) and 0 < math.prod(shape) <= MAX_ITEMS}
    if not candidates:
        return []
    # (`t = x[:-1]` of `enumerate(x[:-1])`, `V = F @ w`: read as t[k], V[i], their items listed where they are bound)
    slices = _held_arrays(fdef, candidates, shapes)
    candidates.update({t: shape for t, (shape, _) in slices.items()})
    bindings = {id(stmt.targets[0]) for _, stmt in slices.values()}
    candidates = {p: s for p, s in candidates.items() if p not in _changed_arrays(fdef, set(candidates), bindings)}
    # (a slice's or a copy's items are read once where it is bound: the array it is of must not change either)
    while True:
        kept = {p: s for p, s in candidates.items() if p not in slices or _source(slices[p][1]) in (None, *candidates)}
        if len(kept) == len(candidates):
            break
        candidates = kept
    reads = _item_reads(fdef, candidates, shapes)
    looped = any(isinstance(n, ast.For | ast.While) for n in walk_nodes(fdef))
    chosen = [p for p in sorted(reads) if _read_enough(reads[p], candidates[p], looped)]
    if not chosen:
        return []
    generators = any(isinstance(fact, RandomGenerator) for fact in params.values())  # (a rerun draws again)
    rerun = Once(lambda: not generators and _calls_nothing_else(fdef, shapes)
                  and rerun_safe(changes_nothing_outside(fdef, shapes)))
    why_not = {}
    if _why_not(fdef, shapes, reads, chosen, np_name, tapes, rerun) is not None:
        kept = []  # (a read of one array reaches a place a Python float may not: the others alone may still pass)
        for p in chosen:
            why_not[p] = _why_not(fdef, shapes, reads, [*kept, p], np_name, tapes, rerun)
            if why_not[p] is None:
                kept.append(p)
        chosen = kept
    if chosen:
        _rewrite(fdef, {p: reads[p] for p in chosen}, {t: stmt for t, (_, stmt) in slices.items()})
    _note_why_not(fdef, {p: why for p, why in why_not.items() if why and p not in slices})
    return chosen


def _note_why_not(fdef, why_not: dict) -> None:
    """`# the items of y stay NumPy numbers (line 7: ...)` at the top of the code, for each array whose items a
    loop reads often enough to be read as Python floats, but which are not."""
    notes = []
    for p, why in sorted(why_not.items()):
        note = Comment(f"the items of {p} stay NumPy numbers ({why})")
        note.lineno = getattr(fdef.body[0], "lineno", 1) if fdef.body else 1
        notes.append(note)
    at = 0
    while at < len(fdef.body) and isinstance(fdef.body[at], Comment):
        at += 1
    fdef.body[at:at] = notes


def _held_arrays(fdef, candidates: dict, shapes) -> dict:
    """name -> (its shape, its binding) for each name the function's body binds once, at its top level, to an array
    of known shape whose items no one else changes: a slice of a candidate argument at literal bounds (`t = x[:-1]`,
    `t2 = X[1:, ::2]`), a new real array (`V = F @ w`: float64 in code `one_float64_precision` passed), or a copy of
    a name bound so (`G_bar = t11`). Read by its own items like an argument, listed where it is bound."""
    stores = {}
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            stores[n.id] = stores.get(n.id, 0) + 1
    out = {}
    for stmt in fdef.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and stores.get(stmt.targets[0].id) == 1 and stmt.targets[0].id not in candidates):
            continue
        shape, value = shapes.of(stmt.targets[0]), stmt.value
        if not (isinstance(shape, tuple) and shape and all(type(n) is int for n in shape)
                and 0 < math.prod(shape) <= MAX_ITEMS):
            continue
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and value.value.id in candidates:
            parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
            if slices_only(value.slice) and all(b is None or type(_number(b)) is int
                                                for i in parts for b in (i.lower, i.upper, i.step)):
                out[stmt.targets[0].id] = (shape, stmt)
        elif isinstance(value, ast.Name) and value.id in out or fresh_array(value, shapes) and shapes.real(value):
            out[stmt.targets[0].id] = (shape, stmt)
    return out


def _source(binding):
    """The name whose array the held array's binding is a slice or a copy of, else None (a new array)."""
    value = binding.value
    if isinstance(value, ast.Subscript):
        return value.value.id
    return value.id if isinstance(value, ast.Name) else None


def one_float64_precision(fdef, params, kinds, np_name, shapes) -> bool:
    """Whether every argument is float64 or an integer of 32 or 64 bits (or None, or a random generator; a Python
    bool only tested), and the code names no other floating, small integer or complex dtype, in a keyword, an
    `astype`, an attribute or a string, and holds no complex literal (NEP 50's weak Python scalars then make the
    same dtypes as float64 ones)."""
    arguments = [a.arg for a in (*fdef.args.posonlyargs, *fdef.args.args)]
    seed = [a.arg for a in fdef.args.kwonlyargs]
    if len(seed) > 1 or any(not isinstance(kinds.get(a), str) for a in arguments):
        return False  # (an argument without a dtype: an object, a function, a container, an object array)
    for p, k in kinds.items():
        if not isinstance(k, str) or k not in _PLAIN_KINDS and not (k == "?" and params.get(p) == ()
                                                                     and _only_tested(fdef, p)):
            return False
    return names_only_float64(fdef, np_name, shapes.resolve)


def _only_tested(fdef, name) -> bool:
    """Whether every read of `name` is a test (`if`, `while`, a conditional expression, `and`, `or`, `not`)."""
    tested = set()
    for n in walk_nodes(fdef):
        if isinstance(n, ast.If | ast.While | ast.IfExp | ast.Assert):
            tested.add(id(n.test))
        elif isinstance(n, ast.BoolOp):
            tested.update(id(v) for v in n.values)
        elif isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            tested.add(id(n.operand))
    return all(id(n) in tested for n in walk_nodes(fdef)
               if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load))


_PURE_BUILTINS = frozenset({len, range, abs, min, max, sum, float, int, bool, reversed, zip, enumerate, list, tuple,
                            isinstance, sorted, iter, dict, divmod, pow, any, all})


def _calls_nothing_else(fdef, shapes) -> bool:
    """Whether every call of the code is of NumPy, `math`, the runtime, a builtin without effects, or a method of a
    local list or array that reads (nothing prints, draws, or calls a function whose effects are not known):
    running it again does nothing more than the first run."""
    for n in walk_nodes(fdef):
        if not isinstance(n, ast.Call):
            continue
        func = n.func
        if isinstance(func, ast.Attribute) and func.attr in _READ_ONLY_METHODS:
            with shapes.symbolic():  # (`x[:i]`: an array whose length follows a loop's counter)
                receiver = shapes.of(func.value)
            if isinstance(receiver, tuple):
                continue  # (an array's method that reads it: `x[:i].copy()`, `t.sum()`)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in shapes.local:
            if func.attr in _READ_ONLY_METHODS or func.attr in _LIST_METHODS or func.attr == "pop":
                continue
            return False
        callee = shapes.callee(n)
        if callee is None or not hashable(callee):
            return False
        module = getattr(callee, "__module__", None) or ""
        if not (_from_numpy(callee) and "random" not in module or module == "math" or ctx().is_runtime_helper(callee)
                or any(callee is b for b in _PURE_BUILTINS)):
            return False  # (`print`, `np.random.normal`, a function of yours)
    return True


def changes_nothing_outside(fdef, shapes) -> bool:
    """Whether the code writes only into arrays and lists it made: every item or slice stored, updated in place,
    deleted or changed by a method (`append`) is of a local name bound only to a new array or list (`np.zeros(...)`,
    arithmetic on arrays, `[]`); no attribute is stored, no `out=` given, no name declared `global` or `nonlocal`.
    With `_calls_nothing_else` a second run finds what the first found.

        >>> # p_bar = np.zeros((3,)); p_bar[2] += N_bar -> True;   N = p[2:]; N += 1.0 -> False
    """
    own = _own_names(fdef, shapes)
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Global | ast.Nonlocal):
            return False
        if isinstance(n, ast.Subscript | ast.Attribute | ast.Starred) and not isinstance(n.ctx, ast.Load):
            if isinstance(n, ast.Attribute) or _root(n) not in own:
                return False
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id not in own:
            return False  # (`N += d` of a 0-d array held elsewhere writes into it)
        elif isinstance(n, ast.Call):
            if any(k.arg == "out" for k in n.keywords):
                return False
            method = n.func
            if isinstance(method, ast.Attribute) and method.attr not in _READ_ONLY_METHODS \
                    and isinstance(method.value, ast.Name) and method.value.id in shapes.local \
                    and method.value.id not in own:
                return False
    return True


def _own_names(fdef, shapes) -> set:
    """The local names every binding of which is an assignment of a new array or list (or a number, or None),
    or an update in place of the name itself."""
    params = {a.arg for a in (*fdef.args.posonlyargs, *fdef.args.args, *fdef.args.kwonlyargs,
                              *(a for a in (fdef.args.vararg, fdef.args.kwarg) if a))}
    new, handled, other = set(), set(), set()
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            (new if _new_value(n.value, shapes) else other).add(n.targets[0].id)
            handled.add(id(n.targets[0]))
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            handled.add(id(n.target))
        elif isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in handled:
            other.add(n.id)
    return new - other - params


def _new_value(value, shapes) -> bool:
    """A new array or list, or a number or None (which holds nothing to write into)."""
    if isinstance(value, ast.Constant):
        return value.value is None or type(value.value) in (int, float, bool)
    return isinstance(value, ast.List | ast.ListComp | ast.Dict | ast.DictComp | ast.Set | ast.SetComp) \
        or fresh_array(value, shapes)


def _changed_arrays(fdef, names: set, bindings=frozenset()) -> set:
    """The names of `names` the code binds again, writes into (an item, an attribute, in place), calls a method of
    that may write, or passes as `out=`: their items may change during the call. `bindings`: the ids of the
    target nodes of the one binding each slice name has (not a change)."""
    changed = set()
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            if id(n) not in bindings:
                changed.add(n.id)
        elif isinstance(n, ast.Subscript | ast.Attribute) and not isinstance(n.ctx, ast.Load):
            root = _root(n)
            if root is not None:
                changed.add(root)
        elif isinstance(n, ast.Call):
            if isinstance(n.func, ast.Attribute) and n.func.attr not in _READ_ONLY_METHODS:
                root = _root(n.func.value)
                if root is not None and isinstance(n.func.value, ast.Name):
                    changed.add(root)
            changed.update(_root(k.value) for k in n.keywords if k.arg == "out")
    return changed & names


def _item_reads(fdef, candidates: dict, shapes) -> dict:
    """array name -> [(the `a[i]` / `a[i, j]` read of one item, how many times it runs: the product of the lengths
    of the ranges of the loops around it, 1 for any other loop)]."""
    reads = {}

    def visit(stmts, times, loops, in_while, known):
        known = dict(known)
        for at, s in enumerate(stmts):
            inner = times
            if isinstance(s, ast.For):
                inner = times * range_trips(s.iter)
            for n in _own_nodes(s):
                if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Load) and isinstance(n.value, ast.Name) \
                        and n.value.id in candidates and _item_index(n.slice, candidates[n.value.id], shapes, known) \
                        and shapes.of(n) == ():
                    # (a `while` of unknown trips: as many as the items its index may pick, `obs[k]` of `k < 24`)
                    runs = times * _index_span(n.slice, shapes, known) if in_while else times
                    reads.setdefault(n.value.id, []).append((n, runs, loops))
            # (a loop's trips, and a handler, may see what its statements bind: an `if`'s branches run once)
            held = known if isinstance(s, ast.If) else {k: v for k, v in known.items() if k not in bound_names(s)}
            for field in ("body", "orelse", "finalbody"):
                block = getattr(s, field, None)
                if isinstance(block, list):
                    in_loop = loops + isinstance(s, ast.For | ast.While) * (field == "body")
                    inside = held if field != "body" or not isinstance(s, ast.While) \
                        else {**held, **_while_counters(s, stmts[:at], fdef, shapes)}
                    visit(block, inner if field == "body" else times, in_loop,
                          in_while or isinstance(s, ast.While) and field == "body", inside)
            for handler in getattr(s, "handlers", ()):
                visit(handler.body, times, loops, in_while, held)
            for name in [k for k in known if k in bound_names(s)]:
                del known[name]  # (bound again: its bounds from here are not known)

    visit(fdef.body, 1, 0, False, {})
    return reads


def _while_counters(loop, before, fdef, shapes) -> dict:
    """name -> (least, greatest) of the int counter `k` a `while` tests against a literal bound, where its body
    starts: `while k < 24:`, or `while cond:` of the lowered loop, `cond = k < 24` the last binding of `cond` both
    in the statements `before` it and in its body, with `k` bound in neither after it (and no `continue`, which
    would skip the second); every binding of `k` in the function an int literal of at least 0 or `k + c` of a
    literal c of at least 0 (the tape's placeholder and restores aside)."""
    test = loop.test
    if isinstance(test, ast.Name):
        if any(isinstance(n, ast.Continue) for n in _loop_own_nodes(loop.body)):
            return {}
        first, last = _last_binding(before, test.id), _last_binding(loop.body, test.id)
        if first is None or last is None or _limit(first[0]) != _limit(last[0]):
            return {}
        if any(_limit(first[0])[0] in bound_names(s) for s in (*first[1], *last[1])):
            return {}
        test = first[0].value
    limit = _limit_of(test)
    if limit is None:
        return {}
    name, greatest = limit
    least = _least_counter_value(fdef, name, shapes)
    return {} if least is None or least > greatest else {name: (least, greatest)}


def _limit(stmt):
    """(name, greatest) of `cond = k < 24`, else None."""
    return _limit_of(stmt.value) if isinstance(stmt, ast.Assign) else None


def _limit_of(test):
    """(k, 23) of `k < 24` or `k <= 23` (an int literal bound), else None."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name) \
            and isinstance(test.comparators[0], ast.Constant) and type(test.comparators[0].value) is int:
        bound = test.comparators[0].value
        if isinstance(test.ops[0], ast.Lt):
            return test.left.id, bound - 1
        if isinstance(test.ops[0], ast.LtE):
            return test.left.id, bound
    return None


def _last_binding(stmts, name):
    """(`name = k < B`, the statements after the last of `stmts` that binds `name`), where that one is it, or
    `if name: name = k < B` (a loop with a `break`, lowered: `name` true after it was made so there), else None."""
    for at in range(len(stmts) - 1, -1, -1):
        if name in bound_names(stmts[at]):
            s = stmts[at]
            if isinstance(s, ast.If) and isinstance(s.test, ast.Name) and s.test.id == name and not s.orelse \
                    and len(s.body) == 1:
                s = s.body[0]
            single = isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and s.targets[0].id == name
            return (s, stmts[at + 1:]) if single and _limit(s) is not None else None
    return None


def _least_counter_value(fdef, name, shapes):
    """The least value of an int name bound only to literals of at least 0 and `name + c` (c >= 0), else None."""
    least, bindings, stores = None, 0, 0
    for n in walk_nodes(fdef):
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            stores += 1
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name:
            if not (isinstance(n.op, ast.Add) and _nonnegative_int(n.value)):
                return None
            bindings += 1
        elif isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
            bindings += 1
            if shapes._by_tape(n.value, name):
                continue
            v = n.value
            if len(n.targets) != 1:
                return None
            if _nonnegative_int(v):
                least = v.value if least is None else min(least, v.value)
            elif not (isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and isinstance(v.left, ast.Name)
                      and v.left.id == name and _nonnegative_int(v.right)):
                return None
    return least if bindings == stores else None  # (a loop's target, a tuple's item, `:=`: not followed)


def _nonnegative_int(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 0


def _loop_own_nodes(body):
    """The nodes of a loop's body outside the loops it holds."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.For | ast.While | ast.FunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def _index_span(index, shapes, known=None) -> int:
    """How many items an index known within bounds may pick (the product over its axes)."""
    count = 1
    for i in index.elts if isinstance(index, ast.Tuple) else [index]:
        least, greatest = _bounds(i, shapes, known=known)
        count *= greatest - least + 1
    return count


def _own_nodes(stmt):
    """The nodes of `stmt` outside the statements it holds (a loop's header, a branch's test, an assignment)."""
    stack = [stmt]
    while stack:
        node = stack.pop()
        yield node
        for field, value in ast.iter_fields(node):
            if field in ("body", "orelse", "finalbody", "handlers") and node is stmt:
                continue
            if isinstance(value, ast.AST):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, ast.AST))


def range_trips(it) -> int:
    """How many trips a `for` over `it` makes, where that is a range of literal bounds (reversed or not); else 1."""
    r = literal_range(it)
    return max(len(r), 1) if r is not None else 1


def literal_range(it):
    """The `range` a `for` runs over where it is `range(...)` of int literals, reversed or not; else None."""
    if isinstance(it, ast.Call) and called_name(it) == "reversed" and len(it.args) == 1:
        it = it.args[0]
    if not (isinstance(it, ast.Call) and called_name(it) == "range" and not it.keywords and 1 <= len(it.args) <= 3
            and all(isinstance(a, ast.Constant) and type(a.value) is int for a in it.args)):
        return None
    try:
        return range(*(a.value for a in it.args))
    except ValueError:
        return None


def _item_index(index, shape, shapes, known=None) -> bool:
    """Whether `index` picks one item of an array of `shape`: an integer expression per axis (a list takes them
    one by one; a bool would be a mask, a float no index), each certainly within its axis (a list's IndexError
    would not say NumPy's words: `index 5 is out of bounds for axis 0 with size 3`)."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    if len(items) != len(shape):
        return False
    for i, n in zip(items, shape):
        bounds = _bounds(i, shapes, known=known) if shapes._int_expr(i, shapes.ints) else None
        if bounds is None or not -n <= bounds[0] <= bounds[1] < n:
            return False
    return True


def _bounds(node, shapes, seen=(), known=None):
    """(least, greatest) an integer expression may be: literals, counters of loops over ranges of literal bounds
    (bound by those loops and the tape's restores alone), names bound once to such, `+`, `-`, a literal's `*`;
    `known`: name -> its bounds where the expression is (a `while` counter's, `_while_counters`)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value, node.value
    if isinstance(node, ast.Subscript):
        return _range_item_span(node, shapes) or None  # (`steps[step]`; an empty range's item raises)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _bounds(node.operand, shapes, seen, known)
        return None if inner is None else (-inner[1], -inner[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        a, b = _bounds(node.left, shapes, seen, known), _bounds(node.right, shapes, seen, known)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Add):
            return a[0] + b[0], a[1] + b[1]
        if isinstance(node.op, ast.Sub):
            return a[0] - b[1], a[1] - b[0]
        ends = [x * y for x in a for y in b]
        return min(ends), max(ends)
    if not isinstance(node, ast.Name) or node.id in seen:
        return None
    if known and node.id in known:
        return known[node.id]
    if node.id in shapes._counters:
        spans = [_range_span(it) for it in shapes._ranges.get(node.id, ())]
        if not spans or any(span is None for span in spans):
            return None
        spans = [span for span in spans if span != ()]
        return (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None
    values = shapes._assigned_values.get(node.id)
    if values and len(values) == 1 and values[0] is not None and shapes._bindings.get(node.id) == 1:
        return _bounds(values[0], shapes, (*seen, node.id), known)
    if values and node.id in shapes.ints and shapes._bindings.get(node.id) == len(values):
        # (`k = steps[step]` of a loop with a `break`: the tape's placeholder and restores give back its values)
        own = [v for v in values if not shapes._by_tape(v, node.id)]
        spans = [_bounds(v, shapes, (*seen, node.id), known) for v in own]
        if own and all(span is not None for span in spans):
            return min(a for a, _ in spans), max(b for _, b in spans)
    return None


def _range_item_span(value, shapes):
    """(least, greatest) item of the range `value` indexes (`steps[step]`, steps bound only to `range(...)` of
    literal bounds), () for an empty one, else None."""
    if not (isinstance(value, ast.Subscript) and not isinstance(value.slice, ast.Slice)
            and isinstance(value.value, ast.Name)):
        return None
    ranges = shapes._assigned_values.get(value.value.id) or [None]
    spans = [_range_span(r) if r is not None else None for r in ranges]
    if any(span is None for span in spans) or shapes._bindings.get(value.value.id) != len(ranges):
        return None
    spans = [span for span in spans if span != ()]
    return (min(a for a, _ in spans), max(b for _, b in spans)) if spans else ()


def _range_span(it):
    """(first, last) item of `range(...)` of literal bounds (reversed or not), () for an empty one, else None."""
    r = literal_range(it)
    if r is None:
        return None
    return (min(r[0], r[-1]), max(r[0], r[-1])) if len(r) else ()


def _read_enough(reads, shape, looped) -> bool:
    """Whether the reads run at least a quarter as many times as the array has items, and one is inside a loop or
    the function has a loop (`r, K = p[0], p[1]` before it: the loop's arithmetic on them is on Python floats)."""
    return (looped or any(loops for _, _, loops in reads)) and 4 * sum(times for _, times, _ in reads) >= math.prod(shape)


# ---- the proof --------------------------------------------------------------------------------------------
def _why_not(fdef, shapes, reads, chosen, np_name, tapes, rerun_safe):
    """None where reading the items of `chosen` as Python floats computes what the code computes now; else why
    not, in words naming the line (`line 7: `s = s + a ** y[t]`: a Python float may behave otherwise there`), or
    "" where the place is an array's arithmetic (an item times a slice: the note would say nothing useful)."""
    sources = {id(n) for p in chosen for n, _, _ in reads[p]}
    taint = _Taint(shapes, sources, np_name, set(tapes))
    try:
        for _ in range(64):
            before = taint.state()
            taint.block(fdef.body)
            if taint.state() == before:
                if taint.raising is None or rerun_safe():
                    return None
                return (f"{_where(taint.raising)}may divide by zero or overflow, which raises on Python floats, and "
                        "the code may not run again in NumPy numbers to the same effect: it draws, prints, calls "
                        "a function of yours or may change an argument")
    except _Refused as refused:
        at = refused.args[0]
        shape = None
        if isinstance(at, ast.expr):
            with shapes.symbolic():  # (`x[i] * k[:n - i]`: an array whose length follows a loop's counter)
                shape = shapes.of(at)
        if isinstance(shape, tuple) and shape != ():
            return ""  # (an item meeting arrays, `x[i] * k[:n]`: nothing for Python floats to save, nothing to say)
        return f"{_where(at)}a Python float may behave otherwise than NumPy's there"
    return "the kinds of its values did not settle"


def _where(node) -> str:
    """`line 7: `a / y[t]`: ` for a node of the code (its line the user's)."""
    text = ast.unparse(node).splitlines()[0] if isinstance(node, ast.AST) else ""
    text = text if len(text) <= 60 else text[:57] + "..."
    line = getattr(node, "lineno", None)
    return (f"line {line}: " if line else "") + (f"`{text}`: " if text else "")


class _Taint:
    """Which names may hold a converted value (flow insensitive, to a fixed point), refusing on the way any
    place where a Python float or bool may behave otherwise than NumPy's float64 or np.bool_."""

    def __init__(self, shapes, sources: set, np_name: str, tapes: set):
        self.shapes, self.sources, self.np_name, self.tapes = shapes, sources, np_name, tapes
        self.names = {}  # name -> the kinds it may hold
        self.contents = set()  # what a list, tuple or dict holding converted values may give back
        self.taped = set()  # what the tape saved (a restore into a name gives back the name's own value)
        self.raising = None  # the first place a converted value may be divided by zero or overflow a power (raise)
        self.in_try = 0  # how many `try` statements the statement read is in

    def state(self):
        return {k: frozenset(v) for k, v in self.names.items()}, frozenset(self.contents), frozenset(self.taped)

    # statements
    def block(self, stmts):
        for s in stmts:
            self.statement(s)

    def statement(self, s):
        if isinstance(s, ast.Assign):
            if self._restore(s):
                return
            if len(s.targets) == 1 and isinstance(s.targets[0], ast.Tuple | ast.List) \
                    and isinstance(s.value, ast.Tuple | ast.List) and len(s.value.elts) == len(s.targets[0].elts) \
                    and not any(isinstance(e, ast.Starred) for e in (*s.value.elts, *s.targets[0].elts)):
                for target, value in zip(s.targets[0].elts, s.value.elts):
                    self.bind(target, self.kind(value))
                return
            kinds = self.kind(s.value)
            for target in s.targets:
                self.bind(target, kinds)
        elif isinstance(s, ast.AugAssign):
            load = _as_load(s.target)
            self.bind(s.target, self.binop(ast.BinOp(left=load, op=s.op, right=s.value)))
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.bind(s.target, self.kind(s.value))
        elif isinstance(s, ast.For):
            self.bind(s.target, self.iterated(s.iter))
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, ast.While | ast.If):
            self.kind(s.test)  # (tested: a converted comparison may be)
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, ast.Expr):
            self.kind(s.value)
        elif isinstance(s, ast.Return):
            if s.value is not None and self.kind(s.value):
                raise _Refused(s)  # (the user's value stays the NumPy scalar it is)
        elif isinstance(s, ast.Assert):
            self.kind(s.test)
            self.untainted(s.msg)
        elif isinstance(s, ast.Try):  # (a ZeroDivisionError a Python float raises must not reach a handler)
            self.in_try += 1
            self.block(s.body)
            for h in s.handlers:
                self.untainted(h.type)
                self.block(h.body)
            self.block(s.orelse)
            self.block(s.finalbody)
            self.in_try -= 1
        elif isinstance(s, ast.Pass | ast.Break | ast.Continue | ast.Delete | Comment | ast.Import | ast.ImportFrom):
            return
        elif isinstance(s, ast.Raise):
            self.untainted(s.exc)
            self.untainted(s.cause)
        else:  # (a nested function or class, `with`, `global`, `match`: reads no converted value)
            for n in walk(s):
                if isinstance(n, ast.Name) and self.names.get(n.id):
                    raise _Refused(s)

    def _restore(self, s) -> bool:
        """`v = tape.pop()`: the tape gives `v` a value saved from `v` itself (nothing new)."""
        return len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.Call) \
            and isinstance(s.value.func, ast.Attribute) and s.value.func.attr == "pop" and not s.value.args \
            and isinstance(s.value.func.value, ast.Name) and s.value.func.value.id in self.tapes

    def bind(self, target, kinds):
        if isinstance(target, ast.Name):
            if kinds:
                self.names.setdefault(target.id, set()).update(kinds)
        elif isinstance(target, ast.Tuple | ast.List):
            if kinds - {_BOX}:
                raise _Refused(target)  # (unpacking a number)
            for e in target.elts:
                if isinstance(e, ast.Starred):
                    self.bind(e.value, {_BOX} if kinds else set())
                else:
                    self.bind(e, set(self.contents) if kinds else set())
        elif isinstance(target, ast.Subscript):
            self.untainted(target.slice)
            base = target.value
            if kinds and not (isinstance(base, ast.Name) and _array_shape(self.shapes.env.get(base.id))):
                if not isinstance(base, ast.Name):
                    raise _Refused(target)
                self.names.setdefault(base.id, set()).add(_BOX)  # (a list holding one now)
                self.contents.update(kinds)
            else:
                self.kind(base)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, {_BOX} if kinds else set())
        elif kinds:
            raise _Refused(target)  # (an attribute)

    def iterated(self, it):
        """What iterating over `it` gives."""
        kinds = self.kind(it)
        if kinds - {_BOX}:
            raise _Refused(it)
        return set(self.contents) if kinds else set()

    def untainted(self, node):
        if node is not None and self.kind(node):
            raise _Refused(node)

    # expressions
    def kind(self, node) -> set:
        """The kinds of converted value `node` may be (empty: none), refusing what may differ."""
        if isinstance(node, ast.Constant):
            return set()
        if isinstance(node, ast.Name):
            return set(self.names.get(node.id, ()))
        if isinstance(node, ast.Subscript):
            if id(node) in self.sources:
                return {_FLOAT}
            base = self.kind(node.value)
            self.untainted(node.slice)
            if base - {_BOX}:
                raise _Refused(node)
            return (set(self.contents) | ({_BOX} if isinstance(node.slice, ast.Slice) else set())) if base else set()
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.kind(node.operand)
            if not operand or isinstance(node.op, ast.Not):
                return set()
            if isinstance(node.op, ast.USub | ast.UAdd) and operand == {_FLOAT}:
                return operand
            raise _Refused(node)  # (`~b`, `-b` of a bool)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.BoolOp):
            return set().union(*(self.kind(v) for v in node.values))
        if isinstance(node, ast.IfExp):
            self.kind(node.test)
            return self.kind(node.body) | self.kind(node.orelse)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            inner = set().union(*(self.kind(e) for e in node.elts))
            self.contents.update(inner - {_BOX})
            return {_BOX} if inner else set()
        if isinstance(node, ast.Starred):
            return self.kind(node.value)
        if isinstance(node, ast.Dict):
            for k in node.keys:
                self.untainted(k)
            inner = set().union(*(self.kind(v) for v in node.values))
            self.contents.update(inner - {_BOX})
            return {_BOX} if inner else set()
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            for gen in node.generators:
                self.bind(gen.target, self.iterated(gen.iter))
                for test in gen.ifs:
                    self.kind(test)
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            inner = set().union(*(self.kind(p) for p in parts))
            self.contents.update(inner - {_BOX})
            return {_BOX} if inner else set()
        if isinstance(node, ast.NamedExpr):
            kinds = self.kind(node.value)
            self.bind(node.target, kinds)
            return kinds
        if isinstance(node, ast.Attribute):
            if self.kind(node.value):
                raise _Refused(node)  # (`.shape`, `.item` of a Python float)
            return set()
        # (a lambda, a slice, an f-string, anything else: it may read no converted value)
        for n in walk(node):
            if isinstance(n, ast.Name) and self.names.get(n.id) or id(n) in self.sources:
                raise _Refused(node)
        return set()

    def binop(self, node) -> set:
        left, right = self.kind(node.left), self.kind(node.right)
        if not left and not right:
            return set()
        if _BOOL in left | right:
            raise _Refused(node)  # (Python's bool arithmetic is an int's; NumPy's is logical)
        if _BOX in left | right:
            if isinstance(node.op, ast.Add) and left <= {_BOX} and right <= {_BOX}:
                return {_BOX}  # (lists joined)
            raise _Refused(node)
        if isinstance(node.op, ast.Pow):
            exponent, base = _number(node.right), _number(node.left)
            if not (not right and type(exponent) in (int, float) and float(exponent).is_integer()
                    or not left and type(base) in (int, float) and base > 0):
                raise _Refused(node)  # (a negative float to a fractional power is complex in Python)
        elif not isinstance(node.op, _ARITHMETIC):
            raise _Refused(node)  # (`@`, bitwise operators)
        self.numeric(node.left, left, node)
        self.numeric(node.right, right, node)
        if isinstance(node.op, _RAISING):
            if self.in_try:
                raise _Refused(node)  # (the user's handler would see an error NumPy does not raise)
            self.raising = self.raising or node
        if self.numpy_typed(node.left) or self.numpy_typed(node.right):
            return set()  # (with a NumPy scalar or array, NumPy's result either way)
        return {_FLOAT}

    def numeric(self, node, kinds, at):
        """Refuse `node`, the other operand of a converted value, unless it is one too, a number literal or a value
        whose shape the shapes pass knows (a number or an array, of the dtypes the arguments allow): not a string
        (`"%r" % x`), nor an object's attribute or a function's result of unknown kind (a float32 would stay float32
        beside a weak Python float, and turn float64 beside NumPy's)."""
        if kinds or type(_number(node)) in (int, float) or isinstance(self.shapes.of(node), tuple):
            return
        raise _Refused(at)

    def compare(self, node) -> set:
        parts = [node.left, *node.comparators]
        kinds = [self.kind(p) for p in parts]
        if not any(kinds):
            return set()
        for op, a, b, ka, kb in zip(node.ops, parts, parts[1:], kinds, kinds[1:]):
            if not (ka or kb):
                continue
            if isinstance(op, ast.Is | ast.IsNot) and any(isinstance(x, ast.Constant) and x.value is None
                                                           for x in (a, b)):
                continue  # (`t is None`: neither is None)
            if not isinstance(op, _ORDER) or _BOX in ka | kb:
                raise _Refused(node)
            self.numeric(a, ka, node)
            self.numeric(b, kb, node)
        if _array_shape(self.shapes.of(node)):
            return set()  # (an array of bools either way)
        return {_BOOL}

    def call(self, node) -> set:
        func = node.func
        if isinstance(func, ast.Attribute) and (isinstance(func.value, ast.Name) and func.value.id in self.shapes.local
                                                or self.kind(func.value)):
            return self.method(node)
        args = [self.kind(a) for a in node.args]
        keywords = [self.kind(k.value) for k in node.keywords]
        given = set().union(*args, *keywords)
        callee = self.shapes.callee(node) if not isinstance(func, ast.Name) or func.id not in self.shapes.local \
            else None
        if not given:
            return set()
        if callee is not None and hashable(callee):
            helper = self.shapes.helpers.get(callee) or (callee.__name__ if self._runtime(callee) else None)
            if helper is not None:
                if helper in _SAME_ON_FLOATS and not (helper == "inplace_check" and args and _BOX in args[0]):
                    return set()
                return self.helper(node, callee, args, keywords)
            if _from_numpy(callee):
                if not (isinstance(callee, np.ufunc) or getattr(callee, "__name__", None) in NUMPY_SAME):
                    raise _Refused(node)  # (`np.squeeze(x)` of a Python float is a 0-d array, `np.isreal` a bool)
                return set()
            if getattr(callee, "__module__", None) == "math":
                return set()
            kept = _KEPT_BUILTINS.get(callee)
            if kept == "number":
                return set()
            if kept == "same" and _BOOL not in given:
                if len(node.args) == 1 and args[0] == {_BOX}:
                    return set(self.contents) - {_BOX} or {_FLOAT}
                if _BOX not in given:
                    return {_FLOAT}
            if kept == "items" and _BOOL not in given and _BOOL not in self.contents:
                return {_FLOAT}
            if kept == "box":
                return {_BOX}
        raise _Refused(node)  # (a function that may treat a Python float otherwise)

    def _runtime(self, callee) -> bool:
        return ctx().is_runtime_helper(callee)

    def helper(self, node, callee, args, keywords) -> set:
        """A runtime helper given converted values: only as arguments its rule says it reads the shape of
        (`shape_only`: `unbroadcast(g, x)`'s x) or passes on scaled, as adjoints (`linear`: its g), which it
        takes as Python floats or NumPy numbers alike (the adjoints of Python float arguments are Python
        floats); what it gives may be one of the latter."""
        params = self.shapes.fact(callee, "params", None)
        if not params:
            raise _Refused(node)
        positional = self.shapes.fact(callee, "positional", None)
        varargs = self.shapes.fact(callee, "varargs", None)
        npos = len(params) if positional is None else positional
        names = [params[i] if i < npos else varargs for i in range(len(node.args))]
        names += [k.arg for k in node.keywords]
        shape_only = set(self.shapes.fact(callee, "shape_only", ()))
        linear = set(self.shapes.fact(callee, "linear", ()))
        out = set()
        for name, kinds in zip(names, [*args, *keywords]):
            if not kinds:
                continue
            if name is None or name not in shape_only | linear or _BOOL in kinds:
                raise _Refused(node)
            if name in linear:
                out |= kinds
        return out

    def method(self, node) -> set:
        """A method call of a local object: a list's append, extend, insert, pop or copy may hold or give back
        converted values; any other method may be given none, and its object hold none."""
        func = node.func
        receiver = self.kind(func.value)
        args = [self.kind(a) for a in node.args] + [self.kind(k.value) for k in node.keywords]
        given = set().union(*args)
        if receiver - {_BOX} or not isinstance(func.value, ast.Name):
            raise _Refused(node)
        name = func.value.id
        if func.attr in _LIST_METHODS and not node.keywords:
            if func.attr == "extend" and given:
                given = set(self.contents) | given
            if name in self.tapes:
                self.taped.update(given - {_BOX})
            elif given:
                self.names.setdefault(name, set()).add(_BOX)
                self.contents.update(given - {_BOX})
            return set()
        if func.attr == "pop" and not given:
            return set(self.taped if name in self.tapes else self.contents if receiver else ())
        if func.attr == "copy" and not node.args and not node.keywords:
            return set(receiver)
        if receiver or given:
            raise _Refused(node)
        return set()

    def numpy_typed(self, node) -> bool:
        """Whether `node` is certainly a NumPy array or scalar (an operator with it gives NumPy's result)."""
        if _array_shape(self.shapes.of(node)):
            return True
        if isinstance(node, ast.Call) and not self.kind(node):
            callee = self.shapes.callee(node)
            return callee is not None and hashable(callee) and _from_numpy(callee) \
                and (isinstance(callee, np.ufunc) and callee.nout == 1
                     or getattr(callee, "__name__", None) in _NUMPY_RESULTS)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            return self.numpy_typed(node.left) or self.numpy_typed(node.right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return self.numpy_typed(node.operand)
        return False


def _array_shape(shape) -> bool:
    return isinstance(shape, tuple) and len(shape) >= 1


def _from_numpy(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return isinstance(obj, np.ufunc) or module == "numpy" or module.startswith("numpy.")


def _as_load(target):
    """The target of `x op= v` read (the same children, a Load context)."""
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    if isinstance(target, ast.Subscript):
        return ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load())
    return ast.Attribute(value=target.value, attr=target.attr, ctx=ast.Load())


# ---- the rewrite ------------------------------------------------------------------------------------------
def _rewrite(fdef, reads: dict, slices: dict) -> None:
    """`a_items = s2s.float_items(a)` (`a.tolist()`) first (after its binding for a slice `a` of `slices`), and each
    read `a[i]` / `a[i, j]` as `a_items[i]` / `a_items[i][j]`."""
    names = NameAllocator({n.id for n in walk_nodes(fdef) if isinstance(n, ast.Name)}
                          | {a.arg for a in walk_nodes(fdef.args) if isinstance(a, ast.arg)})
    parents = {id(c): p for p in walk(fdef) for c in ast.iter_child_nodes(p)}
    lines, after = [], {}
    for p, found in reads.items():
        items = names.fresh(f"{p}_items")
        runtime = ast.Name("s2s", ast.Load())
        setattr(runtime, annotations.HELPER, True)  # (the runtime's name in the generated code: pipeline renames it)
        line = ast.Assign(targets=[ast.Name(items, ast.Store())],
                          value=ast.Call(func=ast.Attribute(runtime, "float_items", ast.Load()),
                                         args=[ast.Name(p, ast.Load())], keywords=[]))
        if p in slices:
            after[id(slices[p])] = line
        else:
            lines.append(line)
        for read, _, _ in found:
            index = read.slice.elts if isinstance(read.slice, ast.Tuple) else [read.slice]
            new = ast.Name(items, ast.Load())
            for i in index:
                new = ast.Subscript(value=new, slice=i, ctx=ast.Load())
            ast.copy_location(new, read)
            parent = parents[id(read)]
            for field, value in ast.iter_fields(parent):
                if value is read:
                    setattr(parent, field, new)
                elif isinstance(value, list):
                    value[:] = [new if v is read else v for v in value]
    shown = " and ".join(reads)
    note = Comment(f"the items of {shown} read as Python floats, whose arithmetic is several times faster than NumPy "
                   "scalars' (where one divides by zero, s2s.grad runs again in NumPy numbers)")
    at = 0
    while at < len(fdef.body) and isinstance(fdef.body[at], Comment):
        at += 1
    line = getattr(fdef.body[at] if at < len(fdef.body) else fdef, "lineno", 1)
    fdef.body[at:at] = [note, *lines]
    for s in (note, *lines):
        s.lineno = line
    for k in range(len(fdef.body) - 1, -1, -1):  # (a slice's items after the slice is bound)
        made = after.get(id(fdef.body[k]))
        if made is not None:
            made.lineno = getattr(fdef.body[k], "lineno", line)
            fdef.body.insert(k + 1, made)
    fix_locations(fdef)
