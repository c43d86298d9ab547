"""Helpers of the caller's module adopted as local helpers, so that their code is specialised with the
caller's (shapes known through them, no pullback closure and no separate derivative per call).

`log_softmax(logits)` with `def log_softmax(x): return x - logsumexp(x)` and
`def logsumexp(x, axis=-1): ...` beside it: both are copied into the caller, `logsumexp` expanded inside
`log_softmax` first (helpers of helpers, callees before callers), its `axis` taken from its default
where a call leaves it out. A helper is adopted only where expanding it certainly means what calling it
does; anything else stays a call with its own derivative.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import copy
import math
import types

import numpy as np

from . import annotations
from .context import ctx
from .names import BUILTINS_WRITTEN, global_object
from .walk import fix_locations, walk

__all__ = ["adopt_module_helpers", "adopted_in_this_build", "fallback_note", "without_adoption"]

_ENABLED = contextvars.ContextVar("adopting_module_helpers", default=True)
_ADOPTED = contextvars.ContextVar("helpers_adopted", default=None)  # a list the build that asks gives
_WHY_NOT = contextvars.ContextVar("helpers_not_adopted", default=None)  # (the function, the note to print)


@contextlib.contextmanager
def adopted_in_this_build():
    """Collects the names of the helpers adopted while the block runs (a list it yields)."""
    found = []
    token = _ADOPTED.set(found)
    try:
        yield found
    finally:
        _ADOPTED.reset(token)


@contextlib.contextmanager
def without_adoption(func=None, why=None):
    """No module helper is adopted while the block runs: each stays a call with its own derivative (what the
    pipeline falls back to where the expanded code is refused but the calls may not be). `why`, a note for
    the code of `func` (`fallback_note`), says so in it."""
    token, note = _ENABLED.set(False), _WHY_NOT.set((func, why))
    try:
        yield
    finally:
        _WHY_NOT.reset(note)
        _ENABLED.reset(token)


def fallback_note(func) -> str | None:
    """The note for the code of `func` built by `without_adoption(func, why)`, else None."""
    found = _WHY_NOT.get()
    return found[1] if found is not None and found[0] is func else None

# NumPy's read-only array attributes: reading one of the helper's own values is what the call does
_ARRAY_ATTRIBUTES = frozenset({"T", "shape", "ndim", "size", "dtype"})
_NOT_ADOPTED = (ast.NamedExpr, ast.GeneratorExp, ast.With, ast.AsyncWith, ast.Try, ast.Await, ast.Yield, ast.YieldFrom)


def _literal_default(value):
    """An expression for a default value that is a constant (a number, a string, None, a tuple of such),
    else None: anything else is an object the copy could not name, so its function stays a call."""
    if value is None or type(value) in (bool, int, float, complex, str):
        return ast.Constant(value=value)
    if type(value) is tuple:
        items = [_literal_default(v) for v in value]
        return None if any(i is None for i in items) else ast.Tuple(elts=items, ctx=ast.Load())
    return None


def _own_and_free(fdef: ast.FunctionDef) -> tuple[set, set]:
    """The names a function binds (its parameters and every name it stores) and the ones it reads but does not."""
    own = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    loads = set()
    for n in walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            own.add(n.id)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and not annotations.is_helper(n):
            loads.add(n.id)  # (not s2s's own name, `s2s.receiver` of a method's call of another method)
    return own, loads - own


class _Candidate:
    """A module function that may be adopted: its parsed source, a copy of its definition (defaults taken
    off, lines those of its file), its parameters and their defaults as expressions, its own and free names."""

    def __init__(self, name, obj, parsed):
        self.name, self.obj, self.parsed = name, obj, parsed
        self.fdef = copy.deepcopy(parsed.tree)
        self.fdef.name = name
        args = self.fdef.args
        self.params = [a.arg for a in args.args]
        values = obj.__defaults__ or ()
        self.defaults = dict(zip(self.params[len(self.params) - len(values):], map(_literal_default, values)))
        args.defaults = []
        self.varargs = None  # `*wb`: a parameter of its own in the copy, given the tuple of the extra arguments
        if args.vararg is not None:
            self.varargs = args.vararg.arg
            self.params.append(self.varargs)
            args.args.append(args.vararg)
            args.vararg = None
        self.own, self.free = _own_and_free(self.fdef)
        self.function_params = set()  # parameters it calls (`act(h @ W + b)`): given `np.tanh` and the like


def _candidate(pf, name, caller_names, obj=None, method=None, found=None, taken=()):
    """The module function `name` as a _Candidate where nothing of it alone bars adopting it, else None:
    a plain Python function of the caller's module (the same globals, so its free names denote the same
    objects) or of another module whose free names all denote there the very modules, functions and classes
    they denote in the caller's (`from utils import sigmoid`, both modules' `np` NumPy), no closure,
    decorators, special parameters or default that is not a constant, not a generator or coroutine, not
    recursive, no rule of its own; its body one the local-helper expansion
    takes (no nested function or lambda, no `return` in a loop), with no walrus, `with`, `try` or generator
    expression, no in-place update, and no attribute of its own values but an array's read-only ones and the
    array methods desugar writes as NumPy functions (`x.mean(axis=-1)`). `obj`: the function a module's attribute
    names (`helpers.layer`, `_module_attribute_calls`), called under `name` in the caller. `method`: `obj` is a
    record class's method called on a record (`_record_method_calls`' _MethodCall), whose first parameter's
    attributes it may read (`self.W`: the caller reads them as its own reads of the record's fields) and whose
    calls of the class's other methods on it are written as the caller's are (`_self_method_calls`, given
    adoption's `found` names and those `taken`)."""
    from .inline import _expandable_statements
    obj = pf.globals.get(name, ctx().missing) if obj is None else obj
    if not isinstance(obj, types.FunctionType) or obj is pf.func \
            or obj.__closure__ or obj.__kwdefaults__ or obj.__code__.co_flags & (0x08 | 0x20 | 0x80 | 0x100 | 0x200) \
            or obj.__code__.co_kwonlyargcount or obj.__code__.co_posonlyargcount \
            or ctx().is_runtime_helper(obj) or not ctx().user_code(obj) or ctx().has_rule(obj):
        return None  # (flags: **kwargs, generators, coroutines)
    if any(_literal_default(v) is None for v in obj.__defaults__ or ()):
        return None
    try:
        parsed = ctx().parse_function(obj)
    except Exception:  # noqa: BLE001 - no source: it stays a call, differentiated on its own
        return None
    args = parsed.tree.args
    if parsed.tree.decorator_list or args.kwarg or args.kwonlyargs or args.posonlyargs \
            or not _expandable_statements(parsed.tree):
        return None
    c = _Candidate(name, obj, parsed)
    written = set()
    if method is not None and found is not None:
        written = _self_method_calls(pf, c, method, found, set(taken) | c.own | c.free)
        if written is None:
            return None
        c.own, c.free = _own_and_free(c.fdef)
    if obj.__globals__ is not pf.globals and not _means_the_same_here(pf, obj, c.free - written):
        return None  # (the names written for its calls of its record's methods: no globals of either module)
    nodes = list(walk(c.fdef))
    if name in c.free or name in c.own or any(pf.globals.get(n) is pf.func for n in c.free) \
            or c.free & caller_names or any(isinstance(n, _NOT_ADOPTED) for n in nodes):
        return None  # recursive or calling its caller; a free name the caller binds itself (it would read the
        # caller's); what the passes before this one rewrite (generators, `with`), or a walrus (binds there)
    given = {n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)} & c.own
    if not given <= set(c.params):
        return None  # it calls a function it binds itself
    funcs = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    if any(isinstance(n, ast.Name) and n.id in given and (not isinstance(n.ctx, ast.Load) or id(n) not in funcs)
           for n in nodes):
        return None  # a function it is given and passes on, stores or binds again
    c.function_params = given  # only called: each call site must give a module-level function (`_calls_fit`)
    if any(isinstance(n, ast.AugAssign) or isinstance(n, ast.Subscript | ast.Attribute) and isinstance(n.ctx, ast.Store)
           for n in nodes):
        return None  # updates in place: its own derivative checks (and refuses) them at its own lines
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    lists = _own_lists(c.fdef, nodes)
    receiver = c.params[0] if method is not None and c.params else None
    if receiver is not None and any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                                    and n.value.id == receiver and id(n) in called for n in nodes):
        return None  # (`self.flatten()`: a method of the record, its own; in the copy it would read as NumPy's)
    if any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in c.own
           and (n.attr not in _ARRAY_ATTRIBUTES or id(n) in called)
           and not (n.value.id == receiver and id(n) not in called)
           and not (n.attr == "append" and id(n) in called and n.value.id in lists)
           and not (id(n) in called and _numpy_method(n.attr))
           and not (n.attr == "get" and id(n) in called) for n in nodes):  # (`p.get(k, v)`: a dict's where
        return None  # a record's field, another method: its own       # the caller's code knows p is a dict)
    return c


# what a helper of another module may read by a free name: objects that are what they are, read by identity
_SAME_OBJECT_KINDS = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, np.ufunc)


def _means_the_same_here(pf, obj, free) -> bool:
    """Whether each free name of `obj` (a function of another module) denotes in its module the very object it
    denotes in the caller's, a module, a function or a class (a number there would be read live from the
    caller's module, another object): expanded in the caller, the helper's code then means what it means in
    its own module. Recorded, so that the code made is stale once either module binds the name again."""
    for name in sorted(free):
        theirs = pf.resolve_in(obj, name)
        ours = pf.resolve_in(pf.func, name)
        if theirs is not ours or not isinstance(theirs, _SAME_OBJECT_KINDS):
            return False
    return True


def _numpy_method(name) -> bool:
    """An array method that desugar writes as the NumPy function whose rule lists it (`z.max(axis=-1)` is
    `np.max(z, axis=-1)`), as it does in the caller's own code, and that changes nothing in place."""
    from .ownership import MUTATING_METHODS
    return name not in MUTATING_METHODS and ctx().method(name) is not None


def _own_lists(fdef, nodes) -> set:
    """The names the helper binds only to a new empty list (`hiddens = []`), once: `hiddens.append(h)` then
    changes the helper's own list, as the caller's code may (whose passes accept or refuse it: the pipeline
    falls back to the call where they refuse)."""
    stores = {}
    for n in nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del):
            stores[n.id] = stores.get(n.id, 0) + 1
    return {s.targets[0].id for s in walk(fdef) if isinstance(s, ast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.List) and not s.value.elts
            and stores.get(s.targets[0].id) == 1}


def _full_arguments(call: ast.Call, c: _Candidate):
    """The arguments of `call` of `c`, one per parameter in order (keywords placed, defaults filled in; or one
    `*xs` for the parameters the others leave, `inline.spread`), or
    None where they cannot be: a starred argument or `**`, an unknown or repeated name, a parameter left
    without a default, or keywords written out of the parameters' order (the copy binds the parameters in
    order, so their values would be computed in another order than Python's)."""
    stars = [i for i, a in enumerate(call.args) if isinstance(a, ast.Starred)]
    if stars:  # `lorenz(s, *p)`: *p fills the parameters the others leave (none of them given a default, which a
        # shorter p would leave to it); the copy unpacks p where it binds them (inline.star_bindings)
        from .inline import spread
        if c.varargs is not None or call.keywords or spread(c.params, call.args) is None \
                or any(p in c.defaults for p in c.params[stars[0]:]):
            return None
        return list(call.args)
    if c.varargs is not None:  # `affine(x, W, b)` of `def affine(x, *wb)`: the extra ones make the tuple wb
        if call.keywords:
            return None
        regular = c.params[:-1]
        out = list(call.args[:len(regular)])
        for p in regular[len(out):]:
            if p not in c.defaults:
                return None
            out.append(copy.deepcopy(c.defaults[p]))
        extra = ast.Tuple(elts=list(call.args[len(regular):]), ctx=ast.Load())
        return out + [ast.copy_location(extra, call)]
    if len(call.args) > len(c.params):
        return None
    out = list(call.args)
    filled = {}
    last = len(call.args) - 1
    for k in call.keywords:
        if k.arg is None or k.arg not in c.params or k.arg in filled:
            return None
        at = c.params.index(k.arg)
        if at <= last:
            return None  # given positionally too (a TypeError), or out of order
        filled[k.arg], last = k.value, at
    for p in c.params[len(call.args):]:
        if p in filled:
            out.append(filled[p])
        elif p in c.defaults:
            out.append(copy.deepcopy(c.defaults[p]))
        else:
            return None
    return out


def _uses(host: ast.FunctionDef, host_own: set, name: str):
    """The loads of the global `name` in `host` (none where `host` binds the name itself)."""
    if name in host_own:
        return []
    return [n for n in walk(host) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]


def _calls_fit(pf, host, host_own, c: _Candidate, closure=()) -> bool:
    """Every use of `c` in `host` is a call whose arguments fit its parameters, and each call may be taken
    out of its line (no other call there that may change what it reads; not inside a local function, a lambda
    or a comprehension)."""
    from .inline import _expands_in_place
    uses = _uses(host, host_own, c.name)
    if not uses:
        return True
    calls = {id(n.func): n for n in walk(host) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    arguments = [_full_arguments(calls[id(u)], c) if id(u) in calls else None for u in uses]
    if any(a is None for a in arguments):
        return False  # passed on, stored or returned: a function value, which stays one
    barred = host_own | set(closure)  # (names a function given may not be: the host's own, the caller's cells)
    from .inline import spread
    for args in arguments:
        given = dict(spread(c.params, args))
        if not all(given[p] is not None and _module_function(pf, given[p], barred) for p in c.function_params):
            return False  # a function it calls given as anything but a module-level function: it stays a call
    nested = {id(n) for d in walk(host) if d is not host and isinstance(d, ast.FunctionDef | ast.Lambda)
              for n in walk(d)}
    if any(id(u) in nested for u in uses):
        return False  # called in a local function of the caller: a local helper may not call another
    return _expands_in_place(pf, host, c.name, set())


def _module_function(pf, node, barred) -> bool:
    """`node` names a function of the module or of an imported module (`relu`, `np.tanh`: a Name, or attributes
    of one, that neither the caller nor the host binds), which the expanded call then calls by that name (its
    object recorded: the derivative is stale when the name is bound to another)."""
    obj = global_object(pf, node, barred)
    return obj is not None and obj is not ctx().missing and callable(obj) and not isinstance(obj, type)


def _fill_arguments(host, host_own, c: _Candidate):
    """Write each call of `c` in `host` with one positional argument per parameter."""
    for n in walk(host):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == c.name and c.name not in host_own:
            n.args, n.keywords = _full_arguments(n, c), []


def _place_lines(pf, c: _Candidate, where):
    """Errors inside the copy point at the helper's own lines in the file (else at the call `where`)."""
    shift = c.parsed.first_line - pf.first_line if c.parsed.filename == pf.filename else None
    for n in walk(c.fdef):
        if "lineno" not in n._attributes:
            continue
        if shift is None or getattr(n, "lineno", None) is None:
            ast.copy_location(n, where)
        else:
            n.lineno += shift
            n.end_lineno = (n.end_lineno or n.lineno - shift) + shift


def _expand_callees(pf, c: _Candidate, callees: list, alloc) -> None:
    """Expand in `c`'s copy the adopted helpers it calls (already flattened), as the caller's statement
    helpers are expanded: parameters and locals renamed afresh, a call inside an expression first taken
    onto a line of its own, a body with an early `return` run in a one-trip loop."""
    from .inline import LocalHelper, _Expander, fixed_parameters, hoist_block
    helpers = {}
    for g in callees:
        _fill_arguments(c.fdef, c.own, g)
        helpers[g.name] = LocalHelper(g.name, g.params, None, g.fdef.body,
                                      user_names=annotations.get(g.fdef, annotations.USER_NAMES, {}))
    c.fdef.body = hoist_block(pf, c.fdef.body, set(helpers), alloc)
    expander = _Expander(pf, helpers, alloc, fixed_parameters(c.fdef), set(c.own))
    expander.visit(c.fdef)
    annotations.put(c.fdef, annotations.USER_NAMES, expander.user_names)  # (for the messages of its callers)
    fix_locations(c.fdef)
    c.own, c.free = _own_and_free(c.fdef)


def _reachable(candidates, caller_calls):
    """The candidates the caller reaches through calls of candidates."""
    out, todo = set(), [n for n in caller_calls if n in candidates]
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(n for n in candidates[name].free if n in candidates)
    return out


def _in_cycles(candidates) -> set:
    """Candidates that reach themselves through calls of candidates (mutual recursion)."""
    out = set()
    for start in candidates:
        seen, todo = set(), [n for n in candidates[start].free if n in candidates]
        while todo:
            name = todo.pop()
            if name == start:
                out.add(start)
                break
            if name not in seen:
                seen.add(name)
                todo.extend(n for n in candidates[name].free if n in candidates)
    return out


def _flattening_order(names, candidates):
    """Callees before their callers."""
    order, placed = [], set()
    while len(order) < len(names):
        ready = sorted(n for n in names if n not in placed
                       and all(m in placed for m in candidates[n].free if m in names))
        order.extend(ready)
        placed.update(ready)
    return order


# the modules generated code imports under these names where the caller's code does not use the names itself
_GENERATED_MODULES = {"np": np, "math": math}


def _same_module(pf, name) -> bool:
    """Whether a helper's free `name` (`np`), taken by the generated code but not read by the caller, denotes the
    module the generated code binds to it (`import numpy as np`): expanded in the caller, it means the same."""
    return name in _GENERATED_MODULES and pf.globals.get(name, None) is _GENERATED_MODULES[name]


def _same_builtin(obj, name) -> bool:
    """Whether a helper's free `name` (`range`, `len`), taken by the generated code but not read by the caller, is
    Python's builtin of that name in the helper (no global of its module shadows it, its builtins are Python's):
    the generated code binds that builtin to that name (`BUILTINS_WRITTEN`), so expanded it means the same."""
    import builtins
    own = getattr(obj, "__builtins__", None)
    own = own if type(own) is dict else getattr(own, "__dict__", None)
    return name in BUILTINS_WRITTEN and name not in obj.__globals__ and own is builtins.__dict__


class _Attribute:
    """A function the caller calls as an imported module's attribute (`helpers.layer(W, b, h)`): the function,
    the attribute expression, and the calls, whose callee reads a name of its own (`layer`) while adoption
    decides."""

    def __init__(self, obj, expr):
        self.obj, self.expr, self.calls = obj, expr, []


def _module_attribute_calls(pf, tree, barred, seen, found=None) -> dict:
    """Calls of a plain Python function the caller reads as a module's attribute (`helpers.layer(...)`,
    `pkg.nn.layer(...)`, the module a global the caller does not bind) written as calls of a name of their
    own, which no name of the caller or of its module is: {name: _Attribute}. `_restore` writes back those not
    adopted. Only plain functions of modules: a class's, an object's or a library's attribute is no candidate.
    `found`: the names given so far (a helper of the caller's module calling one: the same attribute, the same
    name), added to."""
    found = {} if found is None else found
    names = {ast.dump(a.expr): name for name, a in found.items()}
    for node in walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        base = node.func
        while isinstance(base, ast.Attribute):
            base = base.value
        if not isinstance(base, ast.Name) or base.id in barred \
                or not isinstance(pf.globals.get(base.id), types.ModuleType):
            continue
        key = ast.dump(node.func)
        if key not in names:
            obj = _attribute_value(pf.globals[base.id], node.func)
            if not isinstance(obj, types.FunctionType) or not ctx().user_code(obj):
                names[key] = None
                continue
            name = _free_name(node.func.attr, pf, seen | set(found))
            names[key], found[name] = name, _Attribute(obj, copy.deepcopy(node.func))
        if names[key] is not None:
            found[names[key]].calls.append(node)
            node.func = ast.copy_location(ast.Name(id=names[key], ctx=ast.Load()), node.func)
    return found


class _MethodCall(_Attribute):
    """A method of a record class the caller calls on a record of that class (`model(x)`, `layer.forward(h)`):
    the class's function, called under a name of its own with the record first while adoption decides, and the
    calls as the caller wrote them, which `_restore` writes back where it is not adopted."""

    def __init__(self, obj, expr, cls, method):
        super().__init__(obj, expr)
        self.cls, self.method = cls, method
        self.written = []  # (call, its callee, its arguments) as the caller wrote them

    def rewrite(self, node, name, record):
        """Write the call `node` as a call of `name` with `record` (the receiver, checked) first."""
        self.written.append((node, node.func, list(node.args)))
        self.calls.append(node)
        node.args = [ast.copy_location(record, node), *node.args]
        node.func = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node.func)


def _method_name(found, cls, cls_expr, method, pf, taken) -> str:
    """The name the calls of `cls.method` go by while adoption decides (one per class and method)."""
    import inspect
    for name, a in found.items():
        if isinstance(a, _MethodCall) and a.cls is cls and a.method == method:
            return name
    name = _free_name(f"{cls.__name__}_{method.strip('_')}", pf, set(taken) | set(found))
    found[name] = _MethodCall(inspect.getattr_static(cls, method),
                              ast.Attribute(value=copy.deepcopy(cls_expr), attr=method, ctx=ast.Load()), cls, method)
    return name


def _write_method_calls(pf, tree, receivers, found, taken, theirs=frozenset()):
    """The calls in `tree` of a method of a record class on a record whose class s2s knows (`receivers`, name ->
    (class, an expression of it, whether its type is exactly it), as transforms/objects.py's `_known_receivers`
    gives them) written as calls of the class's function under a name of its own, the record first:
    `model(x)` -> `Dense___call__(s2s.receiver(model, Dense, '__call__'), x)`, as transforms/objects.py writes them,
    so that the method may be adopted: its code then specialised with the caller's. Added to `found` ({name:
    _MethodCall}); returns the names written, or None where one would be among `theirs`."""
    from .objects import checked_receiver, method_of
    written = set()
    for node in list(walk(tree)):
        if not isinstance(node, ast.Call) or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            continue
        receiver, method = (node.func.value, node.func.attr) if isinstance(node.func, ast.Attribute) else \
            (node.func, "__call__")
        if not isinstance(receiver, ast.Name) or receiver.id not in receivers:
            continue
        cls, cls_expr, exact = receivers[receiver.id]
        if method_of(cls, method) is None:
            continue
        name = _method_name(found, cls, cls_expr, method, pf, set(taken) | set(theirs))
        if name in theirs:
            return None
        found[name].rewrite(node, name, checked_receiver(receiver, cls, cls_expr, method, exact, node,
                                                         explicit=isinstance(node.func, ast.Attribute)))
        written.add(name)
    return written


def _record_method_calls(pf, tree, seen, record_params, found) -> None:
    """`_write_method_calls` of the caller's calls, on the records transforms/objects.py knows the class of (a
    parameter given a record, a record built here, an item of a list of them)."""
    from .desugar import local_names
    from .objects import _known_receivers, _Objects
    _write_method_calls(pf, tree, _known_receivers(pf, tree, _Objects(pf, local_names(tree))._resolve, record_params),
                        found, seen)


_ABSENT = object()


def _self_method_calls(pf, c, method: _MethodCall, found, taken):
    """`_write_method_calls` of the copy of the method `c` (of `method.cls`) on its first parameter (`self.forward(x)`
    in `__call__`), so that those methods may be adopted too (the copy is adopted only where they are: `_adopt`).
    Returns the names written into the copy, or None where the first parameter is bound again in it (its attributes
    may be another object's) or a name written would be one of the copy's own names or a global of its module (the
    copy's reads of that global would be taken for the method)."""
    from .objects import property_reads
    first = c.params[0] if c.params else None
    if first is None or any(isinstance(n, ast.Name) and n.id == first and not isinstance(n.ctx, ast.Load)
                            for n in walk(c.fdef)):
        return None
    known = {first: (method.cls, method.expr.value, False)}
    written = _write_method_calls(pf, c.fdef, known, found, taken, theirs=set(c.obj.__globals__) | c.own | c.free)
    if written is None:
        return None
    # (`self.area` of a property: its getter called, the class named as the caller names it, a name the copy must
    # not mean another thing by)
    named = property_reads(pf, c.fdef, known)
    if any(n in c.own or n in c.obj.__globals__ and c.obj.__globals__[n] is not pf.globals.get(n, _ABSENT)
           for n in named):
        return None
    return written | named


def _attribute_value(module, expr):
    """The object the dotted `expr` (`helpers.layer`, its base the name of `module`) names, else None."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    obj = module
    for part in reversed(parts):
        if not isinstance(obj, types.ModuleType):
            return None
        obj = obj.__dict__.get(part)
    return obj


def _free_name(attr, pf, taken) -> str:
    """`attr`, or `attr_2`, ...: a name none of `taken` (the caller's names), of its module's globals or of the
    builtins is."""
    import builtins
    name, k = attr, 1
    while name in taken or name in pf.globals or hasattr(builtins, name):
        k += 1
        name = f"{attr}_{k}"
    return name


def _restore(attributes: dict, kept) -> None:
    """The calls of module attributes not adopted written back as they were."""
    for name, a in attributes.items():
        if name in kept:
            continue
        if isinstance(a, _MethodCall):
            for call, func, args in a.written:
                call.func, call.args = func, args
            continue
        for call in a.calls:
            call.func = copy.deepcopy(a.expr)


def adopt_module_helpers(pf, tree: ast.FunctionDef, alloc=None, record_params=()) -> list[str]:
    """Copy into `tree` (as local helpers, expanded like them) the plain functions of the same module that
    it only calls, and those they only call: `sigmoid(z)` of `def sigmoid(x): return 1.0 / (1.0 + np.exp(-x))`
    beside it. Returns the names copied into `tree` (a helper only other helpers call is expanded in them).

    A function is adopted only where expanding it certainly means what calling it does (`_candidate`), every
    use of its name (in the caller and in the helpers adopted with it) is a call whose arguments fit its
    parameters, and its free names are none of the caller's locals nor of a helper that calls it. A free
    name the caller does not read must be one generated code has not taken (`np`, `s2s`, temporaries are
    chosen not to clash with the caller's names), and is then taken: later names avoid it.

        >>> # def sigmoid(x): return 1.0 / (1.0 + np.exp(-x))
        >>> # def f(W, x): return np.sum(sigmoid(W @ x))   ->  sigmoid is expanded inside f
    """
    from .desugar import local_names

    if not _ENABLED.get():
        return []
    local = local_names(tree)
    barred = local | set(pf.closure)  # the caller's own names: a free name of a helper must be none of them
    seen = {n.id for n in walk(tree) if isinstance(n, ast.Name)}
    # `helpers.layer(...)`: called as `layer(...)` while adoption decides
    attributes = _module_attribute_calls(pf, tree, barred, seen | (alloc.taken if alloc is not None else set()))
    # `model(x)` of a record: the class's method, called with the record first (`record_params`: as objects.py)
    _record_method_calls(pf, tree, seen | (alloc.taken if alloc is not None else set()), record_params, attributes)
    seen |= set(attributes)
    adopted = []
    try:
        adopted = _adopt(pf, tree, alloc, local, barred, seen, attributes)
    finally:
        _restore(attributes, adopted)
    return adopted


def _adopt(pf, tree, alloc, local, barred, seen, attributes) -> list[str]:
    """`adopt_module_helpers` once the calls of module attributes have names of their own (`attributes`)."""
    from .refusals import _allocator

    candidates, refused = {}, set()
    todo = sorted({n.id for n in walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - barred)
    while todo:  # the module functions the caller reads, and those they read, in turn
        name = todo.pop()
        if name in candidates or name in refused:
            continue
        method = attributes.get(name) if isinstance(attributes.get(name), _MethodCall) else None
        c = _candidate(pf, name, barred, attributes[name].obj if name in attributes else None,
                       method=method, found=attributes, taken=seen)
        seen.update(attributes)
        if c is not None and c.obj.__globals__ is pf.globals:
            # (a helper of the caller's module calling a module's attribute: `helpers.swish(z)` in it, a name too)
            _module_attribute_calls(pf, c.fdef, c.own, seen | c.own | c.free | set(attributes), attributes)
            seen.update(attributes)
            c.own, c.free = _own_and_free(c.fdef)
        if c is None:
            refused.add(name)
            continue
        candidates[name] = c
        todo.extend(sorted(c.free))
    caller_calls = {n.func.id for n in walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    while True:  # drop any whose uses do not all fit, in the caller or in another candidate still standing
        drop = _in_cycles(candidates)
        for name, c in candidates.items():
            if any(isinstance(attributes.get(m), _MethodCall) and m not in candidates for m in c.free):
                drop.add(name)  # (a method it calls on its record that is not adopted: the whole stays a call)
            if not _calls_fit(pf, tree, local, c, pf.closure):
                drop.add(name)
            for host in candidates.values():
                if host is not c and _uses(host.fdef, host.own, name) and \
                        (not _calls_fit(pf, host.fdef, host.own, c) or c.free & host.own):
                    drop.add(name)  # (a free name of c that the host binds would read the host's value)
        if not drop:
            break
        for name in drop:
            del candidates[name]
    if not candidates:
        return []
    if alloc is None:
        alloc = _allocator(pf.tree, ())
    kept = _reachable(candidates, caller_calls)
    first_call = {}  # name -> the caller's call through which it is reached (its location, for another file's code)
    for node in walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in kept:
            first_call.setdefault(node.func.id, node)
    # a free name the caller does not read must be one generated code has not taken already; then every
    # name of the helpers is taken, so that the names their expansion makes are none of them
    kept = {n for n in kept if not any(m not in seen and m in alloc.taken and not _same_module(pf, m)
                                       and not _same_builtin(candidates[n].obj, m) for m in candidates[n].free)}
    for name in kept:
        alloc.taken.update(candidates[name].own | candidates[name].free | {name})
    flat = {}
    for name in _flattening_order(kept, candidates):
        c = candidates[name]
        callees = [flat[m] for m in sorted(c.free) if m in flat]  # (one not adopted stays a call in it)
        where = first_call.get(name) or next(iter(first_call.values()))
        _place_lines(pf, c, where)
        if callees:
            try:
                _expand_callees(pf, c, callees, alloc)
            except ctx().unsupported:
                continue  # a call there the expansion cannot take out of its line (a while loop's test): c stays a call
            alloc.taken.update(c.own)
        flat[name] = c
    adopted = sorted(n for n in flat if n in caller_calls)
    if flat and _ADOPTED.get() is not None:
        _ADOPTED.get().extend(sorted(flat))
    for name in sorted(flat):
        # recorded: the code made is stale when the name (the module, its attribute) or the function's code changes
        if name in attributes:
            pf.resolve_expr(attributes[name].expr)
        else:
            pf.resolve(name)
    for name in reversed(adopted):
        _fill_arguments(tree, local, flat[name])
        tree.body.insert(0, flat[name].fdef)
    return adopted
