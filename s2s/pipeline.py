"""From a user function to generated derivative code: runs the passes in order."""

from __future__ import annotations

import ast
import builtins
import contextvars
import copy
import math
import threading
import types
from collections.abc import Callable

import numpy as np

from s2s import argcheck, cache, codegen, frontend, patches, reruns, rules, runtime
from s2s.errors import NoDerivativeRuleError, UnsupportedSyntaxError, WrtError
from s2s.tables import Table
from s2s.transforms import (
    adopt,
    aliasing,
    along_axis,
    analysis,
    annotations,
    common_terms,
    container_methods,
    context,
    contexts,
    defaults,
    definite,
    display_loops,
    exits,
    frozen_distributions,
    generators,
    global_names,
    item_reads,
    loop_else,
    loop_tests,
    lower,
    missing_attributes,
    named_expressions,
    objects,
    operator_calls,
    operator_objects,
    optimize,
    rebinding,
    records,
    reduce_loops,
    refusals,
    reverse,
    specialize,
    star_displays,
    supers,
    trip_records,
    tuple_items,
    ufunc_at,
    unroll,
)
from s2s.transforms import desugar as desugar_pass
from s2s.transforms import forward as forward_pass
from s2s.transforms.desugar import HELPER
from s2s.transforms.names import BUILTINS_WRITTEN, NameAllocator, called_name, load, names_in
from s2s.transforms.shapes import Keyed, Seq
from s2s.transforms.simplify import fold_identity_test
from s2s.transforms.walk import fix_locations, replace_nodes, walk, walk_nodes

# everything the passes take from the rest of s2s (they import nothing from it; transforms/context.py): each
# run of the passes (`lowered`, `_build`) runs them inside context.using(CONTEXT); installed for the process too,
# for a pass called on its own (s2s/graph.py's analysis, runtime/calls.py's ownership summaries)
CONTEXT = context.Context(lookup=rules.lookup, missing=frontend.missing(), runtime=runtime,
                          parse_function=frontend.parse_function, unsupported=UnsupportedSyntaxError,
                          no_rule=NoDerivativeRuleError, runtime_module=runtime.__name__, method=rules.method,
                          record=rules.record,
                          user_code=frontend.is_user_code, no_rule_text=frontend.no_rule_text,
                          makes_refused=argcheck.refused_maker, note_read=frontend.note_read)
context.install(CONTEXT)

HELPER_VALUES = {"np": np, "math": math, "s2s": runtime, "unbroadcast": runtime.unbroadcast}
# the builtins s2s's own code calls, bound in its closure: a module's own `range` changes only the user's loops
HELPER_VALUES.update((name, getattr(builtins, name)) for name in BUILTINS_WRITTEN)

# generated derivatives are kept in s2s/cache.py (keys, bounds, and when an entry may be used)
_lock = cache.lock
_MISSING = cache.MISSING
Bound = cache.Bound


class Link:
    """A call from generated code to the derivative of a user function, resolved when the code is bound.

    The callee is found again for each function object the code is bound to
    (closures made by one factory share code but not the functions they call).
    """

    def __init__(self, cell_name, callee_expr, wrt, form, optimize_code, record_params=()):
        self.cell_name = cell_name
        self.callee_expr = callee_expr  # the call's function expression, e.g. Name('inner')
        self.wrt = wrt
        self.form = form
        self.optimize_code = optimize_code
        self.record_params = record_params  # (the callee's parameters given the caller's records: `_callee_records`)


def resolve_in(func, node):
    """What the name or dotted expression `node` denotes inside `func` (closure, globals, builtins); for a
    derivative function following a functools.partial, the one it calls now (as frontend resolves it)."""
    obj = _denoted(func, node)
    while isinstance(obj, types.FunctionType) and getattr(obj, "__s2s_follows__", None) is not None:
        obj = obj.__s2s_follows__()
    return obj


def _denoted(func, node):
    if isinstance(node, ast.Attribute):
        return getattr(resolve_in(func, node.value), node.attr)
    name = node.id
    code = func.__code__
    if func.__closure__ and name in code.co_freevars:
        return func.__closure__[code.co_freevars.index(name)].cell_contents
    if name in func.__globals__:
        return func.__globals__[name]
    return getattr(builtins, name)


class Generated:
    """A generated derivative: code object, source and the helpers it closes over.

    `deps` lists what the transform read to make it (see frontend.ParsedFunction.deps): entries of
    kind "g" and "c" are relative to the function whose code this is (its globals, its closure
    cells), so that functions sharing the code can share it; the others are absolute.
    """

    def __init__(self, code, source, filename, helper_cells, stages, kwdefaults, key=None, links=(), deps=(),
                 version=None):
        self.code = code
        self.source = source
        self.filename = filename
        self.helper_cells = helper_cells
        self.stages = stages
        self.kwdefaults = kwdefaults
        self.key = key
        self.links = list(links)
        self.deps = tuple(deps)
        self.version = rules.version if version is None else version
        self.returns_value = False  # form "grad": whether the code returns (value, gradient) or the gradient
        self.frozen = {}  # global name -> the object the code reads from a cell in its place (_frozen_globals)

    def valid_for(self, func) -> bool:
        """Whether everything the transform read is still the same for `func` (and no rule was registered)."""
        return cache.valid(self, func)

    def bind(self, func, _binding=None) -> Bound:
        """The generated function for this particular function object (its closure, globals, defaults).

        Calls to user functions are linked here, to the derivatives of the functions that *this*
        `func` calls; `_binding` carries the cells of functions being bound, for recursion. The
        result carries everything it depends on, its callees' included, for `Bound.fresh`.
        """
        binding = {} if _binding is None else _binding
        version = rules.version
        own = types.CellType()
        binding[(id(func), id(self))] = own
        flat = cache.Flat()
        flat.function(func)
        flat.add(self.deps, func)
        cells = dict(self.helper_cells)
        cells.update((name, types.CellType(obj)) for name, obj in self.frozen.items())
        for link in self.links:
            callee = resolve_in(func, link.callee_expr)
            gen = derivative_code(callee, link.wrt, link.form, link.optimize_code, record_params=link.record_params)
            cell = binding.get((id(callee), id(gen)))
            if cell is None:
                inner = gen.bind(callee, binding)
                flat.merge(inner)
                if link.form == "split":  # forward mode over this code differentiates the call again (calls_hvp)
                    inner.fn.__s2s_split_of__ = (callee, link.wrt)
                cell = types.CellType(inner.fn)
            cells[link.cell_name] = cell
        code = func.__code__
        if func.__closure__:
            cells.update(zip(code.co_freevars, func.__closure__))
        kwdefaults = dict(func.__kwdefaults__ or {})
        kwdefaults.update(self.kwdefaults)
        fn = codegen.make_function(self.code, func.__globals__, cells, func.__defaults__, kwdefaults, self.source)
        own.cell_contents = fn
        del binding[(id(func), id(self))]
        return flat.bound(fn, version)


_STAGES = contextvars.ContextVar("record_stages", default=False)  # keep each pass's output as text


def stages(func, wrt=None, mode="reverse", optimize_code=True, args=None):
    """Each pass's output for `func`, as source text, for `s2s show --stages`. (The texts are made only
    here: writing out the program after each of some thirty passes is a third of a transform's time.)
    With example positional `args` (reverse mode), the passes of the code `s2s.grad` runs for them:
    specialised to their shapes, the loops written out (`unroll`) included."""
    form = "flat" if mode == "reverse" else "jvp"
    names = _wrt_names(func, wrt)
    scalars = shaped = fixed = ()
    if args is not None and mode == "reverse":
        from s2s import api
        form, scalars, shaped = "grad", api._scalar_params(func, args), api._shaped_params(func, args)
        fixed = api._fixed_defaults(func, args) if optimize_code else ()
    token = _STAGES.set(True)
    try:
        key = cache.code_key(func, names, form, optimize_code, scalars, shaped, fixed)
        return _build(func, names, form, optimize_code, key, scalars, shaped, fixed).stages
    finally:
        _STAGES.reset(token)


def _param_names(tree):
    a = tree.args
    return [p.arg for p in a.posonlyargs + a.args + ([a.vararg] if a.vararg else []) + a.kwonlyargs +
            ([a.kwarg] if a.kwarg else [])]


def _wrt_names(func, wrt):
    import inspect
    params = list(inspect.signature(func).parameters)
    wrt = 0 if wrt is None else wrt
    items = wrt if isinstance(wrt, tuple | list) else (wrt,)
    out = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, int | str):
            raise TypeError(f"wrt must be an int, a parameter name or a tuple of them, not {w!r}")
        if isinstance(w, int):
            if not -len(params) <= w < len(params):
                kinds = inspect.signature(func).parameters
                starred = [p for p in params if kinds[p].kind is inspect.Parameter.VAR_POSITIONAL]
                hint = (f"the positional arguments gathered by *{starred[0]} are one parameter: wrt={params.index(starred[0])} "
                        f"(or wrt={starred[0]!r}) gives a tuple with the gradient of each" if starred else
                        f"count the parameters from 0 (wrt=0 to wrt={len(params) - 1}), or name one: wrt={params[0]!r}"
                        if params else "the function takes no parameter to differentiate with respect to")
                raise WrtError(f"wrt={w} is out of range: {func.__name__} has {len(params)} parameter(s) {params}",
                               hint=hint)
            out.append(params[w])
        else:
            if w not in params:
                raise WrtError(f"wrt={w!r} names no parameter of {func.__name__}; its parameters are {params}",
                               hint="name one of the parameters, or give its index")
            out.append(w)
    return tuple(out)


def derivative_code(func, wrt_names: tuple, form: str, optimize_code: bool, scalar_params: tuple = (),
                    shaped_params: tuple = (), fixed_params: tuple = (), trip_tuples: bool = False,
                    peel_last: bool = False, record_params: tuple = ()) -> Generated:
    """Generate (or fetch from the cache) reverse-mode code for `func`.

    form: "flat" -> df(*args, *, out_bar=1.0) returning the gradient(s);
          "value" -> the same returning (value, gradient(s));
          "grad" -> "flat" where the output is certainly a scalar, else "value"
                    (`returns_value` on the result says which);
          "split" -> f_vjp(*args) returning (value, pullback), pullback returning a tuple.
    scalar_params names parameters known to be Python numbers in this call; the code
    generated for them needs no broadcasting bookkeeping. shaped_params holds
    (name, shape, dtype character) for parameters known to be arrays of that shape (or
    numbers, shape ()): "flat", "value" and "grad" code is then specialised to
    those shapes (transforms/specialize.py). fixed_params holds (name, int) for int
    parameters the call leaves to their defaults: that code reads them as those ints. `trip_tuples`: a
    loop's trip saves its values as one tuple (transforms/trip_records.py), for the code the NumPy path runs
    and nothing differentiates again (the numba lowering reads the tape push by push). `peel_last`: the code
    made with the last trip of a loop carrying an array nothing after it reads written out, wherever there is one
    (`Generated.could_peel_last` says so of code made without), not only where that leaves fewer general helpers:
    for the compiled path, where numba refuses an adjoint that starts as 0.0 and turns into an array.
    `record_params`: (name, class) for parameters given a namedtuple or dataclass instance with methods of yours,
    whose method calls (`model(x)`, `model.forward(x)`) that code reads as the class's (transforms/objects.py).

    A cached result (s2s/cache.py) is used only while everything its transform read is unchanged
    (`Generated.valid_for`); otherwise the code is made again.
    """
    mark = getattr(func, "__s2s_nested__", None)
    if mark is not None and mark(func):  # a gradient function s2s made, called inside one (s2s/nested.py)
        from s2s import nested
        return nested.derivative_code(func, tuple(wrt_names), form, optimize_code)
    key = cache.code_key(func, wrt_names, form, optimize_code, scalar_params, shaped_params, fixed_params)
    trip_tuples = trip_tuples and optimize_code and form in ("flat", "value", "grad")
    if trip_tuples:
        key += ("trip tuples",)
    if peel_last:
        key += ("peel last",)
    if record_params:
        key += (("records",) + tuple(record_params),)
    with _lock:
        gen = cache.CODE.find(key, func)
        if gen is None:
            gen = _build(func, wrt_names, form, optimize_code, key, tuple(scalar_params), tuple(shaped_params),
                         tuple(fixed_params), trip_tuples, peel_last, tuple(record_params))
            cache.CODE.put(key, gen)
        return gen


class Lowered:
    """A user function on its way through the lowering passes; afterwards desugared and lowered to
    primitive statements (A-normal form), the program every derivative is built from."""

    def __init__(self, pf, tree, alloc, helpers, stage_text):
        self.pf = pf
        self.tree = tree
        self.alloc = alloc
        self.helpers = helpers  # runtime helper -> the name it goes by in this function
        self.stage_text = stage_text  # pass name -> the function's source after it ("source": before any)
        self.local_helpers = {}  # the user's local helper functions, by name (inline)
        self.updates = {}  # in-place updates ownership could not prove owned (ownership)
        self.user_names = frozenset()  # every name in the user's function (the others are made up)
        self.refusals = {}  # name -> the record generated code passes under that name (transforms/refusals.py)
        self.record_params = ()  # (name, class) of parameters given records with methods (`derivative_code`)
        self.globals_written = set()  # the names the function declares global and assigns (global_names)


def _on_tree(rewrite: Callable, reads_names: bool = True) -> Callable[[Lowered], Lowered]:
    """A lowering stage that rewrites (or checks) the function's tree in place, given the parsed function where
    it resolves names (`rewrite(pf, tree)`), else the tree alone."""
    def stage(p: Lowered) -> Lowered:
        rewrite(p.pf, p.tree) if reads_names else rewrite(p.tree)
        return p
    return stage


def _refuse(pf, node, why, hint):
    raise pf.error(UnsupportedSyntaxError, f"s2s cannot differentiate this: {why}", node, hint=hint)


def _contexts(p: Lowered) -> Lowered:
    contexts.unwrap_neutral_blocks(p.tree, p.pf.resolve_expr)
    return p


def _globals(p: Lowered) -> Lowered:
    p.globals_written = global_names.rewrite_global_names(
        p.tree, lambda name: desugar_pass.helper_attr("s2s", name, getattr(runtime, name)),
        lambda node, why: _refuse(p.pf, node, why, "bind the global with `name = value` or `name += value` alone"))
    return p


def _frozen(p: Lowered) -> Lowered:
    frozen_distributions.unfreeze_distributions(p.pf, p.tree, p.alloc)
    return p


def _loop_else(p: Lowered) -> Lowered:
    loop_else.write_loop_else(p.tree, p.alloc)
    return p


def _reduce(p: Lowered) -> Lowered:
    reduce_loops.reduce_as_loops(p.pf, p.tree, p.alloc)
    return p


def _along_axis(p: Lowered) -> Lowered:
    along_axis.write_apply_along_axis(p.pf, p.tree, p.alloc)
    return p


def _inline(p: Lowered) -> Lowered:
    supers.write_super_arguments(p.tree, lambda node: p.pf.resolve(node.id) is super, lambda node, why, hint: _refuse(
        p.pf, node, why, hint))  # (before local functions are expanded: each super() names its own function's self)
    p.local_helpers = desugar_pass.inline_helpers(p.pf, p.tree, p.alloc, p.record_params)
    container_methods.rewrite_container_methods(p.tree)  # (`L.extend(v)`, `d.update(k=v)` of ones the function makes)
    helpers_read = frozenset(n.id for h in p.local_helpers.values()  # (their bodies are written in later)
                             for part in ([h.body] if h.body is not None else h.statements or [])
                             for n in walk(part) if isinstance(n, ast.Name))
    records.records_as_names(p.tree, p.alloc, helpers_read)  # a local dict read and written by literal keys: a name per key
    display_loops.write_out_display_loops(p.tree)  # `for W, b in [l1, l2]:` one copy of the body per item
    return p


def _ownership(p: Lowered) -> Lowered:
    p.updates = desugar_pass.ownership_updates(p.pf, p.tree, p.local_helpers)
    return p


def _desugar(p: Lowered) -> Lowered:
    desugar_pass.rewrite(p.pf, p.tree, p.alloc, p.updates, p.record_params)
    return p


def _exits(p: Lowered) -> Lowered:
    exits.structure_exits(p.tree, p.alloc)
    definite.guard_unbound_reads(p.tree, p.alloc)  # (Python's UnboundLocalError where a read may find no value)
    return p


def _objects(p: Lowered) -> Lowered:
    objects.rewrite(p.pf, p.tree, p.alloc, record_params=p.record_params)
    return p


def _lower(p: Lowered) -> Lowered:
    lower.lower(p.pf, p.tree, p.alloc, desugar_pass.local_names(p.tree))
    _rename_helpers(p.tree, p.helpers)
    return p


def _aliasing(p: Lowered) -> Lowered:
    aliasing.check_aliasing(p.pf, p.tree)
    return p


def _rebinding(p: Lowered) -> Lowered:
    renamed = rebinding.rename_rebindings(p.tree, p.alloc)
    # a user's name renamed stays the user's (the clean-up passes merge and reuse only names s2s made up)
    p.user_names = p.user_names | {new for new, old in renamed.items() if old in p.user_names}
    return p


# Every pass, in the order it runs, each a function from program to program; `s2s show --stages` prints
# the function after each one under these names (a pass that only checks prints no change):
# 1. the lowering passes, from the user's function to primitive statements (a `Lowered` each):
LOWERING = [
    ("contexts", _contexts),  # `with np.errstate(...)`: its body (transforms/contexts.py)
    # `global n; n += 1`: s2s.set_global('n', s2s.global_value('n') + 1) (transforms/global_names.py)
    ("global names", _globals),
    # `if (n := len(x)) > 2:` as `n = len(x)` first (transforms/named_expressions.py)
    ("named expressions", _on_tree(named_expressions.write_named_expressions)),
    # [*a, b] as list(a) + [b] (transforms/star_displays.py)
    ("star displays", _on_tree(star_displays.write_star_displays, reads_names=False)),
    ("reduce", _reduce),  # functools.reduce(f, items[, initial]) as its loop (transforms/reduce_loops.py)
    # np.apply_along_axis(f, axis, arr) as a comprehension over the rows (transforms/along_axis.py)
    ("apply along axis", _along_axis),
    # operator.mul(a, b) as a * b (transforms/operator_calls.py)
    ("operator calls", _on_tree(operator_calls.write_operator_calls)),
    # generators consumed at once: lists (transforms/generators.py)
    ("generators", _on_tree(generators.rewrite)),
    ("inline", _inline),  # local helper functions: statement helpers expanded, expression helpers kept for lower
    # `np.trapz(y, x)` on a NumPy without it: the AttributeError Python raises there (transforms/missing_attributes.py)
    ("missing attributes", _on_tree(lambda pf, tree: missing_attributes.raise_missing_attributes(pf.resolve_expr, tree))),
    # d = st.norm(m, s); d.logpdf(x) as st.norm.logpdf(x, m, s) (transforms/frozen_distributions.py)
    ("frozen distributions", _frozen),
    # np.add.at(a, i, b) as `a[...] = s2s.added_at(a, i, b)` (transforms/ufunc_at.py)
    ("ufunc_at", _on_tree(ufunc_at.rewrite_ufunc_at)),
    # a loop's `else:` as an `if` after it, on a flag its breaks set (transforms/loop_else.py)
    ("loop else", _loop_else),
    # refuse what s2s cannot differentiate, at the user's line
    ("check", _on_tree(desugar_pass.check_supported)),
    ("ownership", _ownership),  # which in-place updates may be seen through another name
    ("desugar", _desugar),  # augmented assignment, methods, loops over sequences, guarded updates
    ("exits", _exits),  # break, continue and early return become flags
    ("objects", _objects),  # attribute reads, records built and replaced: calls of helpers with rules
    ("lower", _lower),  # one primitive per statement (A-normal form)
    # `SQ * x` of an object whose class defines `__mul__`: refused, or checked when the code runs
    # (transforms/operator_objects.py)
    ("operator objects", _on_tree(operator_objects.check_operator_objects)),
    ("aliasing", _aliasing),  # refuse updates a view or alias would see
    ("rebinding", _rebinding),  # a name rebound in straight-line code: a fresh name per value (s, s2)
]
# 2. "analysis" (transforms/analysis.py): activity, kinds and assignment counts, the facts both derivatives
#    are built from (printed as comments by --stages);
# 3. the derivative, by mode: "reverse" (reverse.Reverse writes the forward and backward sweeps, checkpointed
#    loops included, and _assemble the function) or "forward" (forward.Forward writes tangent code,
#    _assemble_jvp the function); both in _transform;
# 4. the clean-up steps of the optimizer (transforms/optimize.py), each a function from optimize.Code to
#    optimize.Code; the shape steps do nothing unless argument shapes are known:
OPTIMIZER = [
    ("simplify", optimize.simplify_step),
    ("dce", optimize.dce_step),
    ("copyprop", optimize.copyprop_step),
    ("max shifts of log-sum-exp", optimize.shifts_step),
    ("zeros", optimize.zeros_step),
    ("adjoints of container items, one per item", optimize.container_adjoints_step),
    ("specialize", optimize.specialize_step),
    ("dce again", optimize.dce_step),
    ("copyprop again", optimize.copyprop_again_step),
    ("seed of s2s.grad is 1.0", optimize.seed_step),
    ("logistic", optimize.logistic_step),
    ("tape", optimize.tape_step),
    ("index adjoints in place", optimize.index_adjoints_step),
    ("accumulate in place", optimize.in_place_step),
    ("ties counted, arrays reused, finish dropped, invariants hoisted, temporaries merged", optimize.late_step),
    ("item assignments in place", optimize.item_updates_step),
    ("independent trips fused", optimize.fusion_step),
    ("one inverse per matrix", optimize.inverses_step),
    ("NumPy path: solves with a triangular factor by substitution", optimize.triangular_step),
    ("products: shared factors, number factors, cheaper order", optimize.products_step),
    ("notes on what shapes blocked", optimize.explain_step),
    ("reductions of arrays as methods", optimize.methods_step),
    ("NumPy path: outer products after their loop, container gradients as made", optimize.numpy_path_step),
    ("NumPy path: items of float64 arrays read as Python floats", optimize.float_items_step),
    ("NumPy path: sums into fixed items of adjoint arrays kept in local names", optimize.item_sums_step),
]
# 5. "derivative": codegen compiles the function (s2s/codegen.py).


def passes(mode: str = "reverse") -> list[str]:
    """The names of the passes a derivative of this mode ("reverse" or "forward") goes through, in order.

        >>> passes("forward")[:3], passes("forward")[-2:]
        (['generators', 'inline', 'check'], ['reductions of arrays as methods', 'derivative'])
    """
    return [name for name, _ in LOWERING] + ["analysis", mode] + [name for name, _ in OPTIMIZER] + ["derivative"]


def _facts_text(facts) -> str:
    """The analysis step's findings as comments above the program it read (`s2s show --stages`)."""
    def names(s):
        return ", ".join(sorted(s)) or "-"
    return (f"# active (need an adjoint or tangent): {names(facts.active)}\n"
            f"# may hold lists, tuples or dicts: {names(facts.containers)}\n"
            f"# Python numbers: {names(facts.scalars)}\n")


def lowered(func, stages: bool = True, record_params: tuple = ()) -> Lowered:
    """Parse `func` and run the lowering passes: the primitive program every derivative is built from
    (with `stages`, the program after each pass is kept as text in `stage_text`; `record_params`: see
    `derivative_code`)."""
    token = _STAGES.set(stages)
    try:
        with context.using(CONTEXT):
            return _lowered(func, record_params)
    finally:
        _STAGES.reset(token)


def _lowered(func, record_params=()) -> Lowered:
    pf = frontend.parse_function(func)
    tree = pf.tree
    stage_text = {"source": ast.unparse(tree)}
    alloc = NameAllocator(names_in(tree) | set(pf.globals) & names_in(tree))
    helpers = {}
    user_free = names_in(tree)
    bound = _bound_names(tree)  # a local `np` (a count) is not the module, whatever the global `np` is
    for h, value in HELPER_VALUES.items():
        name = h
        while name in user_free and (name in bound or pf.resolve(name) is not value):
            name += "_"
        helpers[h] = name
        alloc.reserve(name)
    program = Lowered(pf, tree, alloc, helpers, stage_text)
    program.record_params = record_params
    program.user_names = frozenset(user_free)
    refusals.names(pf.tree, alloc)  # for the records passes handed no allocator name (reverse's call sites)
    for name, run in LOWERING:
        program = run(program)
        if _STAGES.get():
            stage_text[name] = ast.unparse(program.tree)
    replace_nodes(program.tree, fold_identity_test)  # (a helper's `axis is None` written `-1 is None`: its value)
    program.refusals = _records(pf)
    return program


def _records(pf) -> dict:
    """The records generated code reads by name (transforms/refusals.py): the errors of its run-time checks
    and where its calls through function values are (as runtime.Refusal), the code of its local functions
    passed as values (runtime.LocalCode)."""
    return {name: runtime.Refusal(r) if isinstance(r, dict) else r for name, r in refusals.sites(pf.tree).items()}


def _bound_names(tree) -> set[str]:
    """The names `tree` binds anywhere (assignments, parameters, imports, loop and `with` targets)."""
    out = set()
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.alias):
            out.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is not tree:
            out.add(node.name)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            out.add(node.name)
    return out


_building = threading.local()  # keys of the derivatives being made in this thread (a cycle of calls is refused)


def _build(func, wrt_names, form, optimize_code, key, scalar_params=(), shaped_params=(), fixed_params=(),
           trip_tuples=False, peel_last=False, record_params=()):
    version = rules.version
    patches.refuse_replaced(func)
    keys = _building.__dict__.setdefault("keys", set())
    order = _building.__dict__.setdefault("order", [])
    keys.add(key)
    order.append(key)
    try:
        with frontend.recording() as record, context.using(CONTEXT):
            try:
                with adopt.adopted_in_this_build() as adopted:
                    gen = _transform(func, wrt_names, form, optimize_code, key, scalar_params, shaped_params, record,
                                     fixed_params, trip_tuples, peel_last=peel_last, record_params=record_params)
                    if not peel_last:
                        gen = _peeled_if_specialised(gen, lambda: _transform(
                            func, wrt_names, form, optimize_code, key, scalar_params, shaped_params, record,
                            fixed_params, trip_tuples, peel_last=True, record_params=record_params))
            except (UnsupportedSyntaxError, NoDerivativeRuleError) as exc:
                if not adopted:
                    raise
                # the helpers expanded in the caller made code some pass refuses: each stays a call of its own,
                # as before they were adopted (whose derivative accepts or refuses it at its own lines)
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                names = sorted(set(adopted))
                kept = "kept as a call of its own" if len(names) == 1 else "kept as calls of their own"
                why = f"s2s: {', '.join(names)} {kept}: expanded here, the code was refused ({reason})"
                with adopt.without_adoption(func, why):
                    gen = _transform(func, wrt_names, form, optimize_code, key, scalar_params, shaped_params, record,
                                     fixed_params, trip_tuples, record_params=record_params)
    finally:
        order.pop()
        if key not in order:
            keys.discard(key)
    for space, name, obj in patches.unwatched_reads(gen.source):  # `math.cos` of a template: no class sees it
        record.setdefault((id(func), "d", id(space), name), (func, "d", space, name, obj, "is"))
    gen.deps = cache.deps_of(func, record)
    gen.version = version
    return gen


def _peeled_if_specialised(gen: Generated, peeled):
    """`gen`, or `peeled()` (the same derivative made with the last trip of a loop carrying an array nothing after
    it reads written out: transforms/unroll.py `peel_last_trips`) where that leaves fewer general helpers and zero
    adjoint guards in the code. Only tried where such a loop is, and `gen` keeps a general helper: a loop whose
    adjoint the shapes follow from its 0.0 already gains nothing from the longer code."""
    if not getattr(gen, "could_peel_last", False):
        return gen
    kept = _general_calls(gen.source)
    if not kept:
        return gen
    try:
        other = peeled()
    except (UnsupportedSyntaxError, NoDerivativeRuleError):
        return gen
    return other if _general_calls(other.source) < kept else gen


def _general_calls(source: str) -> int:
    """How many calls of the shape helpers `specialize.explain_blocked` explains, and of `s2s.is_zero`, `source`
    makes."""
    general = set(specialize.EXPLAINED) | {"is_zero"}
    return sum(1 for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and called_name(n) in general
               and not (isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
                        and n.func.value.id in ("np", "numpy")))  # (np.add is no helper)


def _frozen_globals(func, fdef, record, taken) -> dict:
    """Globals of `func` the transform resolved to one object (a function, a module, a class) that the
    generated code reads: it reads them from cells holding those very objects instead, so that a
    generated function kept by the user stays the derivative of one function, whatever is rebound
    later (a rebound `act = np.cos` would otherwise run in its forward sweep under the adjoint of
    np.sin). Data (arrays, numbers) is read live, as the user's function reads it."""
    stored, loaded = set(), set()
    for node in walk(fdef):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
    return {key: obj for owner, kind, _, key, obj, mode in record.values()
            if owner is func and kind == "g" and mode in ("is", "held") and obj is not _MISSING
            and key in loaded and key not in stored and key not in taken}


def _transform(func, wrt_names, form, optimize_code, key, scalar_params, shaped_params, record, fixed_params=(),
               trip_tuples=False, peel_last=False, record_params=()):
    low = lowered(func, stages=_STAGES.get(), record_params=record_params)
    if fixed_params and optimize_code and form not in ("jvp", "split") and shaped_params:
        # (not a parameter the derivative is taken with respect to: its reads carry its adjoint)
        defaults.read_fixed_params(low.tree, {p: v for p, v in fixed_params if p not in wrt_names})
    if optimize_code and form not in ("jvp", "split") and shaped_params:
        # (a global or closure int, `np.zeros(VOCAB)`, `range(STEPS)`: read as the int it is, the code made again
        # once it holds another)
        defaults.read_fixed_params(low.tree, _free_ints(low.pf, low.tree), free=True)
    pf, tree, alloc, helpers, stage_text = low.pf, low.tree, low.alloc, low.helpers, low.stage_text

    cells = {helpers[h]: types.CellType(v) for h, v in HELPER_VALUES.items()}
    # the errors of the code's run-time checks, in its closure: each record belongs to the code that raises it
    cells.update((name, types.CellType(record)) for name, record in low.refusals.items())
    callees = {}
    links = []
    tangent_names = {}  # helper name of a callee's jvp -> {parameter: its tangent parameter}

    def link(callee, positions, call_node):
        wrt = tuple(_param_names_of(callee)[p] for p in positions)
        records = _callee_records(tree, call_node, callee, record_params)
        label = (ast.dump(call_node.func), wrt, records)
        if label not in callees:
            name = alloc.fresh(f"{callee.__name__}_vjp")
            callees[label] = name
            callee_form = "jvp" if form == "jvp" else "split"
            links.append(Link(name, copy.deepcopy(call_node.func), wrt, callee_form, optimize_code, records))
            callee_key = cache.code_key(callee, wrt, callee_form, optimize_code, ())
            if records:
                callee_key += (("records",) + records,)
            if callee_key == key:
                tangent_names[name] = None  # the function being built: its own tangent names
            elif callee_key in _building.__dict__.setdefault("keys", set()):
                chain = " -> ".join(k[0].co_name for k in _building.order) + f" -> {callee.__name__}"
                raise pf.error(UnsupportedSyntaxError, "s2s cannot differentiate functions that call each other "
                               f"in a cycle ({chain})", call_node,
                               hint="a function may call itself, but not through another function: write the "
                                    "recursion as a loop, or as one function that calls itself")
            else:  # built now for its tangent names; linked when the code is bound
                tangent_names[name] = derivative_code(callee, wrt, callee_form, optimize_code,
                                                      record_params=records).tangent_names
        return callees[label]

    could_peel_last = False
    if optimize_code and form not in ("jvp", "split") and shaped_params \
            and any(isinstance(node, ast.For) for node in walk(tree)):
        could_peel_last = _write_out_loops(low, wrt_names, scalar_params, shaped_params, peel_last)
    facts = analysis.analyze(pf, tree, list(wrt_names), scalar_params)
    if low.globals_written:
        global_names.refuse_differentiated_writes_not_last(tree, facts.varied, lambda node, why, hint: _refuse(
            pf, node, why, hint))
    if _STAGES.get():
        stage_text["analysis"] = _facts_text(facts) + ast.unparse(tree)
    context = None
    if form == "jvp":
        fwd = forward_pass.Forward(pf, tree, list(wrt_names), alloc, helpers, link, scalar_params, facts=facts)
        fwd.callee_tangents = tangent_names
        fdef = _assemble_jvp(tree, fwd, wrt_names, helpers)
        own_tangents = {w: fwd.dot(w) for w in wrt_names}
        # the clean-up passes may fold, propagate and delete tangent assignments (never the user's own
        # statements, nor the tangent parameters the callers pass)
        removable = _pure_tangents(fdef, set(fwd.dots.values()) - set(own_tangents.values()), helpers)
        adjoints = set()
        stack = None
    else:
        rev = reverse.Reverse(pf, tree, list(wrt_names), alloc, helpers, link, scalar_params,
                              plain_params=tuple(n for n, shape, _ in shaped_params if isinstance(shape, tuple)),
                              facts=facts)
        forward, backward, out_atom, seed = rev.run()
        returns_value = form == "value"
        fdef = _assemble(pf, tree, rev, forward, backward, out_atom, seed, wrt_names,
                         "flat" if form == "grad" else form, alloc, helpers)
        tapes = {rev.stack} | {annotations.get(n, annotations.CHECKPOINT_NAMES)["snapshots"] for n in walk(tree)
                                 if annotations.has(n, annotations.CHECKPOINT_NAMES)}
        context = _shape_context(pf, fdef, helpers, scalar_params, shaped_params, tapes) if form != "split" else None
        if form == "grad" and (context is None or _output_shape(context, fdef, forward, out_atom) != ()):
            returns_value = True  # the output may not be a scalar: return it, to be checked
            fdef = _assemble(pf, tree, rev, forward, backward, out_atom, seed, wrt_names, "value", alloc, helpers,
                             output_kept=False)  # (grad's output must be a number: one holding a list is refused)
        adjoints = set(rev.bar.values())
        stack = rev.stack if rev.pushed else None
        removable = adjoints | rev.temp_names
    # the records the derivative pass added (where its calls through function values are), in its closure too
    cells.update((name, types.CellType(record)) for name, record in _records(pf).items() if name not in cells)
    if _STAGES.get():
        stage_text["forward" if form == "jvp" else "reverse"] = ast.unparse(fdef)
    rerun_safety = reruns.RerunSafety(func)
    if optimize_code:
        def show(name, code):
            if _STAGES.get():
                stage_text[name] = ast.unparse(code)
        # s2s.grad never passes the seed: its code may take it for the number 1.0 (transforms/seed.py)
        seed_one = fdef.args.kwonlyargs[-1].arg if form == "grad" and fdef.args.kwonlyargs else None
        fdef = optimize.optimize(fdef, OPTIMIZER, removable, adjoints, stack, context, record=show, seed_one=seed_one,
                                 user_names=low.user_names, primal=tree if form != "jvp" else None,
                                 numpy_path=trip_tuples,
                                 rerun_safe=rerun_safety)
        if trip_tuples:  # (Python-speed rewrites of the code the NumPy path runs; numba's lowering reads the plain forms)
            trip_records.record_trips(fdef, stack)
            loop_tests.inline_loop_tests(fdef)
            common_terms.share_common_terms(fdef)
            show("trip records", fdef)
    why = adopt.fallback_note(func)
    if why is not None:  # (a fast path that falls back says so: transforms/adopt.py)
        note = reverse.Comment(why)
        note.lineno = getattr(fdef.body[0], "lineno", 1) if fdef.body else 1
        fdef.body.insert(0, note)
    _rename_helpers(fdef, helpers)  # (the builtins the derivative passes and the optimizer wrote, too)
    fdef = objects.as_attributes(fdef, helpers["s2s"])
    free = list(cells) + [link.cell_name for link in links] + [n for n in func.__code__.co_freevars if n not in cells]
    frozen = _frozen_globals(func, fdef, record, set(free))
    free += sorted(frozen)
    code, source, filename = codegen.compile_function(fdef, free, f"{fdef.name} from {pf.filename}", pf.filename)
    stage_text["derivative"] = source
    seed_name = fdef.args.kwonlyargs[-1].arg if form in ("flat", "value", "grad") and fdef.args.kwonlyargs else None
    kwdefaults = {seed_name: 1.0} if seed_name else {}
    gen = Generated(code, source, filename, cells, stage_text, kwdefaults, key, links)
    gen.frozen = frozen
    gen.could_peel_last = could_peel_last
    gen.writes_checked = rerun_safety.writes_checked  # (a rerun in NumPy numbers may trust them: s2s/reruns.py)
    gen.tangent_names = own_tangents if form == "jvp" else {}
    gen.returns_value = form != "jvp" and returns_value
    return gen


def _pure_tangents(fdef, tangents, helpers):
    """The tangent names whose assignments the clean-up passes may delete: those assigned only values
    without side effects (not `stack_dot.pop()` or another method of a local object)."""
    modules = {helpers["np"], helpers["math"], helpers["s2s"]}
    impure = set()
    for node in walk(fdef):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
            if names & tangents and not all(isinstance(t, ast.Name) for t in targets) or any(
                    isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and _root_name(c.func) not in modules
                    for c in (walk(node.value) if node.value is not None else ())):
                impure |= names
    return tangents - impure


def _root_name(e):
    while isinstance(e, ast.Attribute):
        e = e.value
    return e.id if isinstance(e, ast.Name) else None


def _output_shape(context, fdef, forward, out_atom):
    """The shape of the value the function returns, inferred over its forward sweep alone (read at its end: the
    facts there, a list appended to by a loop of known trips as well)."""
    read = copy.deepcopy(out_atom)
    sweep = ast.FunctionDef(name=fdef.name, args=fdef.args, body=[*forward, ast.Return(value=read)], decorator_list=[],
                            returns=None, type_params=[])
    return context.shapes(sweep).of(read)


def _shape_context(pf, fdef, helpers, scalar_params, shaped_params, tapes=frozenset(), seed=True):
    """What shape specialisation needs (None when no parameter's shape is known). With `seed`, `fdef` is
    derivative code whose last keyword is the output's adjoint (a number); without, the user's program."""
    if not scalar_params and not shaped_params:
        return None
    params = {p: () for p in scalar_params}
    params.update({name: shape for name, shape, _ in shaped_params})
    kinds = {name: kind for name, _, kind in shaped_params}
    if seed and fdef.args.kwonlyargs and fdef.args.kwonlyargs[-1].arg not in params:
        seed = fdef.args.kwonlyargs[-1].arg
        params[seed], kinds[seed] = (), "d"  # the seed (1.0 from grad and value_and_grad)
    by_name = {name: HELPER_VALUES[h] for h, name in helpers.items()}
    free = _free_data(pf, fdef, set(params) | set(by_name))
    params.update((name, shape) for name, (shape, _) in free.items())
    kinds.update((name, kind) for name, (_, kind) in free.items())
    numbers = tuple(scalar_params) + tuple(name for name, (shape, kind) in free.items() if shape == () and kind in "dl?"
                                           and type(pf.resolve(name)) in (float, int, bool))

    def resolve(name):
        return by_name[name] if name in by_name else pf.resolve(name)

    return specialize.Context(params, resolve, helpers["np"], kinds, tapes, numbers=numbers, code=fdef,
                              seed=seed if isinstance(seed, str) else None)


FREE_DATA_VARIANTS = cache.SHAPE_VARIANTS  # per code: beyond this many shapes of its free arrays, none is used
_FREE_DATA = Table("shapes of free data", cache.CODE_MAX)  # (code, "ints" or "arrays") -> the variants seen


def _free_ints(pf, fdef) -> dict:
    """{name: int} of the Python ints the code reads from the function's closure or module (`frontend.int_value`:
    recorded by value), where the function's free ints have had no more than FREE_DATA_VARIANTS values (a counter
    that grows between calls is read as a number)."""
    read = _free_reads(pf, fdef, set())
    if read is None or not _variant_allowed(pf, "ints"):
        return {}
    candidates = [n for n in read if type(pf.closure.get(n, pf.globals.get(n))) is int]
    out = {name: value for name in candidates if (value := pf.int_value(name)) is not None}
    _note_variant(pf, "ints", tuple(sorted(out.items())))
    return out


def _free_data(pf, fdef, taken) -> dict:
    """{name: (shape, dtype character)} of the numbers and numeric arrays the code reads from the function's
    closure or module (`X` of a loss made by `make_loss(X, y)`, a global `DT = 0.01`): the code is specialised
    to them as to the arguments, and stale once one holds another kind or shape of value (frontend.data_fact).
    None are used for a function whose free arrays have had more than FREE_DATA_VARIANTS shapes (a global
    that grows between calls): its code reads them as it reads any object."""
    read = _free_reads(pf, fdef, taken)
    if read is None or not _variant_allowed(pf, "arrays"):
        return {}
    out = {name: fact for name in read if (fact := pf.data_fact(name)) is not None}
    _note_variant(pf, "arrays", tuple(sorted((name, fact) for name, fact in out.items() if fact[0] != ())))
    return out


def _free_reads(pf, fdef, taken):
    """The names `fdef` reads and binds nowhere (not its parameters), less `taken`, sorted; None for a function
    without code."""
    if getattr(pf.func, "__code__", None) is None:
        return None
    bound = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)} | {
        n.id for n in walk_nodes(fdef) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return sorted({n.id for n in walk_nodes(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound - taken)


def _variant_allowed(pf, what) -> bool:
    """Whether the function's free `what` ("ints", "arrays") have had no more than FREE_DATA_VARIANTS values."""
    seen = _FREE_DATA.find((pf.func.__code__, what))
    return seen is None or len(seen) <= FREE_DATA_VARIANTS


def _note_variant(pf, what, signature) -> None:
    """Count `signature` (the values or shapes the code is made for) among the function's variants of `what`."""
    if not signature:
        return
    key = (pf.func.__code__, what)
    seen = _FREE_DATA.find(key)
    if seen is None:
        seen = set()
        _FREE_DATA.put(key, seen)
    seen.add(signature)


def _write_out_loops(low: Lowered, wrt_names, scalar_params, shaped_params, peel_last=False) -> bool:
    """Loops over a container argument's items of different shapes written out, loops whose first trip
    starts from other shapes peeled, with `peel_last` the last trip of a loop carrying an array nothing after
    it reads (transforms/unroll.py), reads of a container argument's items moved
    out of loops and read through slices as the argument's own (transforms/item_reads.py), from shapes inferred
    over the lowered primal; the copies' rebound names are renamed again. Returns, without `peel_last`, whether
    a loop's last trip could have been."""
    inlined = tuple_items.inline_tuple_items(
        low.tree, annotations.get(low.tree, annotations.EXPANDED_RESULTS, frozenset()),
        annotations.get(low.tree, annotations.EXPANDED_NAMES, frozenset()))
    context = _shape_context(low.pf, low.tree, low.helpers, scalar_params, shaped_params, seed=False)
    shapes = context.shapes(low.tree)  # (inferred again only where a step changed the program)
    unrolled = any(isinstance(shape, Seq) for _, shape, _ in shaped_params) \
        and unroll.unroll_item_loops(low.tree, shapes)
    if unrolled:
        shapes = context.shapes(low.tree)
    peeled, shapes = unroll.peel_first_trips(low.tree, context.shapes, low.alloc.fresh, shapes)

    def active(tree):
        return analysis.analyze(low.pf, tree, list(wrt_names), scalar_params).active

    could_peel_last = False
    if peel_last:
        peeled_last, shapes = unroll.peel_last_trips(low.tree, context.shapes, low.alloc.fresh, active, shapes)
        peeled = peeled or peeled_last
    else:
        could_peel_last = unroll.last_trip_to_peel(low.tree, shapes, active) is not None
    folded = (unrolled or peeled) and unroll.fold_known_conditions(low.tree, shapes)
    if folded:
        shapes = context.shapes(low.tree)
    # (an item read hoisted out of its loop sums its adjoint's terms in their own dtype before one write into the
    # argument's adjoint: float32 terms of a float64 item would sum in float32, adv231)
    hoisted = any(isinstance(shape, Seq | Keyed) or type(shape) is tuple and shape for _, shape, _ in shaped_params) \
        and context.one_floating_dtype and item_reads.hoist_item_reads(low.tree, shapes)
    sliced = any(isinstance(shape, Seq) for _, shape, _ in shaped_params) \
        and item_reads.read_items_through_slices(low.tree, shapes)
    changed = inlined or unrolled or peeled or folded or hoisted or sliced
    if changed:
        _rebinding(low)
        if _STAGES.get():
            low.stage_text["unroll"] = ast.unparse(low.tree)
    return could_peel_last


def _callee_records(tree, call_node, callee, record_params) -> tuple:
    """The `record_params` of a callee's code: for each of its positional parameters given a parameter of the caller
    that the caller never binds again and that `record_params` names (or `s2s.receiver(p, ...)` of it, bound once to
    a name), that parameter's entries, under the callee's name (`model(x)` -> `MLP.__call__(receiver, x)`:
    ("self", MLP), ("self.layers", ("items", Linear))), so that its code reads `for layer in self.layers:
    x = layer(x)` as the caller's own would. Empty where there is none.

        >>> tree = ast.parse("def f(m, x):\n    return call(m, x)").body[0]
        >>> def call(self, x): pass
        >>> _callee_records(tree, tree.body[0].value, call, (("m", "M"), ("m.layers", ("items", "L"))))
        (('self', 'M'), ('self.layers', ('items', 'L')))
    """
    if any(isinstance(a, ast.Starred) for a in call_node.args):
        return ()
    stores, values = {}, {}
    for node in walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = node.value

    def given(arg):
        """(the caller's parameter `arg` is, else None; the record class a `s2s.receiver` check of it names, else
        None)."""
        checked = None
        if isinstance(arg, ast.Name) and stores.get(arg.id) == 1 and isinstance(values.get(arg.id), ast.Call):
            arg = values[arg.id]  # (`receiver = s2s.receiver(model, MLP, '__call__')`)
            helper = arg.func.attr if isinstance(arg.func, ast.Attribute) and annotations.is_helper(arg.func.value) \
                and len(arg.args) > 1 else None
            if helper == "record":  # (`d = s2s.record(t, Disc, 'r')`, built here: exactly of that class)
                from s2s import api
                made = annotations.resolved(arg.args[1])
                return None, made if made is not None and api._has_own_methods(made) else None
            if helper != "receiver":
                return None, None
            checked = annotations.resolved(arg.args[1])
            arg = arg.args[0]
        return (arg.id if isinstance(arg, ast.Name) and arg.id not in stores else None), checked

    import inspect
    params = [name for name, p in inspect.signature(callee).parameters.items()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]  # (not `*args`: a tuple of what it is given)
    out = []
    for k, arg in enumerate(call_node.args[:len(params)]):
        caller, checked = given(arg)
        if caller is not None and any(name.partition(".")[0] == caller for name, _ in record_params):
            for name, kind in record_params:
                root, dot, field = name.partition(".")
                if root == caller:
                    out.append((params[k] + dot + field, kind))
        elif checked is not None:  # (a record the caller built, checked to be of its class: `self` of its method)
            out.append((params[k], checked))
    return tuple(out)


def _param_names_of(func):
    import inspect
    return list(inspect.signature(func).parameters)


def _rename_helpers(tree, helpers):
    for node in walk(tree):
        if isinstance(node, ast.Name) and getattr(node, HELPER, False) and node.id in helpers:
            node.id = helpers[node.id]


def _assemble(pf, tree, rev, forward, backward, out_atom, seed, wrt_names, form, alloc, helpers, output_kept=True):
    """The generated function of `form` from the sweeps. `output_kept`: a "value" output holding a list the
    backward sweep pops (an auxiliary output) is given as the function returned it (`s2s.lists_as_they_are`)."""
    s2s = helpers["s2s"]
    args = copy.deepcopy(tree.args)
    out_name = out_atom.id if isinstance(out_atom, ast.Name) else "out"
    seed_bar = rev.adj(seed) if seed else alloc.fresh(f"{out_name}_bar")
    stack = rev.stack if rev.pushed else None  # no push, no tape
    stack_init = [ast.parse(f"{stack} = []").body[0]] if stack else []
    unset = sorted(rev.pushed - set(_param_names(tree)))
    if unset:  # values pushed before their first assignment (first loop iteration, one-armed if)
        stack_init.append(ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store()) for n in unset],
                                     value=ast.Constant(None)))
        annotations.put(stack_init[-1], annotations.PLACEHOLDER)
    # a parameter the function rebinds (x = layer(x)) is finished against the argument itself: the backward
    # sweep restores it only where its adjoints read it, so at the end it may hold a later value
    stored = _stored_names(forward)
    argument = {w: alloc.fresh(f"{w}_arg") for w in wrt_names if w in stored}
    # (a record whose fields the function stores into, `model.h = ...`, is finished against its fields as given)
    fields_stored = {w: alloc.fresh(f"{w}_given") for w in wrt_names if w not in argument and _fields_stored(forward, w)}
    forward = [ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=load(w))
               for w, name in argument.items()] + [
        ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                   value=ast.Call(func=ast.Attribute(value=load(s2s), attr="as_given", ctx=ast.Load()),
                                  args=[load(w)], keywords=[]))
        for w, name in fields_stored.items()] + forward
    argument.update(fields_stored)
    grads = []
    for w in wrt_names:
        bar = rev.bar.get(w)
        value = ast.Constant(0.0) if bar is None or w in rev.zero_at_end else load(bar)
        grads.append(ast.Call(func=ast.Attribute(value=load(s2s), attr="finish", ctx=ast.Load()),
                              args=[value, load(argument.get(w, w))], keywords=[]))
    wrt_label = "_".join(wrt_names)
    backward = _seeded(backward, seed_bar, out_atom, s2s)
    if form == "split":
        restored = sorted(_stored_names(backward) & (set(_param_names(tree)) | _stored_names(forward)))
        popped_lists = sorted(_popped_lists(backward))
        defaults_names = sorted(set(restored) | set(popped_lists) | ({stack} if stack else set()))
        maybe_unset = sorted(set(defaults_names) - set(_param_names(tree)) - set(unset) - ({stack} if stack else set()))
        outside = _read_from_outside(pf, backward + grads, tree, forward + stack_init, seed_bar)
        backward, grads = copy.deepcopy(backward), copy.deepcopy(grads)  # (nodes the forward sweep shares: range(cfg.n))
        attributes = _attributes_read(backward + grads, outside - set(helpers.values()), alloc, pf)
        outside = _read_from_outside(pf, backward + grads, tree, forward + stack_init, seed_bar) - set(attributes)
        grads_expr = ast.Tuple(elts=grads, ctx=ast.Load())
        defaults_names += sorted(outside - set(defaults_names)) + list(attributes)
        if maybe_unset:  # a loop that ran no trip, a branch not taken: the pullback's defaults still need a value
            stack_init.append(ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store()) for n in maybe_unset],
                                         value=ast.Constant(None)))
            annotations.put(stack_init[-1], annotations.PLACEHOLDER)
        # each call of the pullback pops from its own copies (a list that was never made stays None)
        copies = [ast.parse(f"{n} = list({n})" if n == stack else f"{n} = None if {n} is None else list({n})").body[0]
                  for n in sorted(set(popped_lists) | ({stack} if stack else set()))]
        if stack:
            _copy_restored_lists(backward, stack, set(popped_lists))
        pb_name = alloc.fresh(f"{tree.name}_pullback")
        pb_args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=seed_bar)] + [ast.arg(arg=n) for n in defaults_names],
                                vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                                defaults=[attributes.get(n) or load(n) for n in defaults_names])
        pb = ast.FunctionDef(name=pb_name, args=pb_args, body=copies + backward + [ast.Return(value=grads_expr)],
                             decorator_list=[], returns=None, type_params=[])
        value_name = alloc.fresh("value") if _stored_names(backward) & set(atom_names_of(out_atom)) else None
        body = stack_init + forward
        ret_value = out_atom
        if value_name:
            body.append(ast.Assign(targets=[ast.Name(id=value_name, ctx=ast.Store())], value=out_atom))
            ret_value = load(value_name)
        body += [pb, ast.Return(value=ast.Tuple(elts=[ret_value, load(pb_name)], ctx=ast.Load()))]
        name = f"{tree.name}_vjp"
    else:
        args.kwonlyargs = args.kwonlyargs + [ast.arg(arg=seed_bar)]
        args.kw_defaults = args.kw_defaults + [ast.Constant(1.0)]
        grads_expr = grads[0] if len(grads) == 1 else ast.Tuple(elts=grads, ctx=ast.Load())
        body = stack_init + forward
        if form == "value":
            value_name = alloc.fresh("value")
            if _popped_lists(backward) and output_kept and not isinstance(out_atom, ast.Constant):
                # (the backward sweep pops lists: an output that holds one, an auxiliary output, keeps it as the
                # function returned it)
                out_atom = ast.Call(func=ast.Attribute(value=load(s2s), attr="lists_as_they_are", ctx=ast.Load()),
                                    args=[out_atom], keywords=[])
            body.append(ast.Assign(targets=[ast.Name(id=value_name, ctx=ast.Store())], value=out_atom))
            grads_expr = ast.Tuple(elts=[load(value_name), grads_expr], ctx=ast.Load())
        body += backward + [ast.Return(value=grads_expr)]
        name = f"d{tree.name}_d{wrt_label}"
    fdef = ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None, type_params=[])
    for a in walk(fdef.args):
        if isinstance(a, ast.arg):
            a.annotation = None
    fix_locations(fdef)
    return fdef


def _seeded(backward, seed_bar, out_atom, s2s):
    """The backward sweep with the seed in the output's dtype first (`out_bar = s2s.seed_of(out_bar, out)`): the
    default 1.0, a Python number, is weak in NumPy, so the adjoint of a float64 value would be float32 beside a
    float32 operand. The optimizer drops the line where it is idle (transforms/adjoint_dtypes.py)."""
    if not isinstance(out_atom, ast.Name) or not any(
            isinstance(n, ast.Name) and n.id == seed_bar and isinstance(n.ctx, ast.Load) for s in backward for n in walk(s)):
        return backward
    line = ast.Assign(targets=[ast.Name(id=seed_bar, ctx=ast.Store())],
                      value=ast.Call(func=ast.Attribute(value=load(s2s), attr="seed_of", ctx=ast.Load()),
                                     args=[load(seed_bar), load(out_atom.id)], keywords=[]))
    return [line, *backward]


def _read_from_outside(pf, code, tree, forward, seed_bar) -> set[str]:
    """The names the pullback's `code` reads that the function binds nowhere and that are bound now (its globals and
    closure values, the modules): the pullback takes them as they were when the forward sweep ran, as its defaults
    (adv225: `K = 1.0` between `s2s.vjp(f, x)` and `pullback(ct)` gave a gradient of K = 7's forward values with
    K = 1's slopes). Builtins are left to Python."""
    read = {n.id for s in code for n in walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    bound = set(_param_names(tree)) | _stored_names(forward) | _stored_names(code) | {seed_bar}
    return {n for n in read - bound if not hasattr(builtins, n) and _bound_now(pf, n)}


def _bound_now(pf, name) -> bool:
    """Whether the free name is bound now (a module global, a filled closure cell): one bound later (read on a path
    the forward sweep may not take) is read when the pullback runs, as before (adv227: a NameError at vjp)."""
    return name in pf.globals or name in pf.closure and pf.closure[name] is not frontend.missing()


def _plain_attribute_now(pf, node) -> bool:
    """Whether the attribute chain `node` (`cfg.K`) reaches a plain stored value now: each attribute in its object's
    own `__dict__` (a module's or an instance's), none computed (a property, `__getattr__`), so reading it at vjp
    runs nothing of the user's and cannot fail."""
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or not _bound_now(pf, node.id):
        return False
    obj = pf.globals[node.id] if node.id in pf.globals and node.id not in pf.closure else pf.closure.get(node.id)
    for attr in reversed(chain):
        space = getattr(obj, "__dict__", None)
        if not isinstance(space, dict) or attr not in space:
            return False
        obj = space[attr]
    return True


def _attributes_read(code, roots, alloc, pf) -> dict:
    """The attributes of objects and modules named by `roots` (`cfg.K`, `config.K`) that the pullback's `code`
    reads as values (not called: `np.tanh(...)`) and that are stored values now (`_plain_attribute_now`), each
    replaced in `code` by a name of its own -> the attribute, to be read when the forward sweep ran (adv226:
    `cfg.K = 1.0` after vjp, read late beside K = 7's forward values)."""
    calls = {id(n.func) for s in code for n in walk(s) if isinstance(n, ast.Call)}
    names, taken, inside = {}, {}, set()
    for s in code:
        for parent in walk(s):
            for field, child in ast.iter_fields(parent):
                for at, node in ([(None, child)] if isinstance(child, ast.AST) else
                                 enumerate(child) if isinstance(child, list) else []):
                    if not (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and id(node) not in calls
                            and id(node) not in inside):
                        continue
                    root = node.value
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if not (isinstance(root, ast.Name) and root.id in roots) or not _plain_attribute_now(pf, node):
                        continue
                    inside.update(id(n) for n in walk(node))  # (cfg.sub of cfg.sub.K: taken whole)
                    text = ast.unparse(node)
                    if text not in taken:
                        taken[text] = alloc.fresh(text.replace(".", "_"))
                        names[taken[text]] = copy.deepcopy(node)
                    new = ast.Name(id=taken[text], ctx=ast.Load())
                    if at is None:
                        setattr(parent, field, new)
                    else:
                        child[at] = new
    return names


def _assemble_jvp(tree, fwd, wrt_names, helpers):
    stmts, out_atom, out_dot = fwd.run()
    args = copy.deepcopy(tree.args)
    for w in wrt_names:
        args.kwonlyargs.append(ast.arg(arg=fwd.dot(w)))
        args.kw_defaults.append(None)
    finish = ast.Call(func=ast.Attribute(value=load(helpers["s2s"]), attr="finish", ctx=ast.Load()),
                      args=[out_dot, out_atom], keywords=[])
    body = stmts + [ast.Return(value=ast.Tuple(elts=[out_atom, finish], ctx=ast.Load()))]
    fdef = ast.FunctionDef(name=f"{tree.name}_jvp", args=args, body=body, decorator_list=[], returns=None,
                           type_params=[])
    for a in walk(fdef.args):
        if isinstance(a, ast.arg):
            a.annotation = None
    fix_locations(fdef)
    return fdef


def atom_names_of(a):
    return [a.id] if isinstance(a, ast.Name) else []


def _fields_stored(stmts, name) -> bool:
    """Whether `stmts` store into a field of the object `name` (`s2s.store_field(name, ...)`, transforms/objects.py)."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "store_field"
               and n.args and isinstance(n.args[0], ast.Name) and n.args[0].id == name
               for s in stmts for n in walk_nodes(s))


def _stored_names(stmts):
    out = set()
    for s in stmts:
        for n in walk_nodes(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                out.add(n.id)
            if isinstance(n, ast.For) and isinstance(n.target, ast.Name):
                out.add(n.target.id)
    return out


def _copy_restored_lists(stmts, stack, popped):
    """After each `L = stack.pop()` of a list L the backward sweep pops (the list an earlier loop trip built, as the
    tape kept it), `L = None if L is None else list(L)`: the pullback pops its own copy, so that a second call
    finds the lists the forward sweep left (the tape's copy holds the very list objects the forward sweep made)."""
    for node in walk(ast.Module(body=stmts, type_ignores=[])):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            out = []
            for s in block:
                out.append(s)
                if _restores_from(s, stack) in popped:
                    name = s.targets[0].id
                    out.append(ast.copy_location(ast.parse(f"{name} = None if {name} is None else list({name})").body[0], s))
            block[:] = out
    fix_locations(ast.Module(body=stmts, type_ignores=[]))


def _restores_from(s, stack):
    """The name `s` restores from the tape `stack` (`name = stack.pop()`), else None."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
            and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) and s.value.func.attr == "pop" \
            and isinstance(s.value.func.value, ast.Name) and s.value.func.value.id == stack and not s.value.args:
        return s.targets[0].id
    return None


def _popped_lists(stmts):
    out = set()
    for s in stmts:
        for n in walk(s):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "pop" \
                    and isinstance(n.func.value, ast.Name) and not n.args:
                out.add(n.func.value.id)
    return out
