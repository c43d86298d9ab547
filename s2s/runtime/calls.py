"""Calls whose callee is known only when the code runs: a function passed as an argument, held in a
list or dict, returned by a helper, a `functools.partial`, a method of an object passed in.

Generated code calls them through `call_vjp` (reverse mode) and `call_jvp` (forward mode). The
callee is differentiated by s2s itself: a small function `s2s_call(a0, a1, ...)` that calls it is
written (with the callee as a global), and its derivative made by the ordinary pipeline, so a
primitive with a rule gets that rule, a user function (lambda, closure) gets its own derivative,
and anything else is refused with `NoDerivativeRuleError` naming the user's line. Only the
arguments the transform found active (`active`: positions, or keyword names) are differentiated;
the callee itself must be constant (the transform refuses a function that depends on a
differentiated input).

    >>> import numpy as np
    >>> y, pullback = call_vjp(np.sin, -1, (0,), 0.0)
    >>> pullback(2.0)
    (2.0,)
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import linecache
import sys
import types
import weakref

import numpy as np

from s2s import argcheck
from s2s.runtime.structures import is_record, rebuild, set_fields
from s2s.runtime.zero import is_zero
from s2s.tables import Table, lock

_lock = lock


def _forget_source(made):
    """An evicted (objects kept alive, function made) pair: the source registered for it goes too."""
    linecache.cache.pop(made[1].__code__.co_filename, None)


_WRAPPERS_MAX = 256
_wrappers = Table("call wrappers", _WRAPPERS_MAX, _forget_source)  # key -> (objects kept alive, wrapper)
_count = itertools.count()


class LocalCode:
    """The code of a local def or lambda of the user's that generated code makes a function value of
    (`g = s2s.local_function(g_code, (w, b))`): the one named `name` defined at line `line` of the user's
    function `outer`. Generated code holds it in its closure (transforms/refusals.py); `s2s.source`
    prints it as this constructor's call.

        >>> def outer(w):
        ...     return lambda t: w * t
        >>> LocalCode(outer, "<lambda>", outer.__code__.co_firstlineno + 1).names
        ('w',)
    """

    def __init__(self, outer, name: str, line: int, code=None):
        self.outer, self.name, self.line = outer, name, line
        self.code = code if code is not None else _nested_code(outer.__code__, name, line)
        self.globals = outer.__globals__
        self.names = self.code.co_freevars  # the free names, in its closure's order

    def __eq__(self, other):
        return isinstance(other, LocalCode) and other.code is self.code and other.globals is self.globals

    def __hash__(self):
        return hash((id(self.code), id(self.globals)))

    def __deepcopy__(self, memo):  # a record: a copied tree (copy.deepcopy) names the same code and globals
        return self

    def __repr__(self):
        return f"LocalCode({self.outer.__qualname__}, {self.name!r}, {self.line})"


def _nested_code(code, name, line):
    """The code object of the function `name` defined at `line` inside `code` (through nested functions)."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name == name and const.co_firstlineno == line:
                return const
            found = _nested_code(const, name, line)
            if found is not None:
                return found
    return None


def local_function(code: LocalCode, values):
    """The function a local `def` (or lambda) of the user's makes, its closure holding `values` (one per free
    name of its code, in order): s2s reads its source and differentiates it like any function value.

        >>> def outer(w):
        ...     return lambda t: w * t
        >>> local_function(LocalCode(outer, "<lambda>", outer.__code__.co_firstlineno + 1), (3.0,))(2.0)
        6.0
    """
    fn = types.FunctionType(code.code, code.globals, code.code.co_name, None,
                            tuple(types.CellType(v) for v in values))
    fn.__s2s_local_function__ = True  # its adjoint reaches the values it holds (call_closure_vjp accepts it)
    return fn


def _where(site) -> dict:
    """The record of a call site in the user's code (filename, lineno, col, line, text), as generated code
    passes it to call_vjp and its kin; {} where there is none (-1)."""
    return site if isinstance(site, dict) else {}


def _unwrap(f):
    """(the function to call, arguments bound before the call's, keyword arguments bound): partials and
    bound methods of Python functions come apart, so their bound values are passed as constants."""
    args, kwargs = (), {}
    while True:
        if isinstance(f, functools.partial):
            args, kwargs = tuple(f.args) + args, {**f.keywords, **kwargs}
            f = f.func
        elif isinstance(f, types.MethodType) and isinstance(f.__func__, types.FunctionType) and _split_method(f):
            args = (f.__self__,) + args
            f = f.__func__
        elif _callable_object(f):  # layer(x) of an object of your class: its __call__, the object bound first
            args = (f,) + args
            f = type(f).__call__
        else:
            return f, args, kwargs


def _callable_object(f) -> bool:
    """Whether `f` is an object of a class of the user's whose `__call__` is a Python function of theirs
    (a layer object called as `layer(x)`), with no derivative rule of its own."""
    if isinstance(f, type) or isinstance(f, types.FunctionType | types.MethodType | functools.partial):
        return False
    call = inspect.getattr_static(type(f), "__call__", None)
    if not isinstance(call, types.FunctionType):
        return False
    from s2s import frontend, rules
    try:
        if rules.lookup(f) is not None:
            return False
    except TypeError:  # unhashable
        pass
    return frontend.is_user_code(call)


def _split_method(f) -> bool:
    """A bound method of the user's own class comes apart (its function is transformed, the object passed
    as a constant); one with a rule of its own (scipy.stats.norm.logpdf) or of a library's class stays
    whole: its rule is used, or it is refused with a hint that names it."""
    from s2s import frontend, rules
    return rules.lookup(f) is None and frontend.is_user_code(f.__func__)


def _key_of(f):
    """What identifies the callee for the wrapper cache, and the objects the key's ids stand for."""
    if inspect.isbuiltin(f) and getattr(f, "__self__", None) is not None and not inspect.ismodule(f.__self__):
        return ("method", id(f.__self__), f.__name__), (f.__self__,)  # a new object at each `rng.normal`
    if isinstance(f, types.MethodType):  # a new object at each `norm.logpdf`, too
        return ("bound", id(f.__self__), id(f.__func__)), (f.__self__, f.__func__)
    cells = _cell_contents(f) if type(f) is types.FunctionType else None
    if cells is not None:
        # a function made anew at each call of the differentiated one (`act = lambda z: np.tanh(z)`, the
        # generated code's cells its closure) does what its code, globals, defaults and the objects in its
        # cells say: one wrapper (calling the first such object) serves them all, so its derivative is not
        # made again at every call (`_same_function` checks the object kept still has them)
        defaults, kw = f.__defaults__, f.__kwdefaults__
        return ("code", f.__code__, id(f.__globals__), tuple(map(id, cells)), tuple(map(id, defaults or ())),
                tuple((k, id(v)) for k, v in (kw or {}).items()), tuple((k, id(v)) for k, v in f.__dict__.items())), \
            (f, f.__globals__, cells, defaults, kw, dict(f.__dict__))
    return ("f", id(f)), (f,)


def _cell_contents(f):
    """What the cells of `f`'s closure hold now (a tuple), or None where one is empty."""
    try:
        return tuple(c.cell_contents for c in f.__closure__ or ())
    except ValueError:
        return None


def _same_function(kept, f) -> bool:
    """Whether the function kept for a code key still does what `f` does: the same code and globals, and
    the same objects in its cells, defaults, keyword defaults and attributes (s2s's mark of a local function)."""
    g = kept[0]
    if g is f:
        return True
    cells_g, cells_f = _cell_contents(g), _cell_contents(f)
    dg, df = g.__defaults__ or (), f.__defaults__ or ()
    kg, kf = g.__kwdefaults__ or {}, f.__kwdefaults__ or {}
    ag, af = g.__dict__, f.__dict__
    return g.__code__ is f.__code__ and g.__globals__ is f.__globals__ \
        and ag.keys() == af.keys() and all(v is af[k] for k, v in ag.items()) \
        and cells_g is not None and cells_f is not None and len(cells_g) == len(cells_f) \
        and all(a is b for a, b in zip(cells_g, cells_f)) and len(dg) == len(df) \
        and all(a is b for a, b in zip(dg, df)) and kg.keys() == kf.keys() and all(v is kf[k] for k, v in kg.items())


def _wrapper(f, n_const, const_kw, n_args, kwnames):
    """`def s2s_call(c0, .., a0, .., k0, ..): return F(c0, .., a0, .., name=c.., name=k..)` with F = f."""
    key, keep = _key_of(f)
    key = key + (n_const, const_kw, n_args, kwnames)
    with _lock:
        hit = _wrappers.find(key)
        if hit is not None and (key[0] != "code" or _same_function(hit[0], f)):
            return hit[1]
        consts = [f"c{i}" for i in range(n_const)] + [f"ck{i}" for i in range(len(const_kw))]
        params = consts + [f"a{i}" for i in range(n_args)] + [f"k{i}" for i in range(len(kwnames))]
        call_args = [f"c{i}" for i in range(n_const)] + [f"a{i}" for i in range(n_args)]
        call_args += [f"{k}=ck{i}" for i, k in enumerate(const_kw)] + [f"{k}=k{i}" for i, k in enumerate(kwnames)]
        filename = f"<s2s call {next(_count)}>"
        text = f"def s2s_call({', '.join(params)}):\n    return F({', '.join(call_args)})\n"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = {"F": f, "__builtins__": __builtins__, "__name__": "s2s_call"}
        exec(compile(text, filename, "exec", dont_inherit=True), namespace)
        wrapper = namespace["s2s_call"]
        _wrappers.put(key, (keep, wrapper))
        return wrapper


# function -> (its ownership Summary (what it may update; None: unknown), what the summary read: `_reads`)
_UPDATES = Table("summaries of callees", 4096)
_NOT_KEPT = object()
# (function, its summary's id, the callees its entries lead to) -> (those callees, answer, what the answer read:
# `_reads`, the summary)
_SETTLED = Table("callees settled", 4096)


def _reading(make, func):
    """(make(), what it read): the globals, closure cells and functions' code and defaults the names it resolved
    denoted (frontend.recording, as a derivative's cache notes them), so that a summary kept for `func` is made
    again once a helper it reads is redefined (`g = double` after a first call through `h`, which calls `g`)."""
    from s2s import cache, frontend  # (not at the top: s2s.cache reads the rules, which read this module)
    with frontend.recording() as record:
        made = make()
    return made, ((func.__code__, func.__defaults__, func.__kwdefaults__), cache.deps_of(func, record))


def _still(reads, func) -> bool:
    """Whether what `_reading` noted for `func` still holds."""
    cache = sys.modules["s2s.cache"]  # (imported by `_reading`, which made `reads`: no import on each call)
    (code, defaults, kwdefaults), deps = reads
    return func.__code__ is code and func.__defaults__ is defaults and func.__kwdefaults__ is kwdefaults \
        and cache.deps_hold(deps, func)


def _identity(callee):
    """What tells a callee apart (a bound method is made anew at each read: its function and object)."""
    if isinstance(callee, list):
        return tuple(map(_identity, callee))
    if hasattr(callee, "factory"):  # (callees.Returned: what a call of the factory returns)
        return "returned", id(callee.factory)
    if isinstance(callee, types.MethodType):
        return id(callee.__func__), id(callee.__self__)
    return id(callee)


def _summary_of(func, instance=None):
    """transforms/ownership.py's Summary of the Python function `func` (None: not one s2s reads); `instance`: the
    object `func` is called on as a method (its functions held in attributes, `self.act = np.tanh`, then read)."""
    if not isinstance(func, types.FunctionType) or func.__code__.co_filename.startswith("<s2s"):
        return None  # (code s2s wrote: functional by construction)
    # (by the function, and the object it is a method of: closures of one code hold other functions)
    key = func if instance is None else (func, id(instance))
    kept = _UPDATES.find(key, _NOT_KEPT)
    if kept is not _NOT_KEPT and _still(kept[1], func) and (instance is None or kept[2]() is instance):
        return kept[0]
    from s2s import rules
    from s2s.transforms.desugar import callee_summary
    try:
        if rules.lookup(func) is not None:
            return None
    except TypeError:
        return None
    summary, reads = _reading(lambda: callee_summary(func, instance=instance), func)
    _UPDATES.put(key, (summary, reads, None if instance is None else _reference(instance)))
    return summary


def _reference(obj):
    """A weak reference to `obj`, or a strong one where it takes none (`__slots__` without `__weakref__`)."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


def _method_object(func, const):
    """The object `func` was bound to as its method (`net.forward`, `layer(x)`'s `__call__`): the first constant
    `_unwrap` took off, where `func` is a function of its class; else None."""
    if not const or not isinstance(func, types.FunctionType):
        return None
    held = inspect.getattr_static(type(const[0]), func.__name__, None)
    return const[0] if getattr(held, "__func__", held) is func else None


def _updated_params(func, bound: dict, roots=None, summary=_NOT_KEPT):
    """(the parameters the Python function `func` may update in place, called with the values `bound` to its
    parameters, the names of the functions it is given that make the change): transforms/ownership.py's
    summary, its calls of a function or object it is given settled by what it is given (transforms/callees.py)."""
    summary = _summary_of(func) if summary is _NOT_KEPT else summary  # (its caller may have read it)
    if summary is None:
        return None, []
    if not summary.deferred:
        return summary.updated_params, []
    from s2s.transforms import callees
    from s2s.transforms.desugar import callee_reader
    defaults = {p: v.default for p, v in inspect.signature(func).parameters.items()
                if v.default is not inspect.Parameter.empty}

    followed = [callees.follow(bound[e.root] if e.root in bound else defaults[e.root], e.steps)
                if (e.root in bound or e.root in defaults) and (roots is None or e.root in roots)
                else callees.UNKNOWN if roots is None else None for e in summary.deferred]
    # (settled once per callee and what the entries lead to: a call in a loop reads no summary again)
    # (the summary too: a method's for the object it is called on differs from its class's, `_summary_of`)
    key = (func, id(summary), *map(_identity, followed))
    kept = _SETTLED.find(key, None)
    if kept is not None and kept[3] is summary and _still(kept[2], func):  # (the callees it holds are alive: an
        return kept[1]                     # equal key is of the same objects; what their summaries read is checked)
    reader = callee_reader()

    def settled():
        found = [set() if c is None else callees.changed_keys(c, reader) for c in followed]  # (None: settled before)
        first = next(iter(inspect.signature(func).parameters), None) if "." in func.__qualname__ else None
        through = [_callee_name(c, reader) + _how_reached(c, e, first)
                   for c, e, keys in zip(followed, summary.deferred, found) if keys is callees.ALL or keys]
        return callees.settle(summary, lambda entry: found[summary.deferred.index(entry)]).updated_params, through

    answer, reads = _reading(settled, func)
    _SETTLED.put(key, (followed, answer, reads, summary))
    return answer


def _callee_name(callee, reader) -> str:
    """The callee a deferred entry led to, as a message names it: a function's or class's name; of the items a loop
    reaches (`for layer in self.layers`), those that change something."""
    from s2s.transforms import callees
    if isinstance(callee, callees.Each):
        changing = [c for c in callee if callees.changed_keys(c, reader)]
        return " and ".join(dict.fromkeys(_callee_name(c, reader) for c in changing or callee)) or "its items"
    function = getattr(callee, "__func__", callee)
    return getattr(function, "__qualname__", None) or f"a {type(callee).__name__}"


def _how_reached(callee, entry, first) -> str:
    """How a method reaches the `callee` of its deferred `entry` (`first`: its object's parameter, None for a
    function that is no method), as the message says it: given, held by its object, or its object's method."""
    if entry.root != first or not entry.steps:
        return ", which it is given"
    bound = _method_object(getattr(callee, "__func__", None), (getattr(callee, "__self__", None),))
    return ", a method of its object" if bound is not None else ", which its object holds"


def _first_argument_changed(func) -> tuple[str, str] | None:
    """(its name, the hint) for a library function `func` that changes its first argument in place: a ufunc's
    `at` (np.add.at) or one whose facts say so (np.copyto, np.put, list.sort: s2s/rules `mutates`), else None."""
    owner = getattr(func, "__self__", None)
    if isinstance(owner, np.ufunc) and getattr(func, "__name__", "") == "at":
        name = f"np.{owner.__name__}.at"
        if owner not in (np.add, np.subtract):
            return name, (f"write it as a loop over the indices: `for k in range(len(i)): a[i[k]] = "
                          f"np.{owner.__name__}(a[i[k]], v[k])`")
        return name, (f"call {name} by its name in the differentiated function, as a statement of its own "
                      f"(`{name}(a, i, v)` is differentiated so)")
    from s2s import rules
    from s2s.transforms.ownership import changes_anything
    if changes_anything(func):  # (`operator.setitem`, `setattr`: they change their first argument)
        name = getattr(func, "__name__", "it")
        return name, f"write the change as an assignment (`a[i] = v`) instead of calling {name}"
    try:
        record = rules.record(func)
    except TypeError:  # unhashable
        return None
    if record is None or record.mutates is None:
        return None
    return record.name, record.mutates


def _refuse_updates(func, const, const_kw, args, kwargs, site, passed_on=None, its_object=False):
    """A function value that updates an argument in place: Python changes the caller's array, s2s's
    derivative code would not (and a later read would differ), so it is refused at the user's line.
    `passed_on`: only the updates made through the function values it is given at these parameters (its summary's
    deferred calls), the others being checked by transforms/ownership.py and copied (`call_copied`). `its_object`:
    a method's updates are those of the object it is bound to (where the call runs as it is, `call_plain`; a
    derivative's wrapper reads the method's class)."""
    passed_on_only = passed_on is not None
    changed = None if passed_on_only else _first_argument_changed(func)
    if isinstance(func, np.ufunc) and not passed_on_only and (len(const) + len(args) > func.nin or "out" in kwargs or "out" in const_kw):
        changed = f"np.{func.__name__}", f"leave the output array out and assign the result of np.{func.__name__}"
    if changed is not None and (const or args):
        _refuse_at_site(site, f"s2s cannot differentiate this call: the function it calls at run time ({changed[0]}) "
                              "changes its first argument in place, which s2s's derivative code does not follow "
                              "through a function value", changed[1])
    summary = _summary_of(func)
    if summary is not None and summary.changes_outside and func.__closure__ and not passed_on_only:
        # (`lambda: double(w)` of a w it captured: the change of w carries no derivative, and values read before
        # the call would change under the backward sweep)
        _refuse_at_site(site, f"s2s cannot differentiate this call: the function it calls at run time "
                              f"({func.__qualname__}) {summary.changes_outside}, which s2s's derivative code does not "
                              "follow", "pass the value to the function as an argument and return the new value from it")
    try:
        bound = inspect.signature(func).bind_partial(*const, *args, **{**const_kw, **kwargs}).arguments
    except (TypeError, ValueError):
        return
    updated, through = _updated_params(func, bound, passed_on, summary)
    if passed_on_only and updated and summary is not None:
        updated = updated - summary.certain
    if not updated:
        return
    hit = sorted(p for p in bound if p in updated)
    instance = _method_object(func, const) if hit and its_object else None
    if instance is not None:  # (a method reading what its object holds, `self.act = np.tanh`: that object's)
        held, _ = _updated_params(func, bound, passed_on, _summary_of(func, instance))
        hit = [p for p in hit if held is None or p in held]
    if hit:
        how = f" (through {'; '.join(dict.fromkeys(through))})" if through else ""
        _refuse_at_site(site, f"s2s cannot differentiate this call: the function it calls at run time "
                              f"({func.__qualname__}) updates its argument `{hit[0]}` in place{how}, which in Python "
                              "changes the caller's value too",
                        f"make {func.__name__} return the new value instead of updating `{hit[0]}` (e.g. `{hit[0]} = "
                        f"{hit[0]} + ...` instead of `{hit[0]} += ...`), or copy the argument inside it first")


def _refuse_at_site(site, message, hint, error=None):
    """Raise UnsupportedSyntaxError(message) (or `error`, another S2SError class) at the user's call `site` (a record
    generated code passes)."""
    from s2s.errors import UnsupportedSyntaxError
    where = _where(site)
    raise (error or UnsupportedSyntaxError)(message, filename=where.get("filename"), lineno=where.get("lineno"),
                                 col=where.get("col"), line=where.get("line"), hint=hint)


def call_copied(f, site, updated, unseen, /, *args, **kwargs):
    """`f(*args, **kwargs)` given copies of the arguments it updates in place (`updated`: their positions and
    keyword names; None: any), for a call of your function run as it is by the derivative (transforms/raw_calls.py):
    the values read before the call, which the backward sweep reads later, stay as they were read. The copies are
    made together, and an argument that is (or holds) one of the copied objects is given its copy; one that shares
    memory with a copied array otherwise (a view), or an object that cannot be copied, is refused at your line. What
    `f` does with the function values it is given at its parameters `unseen` (which only the run can tell) is checked
    first, as `call_plain` checks it.

        >>> def double(a): a *= 2.0; return a
        >>> w = np.ones(2); call_copied(double, None, (0,), (), w); w
        array([1., 1.])
    """
    if unseen:
        func, const, const_kw = _unwrap(f)
        _refuse_updates(func, const, const_kw, args, kwargs, site, passed_on=frozenset(unseen))
    memo: dict = {}
    arrays: list = []
    try:
        new_args = [_copied(a, memo, arrays) if updated is None or i in updated else a for i, a in enumerate(args)]
        new_kwargs = {k: _copied(v, memo, arrays) if updated is None or k in updated else v for k, v in kwargs.items()}
    except TypeError as exc:  # (`copy.deepcopy` of a lock, a generator)
        _refuse_copy(f, site, f"an argument it updates cannot be copied ({exc})")
    new_args = [a if updated is None or i in updated else _rebuilt(a, memo, arrays, f, site)
                for i, a in enumerate(new_args)]
    new_kwargs = {k: v if updated is None or k in updated else _rebuilt(v, memo, arrays, f, site)
                  for k, v in new_kwargs.items()}
    for i, a in enumerate(arrays):
        if any(np.may_share_memory(a, b) for b in arrays[i + 1:]):
            _refuse_copy(f, site, "two of the arrays it is given are views of one another, which s2s's copies of "
                                  "them would not be")
    return _checked_result(f(*new_args, **new_kwargs), f, site)


def _checked_result(out, f, site):
    """`out`, the result of your function `f` run as it is, unless it is (or holds) a value s2s refuses
    (argcheck.refused_kind: a masked array, an array whose class redefines `dot`...), which the derivative code
    would read as a NumPy array: refused at the call."""
    if type(out) is np.ndarray or type(out) is float:
        return out
    kind = argcheck.refused_kind(out)
    if kind is not None:
        from s2s.errors import NoDerivativeRuleError
        _refuse_at_site(site, f"s2s cannot differentiate past this call: {getattr(f, '__qualname__', f)} returns "
                              f"{kind}, {argcheck.WHY_REFUSED}", f"return plain arrays: {argcheck.plain_hint('v')}",
                        NoDerivativeRuleError)
    return out


def _refuse_copy(f, site, why):
    _refuse_at_site(site, f"s2s cannot differentiate this call: {getattr(f, '__qualname__', f)} updates an argument "
                          f"in place, and {why}",
                    "pass copies (`v.copy()`) of what the function changes, or make it return the new value instead")


def _copied(value, memo, arrays):
    """A copy of `value` (arrays copied, lists, tuples and dicts with copies of what they hold, of their own
    class; other objects as `copy.deepcopy` copies them), sharing `memo` with the other arguments; the original
    arrays met go in `arrays`."""
    import copy
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, np.ndarray):
        arrays.append(value)
        out = value.copy()
    elif isinstance(value, list):
        out = memo[id(value)] = copy.copy(value)
        out[:] = [_copied(v, memo, arrays) for v in value]
    elif type(value) is tuple:
        out = tuple(_copied(v, memo, arrays) for v in value)
    elif isinstance(value, dict):
        out = memo[id(value)] = copy.copy(value)
        out.update((k, _copied(v, memo, arrays)) for k, v in value.items())
    elif isinstance(value, int | float | complex | str | bytes | bool | np.generic) or value is None:
        return value
    else:
        out = copy.deepcopy(value, memo)
        arrays.extend(_arrays_held(value))
    memo[id(value)] = out  # (ids stay unique: the call's own arguments keep the originals alive)
    return out


def _rebuilt(value, memo, arrays, f, site, depth=0):
    """An argument `f` only reads: itself, or, where it is (or holds, in a list, tuple or dict) an object copied for
    another argument, with the copy in its place; refused where it holds a view of a copied array otherwise."""
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, np.ndarray | np.generic):
        if isinstance(value, np.ndarray) and any(np.may_share_memory(value, a) for a in arrays):
            _refuse_copy(f, site, "another argument is a view of an array it changes, which s2s's copy would not be")
        return value
    if depth > 8:
        return value
    if type(value) in (list, tuple):
        items = [_rebuilt(v, memo, arrays, f, site, depth + 1) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else type(value)(items)
    if type(value) is dict:
        items = {k: _rebuilt(v, memo, arrays, f, site, depth + 1) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    held = _arrays_held(value)
    if any(np.may_share_memory(h, a) for h in held for a in arrays) or any(id(h) in memo for h in held):
        _refuse_copy(f, site, "another argument holds an array it changes, which s2s's copy would not be")
    return value


def _arrays_held(value, depth=0):
    """The arrays an object holds in its attributes, lists, tuples and dicts (a few levels deep)."""
    if isinstance(value, np.ndarray):
        return [value]
    if depth > 4 or isinstance(value, int | float | complex | str | bytes | bool | np.generic) or value is None:
        return []
    if isinstance(value, list | tuple):
        parts = value
    elif isinstance(value, dict):
        parts = list(value.values())
    elif isinstance(value, functools.partial):
        parts = [*value.args, *value.keywords.values()]
    elif isinstance(value, types.MethodType | types.BuiltinMethodType):  # (`w.sum`: its array)
        parts = [] if isinstance(value.__self__, types.ModuleType) else [value.__self__]
    elif isinstance(value, types.FunctionType):  # (`lambda: np.sum(w)` reads the w it captured)
        parts = [_cell_value(c) for c in value.__closure__ or ()]
    else:
        parts = list(getattr(value, "__dict__", {}).values()) if not isinstance(value, type) else []
    return [a for p in parts for a in _arrays_held(p, depth + 1)]


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:  # (an empty cell)
        return None


def call_plain(f, site, /, *args, **kwargs):
    """`f(*args, **kwargs)` for a call through a function value whose arguments carry no derivative: run as
    written, once s2s has checked that a Python function there updates none of them in place (the
    derivative code reads those values later)."""
    func, const, const_kw = _unwrap(f)
    _refuse_updates(func, const, const_kw, args, kwargs, site, its_object=True)
    return _checked_result(f(*args, **kwargs), f, site)


def _plan(f, active, args, kwargs, site=-1):
    """(wrapper, its arguments, wrt parameter names in the order of `active`)."""
    func, const, const_kw = _unwrap(f)
    _refuse_updates(func, const, const_kw, args, kwargs, site)
    const_kw = {k: v for k, v in const_kw.items() if k not in kwargs}
    kwnames = tuple(kwargs)
    wrapper = _wrapper(func, len(const), tuple(const_kw), len(args), kwnames)
    values = list(const) + list(const_kw.values()) + list(args) + list(kwargs.values())
    offset = len(const) + len(const_kw)
    wrt = tuple(f"a{a}" if isinstance(a, int) else f"k{kwnames.index(a)}" for a in active)
    del offset
    return wrapper, values, wrt


def _refuse_at(exc, site, f):
    """`exc` (raised making the wrapper's derivative) moved to the user's call site."""
    from s2s.errors import S2SError
    if not isinstance(exc, S2SError) or not str(getattr(exc, "filename", "") or "").startswith("<s2s call"):
        return exc
    where = _where(site)
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or type(f).__name__
    message = f"{exc.message} (called at run time through `{where.get('text', '?')}`, which is {name})"
    return type(exc)(message, filename=where.get("filename"), lineno=where.get("lineno"), col=where.get("col"),
                     line=where.get("line"), hint=exc.hint)


_fast = Table("plain callees", 512)  # (id(f), form, the arguments' types (and their lists' first items'), keyword
# names, active) -> (f, entry, wrt)


def _entry_for(f, site, active, args, kwargs, form):
    """(the derivative of the call's wrapper, bound and fresh, the wrapper's arguments). A callee that is
    its own function (no partial or method to take apart) is remembered by identity, so a call in a loop
    skips the planning (the entry is still checked fresh)."""
    kinds = tuple(map(type, args))  # (the code is made for the records it is given, and the lists of them)
    if list in kinds or tuple in kinds:
        kinds += tuple(type(a[0]) for a in args if type(a) in (list, tuple) and a)
    key = (id(f), form, kinds, tuple(kwargs), active)
    hit = _fast.find(key)
    if hit is not None and hit[0] is f and hit[1].fresh():
        return hit[1], (*args, *kwargs.values())
    from s2s import api
    wrapper, values, wrt = _plan(f, active, args, kwargs, site)
    try:  # (records with methods or properties of yours: `self.area` read as a call of its getter)
        entry = api._entry(wrapper, wrt, form, records=api._record_params(wrapper, values, None, wrt))
        if form == "jvp" and not hasattr(entry.fn, "__s2s_tangent_names__"):
            names = _tangent_names(wrapper, wrt)
            entry.fn.__s2s_tangent_names__ = tuple(names[w] for w in wrt)
    except Exception as exc:  # noqa: BLE001 - a refusal inside the wrapper is reported at the user's line
        raise _refuse_at(exc, site, f) from None
    if len(values) == len(args) + len(kwargs) and _unwrap(f)[0] is f:
        _fast.put(key, (f, entry, wrt))
    return entry, values


def call_vjp(f, site, active, /, *args, **kwargs):
    """`(f(*args, **kwargs), pullback)`; `pullback(g)` is the tuple of the gradients of the arguments
    named in `active` (positions of `args`, names in `kwargs`), in that order."""
    entry, values = _entry_for(f, site, active, args, kwargs, "split")
    return entry.fn(*values)


def call_jvp(f, site, active, tangents, /, *args, **kwargs):
    """`(f(*args, **kwargs), its tangent)` for the tangents `tangents` of the arguments named in `active`."""
    entry, values = _entry_for(f, site, active, args, kwargs, "jvp")
    names = entry.fn.__s2s_tangent_names__
    return entry.fn(*values, **{name: t for name, t in zip(names, tangents)})


def _flatten(layout, values):
    """The positional arguments, keyword arguments and, for each value, where its parts went."""
    args, kwargs, where = [], {}, []
    for kind, v in zip(layout, values):
        if kind == "":
            where.append(("p", len(args)))
            args.append(v)
        elif kind == "*":
            items = list(v)
            where.append(("*", list(range(len(args), len(args) + len(items)))))
            args.extend(items)
        elif kind == "**":
            where.append(("**", list(v)))
            for k in v:
                if k in kwargs:
                    raise TypeError(f"got multiple values for keyword argument {k!r}")
                kwargs[k] = v[k]
        else:
            if kind[1:] in kwargs:
                raise TypeError(f"got multiple values for keyword argument {kind[1:]!r}")
            where.append(("k", kind[1:]))
            kwargs[kind[1:]] = v
    return args, kwargs, where


def _flat_active(where, active):
    """The flat positions / keyword names of the active values' parts."""
    out = []
    for i in active:
        kind, at = where[i]
        out.extend(at if kind in ("*", "**") else [at])
    return tuple(out)


def _regroup(where, active, values, flat_grads):
    """The flat gradients put back together per active value: a starred one's as its type (tuple, list,
    array), a `**` dict's as a dict."""
    from s2s.runtime.adjoint import finish
    out, k = [], 0
    for i in active:
        kind, at = where[i]
        if kind in ("*", "**"):
            parts = flat_grads[k:k + len(at)]
            k += len(at)
            v = values[i]
            if kind == "**":
                out.append(dict(zip(at, parts)))
            elif isinstance(v, list | tuple):
                out.append(type(v)(parts) if type(v) in (list, tuple) else tuple(parts))
            else:  # an array unpacked by its rows
                import numpy as np
                out.append(finish(np.stack([np.asarray(p) * np.ones(np.shape(r)) for p, r in zip(parts, v)])
                                  if parts else np.zeros_like(v, dtype=float), v))
        else:
            out.append(flat_grads[k])
            k += 1
    return tuple(out)


def call_star_vjp(f, site, layout, active, /, *values):
    """`call_vjp` of a call written with `*xs` or `**d`: `layout` says how each value is passed ('' positional,
    '*' unpacked, '=name' by keyword, '**' a dict unpacked); `active` lists the differentiated values.
    The pullback returns one gradient per active value (a tuple for `*xs`, a dict for `**d`)."""
    args, kwargs, where = _flatten(layout, values)
    flat = _flat_active(where, active)
    value, pullback = call_vjp(f, site, flat, *args, **kwargs)

    def star_pullback(g):
        return _regroup(where, active, values, pullback(g))

    return value, star_pullback


def call_star_jvp(f, site, layout, active, tangents, /, *values):
    """`call_jvp` of a call written with `*xs` or `**d` (see call_star_vjp)."""
    args, kwargs, where = _flatten(layout, values)
    flat = _flat_active(where, active)
    flat_tangents = []
    for i, t in zip(active, tangents):
        kind, at = where[i]
        if kind == "*":
            flat_tangents.extend(list(t) if len(at) else [])
        elif kind == "**":
            flat_tangents.extend(t[k] for k in at)
        else:
            flat_tangents.append(t)
    return call_jvp(f, site, flat, tuple(flat_tangents), *args, **kwargs)


def call_jvp_of_jvp(f, site, active, tangents, active2, tangents2, tangents_dot, /, *args, **kwargs):
    """The tangent of `call_jvp(f, site, active, tangents, *args, **kwargs)` itself (forward over forward:
    Hessians through a function value): `call_jvp` of the generated tangent function of the call, along
    `tangents2` of the arguments `active2` names and `tangents_dot` of `tangents` (None: constant)."""
    entry, values = _entry_for(f, site, active, args, kwargs, "jvp")
    jf = entry.fn
    names = jf.__s2s_tangent_names__
    # (the tangents of the tangents, a structure's zero leaves as zeros of their leaves' shapes: the tangent code
    # reads a part of a structure's tangent, `W_dot_dot` of `for W, b in params`, as an array)
    given = [args[a] if isinstance(a, int) else kwargs[a] for a in active]
    tangents_dot = None if tangents_dot is None else tuple(_dense_leaves(t, v) for t, v in zip(tangents_dot, given))
    offset = len(values) - len(args) - len(kwargs)
    kwnames = tuple(kwargs)
    where = tuple(offset + a if isinstance(a, int) else offset + len(args) + kwnames.index(a) for a in active2)
    outer = where + (names if tangents_dot is not None else ())
    outer_tangents = tuple(tangents2) + (tuple(tangents_dot) if tangents_dot is not None else ())
    return call_jvp(jf, site, outer, outer_tangents, *values, **dict(zip(names, tangents)))


def _dense_leaves(t, value):
    """The tangent `t` of `value` with each zero leaf (0.0, of an array or number of a list, tuple or dict) an array
    of zeros of that leaf's shape, a number's zero a 0.0.

        >>> _dense_leaves([0.0, 1.0], [np.ones(2), 3.0])
        [array([0., 0.]), 1.0]
    """
    if is_record(value):  # (a namedtuple's or dataclass's tangent: a record of its type, its fields dense)
        return rebuild(value, {n: _dense_leaves(getattr(t, n) if is_record(t) else t, getattr(value, n))
                               for n in set_fields(value)})
    if isinstance(value, list | tuple):
        parts = t if isinstance(t, list | tuple) else [t] * len(value)
        return [_dense_leaves(a, b) for a, b in zip(parts, value)]
    if isinstance(value, dict):
        return {k: _dense_leaves(t[k] if isinstance(t, dict) else t, v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and is_zero(t):
        return np.zeros(value.shape, value.dtype if value.dtype.kind in "fc" else np.float64)
    return t


def _tangent_names(wrapper, wrt):
    from s2s import pipeline
    return pipeline.derivative_code(wrapper, wrt, "jvp", True).tangent_names


class FunctionAdjoint(dict):
    """The adjoint of a function value (a closure): free-variable name -> the adjoint of the value its cell
    holds. It is a dict, so s2s.add joins two key by key, s2s.part reads one (a missing name: zero) and
    the zero adjoint stands for a closure nothing reached.

    >>> FunctionAdjoint(c=2.0)
    FunctionAdjoint({'c': 2.0})
    """

    def __repr__(self):
        return f"FunctionAdjoint({dict.__repr__(self)})"


def function_adjoint_parts(g, names):
    """The adjoints of the values a closure holds (free names `names`, or those of a LocalCode), read from the
    closure's adjoint `g` (a FunctionAdjoint, or the zero adjoint when nothing reached the closure).

    >>> function_adjoint_parts(FunctionAdjoint(c=2.0), ("c", "d"))
    (2.0, 0.0)
    """
    if not isinstance(g, dict):
        g = {}
    return tuple(g.get(n, 0.0) for n in getattr(names, "names", names))


_lifts = Table("lifted closures", _WRAPPERS_MAX, _forget_source)  # key -> (objects kept alive, lifted function)


def _cell_kind(v, depth=0):
    """'d' a value differentiated (a float number or array), 'c' one that carries no derivative, None one
    s2s cannot tell (a container, an object, a function holding differentiable values)."""
    import numbers

    import numpy as np
    if isinstance(v, bool | int | str | bytes | type(None) | types.ModuleType | type) or inspect.isbuiltin(v) \
            or isinstance(v, np.ufunc):
        return "c"
    if isinstance(v, np.ndarray):
        return "d" if v.dtype.kind == "f" else ("c" if v.dtype.kind in "biu" else None)
    if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral):
        return "d"
    if isinstance(v, np.integer):
        return "c"
    if isinstance(v, types.FunctionType) and depth < 8:
        if v.__defaults__ or v.__kwdefaults__:
            return None
        kinds = [_cell_kind(c.cell_contents, depth + 1) for c in (v.__closure__ or ())]
        return "c" if all(k == "c" for k in kinds) else None
    return None


def _lifted(f, n_args, kwnames):
    """(`def s2s_lift(<free names>, s2s_a0.., s2s_k0..)` holding the closure `f`'s own source as a local
    function and returning its call, so its free variables are parameters that can be differentiated)."""
    from s2s import frontend
    code = f.__code__
    key = (id(code), id(f.__globals__), n_args, kwnames)
    hit = _lifts.find(key)
    if hit is not None:
        return hit[1]
    tree = frontend.parse_function(f).tree
    inner = code.co_name if code.co_name.isidentifier() else "s2s_inner"
    tree.name = inner
    if tree.decorator_list or inner in code.co_freevars:
        return None
    frees = list(code.co_freevars)
    params = frees + [f"s2s_a{i}" for i in range(n_args)] + [f"s2s_k{i}" for i in range(len(kwnames))]
    call = [f"s2s_a{i}" for i in range(n_args)] + [f"{k}=s2s_k{i}" for i, k in enumerate(kwnames)]
    body = "\n".join("    " + line for line in ast.unparse(tree).splitlines())
    filename = f"<s2s closure {next(_count)}>"
    text = f"def s2s_lift({', '.join(params)}):\n{body}\n    return {inner}({', '.join(call)})\n"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    module = compile(text, filename, "exec", dont_inherit=True)
    lift_code = next(c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == "s2s_lift")
    lift = types.FunctionType(lift_code, f.__globals__, "s2s_lift")
    _lifts.put(key, ((code, f.__globals__), lift))
    return lift


def _refuse_closure(site, why, hint):
    from s2s.errors import UnsupportedSyntaxError
    where = _where(site)
    raise UnsupportedSyntaxError(
        f"s2s cannot differentiate this call through a function value that depends on the differentiated input: "
        f"{why}", filename=where.get("filename"), lineno=where.get("lineno"), col=where.get("col"),
        line=where.get("line"), hint=hint)


def _made_by_local_function(f) -> bool:
    """`f` was made by s2s.local_function (so the adjoint of the values it holds reaches them)."""
    return getattr(f, "__s2s_local_function__", False) is True


def _as_positional(f, args, kwargs, active, site, hint):
    """The call's keyword arguments put at their parameters' positions (and `active` renumbered), for a
    function of plain parameters."""
    params = list(inspect.signature(f).parameters.values())
    if any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
        _refuse_closure(site, f"{f.__qualname__} has parameters other than plain ones, and it is called with "
                              "keyword arguments", hint)
    try:
        bound = inspect.signature(f).bind(*args, **kwargs).arguments
    except TypeError as exc:
        raise TypeError(f"{f.__qualname__}(): {exc}") from None
    names = [p.name for p in params]
    position = {a: a if isinstance(a, int) else names.index(a) for a in active}
    return tuple(bound[n] for n in names), {}, tuple(position[a] for a in active)


def _closure_entry(f, site, active, args, kwargs, form):
    """(the derivative `form` of the closure `f` lifted (its free variables as parameters) or None when nothing
    is differentiated, the lifted function's arguments, the differentiated free names, `active` by position)."""
    hint = "pass those values to the function as arguments instead of capturing them (def f(w, x) rather " \
           "than a closure or functools.partial over w)"
    if not isinstance(f, types.FunctionType):
        if isinstance(type(f).__dict__.get("__call__") or inspect.getattr_static(type(f), "__call__", None),
                      types.FunctionType):  # (an object of yours: its method, through its class, is read)
            hint = f"call its method through its class, `{type(f).__name__}.__call__(obj, ...)` (with the object " \
                   "first), which s2s reads like any function of yours"
        _refuse_closure(site, f"it is a {type(f).__name__} (s2s differentiates through the values held by "
                              "closures only)", hint)
    if not _made_by_local_function(f):  # its adjoint flows back only through s2s.local_function's rule
        _refuse_closure(site, f"{f.__qualname__} was not made by a def or lambda of yours that s2s "
                              "differentiated (a library's function, or one made outside)", hint)
    if f.__defaults__ or f.__kwdefaults__:
        _refuse_closure(site, f"{f.__qualname__} has default values (evaluated where it was made)", hint)
    frees = f.__code__.co_freevars
    cells = {}
    for name, cell in zip(frees, f.__closure__ or ()):
        try:
            cells[name] = cell.cell_contents
        except ValueError:
            _refuse_closure(site, f"the variable `{name}` of {f.__qualname__} is not bound yet", hint)
    diff = []
    for name, v in cells.items():
        kind = _cell_kind(v)
        if kind is None:
            _refuse_closure(site, f"{f.__qualname__} holds `{name}`, a {type(v).__name__}, and s2s differentiates "
                                  "through float numbers and arrays a closure holds only", hint)
        if kind == "d":
            diff.append(name)
    _refuse_updates(f, (), {}, args, kwargs, site)
    if kwargs:  # by position: the closure's source is expanded where the lifted function calls it
        args, kwargs, active = _as_positional(f, args, kwargs, active, site, hint)
    lift = _lifted(f, len(args), ())
    if lift is None:
        _refuse_closure(site, f"{f.__qualname__} is decorated or refers to itself", hint)
    wrt = tuple(f"s2s_a{a}" for a in active) + tuple(diff)
    values = [cells[n] for n in frees] + list(args)
    if not wrt:
        return None, values, diff, active
    from s2s import api
    try:
        entry = api._entry(lift, wrt, form)
        if form == "jvp" and not hasattr(entry.fn, "__s2s_tangent_names__"):
            names = _tangent_names(lift, wrt)
            entry.fn.__s2s_tangent_names__ = tuple(names[w] for w in wrt)
    except Exception as exc:  # noqa: BLE001 - a refusal inside the closure is reported at the user's line
        from s2s.errors import S2SError
        if isinstance(exc, S2SError) and str(getattr(exc, "filename", "") or "").startswith("<s2s closure"):
            where = _where(site)
            raise type(exc)(f"{exc.message} (in {f.__qualname__}, called at run time through "
                            f"`{where.get('text', '?')}`)", filename=where.get("filename"),
                            lineno=where.get("lineno"), col=where.get("col"), line=where.get("line"),
                            hint=exc.hint) from None
        raise
    return entry, values, diff, active


def _holds_nothing(f) -> bool:
    """Whether the function value `f`, read from a differentiated value (a field of a record, an item of a
    list), holds no value at all, so none that is differentiated: a ufunc, a module's builtin function, or a
    Python function without closure cells or defaults (`np.tanh`, `relu` of your module). Its call is then any
    call through a function value."""
    if isinstance(f, np.ufunc):
        return True
    from s2s import rules
    try:
        if rules.lookup(f) is not None and not isinstance(f, types.MethodType):  # (np.sort, np.linalg.norm)
            return True
    except TypeError:  # (unhashable)
        return False
    if isinstance(f, types.BuiltinFunctionType):
        return f.__self__ is None or isinstance(f.__self__, types.ModuleType)
    return isinstance(f, types.FunctionType) and not f.__closure__ and not f.__defaults__ and not f.__kwdefaults__


def call_closure_vjp(f, site, active, /, *args, **kwargs):
    """`call_vjp` of a call through a function value that depends on the differentiated input: a closure
    whose cells hold differentiated values. `f`'s code is differentiated with its free variables as extra
    parameters; the pullback returns the gradients of the arguments `active` names, then the closure's
    adjoint (a FunctionAdjoint of its float cells). Only closures s2s.local_function made are accepted.
    """
    if _holds_nothing(f):  # (`fn = p.f` of a record holding np.tanh: no value of it is differentiated)
        value, pullback = call_vjp(f, site, active, *args, **kwargs)
        return value, lambda g: (*pullback(g), FunctionAdjoint())
    entry, values, diff, active = _closure_entry(f, site, active, args, kwargs, "split")
    if entry is None:
        return f(*args, **kwargs), lambda g: (FunctionAdjoint(),)
    value, pullback = entry.fn(*values)
    n = len(active)

    def closure_pullback(g):
        grads = pullback(g)
        return tuple(grads[:n]) + (FunctionAdjoint(zip(diff, grads[n:])),)

    return value, closure_pullback


def function_tangent(tangents, names):
    """The tangent of a closure s2s.local_function makes: a FunctionAdjoint of the tangents of the values it
    holds (`tangents`, one per free name in `names` -- a LocalCode's, or a tuple -- or the zero tangent).

    >>> function_tangent((1.0, 0.0), ("c", "d"))
    FunctionAdjoint({'c': 1.0, 'd': 0.0})
    """
    if not isinstance(tangents, tuple | list):
        return FunctionAdjoint()
    return FunctionAdjoint(zip(getattr(names, "names", names), tangents))


def _dense_tangent(t, v):
    """`t`, or zeros shaped like the array `v` where `t` is the number 0 (a tangent nothing reached)."""
    import numpy as np
    if isinstance(t, float | int) and t == 0 and np.ndim(v):
        return np.zeros_like(v, dtype=v.dtype if np.asarray(v).dtype.kind == "f" else float)
    return t


def call_closure_jvp(f, site, active, tangents, f_tangent, /, *args, **kwargs):
    """`call_jvp` of a call through a closure that depends on the differentiated input: the tangents of the
    arguments `active` names, and the closure's own tangent `f_tangent` (a FunctionAdjoint of its cells'
    tangents; a missing name, or the zero tangent, is zero)."""
    if _holds_nothing(f):
        return call_jvp(f, site, active, tangents, *args, **kwargs)
    entry, values, diff, active = _closure_entry(f, site, active, args, kwargs, "jvp")
    if entry is None:
        value = f(*args, **kwargs)
        return value, _dense_tangent(0.0, value)
    held = f_tangent if isinstance(f_tangent, dict) else {}
    cells = dict(zip(f.__code__.co_freevars, values))
    cell_tangents = tuple(_dense_tangent(held.get(n, 0.0), cells[n]) for n in diff)
    names = entry.fn.__s2s_tangent_names__
    return entry.fn(*values, **dict(zip(names, tuple(tangents) + cell_tangents)))
