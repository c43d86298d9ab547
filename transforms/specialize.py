"""Rewrites that the argument shapes of one call make exact (shape-specialised gradient code).

With the shapes from `transforms.shapes`, generated code loses bookkeeping
that only matters when shapes differ:

- `unbroadcast(g, x)` becomes `g` where `g` already has the shape of `x`;
- `s2s.reduced_size(x, axis)` becomes the number it is;
- `s2s.expand_reduced(g, x, ...)` becomes `g` where `g` has x's shape, and
  a scalar `g` stays a scalar where every use of it broadcasts back to the
  full shape at once or is expanded again (`t_bar = mean_bar / 640` and
  `u_bar = t_bar * 2 * u` instead of filling an array with `mean_bar / 640`);
- the matrix-product adjoints become the products themselves (`g @ b.T`,
  `a.T @ g`, `np.outer(g, b)`) for 1-d and 2-d operands;
- `s2s.add(a, b)` of two arrays becomes `a + b`;
- `pure_names` lists the primal variables whose statements cannot raise
  (NumPy arithmetic, ufuncs and sums on shapes known to fit), so that dead-code
  elimination can drop the ones the gradient does not read (the loss value
  itself, when only the gradient is asked for);
- `np.exp(z - s)` where `s = np.logaddexp(0.0, z)` is read nowhere else
  becomes the logistic function of `z` (`0.5 + 0.5 * np.tanh(0.5 * z)`, which
  does not overflow), so that the logaddexp need not be computed at all.
"""

from __future__ import annotations

import ast
import copy
import math
import operator

import numpy as np

from .context import ctx
from .extremes import expanded_name
from .item_updates import split_item_adjoints
from .names import called_name, load, name_counts
from .precision import NARROW_KINDS, Dtypes, hidden_read_site, other_dtype_site
from .shapes import (
    NONE_VALUE,
    RANDOM_GENERATOR,
    Keyed,
    ListOf,
    Overrides,
    Seq,
    Shapes,
    Site,
    ZeroOrItems,
    ZeroScalar,
    _int_literal,
    as_arrays,
    broadcast,
    hashable,
    items_of,
    literal,
    matmul,
)
from .unchanged import aliases, changed_in_place
from .walk import child_parent_pairs, fix_locations, replace_child, statement_lists, walk, walk_nodes

# the runtime helpers whose results the shape rules know, by the name the rules use
_RUNTIME_HELPER_NAMES = ("unbroadcast", "expand_reduced", "reduced_size", "finish", "add", "grad_matmul_a", "grad_matmul_b",
                         "copy", "getitem_grad", "grad_norm", "grad_extreme", "balanced_eq", "is_zero", "grad_mult_seq",
                         "transpose_attr", "transpose_attr_grad", "part", "setitem", "setitem_grads", "grad_trace", "eye_product",
                         "written_into", "grad_slogdet", "grad_solve_a", "grad_solve_b", "grad_det", "field_grad",
                         "array_grad", "as_sequence", "zip_row", "grad_iterated", "grad_concatenate", "grad_hstack",
                         "grad_squeeze", "grad_add_seq", "grad_where", "grad_clip", "grad_einsum_parts",
                         "grad_select", "append_grads", "append_grads_owned", "add_item_grad", "grad_stack", "grad_dot_a", "slice_kept",
                         "grad_dot_b", "grad_cumsum", "zero_of_real", "grad_pad", "grad_diff", "grad_diag",
                         "grad_builtin_sum", "grad_var", "grad_std", "float_items",
                         "outer_operand", "outer_reduced", "dot_method", "seed_of", "cast_back")


def runtime_helpers() -> dict:
    """Runtime helper function -> the name the shape rules know it by (from the installed context's runtime)."""
    runtime = ctx().runtime
    return {getattr(runtime, name): name for name in _RUNTIME_HELPER_NAMES}


def __getattr__(name):  # RUNTIME_HELPERS, computed from the installed context when first asked for
    if name == "RUNTIME_HELPERS":
        return runtime_helpers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Context:
    """What shape specialisation knows: parameter shapes, how free names resolve, NumPy's name."""

    def __init__(self, params: dict, resolve, np_name: str, kinds: dict | None = None, tapes=frozenset(),
                 numbers=frozenset(), code: ast.FunctionDef | None = None, seed: str | None = None):
        self.params = params  # name -> shape
        self.numbers = frozenset(numbers)  # the parameters that receive Python numbers (never updated in place)
        # (derivative code's seed keyword: a Python number where s2s.grad, or a pullback given one, runs it)
        self.seed = seed
        self.tapes = set(tapes)  # the lists s2s saves values on (pops from them restore a name's earlier value)
        self.kinds = kinds or {}  # name -> NumPy dtype character ("d" for float64, Python floats included)
        self.resolve = resolve
        self.np_name = np_name
        # (whether the function's `code` names and makes no floating dtype but float64: a float32 array it makes
        # itself, `v.astype(np.float32)`, is summed in float32 where a Python 1.0 replaces a float64 broadcast)
        narrow = {p for p, k in self.kinds.items() if set(_leaves([k])) & NARROW_KINDS}
        site = None if code is None else other_dtype_site(code, np_name, resolve, narrow)
        # (the first read of a value whose dtype s2s does not see, `m.w` of an object argument, `G["w"]` of a module's
        # dict, which may be float32: its arrays' shapes are not known either, so no shape rewrite reaches what they
        # meet, but the seed and conversions' adjoints keep their dtypes there: transforms/adjoint_dtypes.py)
        known = set(params) | set(self.kinds) | self.numbers | ({seed} if seed else set())
        self.hidden = None if code is None else hidden_read_site(code, resolve, known)
        self.hidden_note = None if self.hidden is None else \
            f"{_line(_statement_of(code, self.hidden))}the dtype of {ast.unparse(self.hidden)} is not known here"
        # (why the code is not float64 only, for the comments of the printed code: `v is float32`, or
        # `line 6: w = s2s.astype(v, np.float32)`)
        wider = [p for p, k in self.kinds.items() if set(_leaves([k])) & set("efg")]
        if wider:
            self.other_dtype = f"{wider[0]} is {_DTYPE_NAMES[min(set(_leaves([self.kinds[wider[0]]])) & set('efg'))]}"
        else:
            self.other_dtype = None if site is None else _line(_statement_of(code, site)) + _text(_statement_of(code, site))
        # (the narrowest floating dtype of the arguments, where the code makes none narrower: a number's broadcast
        # in it may be a Python number, which NumPy promotes with any other array as it does the broadcast)
        floats = {k for k in _leaves(self.kinds.values()) if k in "efdg"}
        narrowest = min((np.dtype(k) for k in floats), key=lambda d: d.itemsize, default=np.dtype(np.float64))
        if narrowest == np.float64:  # (the same question as above)
            self.narrowest = narrowest if site is None else None
        else:
            self.narrowest = narrowest if code is None or other_dtype_site(code, np_name, resolve, narrow, narrowest) \
                is None else None

    @property
    def one_floating_dtype(self) -> bool:
        """Whether every floating argument has one dtype and the code makes nothing narrower (a sum of an item's
        adjoint terms in their own dtype is then in the item's dtype or wider)."""
        strong = [k for p, k in self.kinds.items() if p not in self.numbers and p != self.seed]  # (a Python float: weak)
        return self.narrowest is not None and len({k for k in _leaves(strong) if k in "efdg"}) <= 1

    def broadcast_note(self, fdef):
        """`note(x)`: why a number may not stand for a broadcast to x's shape in x's dtype in `fdef` (see
        `numbers_for_broadcasts`), or None where it may."""
        exact = self.numbers_for_broadcasts(fdef)
        if exact is None:
            return lambda x: f"not float64 only ({self.other_dtype}): a number in place of the broadcast would " \
                             "change NumPy's dtypes"
        return lambda x: None if exact(x) else f"{ast.unparse(x)} is not certainly {self.narrowest} " \
            f"({self.other_dtype}): a number in place of its broadcast would change NumPy's dtypes"

    def numbers_for_broadcasts(self, fdef):
        """`exact(x)`: whether a Python number may stand for its broadcast to `x`'s shape in `x`'s dtype (what
        `s2s.expand_reduced(g, x, ...)` makes of a Python number g) in `fdef`: where the code is float64 only, or
        `x` is certainly of the narrowest floating dtype the code may make (float32 code's `np.sum(np.sin(x))`, not
        its `x[0] + np.zeros(5)`, which is float64). None where no such broadcast may be a number."""
        if self.float64_only:
            return lambda x: True
        if self.narrowest is None:
            return None
        dtypes = self.dtypes(fdef)
        def exact(x):  # (`is not None` first: NumPy reads None as float64, `np.dtype('float64') == None` is True)
            dtype = dtypes.of(x)
            return dtype is not None and dtype == self.narrowest

        return exact

    def dtypes(self, fdef, either: bool = False) -> Dtypes:
        """The dtypes inferred over `fdef` (`transforms.precision.Dtypes`): the parameters' kinds, Python numbers
        for the parameters given numbers and for the seed."""
        return Dtypes(fdef, self.kinds, self.numbers | ({self.seed} if self.seed else set()), self.resolve,
                      self.tapes, either)

    @property
    def float64_only(self) -> bool:
        """Whether every floating-point parameter is float64 and the code makes no other floating dtype (then no
        adjoint can lose precision in place, and a Python float in place of a float64 broadcast gives the same)."""
        return self.other_dtype is None

    @property
    def without_float16(self) -> bool:
        """Whether no floating-point parameter is float16 (then an adjoint array made of a real value's dtype is
        float32 or wider: float32 and float64 terms lose no more than float32 rounding added into it in place)."""
        return all(k != "e" for k in _leaves(self.kinds.values()))

    def shapes(self, fdef) -> Shapes:
        """Shape inference over `fdef` from the parameter shapes."""
        return Shapes(fdef, self.params, self.resolve, runtime_helpers(), self.kinds, self.tapes)


_DTYPE_NAMES = {"e": "float16", "f": "float32", "g": "longdouble"}


def _statement_of(fdef, node):
    """The innermost statement of `fdef` that holds `node`."""
    found = fdef
    for stmt in walk_nodes(fdef):
        if isinstance(stmt, ast.stmt) and stmt is not fdef and any(n is node for n in walk_nodes(stmt)):
            found = stmt
    return found


def _leaves(kinds):
    """The dtype characters of `kinds`, those inside a container argument's `Seq`/`Keyed` included."""
    for kind in kinds:
        if isinstance(kind, str):
            yield kind
        elif isinstance(kind, Seq):
            yield from _leaves(kind.items)
        elif isinstance(kind, Keyed):
            yield from _leaves(k for _, k in kind.items)


def specialize(fdef: ast.FunctionDef, ctx: Context, stack: str | None):
    """Apply the shape rewrites; returns (fdef, names of primal variables that may be dropped if unread, shapes).

    The shapes stay valid for the later passes: deleting assignments or rewriting an
    expression into one of the same shape never makes a shape they claim wrong.
    """
    shapes = ctx.shapes(fdef)
    if fold_known_tests(fdef, shapes):
        shapes = ctx.shapes(fdef)
    if fold_known_ints(fdef, shapes) | drop_known_counts(fdef, shapes) | drop_number_guards(fdef, shapes, ctx.numbers) \
            | drop_inplace_checks(fdef, shapes, ctx.numbers) | drop_plain_operand_checks(fdef, shapes):
        shapes = ctx.shapes(fdef)
    for _ in range(8):  # a rewritten adjoint has a known shape now: the rewrites it feeds may apply
        split = split_item_adjoints(fdef, shapes)
        if not _rewrite_helpers(fdef, shapes, ctx.np_name, ctx.float64_only) and not split:
            break
        shapes = ctx.shapes(fdef)
    if _calls(fdef, "expand_reduced"):
        for _ in range(16):
            # (only a broadcast in the narrowest dtype: a Python 1.0 in place of a float64 broadcast sums a float32
            # array in float32, helper 118's `np.mean(W[i] * x[i])` of W float32 and x float64, review 229's float32
            # array made inside, `v.astype(np.float32)`, and float32 code's `x[0] + np.zeros(5)`, which is float64)
            exact = ctx.numbers_for_broadcasts(fdef)
            if exact is None:
                break
            with shapes.symbolic():  # (it compares shapes, writes none: `x[:i]`'s, an Extent, compares too)
                if not keep_reduced_scalars(fdef, shapes, exact):
                    break
            shapes = ctx.shapes(fdef)
            rewrite_helpers(fdef, shapes, ctx.np_name, ctx.float64_only)
        if expand_as_broadcast(fdef, shapes, ctx.np_name, ctx.float64_only):
            shapes = ctx.shapes(fdef)
    return fdef, pure_names(fdef, shapes, stack), shapes


def drop_known_counts(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """`s2s.star_count(p, 3, 'f')` (the check that `f(s, *p)` gives f the items it takes, transforms/inline.py)
    and `s2s.unpack_count(p, 3, starred)` (the check that `a, b, c = p` finds 3 items, at least 3 with a starred
    target: transforms/lower.py) dropped where p certainly holds that many: a tuple or list of known items, an
    array of known rows."""
    checks = tuple(c for c in (getattr(ctx().runtime, "star_count", None), getattr(ctx().runtime, "unpack_count", None))
                   if c is not None)
    check = getattr(ctx().runtime, "not_an_iterator", None)
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    return _drop_statements(fdef, lambda stmt: _known_count(stmt, checks, shapes)
                            or _known_sequence(stmt, check, shapes, params))


def _known_sequence(stmt, check, shapes, params) -> bool:
    """Whether `stmt` is `s2s.not_an_iterator(items, site)` (the check that a loop taking all of its items first
    is not over an iterator, transforms/loops.py) of items known to be an array, a list or a tuple: by their
    shapes, or a local name bound only to list or tuple displays (appending keeps a list a list)."""
    if not (check is not None and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and len(stmt.value.args) == 2 and shapes.callee(stmt.value) is check):
        return False
    items = stmt.value.args[0]
    fact = shapes.of(items)
    if isinstance(fact, Seq | ListOf) or isinstance(fact, tuple) and len(fact) >= 1:
        return True
    values = shapes._assigned_values.get(items.id) if isinstance(items, ast.Name) and items.id not in params else None
    return bool(values) and shapes._bindings.get(items.id) == len(values) and all(
        isinstance(v, ast.List | ast.Tuple | ast.ListComp) or shapes._by_tape(v, items.id) for v in values)


def _drop_statements(fdef: ast.FunctionDef, passes) -> bool:
    """Drop from every block of `fdef` the statements `passes(stmt)` says certainly pass (a block left empty
    holds `pass`). Returns whether anything was dropped."""
    changed = False
    for block in statement_lists(fdef):
        kept = [stmt for stmt in block if not passes(stmt)]
        if len(kept) != len(block):
            block[:] = kept or [ast.Pass()]
            changed = True
    return changed


def drop_number_guards(fdef: ast.FunctionDef, shapes: Shapes, numbers) -> bool:
    """`s2s.unshared(value, site, deep, y, *others)` (the run-time check that `y op= v` or `y[i] op= v` changes
    nothing another name sees, transforms/ownership.py) is `value` where it can find nothing, and
    `s2s.item_number(t, site)` is `t` where `t` certainly holds a number: where `y`
    certainly holds a number (`Shapes.number_names`; a number is never changed in place, so `y *= x` of
    `y = x`, x a float, rebinds `y` alone), and where `y` is an array or a number and every other name asked
    about certainly holds a number (none: `acc[i] += v` of an array, whose items are numbers, none of them an
    object another item holds)."""
    check = getattr(ctx().runtime, "unshared", None)
    item_check = getattr(ctx().runtime, "item_number", None)
    guards = [n for n in walk(fdef) if isinstance(n, ast.Call) and shapes.callee(n) is check and check is not None
              and len(n.args) >= 4 and not n.keywords and isinstance(n.args[2], ast.Constant)
              and type(n.args[2].value) is bool and isinstance(n.args[3], ast.Name)]
    # (`s2s.item_number(t, site)`, the check that an item read before an update is a number, transforms/aliasing.py)
    items = [n for n in walk(fdef) if isinstance(n, ast.Call) and item_check is not None
             and shapes.callee(n) is item_check and len(n.args) == 2 and isinstance(n.args[0], ast.Name)]
    if not guards and not items:
        return False
    held = shapes.number_names(numbers)
    # (a number among the others is no object the update could change: `t = y[0]; y[0] = y[3]; y[3] = t`)
    dropped = {id(n) for n in guards if n.args[3].id in held and n.args[2].value is False
               or isinstance(shapes.of(n.args[3]), tuple)
               and all(isinstance(o, ast.Name) and o.id in held for o in n.args[4:])}
    dropped |= {id(n) for n in items if n.args[0].id in held}

    class Unguard(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            return node.args[0] if id(node) in dropped else node

    Unguard().visit(fdef)
    return bool(dropped)


def drop_plain_operand_checks(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """`s2s.numbers_or_arrays(v, 'v')` (the check that `v` is no object doing arithmetic of its own,
    transforms/operator_objects.py) dropped where `v` certainly holds numbers: a parameter's (its value where the
    function starts: a value it is bound to later is checked where it is bound) whose shape is known (the code is
    made for a number, an array of numbers or a list of them there), a name of known shape certainly real
    (`Shapes.real`), the reads of real or int arrays (`_read_from_numbers`, `_checks_a_read_of_numbers`). Returns
    whether anything changed."""
    from . import annotations
    check = getattr(ctx().runtime, "numbers_or_arrays", None)

    def passes(stmt):
        call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
        if call is None or check is None or shapes.callee(call) is not check or not call.args:
            return False
        if isinstance(call.args[0], ast.Constant):  # (an int default the code is made for)
            return type(call.args[0].value) in (int, float, bool)
        if not isinstance(call.args[0], ast.Name):
            return False
        name, fact = call.args[0], shapes.of(call.args[0])
        entry = shapes._entry.get(name.id)  # (what a parameter holds where the function starts)
        if annotations.has(call, annotations.ENTRY_CHECK) and name.id in shapes._param_names and (
                isinstance(entry, tuple | Seq | ListOf) or entry is NONE_VALUE or entry is RANDOM_GENERATOR):
            return True  # (the code is made for numbers, arrays, lists of them, None or a NumPy Generator there)
        if name.id in shapes._param_names:
            return False  # (a parameter's facts leave out what it was given where that was no number or array)
        # (not `Shapes.number_names`: a list of `zs.tolist()` appended to holds more than its floats, review 252)
        return isinstance(fact, tuple) and shapes.real(name) or _read_from_numbers(shapes, name.id)

    changed = _drop_statements(fdef, passes)
    for block in statement_lists(fdef):  # (a check right after the read it checks: that read's value alone)
        kept = [s for i, s in enumerate(block) if not (i and _checks_a_read_of_numbers(s, block[i - 1], check, shapes))]
        if len(kept) != len(block):
            block[:] = kept
            changed = True
    return changed


def _checks_a_read_of_numbers(stmt, before, check, shapes: Shapes) -> bool:
    """Whether `stmt` is `s2s.numbers_or_arrays(t, ...)` right after `t = x[...]` (or `t = x.method(...)`) of an
    array `x` certainly of real floats or ints."""
    call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
    if call is None or check is None or shapes.callee(call) is not check or not call.args \
            or not isinstance(call.args[0], ast.Name) or not isinstance(before, ast.Assign) \
            or len(before.targets) != 1 or not isinstance(before.targets[0], ast.Name) \
            or before.targets[0].id != call.args[0].id:
        return False
    value = before.value
    base = value.value if isinstance(value, ast.Subscript) else value.func.value if isinstance(
        value, ast.Call) and isinstance(value.func, ast.Attribute) else None
    return isinstance(base, ast.Name) and base.id != call.args[0].id and isinstance(shapes.of(base), tuple) and (
        shapes.real(base) or base.id in shapes._int_arrays)


def _read_from_numbers(shapes: Shapes, name: str) -> bool:
    """Whether every value bound to `name` is an item, a slice or a method's result (`x[i, :k]`, `z.max()`) of an
    array certainly of real floats or ints, or the tape's restore of one: numbers or arrays of numbers."""
    values = shapes._assigned_values.get(name)
    if not values or shapes._bindings.get(name) != len(values):
        return False
    for value in values:
        if value is not None and shapes._by_tape(value, name):
            continue
        base = value.value if isinstance(value, ast.Subscript) else value.func.value if isinstance(
            value, ast.Call) and isinstance(value.func, ast.Attribute) else None
        if not isinstance(base, ast.Name):
            return False
        if base.id in shapes._param_names and not shapes._bindings.get(base.id) and isinstance(value, ast.Subscript):
            entry = shapes._entry.get(base.id)  # (an item of a list or dict argument of arrays and numbers alone)
            items = entry.items if isinstance(entry, Seq) else [f for _, f in entry.items] if isinstance(
                entry, Keyed) else [entry.item] if isinstance(entry, ListOf) else None
            if items and all(isinstance(f, tuple) for f in items):
                continue
        if not (isinstance(shapes.of(base), tuple) and (shapes.real(base) or base.id in shapes._int_arrays)):
            return False
    return True


_IN_PLACE_BINOPS = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "**": ast.Pow, "@": ast.MatMult}


def drop_inplace_checks(fdef: ast.FunctionDef, shapes: Shapes, numbers) -> bool:
    """`s2s.inplace_check(y, v, op)` (the check that Python's `y op= v` of an array y keeps y's shape and dtype,
    written by transforms/lower.py) dropped where it certainly passes: where y certainly holds a number
    (`Shapes.number_names`: rebound, never changed in place), and where y and v have known shapes, `y op v` has
    y's shape, and y and `y op v` are certainly real floats (`Shapes.real`: same_kind casting takes any real
    float into any other). A shape () is a number or an array of no axes alike here: `y op v` of shape () keeps
    either as it is, and one of another shape keeps the check (it passes for a number at run time). Returns
    whether anything changed."""
    check = getattr(ctx().runtime, "inplace_check", None)
    if check is None:
        return False
    held = []  # the names certainly holding numbers, found at the first check met

    def passes(stmt):
        call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
        if call is None or shapes.callee(call) is not check or len(call.args) != 3 or call.keywords:
            return False
        if not held:
            held.append(shapes.number_names(numbers))
        return _inplace_fits(call.args, shapes, held[0])

    return _drop_statements(fdef, passes)


def _inplace_fits(args, shapes, numbers) -> bool:
    target, value, op = args
    if isinstance(target, ast.Name) and target.id in numbers:
        return True
    if not (isinstance(op, ast.Constant) and op.value in _IN_PLACE_BINOPS):
        return False
    with shapes.symbolic():  # (compared, never written: `y[i:] += v` of v the length of y[i:] fits too)
        have, other = shapes.of(target), shapes.of(value)
    if type(have) is not tuple or type(other) is not tuple:
        return False
    if op.value == "@":
        if len(other) < 2 or matmul(have, other) != have:
            return False
    elif broadcast(have, other) != have:
        return False
    result = ast.BinOp(left=target, op=_IN_PLACE_BINOPS[op.value](), right=value)
    return shapes.real(target) and shapes.real(result)


def _known_count(stmt, checks, shapes) -> bool:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and len(stmt.value.args) == 3
            and any(shapes.callee(stmt.value) is c for c in checks)):
        return False
    count = _number(stmt.value.args[1])
    if type(count) is not int:
        return False
    starred = isinstance(stmt.value.args[2], ast.Constant) and stmt.value.args[2].value is True
    fact = shapes.of(stmt.value.args[0])
    if isinstance(fact, Seq):
        have = len(fact.items)
    elif isinstance(fact, tuple) and len(fact) >= 1 and type(fact[0]) is int:
        have = fact[0]
    else:
        return False
    return have >= count if starred else have == count


class _OwnReads(ast.NodeTransformer):
    """A rewrite of the reads in the function's own statements: not inside a tape push (it names what its pop
    restores: the tape pass pairs them by name), a nested function (a pullback's reads of the outer names run
    later, where `maybe_unbound` does not look) or a lambda."""

    def __init__(self, fdef, shapes):
        self.fdef, self.shapes = fdef, shapes

    def visit_Call(self, node):
        return node if self.shapes._is_push(node) else self.generic_visit(node)

    def visit_FunctionDef(self, node):
        return self.generic_visit(node) if node is self.fdef else node

    def visit_Lambda(self, node):
        return node


def _loop_test_names(fdef) -> set:
    """The names read by a while loop's test statements, held beside the loop (annotations.LOOP_TEST)."""
    from . import annotations
    return {n.id for loop in walk_nodes(fdef) if isinstance(loop, ast.While)
            for stmt in annotations.get(loop, annotations.LOOP_TEST, None) or () for n in walk_nodes(stmt)
            if isinstance(n, ast.Name)}


_INT_TESTS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
              ast.Gt: operator.gt, ast.GtE: operator.ge}


def fold_known_tests(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """A test the facts decide becomes its value, and an `if` on a known value its branch: `x is not None` where x
    certainly holds an array or a number at that read (or certainly None: `prev = None` before a loop whose first
    trip was written out), a comparison of two ints of known value (`X.shape[1] != 5`, a check of the arguments'
    shapes). The `if` goes where its test is the value, or a name bound to it just before (lowering's
    `c = x is not None`, then `if c:`) or bound once in the whole function, at its top level. Returns whether
    anything changed.

        >>> # prev = None; c = prev is not None; if c: ...    ->    prev = None; c = False
    """
    unbound, skip = shapes.maybe_unbound, _loop_test_names(fdef)
    changed = False

    def known(node):
        """True or False where the facts decide the comparison `node`, else None."""
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
            return None
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if any(isinstance(n, ast.Name) and (id(n) in unbound or n.id in skip) for n in walk(node)):
            return None
        if isinstance(op, ast.Is | ast.IsNot) and isinstance(left, ast.Name) and isinstance(right, ast.Constant) \
                and right.value is None:
            none = shapes.holds_none(left)
            return None if none is None else none == isinstance(op, ast.Is)
        if type(op) in _INT_TESTS:
            a, b = shapes.value_of(left), shapes.value_of(right)
            if type(a) is int and type(b) is int:
                return _INT_TESTS[type(op)](a, b)
        return None

    class Fold(_OwnReads):
        def visit_Compare(self, node):
            nonlocal changed
            value = known(node)
            if value is None:
                return self.generic_visit(node)
            changed = True
            return ast.copy_location(ast.Constant(value), node)

        def visit_UnaryOp(self, node):  # (`not True`: lowering's test of an early return)
            self.generic_visit(node)
            if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Constant) \
                    and type(node.operand.value) is bool:
                return ast.copy_location(ast.Constant(not node.operand.value), node)
            return node

    _, stores = name_counts(fdef)

    def bound_once():
        return {s.targets[0].id: s.value.value for s in fdef.body if isinstance(s, ast.Assign) and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name) and stores.get(s.targets[0].id) == 1
                and s.targets[0].id not in shapes.restored
                and isinstance(s.value, ast.Constant) and type(s.value.value) is bool}

    Fold(fdef, shapes).visit(fdef)
    once = bound_once()
    for _ in range(4):  # (`returned = cond`, `cond2 = not returned` of a folded `cond`: lowering's early return)
        copied = False
        for node in walk_nodes(fdef):
            for field in ("value", "operand"):
                read = getattr(node, field, None)
                if isinstance(node, ast.Assign | ast.UnaryOp) and isinstance(read, ast.Name) and read.id in once \
                        and id(read) not in unbound and read.id not in skip \
                        and (field == "value" or isinstance(node.op, ast.Not)):
                    setattr(node, field, ast.copy_location(ast.Constant(once[read.id]), read))
                    copied = changed = True
        if not copied:
            break
        Fold(fdef, shapes).visit(fdef)
        once = bound_once()
    constant = _constant_truths(fdef, shapes, skip)
    for block in statement_lists(fdef):
        out, before = [], None
        for stmt in block:
            value = _known_test(stmt, before, once, unbound, shapes.restored, constant) \
                if isinstance(stmt, ast.If) else None
            if value is None:
                out.append(stmt)
            else:
                out.extend(stmt.body if value else stmt.orelse)
                changed = True
            if not shapes.is_push_statement(stmt):
                before = stmt
        if len(out) != len(block) or any(a is not b for a, b in zip(out, block)):
            block[:] = out or [ast.Pass()]
    return changed


def _known_test(stmt: ast.If, before, once, unbound, restored, constant=None):
    """The value of the `if`'s test where `fold_known_tests` knows it, else None. A name the tape restores only
    where it holds one truth however it is bound (`constant`, `_constant_truths`): else the backward sweep's
    `if` on it stays, and compiled code's tape wants the two sweeps' branches to mirror."""
    test = stmt.test
    if isinstance(test, ast.Constant) and type(test.value) is bool:
        return test.value
    if isinstance(test, ast.Name) and constant and test.id in constant and id(test) not in unbound:
        return constant[test.id]
    if not isinstance(test, ast.Name) or test.id in restored:
        return None
    if isinstance(before, ast.Assign) and len(before.targets) == 1 and isinstance(before.targets[0], ast.Name) \
            and before.targets[0].id == test.id and isinstance(before.value, ast.Constant) \
            and type(before.value.value) is bool:
        return before.value.value
    return once.get(test.id) if id(test) not in unbound else None


def _constant_truths(fdef, shapes: Shapes, skip) -> dict:
    """name -> its truth, for each name the tape restores whose every binding in `fdef` (as it is now: the folds
    before may have made a test a constant) is a constant of that truth or a restore of an earlier value
    (`cond = False` in each trip of a loop whose first trip, the one that bound it True, was written out; the
    tape's placeholder None is false too): an `if` on it takes one branch in both sweeps. Not a name of a while
    loop's test statements (`skip`)."""
    truths: dict = {}
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                for n in walk_nodes(t):
                    if not (isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)):
                        continue
                    if t is not n:  # (an item of a tuple target: anything)
                        truths.setdefault(n.id, set()).add("other")
                    elif isinstance(node.value, ast.Constant):
                        truths.setdefault(n.id, set()).add(bool(node.value.value))
                    elif not shapes._is_pop(node.value):
                        truths.setdefault(n.id, set()).add("other")
    for node in walk_nodes(fdef):  # the other bindings: anything
        targets = [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.NamedExpr
                                               | ast.comprehension) \
            else [i.optional_vars for i in node.items if i.optional_vars is not None] if isinstance(node, ast.With) \
            else node.targets if isinstance(node, ast.Delete) else []
        for n in (n for t in targets for n in walk_nodes(t)):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                truths.setdefault(n.id, set()).add("other")
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}  # (bound by the call too: any truth)
    return {name: next(iter(found)) for name, found in truths.items()
            if name in shapes.restored and name not in skip and name not in params and len(found) == 1
            and "other" not in found}


def fold_known_ints(fdef: ast.FunctionDef, shapes: Shapes) -> bool:
    """A read of a local name that certainly holds one int, however it is bound (`n = h.shape[0]` of an h of
    known shape, `t = 2 * n`: `Shapes.value_of`), becomes that int: a slice `z[n:2 * n]` then has literal
    bounds (its adjoint goes into one array in place), and the tape no longer keeps the name's value for
    the backward sweep. Not where the name may be read unbound (Python raises there), in a while loop's
    test statements (held beside the loop), in a tape push, nor inside a nested function (a pullback).
    Returns whether anything changed.

        >>> # t = h.shape; n = t[0]; x = z[:n]    ->    x = z[:16]   (h of shape (16,))
    """
    unbound = shapes.maybe_unbound  # (the ids of the reads that may find their name unbound)
    skip = _loop_test_names(fdef)
    changed = False

    class Fold(_OwnReads):
        def visit_Name(self, node):
            nonlocal changed
            if isinstance(node.ctx, ast.Load) and node.id in shapes.local and node.id not in skip \
                    and id(node) not in unbound:
                value = shapes.value_of(node)
                if type(value) is int:
                    changed = True
                    return ast.copy_location(ast.Constant(value), node)
            return node

    Fold(fdef, shapes).visit(fdef)
    return changed


def drop_broadcasts(fdef: ast.FunctionDef, shapes: Shapes, float64: bool = False) -> bool:
    """`t = np.broadcast_to(g, S) * e` becomes `t = g * e` where every use of `t` (and of what it then makes)
    broadcasts back to the same shape at once, or where `e` has the shape S itself (`a_bar + np.broadcast_to(
    t_bar, S)`, `g` an array: `+` broadcasts it alike): the same numbers, without the broadcast. One at a time;
    returns whether anything changed (the caller then infers shapes again)."""
    if _drop_broadcast_beside_its_shape(fdef, shapes):
        return True
    if _add_a_number_to_a_zero_or_array(fdef, shapes):
        return True
    if _full_of_a_number(fdef, shapes):
        return True
    if _sum_of_a_broadcast_number(fdef, shapes):
        return True
    if float64 and _carried_number(fdef, shapes):
        return True
    if _broadcast_broadcast_anyway(fdef, shapes):
        return True
    defs = _single_defs(fdef)
    parents = _parents(fdef)
    loads = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, []).append(node)
    for name, stmt in list(defs.items()):
        for call in walk(stmt.value):
            if not (isinstance(call, ast.Call) and shapes.callee(call) is np.broadcast_to and len(call.args) == 2
                    and not call.keywords and isinstance(shapes.of(call.args[0]), tuple)
                    and _elementwise_path(stmt.value, call)):
                continue
            trial = _replace(stmt.value, call, call.args[0])
            group = _scalar_group(name, trial, defs, loads, parents, shapes, float64)
            if group is None or _divides_numbers(name, trial, call.args[0], group, defs, shapes, loads, parents):
                continue
            stmt.value = trial
            return True
    return False


def _broadcast_broadcast_anyway(fdef, shapes) -> bool:
    """`np.broadcast_to(a, S)` of an array a, on an elementwise path of an assignment's value whose shape is the
    same without it (`X_bar + np.broadcast_to(m[None, :], S) / n`: X_bar has the shape S): `a`, each entry
    computed by the same operations on the same numbers (an array's dtype is a's either way). Whether anything
    changed."""
    for stmt in walk(fdef):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1) or not any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "broadcast_to"
                for n in walk(stmt.value)):
            continue
        full = shapes.of(stmt.value)
        if not (isinstance(full, tuple) and full != ()):
            continue
        for call in walk(stmt.value):
            if not (isinstance(call, ast.Call) and shapes.callee(call) is np.broadcast_to and len(call.args) == 2
                    and not call.keywords and isinstance(shapes.of(call.args[0]), tuple)
                    and shapes.of(call.args[0]) != () and _elementwise_path(stmt.value, call)):
                continue
            trial = _replace(stmt.value, call, call.args[0])
            if shapes.of(trial) == full:
                stmt.value = trial
                return True
    return False


def _carried_number(fdef, shapes) -> bool:
    """`v_bar = np.broadcast_to(c, S)` (c a number) where v_bar is carried through a loop by elementwise arithmetic
    (`v_bar = v_bar * 0.9`, the adjoint of a state only `np.sum(v)` reads) and every use of it, and of the names
    bound only to such arithmetic of it, broadcasts back to its own shape at once (`t = v_bar * 0.1 * r` with r of
    shape S) or binds another of them: `v_bar = c`, the same numbers, one number per step instead of an array.
    In float64 code (a number times a float32 array stays float32), with `+`, `-`, `*` and `/` by a number literal
    other than 0 among the numbers (Python's `1.0 / 0.0` raises where the array's gives inf). One at a time;
    returns whether anything changed."""
    values, other_stores = {}, set()
    for node in walk(fdef):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values.setdefault(node.targets[0].id, []).append(node)
    assigned = {id(a.targets[0]) for stmts in values.values() for a in stmts}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and id(node) not in assigned:
            other_stores.add(node.id)
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    loads = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, []).append(node)
    parents = None
    for name, stmts in values.items():
        starts = [a for a in stmts if isinstance(a.value, ast.Call) and shapes.callee(a.value) is np.broadcast_to
                  and len(a.value.args) == 2 and not a.value.keywords and shapes.of(a.value.args[0]) == ()
                  and shapes.real(a.value.args[0]) and isinstance(a.value.args[0], ast.Name | ast.Constant)]
        if len(starts) != 1 or len(stmts) < 2 or name in params or name in other_stores:
            continue
        parents = parents or _parents(fdef)
        group = _carried_group(name, starts[0], values, other_stores, params, loads, parents, shapes)
        if group is not None:
            starts[0].value = starts[0].value.args[0]
            return True
    return False


def _carried_group(name, start, values, other_stores, params, loads, parents, shapes):
    """The names that turn numbers with `name` (its broadcast `start` given its number): bound only by assignments
    of elementwise arithmetic of numbers and of each other, every use of each broadcasting back to its shape at
    once or binding another; None where that fails."""
    group = {name}
    while True:
        env = Overrides({m: () for m in group})
        grown = False
        for member in list(group):
            for stmt in values[member]:
                value = stmt.value.args[0] if stmt is start else stmt.value
                if not _number_arithmetic(value, env, shapes):
                    return None
            for use in loads.get(member, []):
                top = _elementwise_top(use, parents)
                if top is not use and not _number_arithmetic(top, env, shapes, outer=True):
                    return None
                if shapes.of(top) is not None and shapes.of(top, env) == shapes.of(top):
                    continue  # broadcast back to its own shape right here
                stmt = parents.get(top)
                if isinstance(stmt, ast.Call) and len(stmt.args) == 3 and not stmt.keywords \
                        and (stmt.args[1] is top or stmt.args[2] is top) and shapes.callee(stmt) is np.where \
                        and shapes.of(stmt) is not None and shapes.of(stmt, env) == shapes.of(stmt):
                    continue
                if isinstance(stmt, ast.Assign) and stmt.value is top and len(stmt.targets) == 1 \
                        and isinstance(stmt.targets[0], ast.Name):
                    target = stmt.targets[0].id
                    if target in params or target in other_stores:
                        return None
                    if target not in group:
                        group.add(target)
                        grown = True
                    continue
                return None
        if not grown:
            return group


def _number_arithmetic(node, env, shapes, outer=False) -> bool:
    """Whether `node` is `+`, `-`, `*`, `/` (by a number literal other than 0 where both sides are numbers in
    `env`) and unary minus of names and literals, giving a number in `env` (`outer`: any shape, where it
    broadcasts with an array)."""
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.Name):
        return outer or shapes.of(node, env) == ()
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd) and _number_arithmetic(node.operand, env, shapes, outer)
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, _ELEMENTWISE)):
        return False
    if isinstance(node.op, ast.Div) and shapes.of(node.right, env) == () and shapes.of(node.left, env) == () \
            and not (isinstance(node.right, ast.Constant) and type(node.right.value) in (int, float)
                     and node.right.value != 0):
        return False
    if not outer and shapes.of(node, env) != ():
        return False
    return all(_number_arithmetic(side, env, shapes, True) if outer else _number_arithmetic(side, env, shapes)
               for side in (node.left, node.right))


def _divides_numbers(name, trial, number, group, defs, shapes, loads, parents) -> bool:
    """Whether `name` given `trial` (with `number` in place of its broadcast) and the names of `group` made
    numbers with it turn an array's division into a division of two numbers by one that may be zero (not a
    literal other than 0): Python's `1.0 / 0.0` raises ZeroDivisionError where the array's division gives inf.
    Looked for in the members' values and in the elementwise expressions around each of their reads
    (`H_bar + t_bar / k`, a read `_scalar_group` accepts as broadcasting back to its shape there)."""
    values = {m: trial if m == name else defs[m].value for m in group}
    env = _facts_as_numbers(values, shapes)
    around = [_elementwise_top(use, parents) for member in group for use in loads.get(member, [])]
    for value in [*values.values(), *around]:
        for node in walk(value):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and not _number(node.right) \
                    and shapes.of(node.left, env) == () and shapes.of(node.right, env) == () \
                    and any(n is number or isinstance(n, ast.Name) and n.id in group for n in walk(node)):
                return True
    return False


def _broadcast_operands(fdef, shapes, ops):
    """(node, field, call, other) for each `other op np.broadcast_to(g, S)` of `fdef` (either side; op one of
    `ops`): `call` the broadcast, `field` the side it is on."""
    for node in walk(fdef):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ops)):
            continue
        for field, other in (("left", node.right), ("right", node.left)):
            call = getattr(node, field)
            if isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords \
                    and shapes.callee(call) is np.broadcast_to:
                yield node, field, call, other


def _drop_broadcast_beside_its_shape(fdef, shapes) -> bool:
    """`e op np.broadcast_to(g, S)` (op elementwise, either side) becomes `e op g` where e's shape is S and g is
    an array, or a number that is certainly NumPy's (`p_bar @ p`): NumPy promotes its scalars as the 0-d arrays
    they broadcast from. Not a Python float: `np.broadcast_to(2.0, S)` is a float64 array, where `e op 2.0`
    keeps a float32 e's dtype."""
    defs = None
    for node, field, call, other in _broadcast_operands(fdef, shapes, _ELEMENTWISE):
        full, inner = shapes.of(call), shapes.of(call.args[0])
        if not (isinstance(full, tuple) and isinstance(inner, tuple) and shapes.of(other) == full
                and shapes.of(node) == full):
            continue
        if inner == ():
            defs = _single_defs(fdef) if defs is None else defs
            if not (shapes.real(call.args[0]) and _numpy_number(call.args[0], shapes, defs)):
                continue
        setattr(node, field, call.args[0])
        return True
    return False


def drop_broadcasts_into_place(fdef: ast.FunctionDef, shapes: Shapes, float64: bool) -> bool:
    """`t = np.broadcast_to(g, S)` followed at once by `A[k] += t` (`-= *= /=`), `t` read nowhere else and `A[k]`
    of the shape S, becomes `A[k] += g`: an update in place broadcasts `g` to its target's shape itself and keeps
    the target's dtype either way. Where `g` is a number, only in code whose floating arguments are all float64
    (`float64`): a float32 target plus a Python float adds in float32, plus the float64 broadcast in float64.
    Returns whether anything changed.

        t11_bar = np.broadcast_to(-g.sum(axis=0), (2,))       ->    log_sig_bar[k] += -g.sum(axis=0)
        log_sig_bar[k] += t11_bar
    """
    loads, stores = name_counts(fdef)
    changed = False
    for block in statement_lists(fdef):
        code = [s for s in block if type(s).__name__ != "Comment"]
        for first, second in zip(code, code[1:]):
            if not (isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.targets[0], ast.Name)
                    and isinstance(second, ast.AugAssign) and isinstance(second.op, _ELEMENTWISE)
                    and isinstance(second.value, ast.Name) and second.value.id == first.targets[0].id):
                continue
            name, call = first.targets[0].id, first.value
            if not (isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords
                    and shapes.callee(call) is np.broadcast_to and loads.get(name) == 1 and stores.get(name) == 1
                    and not any(isinstance(n, ast.Name) and n.id == name for n in walk(second.target))):
                continue
            full, g = shapes.of(call), call.args[0]
            inner = shapes.of(g)
            if not (_array_shape(full) and shapes.of(second.target) == full and isinstance(inner, tuple)
                    and shapes.real(g) and shapes.real(second.target) and (float64 or _array_shape(inner))):
                continue
            second.value = g
            del block[next(k for k, s in enumerate(block) if s is first)]
            changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _numpy_number(node, shapes, defs, depth=0) -> bool:
    """Whether `node`, a number, is certainly a NumPy scalar (or 0-d array), never a Python number: a product
    `@` of arrays, a ufunc's result, a reduction by a NumPy function or an array's method, arithmetic with one
    such operand, a name bound once to one."""
    if depth > 8:
        return False
    if isinstance(node, ast.Name):
        stmt = defs.get(node.id)
        return stmt is not None and _numpy_number(stmt.value, shapes, defs, depth + 1)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd) and _numpy_number(node.operand, shapes, defs, depth + 1)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.MatMult):
            return all(_array_shape(shapes.of(side)) for side in (node.left, node.right))
        return isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div) and \
            any(_numpy_number(side, shapes, defs, depth + 1) for side in (node.left, node.right))
    if isinstance(node, ast.Call):  # (a ufunc gives NumPy's numbers, of Python's too: `np.exp(2.0)`)
        callee = shapes.callee(node)
        return isinstance(callee, np.ufunc) or shapes.method_reduction(node) is not None \
            or callee is not None and shapes.fact(callee, "reduction") and getattr(callee, "__module__", "") == "numpy"
    return False


def _add_a_number_to_a_zero_or_array(fdef, shapes) -> bool:
    """`a + np.broadcast_to(g, S)` (or `-`) of a number g and an adjoint `a` that holds 0.0 or an array of
    shape S (started at 0.0 before a loop, an array after its first trip) becomes
    `a + np.broadcast_to(g, S) if s2s.is_zero(a) else a + np.asarray(g)`: after the first trip the number is
    added without a broadcast view made of it. A 0-d array has the dtype the broadcast has (a Python float's is
    float64: a float32 array plus it is float64, as plus the broadcast, where plus the float it would stay
    float32), so the sum is the same array, dtype included. Returns whether anything changed."""
    runtime = _runtime_module(fdef, shapes)
    if runtime is None:
        return False
    for node in walk(fdef):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)):
            continue
        a, call = node.left, node.right
        if not (isinstance(a, ast.Name) and isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords
                and shapes.callee(call) is np.broadcast_to):
            continue
        full, g = shapes.of(call), call.args[0]
        if not (_array_shape(full) and shapes.of(g) == () and _simple(g) and isinstance(call.func, ast.Attribute)
                and shapes._either(a, None) == ((), full)):
            continue
        test = _call(ast.Attribute(value=runtime, attr="is_zero", ctx=ast.Load()), load(a.id))
        number = _call(ast.Attribute(value=copy.deepcopy(call.func.value), attr="asarray", ctx=ast.Load()),
                       copy.deepcopy(g))
        added = ast.BinOp(left=load(a.id), op=copy.deepcopy(node.op), right=number)
        _swap(fdef, node, ast.IfExp(test=test, body=node, orelse=added))
        fix_locations(fdef)
        return True
    return False


_FULL_OPS = ast.Add | ast.Sub | ast.Mult | ast.Div


def _full_of_a_number(fdef, shapes) -> bool:
    """`np.broadcast_to(a, S) / b` (or `b * np.broadcast_to(a, S)`, `+`, `-`) of numbers a and b becomes
    `np.full(S, a / b)`: the broadcast's values and dtype are a's, so the array NumPy makes holds `a / b` in
    that dtype everywhere, as the number `a / b` is (a Python float's float64, a NumPy float's own, a 0-d
    array's as its scalar's), and the same operation on the same two numbers gives the same one. One array
    made in place of a view and an array (the mean's adjoint `np.broadcast_to(1.0, (64,)) / 64`: 3.5 us
    against 0.8 us). A division only by a literal other than zero. Whether anything changed."""
    for node, field, call, other in _broadcast_operands(fdef, shapes, _FULL_OPS):
        a, full = call.args[0], shapes.of(call)
        if not (isinstance(call.func, ast.Attribute) and _array_shape(full) and shapes.of(a) == ()
                and shapes.of(other) == () and shapes.real(a) and (shapes.real(other) or type(_number(other)) is int)
                and _simple(a) and _simple(other)):
            continue
        if isinstance(node.op, ast.Div) and not _number(other if field == "left" else a):
            continue  # Python's `1.0 / 0` raises where NumPy's array gives inf (a mean over no elements)
        maker = ast.Call(func=ast.Attribute(value=copy.deepcopy(call.func.value), attr="full", ctx=ast.Load()),
                         args=[], keywords=[])
        if shapes.callee(maker) is not np.full:
            continue
        number = ast.BinOp(left=a, op=node.op, right=other) if field == "left" \
            else ast.BinOp(left=other, op=node.op, right=a)
        maker.args = [call.args[1], number]
        _swap(fdef, node, maker)
        fix_locations(fdef)
        return True
    return False


def _sum_of_a_broadcast_number(fdef, shapes) -> bool:
    """`t.sum(axis=k)` (or `np.sum(t, axis=k)`, keepdims or not) of `t = np.broadcast_to(c, S)`, c a float
    literal, becomes `np.full(S', c * n)` (`np.float64(c * n)` for a sum over every axis), n the count of the
    entries summed into each: the adjoint of a bias or scale broadcast over a sum's terms (`np.sum(0.5 * z ** 2 +
    log_s)`: the seed summed over z's rows is z's row count). Only where every partial sum is exact, so that
    NumPy's summation in any order gives c * n: c a power of two (or 0) and n below 2**40. Whether anything changed."""
    defs = None
    for node in walk(fdef):
        if not (isinstance(node, ast.Call) and not any(k.arg not in ("axis", "keepdims") for k in node.keywords)):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "sum" and not node.args \
                and isinstance(node.func.value, ast.Name):
            summed = node.func.value
        elif len(node.args) == 1 and isinstance(node.args[0], ast.Name) and shapes.callee(node) is np.sum:
            summed = node.args[0]
        else:
            continue
        defs = _single_defs(fdef) if defs is None else defs
        made = defs.get(summed.id)
        call = made.value if made is not None else None
        if not (isinstance(call, ast.Call) and shapes.callee(call) is np.broadcast_to and len(call.args) == 2
                and not call.keywords and isinstance(call.args[0], ast.Constant)
                and type(call.args[0].value) is float and _array_shape(shapes.of(summed))):
            continue
        c, shape = call.args[0].value, shapes.of(summed)
        options = {k.arg: k.value for k in node.keywords}
        try:
            axis = ast.literal_eval(options["axis"]) if "axis" in options else None
            keepdims = ast.literal_eval(options["keepdims"]) if "keepdims" in options else False
        except ValueError:
            continue
        axes = range(len(shape)) if axis is None else axis if type(axis) is tuple else (axis,)
        if not (all(type(a) is int and -len(shape) <= a < len(shape) for a in axes) and type(keepdims) is bool):
            continue
        axes = {a % len(shape) for a in axes}
        n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        if not (c == 0.0 or math.frexp(c)[0] == 0.5) or not (0 < n < 2 ** 40) or not math.isfinite(c):
            continue
        kept = tuple(1 if a in axes else d for a, d in enumerate(shape) if keepdims or a not in axes)
        np_base = call.func.value if isinstance(call.func, ast.Attribute) else None
        if not isinstance(np_base, ast.Name):
            continue
        if kept:
            maker = _call(_attr(np_base.id, "full"), ast.Tuple(elts=[ast.Constant(d) for d in kept], ctx=ast.Load()),
                          ast.Constant(c * n))
        else:
            maker = _call(_attr(np_base.id, "float64"), ast.Constant(c * n))
        if shapes.callee(maker) not in (np.full, np.float64):
            continue
        _swap(fdef, node, maker)
        fix_locations(fdef)
        return True
    return False


def _runtime_module(fdef, shapes):
    """The name the generated code reads s2s's runtime helpers by (`s2s` in `s2s.finish(...)`), or None."""
    for node in walk(fdef):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            callee = shapes.callee(node)
            if callee is not None and hashable(callee) and callee in shapes.helpers:
                return load(node.func.value.id)
    return None


def expand_as_broadcast(fdef: ast.FunctionDef, shapes: Shapes, np_name: str, float64: bool = True) -> bool:
    """`s2s.expand_reduced(g, x, axis, keepdims)` becomes `np.broadcast_to(g, S)` where x's shape S is known
    and g is a number or has the reduced shape with keepdims: the same read-only view, and x, read only for
    its shape, need not be computed any more. A number g only where every argument is float64 (`float64`):
    the runtime broadcasts a Python number in x's precision, np.broadcast_to in float64.
    Returns whether anything changed."""
    changed = False

    class Swap(ast.NodeTransformer):
        def visit_Call(self, node):
            nonlocal changed
            self.generic_visit(node)
            if shapes.helpers.get(shapes.callee(node)) != "expand_reduced" or len(node.args) != 4 or node.keywords:
                return node
            g, x, axis, keepdims = node.args
            sg, sx = shapes.of(g), shapes.of(x)
            if not isinstance(sx, tuple) or not isinstance(sg, tuple) or sx == () or (sg == () and not float64):
                return node
            if sg != () and not (isinstance(keepdims, ast.Constant) and keepdims.value is True and len(sg) == len(sx)
                                 and all(a in (1, b) for a, b in zip(sg, sx))):
                axes = _reduced_axes(axis, sx) if isinstance(keepdims, ast.Constant) and keepdims.value is False else None
                if axes is None or sg != tuple(n for a, n in enumerate(sx) if a not in axes):
                    return node
                # without keepdims: the reduced axes back as new axes, `g[:, None]` (np.expand_dims's view)
                g = ast.Subscript(value=g, ctx=ast.Load(), slice=ast.Tuple(ctx=ast.Load(), elts=[
                    ast.Constant(None) if a in axes else ast.Slice() for a in range(len(sx))]))
            changed = True
            return _call(_attr(np_name, "broadcast_to"), g, ast.Tuple(elts=[ast.Constant(n) for n in sx], ctx=ast.Load()))

    Swap().visit(fdef)
    fix_locations(fdef)
    return changed


def _reduced_axes(node, shape):
    """The axes (non-negative) a literal `axis` argument names for an array of `shape`, or None."""
    try:
        axis = ast.literal_eval(node)
    except ValueError:
        return None
    items = tuple(range(len(shape))) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    if not all(type(a) is int and -len(shape) <= a < len(shape) for a in items):
        return None
    axes = {a % len(shape) for a in items}
    return axes if len(axes) == len(items) else None


def logistic(fdef: ast.FunctionDef, shapes: Shapes, removable: set, np_name: str) -> bool:
    """Apply `logistic_from_logaddexp` until nothing changes; whether anything did."""
    changed = False
    for _ in range(16):
        if not _calls(fdef, "logaddexp") or not logistic_from_logaddexp(fdef, shapes, removable, np_name):
            break
        changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _calls(fdef, attr):
    """Whether `fdef` calls something named `attr` (a cheap test before running a rewrite)."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == attr
               for n in walk_nodes(fdef))


def _call(func: ast.expr, *args) -> ast.Call:
    return ast.Call(func=func, args=list(args), keywords=[])


def _attr(base: str, attr: str) -> ast.Attribute:
    return ast.Attribute(value=load(base), attr=attr, ctx=ast.Load())


def _T(node) -> ast.Attribute:
    return ast.Attribute(value=node, attr="T", ctx=ast.Load())


def _matmul(a, b) -> ast.BinOp:
    return ast.BinOp(left=a, op=ast.MatMult(), right=b)


class _Rewrite(ast.NodeTransformer):
    def __init__(self, shapes: Shapes, np_name: str, float64: bool = False):
        self.shapes = shapes
        self.np = np_name
        self.float64 = float64  # every floating-point argument is float64 (a Python number times an array keeps it)
        self.changed = False
        self.defs = {}  # name -> its one Assign (set by the caller)
        self.blocks = []  # the function's lists of statements (set by the caller)
        self.fdef = None  # the function (set by the caller)
        self.item_reads = set()  # the names read only item by item, `x[0]` (set by the caller)
        self.assigned = {}  # id of a value assigned to a name -> (the name, the value) (set by the caller)
        self._statements = None  # id of a node -> (block, index) of its innermost statement (`_statement_of`)

    def visit_IfExp(self, node):
        body = node.body
        if isinstance(body, ast.Call) and self.shapes.helpers.get(self.shapes.callee(body)) == "balanced_eq" \
                and isinstance(node.orelse, ast.Compare):
            return node  # the tie branch `_step` made: the helper stays there
        guarded = self.shapes.zero_guarded(node)
        if guarded is not None:  # `0.0 if s2s.is_zero(g) else E` where g's kind is known here
            self.changed = True
            return self.visit(guarded)
        self.generic_visit(node)
        g = self._guarded_number(node)
        if g is not None:  # `0.0 if s2s.is_zero(g) else g` of a number g: g (0.0 where it is 0.0)
            self.changed = True
            return g
        if self._guarded_selection(node):  # `[0.0, 0.0] if s2s.is_zero(g) else (g if c else 0.0, ...)`
            self.changed = True
            return node.orelse
        return node

    def visit_BinOp(self, node):
        kept = self._product_with_a_zero_side(node)
        if kept is not None:
            self.changed = True
            return kept
        self.generic_visit(node)
        return node

    def _product_with_a_zero_side(self, node):
        """`g * s2s.balanced_eq(x, m, 0.0)` (either order) with `m = np.maximum(x, 0.0)` (or minimum) and `g` a
        product of which m is a factor (`e_bar = 2.0 * e * t_bar`, the adjoint of `e ** 2`): g itself, in float64
        code. Where the mask is not 1, m is 0.0 (x lost or tied with 0.0) or NaN (x is NaN), so g is ±0.0 or NaN
        there already, and multiplying by 0 or 0.5 gives g back bit for bit (the sign of a zero and NaN kept): the
        squared hinge `np.maximum(0.0, 1 - y * z) ** 2` needs no mask. Else None."""
        if not (self.float64 and isinstance(node.op, ast.Mult)):
            return None
        for g, call in ((node.left, node.right), (node.right, node.left)):
            if not (isinstance(call, ast.Call) and self.shapes.helpers.get(self.shapes.callee(call)) == "balanced_eq"
                    and len(call.args) == 3 and not call.keywords):
                continue
            x, m, c = call.args
            if not (isinstance(x, ast.Name) and isinstance(m, ast.Name) and _number(c) == 0 and isinstance(g, ast.Name)
                    and m.id in self.defs and g.id in self.defs and g.id != m.id
                    and _has_factor(self.defs[g.id].value, m.id) and not self._changed_in_place(g.id)):
                continue
            if self._extreme_of(call, x, m, c) in (np.maximum, np.minimum):
                return g
        return None

    def _changed_in_place(self, name) -> bool:
        """Whether some statement may change in place `name`'s array, or an array that may be it or a view of it
        (`transforms/unchanged.py`: item stores, `+=`, methods that change their object, `out=`, `np.add.at`...)."""
        if self.fdef is None:
            return True
        reaching = aliases(self.fdef, name, self.shapes)
        return any(changed_in_place(stmt, reaching, self.shapes) for stmt in self.fdef.body)

    def visit_Subscript(self, node):
        """`g[k]` of a list adjoint made just before by `g = s2s.getitem_grad(h, t, k)` (`sign, logdet =
        np.linalg.slogdet(K)` in a loop: the adjoint rule read `slogdet_bar[1]`): h, no list made. (An item other
        than k, the zero adjoint, stays: 0.0 times an inf is NaN where the zero's product is the zero.)"""
        self.generic_visit(node)
        k = _number(node.slice)
        if not (isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load) and type(k) is int and k >= 0
                and node.value.id in self.item_reads):
            return node
        item = self._item_adjoint(node.value, k, node)
        if item is None or isinstance(item, ast.Constant) and item.value == 0.0:
            return node
        self.changed = True
        return ast.copy_location(item, node)

    def _guarded_selection(self, node) -> bool:
        """Whether `node` is `[0.0, ...] if s2s.is_zero(g) else (g if c0 else 0.0, ...)` of as many items, as
        `_selection` writes them: the tuple gives each 0.0 where g is 0.0."""
        g = self.shapes.zero_tested(node)
        zeros, parts = node.body, node.orelse
        return isinstance(g, ast.Name) and isinstance(zeros, ast.List) and isinstance(parts, ast.Tuple) \
            and len(zeros.elts) == len(parts.elts) \
            and all(isinstance(z, ast.Constant) and z.value == 0.0 for z in zeros.elts) \
            and all(isinstance(p, ast.IfExp) and isinstance(p.body, ast.Name) and p.body.id == g.id
                    and isinstance(p.orelse, ast.Constant) and p.orelse.value == 0.0 for p in parts.elts)

    def _zero_or_array(self, node, g):
        """`helper(g, ...)` of a helper that gives the zero adjoint for it (runtime.linear_in_g), where g holds 0.0
        or an array of one shape (an adjoint 0.0 before a loop, an array after its first trip): the rewrite the
        array would get, under the helper's own test, `0.0 if s2s.is_zero(g) else <rewrite>`; None where the
        array gets none."""
        either = self.shapes._either(g, None)
        if len(either) != 2 or either[1] in (None, ()):
            return None
        with self.shapes.facts_at([g], either[1]):  # (what the rewrite asks of g: the array's shape, here alone)
            new = self._rewrite(node)
        if new is node:
            return None
        test = ast.Call(func=ast.Attribute(value=copy.deepcopy(node.func.value), attr="is_zero", ctx=ast.Load()),
                        args=[ast.Name(id=g.id, ctx=ast.Load())], keywords=[])
        return ast.IfExp(test=test, body=ast.Constant(0.0), orelse=new)

    def _guarded_number(self, node):
        """g, where `node` is `0.0 if s2s.is_zero(g) else g` and g a real number."""
        g = self.shapes.zero_tested(node)
        if not (isinstance(g, ast.Name) and isinstance(node.body, ast.Constant) and node.body.value == 0.0
                and isinstance(node.orelse, ast.Name) and g.id == node.orelse.id):
            return None
        return node.orelse if self.shapes.of(node.orelse) == () and self.shapes.real(node.orelse) else None

    def visit_Call(self, node):
        self.generic_visit(node)
        new = self._rewrite(node)
        self.changed = self.changed or new is not node
        return new

    def _raveled_vector(self, node) -> bool:
        """Whether `node` is `np.ravel(v)` of a vector `v` (an array of one axis)."""
        return isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords \
            and self.shapes.callee(node) is np.ravel and _array_shape(shape := self._symbolic_shapes(node.args)[0]) \
            and len(shape) == 1

    def _symbolic_shapes(self, args) -> list:
        """The shapes of the arrays or numbers `args`, lengths that follow a loop's counter (`Extent`s) in them:
        for rewrites that compare lengths and write none into the code."""
        with self.shapes.symbolic():
            shapes = [self.shapes.of(a) for a in args]
        return [None if isinstance(sh, Seq | Keyed) else sh for sh in shapes]

    def _same_lengths(self, a, b) -> bool:
        """Whether the arrays `a` and `b` certainly have one shape here, a length in it one that follows a loop's
        counter (an `Extent`: `g` of `y_bar[i:]` and `t` of `y[i:] + v`)."""
        with self.shapes.symbolic():
            shape = self.shapes.of(a)
            return type(shape) is tuple and shape != () and shape == self.shapes.of(b)

    def _rewrite(self, node):
        obj = self.shapes.callee(node)
        if obj is np.swapaxes and len(node.args) == 3 and not node.keywords:
            return self._swapaxes(node)
        if obj is np.dot or obj is np.matmul:
            # a vector raveled for a product: the vector itself (`np.outer`'s adjoints ravel their vectors; not where
            # the result may be a view written into: a non-contiguous vector's ravel is a copy)
            node.args = [a.args[0] if self._raveled_vector(a) else a for a in node.args]
        if obj is np.reshape and len(node.args) == 2 and not node.keywords and isinstance(node.args[1], ast.Call) \
                and self.shapes.callee(node.args[1]) is np.shape and len(node.args[1].args) == 1 \
                and not node.args[1].keywords and self._same_lengths(node.args[0], node.args[1].args[0]):
            return node.args[0]  # reshaped to the shape it has (a view of it, as NumPy's reshape gives)
        name = self.shapes.helpers.get(obj) if obj is not None and hashable(obj) else None
        if name is None or node.keywords:
            return node
        args = node.args
        if args and isinstance(args[0], ast.Name) and name != "unbroadcast" \
                and getattr(obj, "__s2s_zero_gives_zero__", False) and isinstance(node.func, ast.Attribute):
            guarded = self._zero_or_array(node, args[0])
            if guarded is not None:
                return guarded
        raw = [self.shapes.of(a) for a in args]
        shapes = [None if isinstance(sh, Seq | Keyed) else sh for sh in raw]  # (a tuple's or list's items: `part` alone)
        if name == "dot_method" and len(args) == 2 and isinstance(raw[0], tuple):
            # (`a.dot(b)` of an array or number a: NumPy's np.dot; the helper is for a sparse matrix, which has no shape fact)
            return ast.Call(func=ast.Attribute(value=load(self.np), attr="dot", ctx=ast.Load()), args=args, keywords=[])
        if name == "slice_kept" and len(args) == 3 and isinstance(raw[0], tuple) and raw[0] != ():
            return args[2]  # an array of known shape, no list: the check of a list's length has nothing to do
        if name == "unbroadcast" and len(args) == 2 and shapes[0] is not None and shapes[0] == shapes[1]:
            return args[0]
        if name == "unbroadcast" and len(args) == 2 and self._same_lengths(args[0], args[1]):
            return args[0]  # (`x[i:]` and `y[i:]` of one length, which follows the counter i: equal shapes)
        if name == "unbroadcast" and len(args) == 2 and shapes[1] not in (None, ()) \
                and self.shapes._either(args[0], None) == ((), shapes[1]):
            return args[0]  # 0.0 (kept) or an array of x's shape already (an adjoint started at 0.0 before a loop)
        if name == "unbroadcast" and len(args) == 2:
            # (the sums write axes, never lengths: `Extent`s of `x[:i]` compare as well as ints)
            return self._sum_to(node, args[0], *self._symbolic_shapes(args))
        if name == "grad_extreme" and len(args) == 5:
            return self._extreme(node, args, shapes)
        if name in ("grad_var", "grad_std") and len(args) == (5 if name == "grad_var" else 6):
            return self._spread(node, name, args, shapes)
        if name == "balanced_eq" and len(args) == 3:
            return self._step(node, args)
        if name == "reduced_size" and len(args) == 2 and isinstance(shapes[0], tuple):  # (an array's, not a list's)
            n = self._reduced_size(shapes[0], args[1])
            return node if n is None else ast.Constant(n)
        if name == "reduced_size" and len(args) == 2 and isinstance(args[0], ast.Name) \
                and isinstance(args[1], ast.Constant) and args[1].value is None:
            with self.shapes.symbolic():  # (`x[:i]`: an array whose length follows the counter; no number to write)
                whole = self.shapes.of(args[0])
            if isinstance(whole, tuple) and whole != ():
                return ast.Attribute(value=args[0], attr="size", ctx=ast.Load())
        if name == "expand_reduced" and len(args) == 4 and shapes[0] is not None and shapes[0] == shapes[1]:
            return args[0]
        if name == "add" and len(args) == 2 and self.shapes.is_zero(args[0]):
            return args[1]  # s2s.add(0.0, b) is b
        if name == "add" and len(args) == 2 and self.shapes.is_zero(args[1]):
            return args[0]
        if name == "grad_norm" and len(args) == 6:
            return self._norm(node, args, shapes)
        if name == "grad_trace" and len(args) == 5:
            return self._trace_adjoint(node, args, shapes)
        if name == "grad_pad" and len(args) == 4:
            cut = self._pad_cut(args, shapes)
            if cut is not None:
                return cut
        if name == "zero_of_real" and len(args) == 2 and self.shapes.real(args[1]):
            return ast.Constant(0.0)  # (np.sign's, np.imag's, np.angle's adjoint at a real x: the zero)
        if name == "grad_cumsum" and len(args) == 3 and _array_shape(shapes[0]) and len(shapes[0]) == 1 \
                and shapes[0] == shapes[1] and isinstance(args[2], ast.Constant) and args[2].value in (None, 0, -1) \
                and type(args[2].value) is not bool:
            # a vector's running sums from the end: what the helper computes, with no reshape or flip
            reversed_ = ast.Slice(lower=None, upper=None, step=ast.Constant(-1))
            sums = _call(_attr(self.np, "cumsum"), ast.Subscript(value=args[0], slice=reversed_, ctx=ast.Load()))
            return ast.Subscript(value=sums, slice=copy.deepcopy(reversed_), ctx=ast.Load())
        if name == "getitem_grad" and len(args) == 3 and isinstance(raw[1], tuple) and raw[1] != () \
                and shapes[0] not in (None, ()):
            new = self._new_axes_adjoint(args, raw[1], shapes[0])
            if new is not None:
                return new
        if name == "grad_where" and len(args) == 4 and isinstance(args[3], ast.Constant) \
                and type(args[3].value) is bool and shapes[0] not in (None, ()) and shapes[0] == shapes[2] \
                and shapes[1] is not None and broadcast(shapes[0], shapes[1]) == shapes[0]:
            # g where the condition holds (or not), of g's own shape: nothing to sum down
            where = ast.Attribute(value=load(self.np), attr="where", ctx=ast.Load())
            picked = [args[0], ast.Constant(0.0)] if args[3].value else [ast.Constant(0.0), args[0]]
            return ast.Call(func=where, args=[args[1], *picked], keywords=[])
        if name == "add" and len(args) == 2 and (all(s not in (None, ()) for s in shapes) or shapes == [(), ()]):
            return ast.BinOp(left=args[0], op=ast.Add(), right=args[1])
        if name == "add" and len(args) == 2 and shapes[1] not in (None, ()) \
                and self.shapes._either(args[0], None) == ((), shapes[1]):
            # (0.0 or an array of b's shape, started at 0.0 before a loop: `+` gives b's values either way)
            return ast.BinOp(left=args[0], op=ast.Add(), right=args[1])
        if name in ("grad_matmul_a", "grad_matmul_b") and len(args) == 3:
            return self._matmul_adjoint(name, node, args, self._symbolic_shapes(args))  # (products write no lengths)
        if name in ("grad_dot_a", "grad_dot_b") and len(args) == 3:
            symbolic = self._symbolic_shapes(args)
            if _matrix_or_vector(symbolic[1]) and _matrix_or_vector(symbolic[2]):
                # np.dot of vectors and matrices is np.matmul (its helper calls matmul's there)
                return self._matmul_adjoint(name.replace("dot", "matmul"), node, args, symbolic)
        if name == "part" and len(args) == 2 and isinstance(args[0], ast.List | ast.Tuple) \
                and type(_number(args[1])) is int and -len(args[0].elts) <= _number(args[1]) < len(args[0].elts) \
                and all(isinstance(e, ast.Name | ast.Constant) for e in args[0].elts):
            return args[0].elts[_number(args[1])]  # `s2s.part([h_bar, c_bar], 0)`: a list's item, whatever its shape
        if name == "part" and len(args) == 2 and isinstance(raw[0], Seq) and type(_number(args[1])) is int:
            return ast.Subscript(value=args[0], slice=args[1], ctx=ast.Load())  # an item of that list
        if name == "grad_mult_seq" and len(args) == 4:
            return self._product_adjoint(node, args, shapes)
        if name == "grad_add_seq" and len(args) == 4 and type(_number(args[3])) is int and _number(args[3]) in (0, 1) \
                and all(type(sh) is tuple for sh in shapes[:3]):
            # `x + y` of arrays or numbers (not lists concatenated): g summed down to the one it is for
            own = shapes[1 + _number(args[3])]
            return args[0] if shapes[0] == own else self._sum_to(node, args[0], shapes[0], own)
        if name == "written_into" and len(args) == 2 and self.shapes.real(args[1]):
            return args[0]  # (written into real floats: kept as it is)
        if name == "transpose_attr" and len(args) == 1 and _array_shape(shapes[0]):
            return _T(args[0])  # `x.T` of an array (an object's attribute T has no shape)
        if name == "transpose_attr_grad" and len(args) == 2 and _array_shape(shapes[0]) and _array_shape(shapes[1]):
            return _T(args[0])  # the adjoint of an array's transpose, transposed back
        if name == "grad_slogdet" and len(args) == 2:
            return self._slogdet_adjoint(node, args, raw)
        if name == "grad_det" and len(args) == 3 and isinstance(node.func, ast.Attribute) \
                and _stack_of(shapes[2]) is not None and shapes[0] == _stack_of(shapes[2]):
            if type(shapes[0]) is ZeroScalar:
                return ast.Constant(0.0)
            # (the same numbers, zeros for a zero g: an array whatever g is, so the shapes after it are known)
            return ast.Call(func=ast.Attribute(value=node.func.value, attr="det_adjoint", ctx=ast.Load()), args=args,
                            keywords=[])
        if name in ("grad_solve_a", "grad_solve_b") and len(args) == 4 - (name == "grad_solve_b"):
            return self._solve_adjoint(name, node, args, shapes)
        if name == "grad_squeeze" and len(args) == 3 and _array_shape(shapes[1]) and isinstance(shapes[0], tuple) \
                and math.prod(shapes[0]) == math.prod(shapes[1]) and self.shapes.real(args[0]):
            # np.squeeze's adjoint: g (a number, or an array of as many items) reshaped to x's known shape
            if shapes[0] == shapes[1]:
                return args[0]
            reshape = ast.Attribute(value=ast.Name(id=self.np, ctx=ast.Load()), attr="reshape", ctx=ast.Load())
            return ast.Call(func=reshape, args=[args[0], ast.Tuple(elts=[ast.Constant(n) for n in shapes[1]],
                                                                   ctx=ast.Load())], keywords=[])
        if name == "outer_reduced" and len(args) == 2 and _array_shape(shapes[1]) and type(shapes[0]) is tuple \
                and math.prod(shapes[0]) == math.prod(shapes[1]) and self.shapes.real(args[0]):
            return _reshaped(args[0], shapes[0], shapes[1], self.np)  # np.F.outer's adjoint of a: g at a's shape
        if name == "outer_operand" and len(args) == 2 and _array_shape(self.shapes.of(node)):
            reshape = ast.Attribute(value=ast.Name(id=self.np, ctx=ast.Load()), attr="reshape", ctx=ast.Load())
            return ast.Call(func=reshape, args=[args[0], ast.Tuple(elts=[ast.Constant(n) for n in self.shapes.of(node)],
                                                                   ctx=ast.Load())], keywords=[])
        if name == "grad_select" and isinstance(self.shapes.of(node), Seq) and isinstance(args[0], ast.Name) \
                and isinstance(args[1], ast.Name) and isinstance(args[2], ast.List | ast.Tuple) \
                and all(isinstance(e, ast.Name) or _number(e) is not None for e in args[2].elts):
            return self._selection(args[0], args[1], args[2].elts)  # (`max(a, 1.0)`: a number literal too)
        if name == "grad_einsum_parts" and isinstance(self.shapes.of(node), Seq):
            return self._einsum_parts(node, args)
        if name == "grad_clip" and len(args) == 4 and _array_shape(shapes[0]) \
                and self.shapes.of(node) == shapes[0]:
            return self._clip_mask(node, args)
        if name == "as_sequence" and len(args) == 1 and _array_shape(shapes[0]) and not self.shapes.is_zero(args[0]):
            return args[0]  # what `for v in x` runs over, of an array: the array itself
        if name == "zip_row" and len(args) == 2 and not self.shapes.is_zero(args[0]) \
                and (_array_shape(shapes[0]) or isinstance(raw[0], Seq | ListOf)):
            return args[0]  # a row of zip(*rows) that is an array, a list or a tuple: the row itself
        if name == "grad_iterated" and len(args) == 2 and (_array_shape(shapes[1]) or isinstance(raw[1], Seq | ListOf)):
            return args[0]  # its adjoint, of an array, a list or a tuple (not a dict's keys): g itself
        if name == "grad_concatenate" and len(args) == 3 and isinstance(args[0], ast.Name) \
                and type(_number(args[2])) is int and isinstance(raw[1], Seq) and self._read_by_items(node):
            return self._pieces(node, args[0], raw[1], _number(args[2]), shapes[0])
        if name == "grad_hstack" and len(args) == 2 and isinstance(args[0], ast.Name) and isinstance(raw[1], Seq) \
                and raw[1].items and all(_array_shape(sh) for sh in raw[1].items) and self._read_by_items(node):
            # np.hstack joined arrays of one rank along axis 0 (1-d) or 1: the same pieces as grad_concatenate's,
            # each reshaped to its own shape (no change); numbers and 0-d items stay the helper's
            return self._pieces(node, args[0], raw[1], 0 if len(raw[1].items[0]) == 1 else 1, shapes[0])
        if name == "array_grad" and len(args) == 2 and isinstance(raw[1], tuple):
            return args[0]  # of np.array(x) of an array or a number x: g itself (runtime.array_grad)
        if name == "array_grad" and len(args) == 2 and self._read_by_items(node):
            result = self.shapes.of(node)
            if isinstance(result, Seq) and shapes[0] == (len(result.items),) and all(i == () for i in result.items):
                return args[0]  # [g[0], g[1]] of np.array([a, b]) read item by item: g's items are the same numbers
        return node

    def _new_axes_adjoint(self, args, x_shape, g_shape):
        """`s2s.getitem_grad(g, x, (slice(None, None, None), None))`, the adjoint of `x[:, None]` (full slices and
        new axes only: every entry read once, in order): g reshaped to x's shape."""
        from .index_adjoints import as_slice
        index = args[2]
        items = index.elts if isinstance(index, ast.Tuple) else [index]
        out, axis = [], 0
        for item in items:
            if isinstance(item, ast.Constant) and item.value is None:
                out.append(1)
                continue
            item = as_slice(item, self.shapes)
            if not (isinstance(item, ast.Slice) and item.lower is None and item.upper is None and item.step is None) \
                    or axis >= len(x_shape):
                return None
            out.append(x_shape[axis])
            axis += 1
        if len(out) == len(items) and tuple(out) + tuple(x_shape[axis:]) == tuple(g_shape) and len(items) > axis:
            reshape = ast.Attribute(value=load(self.np), attr="reshape", ctx=ast.Load())
            shape = ast.Tuple(elts=[ast.Constant(n) for n in x_shape], ctx=ast.Load())
            return ast.Call(func=reshape, args=[args[0], shape], keywords=[])
        return None

    @staticmethod
    def _selection(g, chosen, items):
        """`(g if a == m or m != m else 0.0, g if b == m and not (a == m or m != m) else 0.0, ...)` for
        s2s.grad_select(g, m, [a, b, ...]) of numbers (`m = min(a, b, ...)`, builtin): g goes to the first
        argument equal to the one chosen, as the helper gives it, and to the first where m is a NaN (builtin
        min and max keep a NaN only where it comes first); a number each."""
        def chose(k):
            item = ast.Name(id=items[k].id, ctx=ast.Load()) if isinstance(items[k], ast.Name) \
                else ast.Constant(_number(items[k]))
            equal = ast.Compare(left=item, ops=[ast.Eq()], comparators=[chosen])
            if k:
                return equal
            nan = ast.Compare(left=chosen, ops=[ast.NotEq()], comparators=[chosen])
            return ast.BoolOp(op=ast.Or(), values=[equal, nan])
        parts = []
        for k in range(len(items)):
            earlier = [ast.UnaryOp(op=ast.Not(), operand=chose(j)) for j in range(k)]
            test = chose(k) if not earlier else ast.BoolOp(op=ast.And(), values=[chose(k), *earlier])
            parts.append(ast.IfExp(test=test, body=ast.Name(id=g.id, ctx=ast.Load()), orelse=ast.Constant(0.0)))
        return ast.Tuple(elts=parts, ctx=ast.Load())

    def _einsum_parts(self, node, args):
        """`(0.0, np.einsum('bpf,fij->bpij', g, filters), ...)` for s2s.grad_einsum_parts(g, ['bpij,fij->bpf',
        patches, filters], ...) whose operands' shapes are known (its result shape says so): each part asked for is
        the einsum of g with the other operands into the operand's letters, where they are all its own (none
        repeated, none summed out alone: the helper's identity and ones factors are then not needed)."""
        items, which = args[1].elts, literal(args[3], None) if len(args) == 4 else None
        ins, arrow, out = items[0].value.replace(" ", "").partition("->")
        terms = ins.split(",")
        if not isinstance(args[0], ast.Name) or not all(isinstance(e, ast.Name) for e in items[1:]):
            return node
        parts = [ast.Constant(0.0)]
        for k, term in enumerate(terms):
            others = [t for j, t in enumerate(terms) if j != k]
            present = set(out).union(*others)
            if which is not None and k + 1 not in which:
                parts.append(ast.Constant(0.0))
                continue
            if len(set(term)) != len(term) or not set(term) <= present:
                return node
            spec = ",".join([out, *others]) + "->" + term
            operands = [e for j, e in enumerate(items[1:]) if j != k]
            parts.append(ast.Call(func=ast.Attribute(value=ast.Name(id=self.np, ctx=ast.Load()), attr="einsum",
                                                     ctx=ast.Load()),
                                  args=[ast.Constant(spec), args[0], *operands], keywords=[]))
        return ast.Tuple(elts=parts, ctx=ast.Load())  # (read by its items alone, as the helper's list)

    def _clip_mask(self, node, args):
        """`g * ((x >= lo) & (x <= hi))` for s2s.grad_clip(g, x, lo, hi) of number bounds, where g has x's shape:
        the helper's mask, with nothing to sum."""
        bounds = [(b, op) for b, op in ((args[2], ast.GtE()), (args[3], ast.LtE()))
                  if not (isinstance(b, ast.Constant) and b.value is None)]
        if not bounds or any(self.shapes.of(b) != () or not self.shapes.real(b) and type(_number(b)) is not int
                             for b, _ in bounds) or not self.shapes.real(args[1]):
            return node
        tests = [ast.Compare(left=args[1], ops=[op], comparators=[b]) for b, op in bounds]
        inside = tests[0] if len(tests) == 1 else ast.BinOp(left=tests[0], op=ast.BitAnd(), right=tests[1])
        return ast.BinOp(left=args[0], op=ast.Mult(), right=inside)

    @staticmethod
    def _pieces(node, g, items, axis, g_shape):
        """`(g[0:16], g[16:24])`: the adjoints of np.concatenate's pieces, as s2s.grad_concatenate cuts them (the
        same views), where every piece's shape is known and g's is theirs joined along `axis`."""
        shapes = as_arrays(items.items)  # (a list's piece too: an array cut from g)
        if not shapes or not all(_array_shape(sh) and len(sh) == len(shapes[0]) for sh in shapes) \
                or not -len(shapes[0]) <= axis < len(shapes[0]):
            return node
        axis %= len(shapes[0])
        joined = shapes[0][:axis] + (sum(sh[axis] for sh in shapes),) + shapes[0][axis + 1:]
        if g_shape != joined or any(sh[:axis] + sh[axis + 1:] != joined[:axis] + joined[axis + 1:] for sh in shapes):
            return node
        pieces, start = [], 0
        for sh in shapes:
            cut = ast.Slice(lower=ast.Constant(start), upper=ast.Constant(start + sh[axis]))
            index = ast.Tuple(elts=[ast.Slice() for _ in range(axis)] + [cut], ctx=ast.Load()) if axis else cut
            pieces.append(ast.Subscript(value=ast.Name(id=g.id, ctx=ast.Load()), slice=index, ctx=ast.Load()))
            start += sh[axis]
        return ast.Tuple(elts=pieces, ctx=ast.Load())

    def _read_by_items(self, call):
        """Whether `call` is the value assigned to a name, every read of which is an item `x[k]` of an int
        constant k (the reads of its other values, `x_bar = 0.0`, are the same reads)."""
        name, value = self.assigned.get(id(call), (None, None))
        return value is call and name in self.item_reads  # (the node itself: an id may be a freed node's)

    def _swapaxes(self, node):
        """`np.swapaxes(x, -1, -2)` of a matrix (the linear algebra rules' transpose) is `x.T`: the same view."""
        x, i, j = node.args
        axes = {_number(i), _number(j)}
        shape = self.shapes.of(x)
        if type(shape) is not tuple or len(shape) != 2 or any(type(k) is not int or not -2 <= k < 2 for k in axes) \
                or {k % 2 for k in axes} != {0, 1}:
            return node
        return _T(x)

    def _matrix_T(self, a, batch):
        """`a.T` of a matrix, `np.swapaxes(a, -1, -2)` of a stack of them."""
        if batch == ():
            return _T(a)
        return _call(_attr(self.np, "swapaxes"), a, ast.Constant(-1), ast.Constant(-2))

    def _slogdet_adjoint(self, node, args, raw):
        """`s2s.grad_slogdet(g, a)` of a square matrix (or a stack) a: log|det|'s adjoint times inv(a) transposed,
        read straight from the adjoint `h` of `s2s.getitem_grad(h, slogdet, 1)` where g is that list (no list made),
        or `g[1]`. Only the sign's adjoint reaching it (g = getitem_grad(h, slogdet, 0)): the zero. For a number h
        that is 0.0 the helper gives the zero and the product zeros (the same sum), unless a is singular: there
        np.linalg.inv raises (log|det| has no derivative there)."""
        g, a = args
        sa = self.shapes.of(a)
        batch = _stack_of(sa)
        displayed = isinstance(g, ast.List | ast.Tuple) and len(g.elts) == 2 \
            and all(isinstance(e, ast.Name | ast.Constant) for e in g.elts)  # `[sign_bar, logdet_bar]`, split
        items = raw[0].items if isinstance(raw[0], Seq) else tuple(self.shapes.of(e) for e in g.elts) \
            if displayed else None
        if batch is None or items is None or len(items) != 2 or not (isinstance(g, ast.Name) or displayed) \
                or not _simple(a):
            return node
        gl = g.elts[1] if displayed else self._item_adjoint(g, 1, node)
        if gl is None:
            if type(items[1]) is ZeroScalar:
                return ast.Constant(0.0)
            gl = ast.Subscript(value=g, slice=ast.Constant(1), ctx=ast.Load())
        elif isinstance(gl, ast.Constant) and gl.value == 0.0:
            return ast.Constant(0.0)
        sl = self.shapes.of(gl)
        if type(sl) is ZeroScalar:
            return ast.Constant(0.0)
        if sl != batch:
            return node
        inv = _call(ast.Attribute(value=_attr(self.np, "linalg"), attr="inv", ctx=ast.Load()), a)
        if batch == ():
            return ast.BinOp(left=gl, op=ast.Mult(), right=_T(inv))
        expanded = ast.Subscript(value=gl, slice=ast.Tuple(elts=[ast.Constant(Ellipsis), ast.Constant(None),
                                                                 ast.Constant(None)], ctx=ast.Load()), ctx=ast.Load())
        return ast.BinOp(left=expanded, op=ast.Mult(), right=self._matrix_T(inv, batch))

    def _item_adjoint(self, g, k, use):
        """Item k of the list adjoint `g` read by the expression `use`, as an expression of names that still hold
        their values there, where `g`'s value comes from statements of the block holding `use`: `g =
        s2s.getitem_grad(h, t, j)` of a tuple t of known items (h for j == k, the zero 0.0 for another j; h a name,
        a literal or an expression that cannot raise, then computed where it is read) and
        `g = s2s.add(g1, g2)` of two such lists (their items added; one that is the zero is the other). Else None."""
        found = self._statement_of(use)
        if found is None:
            return None
        block, at = found
        return self._item_at(g, k, block, at, at, 0)

    def _statement_of(self, node):
        """(block, index) of the innermost statement holding `node` (a loop's body, not the function's body whose
        `for` statement holds it too), or None. One map of the whole function, made on first use: the blocks are
        in `walk`'s order, outer before inner, so the last statement found for a node is its innermost; a node
        the rewrites made since, or a statement they replaced, is looked for statement by statement."""
        if self._statements is None:  # (the map holds each node: no id is reused while it lives)
            self._statements = {id(n): (n, block, i) for block in self.blocks for i, s in enumerate(block)
                                for n in walk(s)}
        known = self._statements.get(id(node))
        if known is not None and known[0] is node and any(n is node for n in walk(known[1][known[2]])):
            return known[1:]
        found = [(block, i) for block in self.blocks for i, s in enumerate(block) if any(n is node for n in walk(s))]
        return found[-1] if found else None

    def _item_at(self, g, k, block, at, use, depth):
        """Item k of the list `g` holds before statement `at` of `block`, from names that hold their values up to
        statement `use`, or None."""
        if not isinstance(g, ast.Name) or depth > 8:  # (each step reads an earlier statement)
            return None
        for i in range(at - 1, -1, -1):
            s = block[i]
            stores = [n for n in walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id == g.id]
            if not stores:
                continue
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                    and len(stores) == 1 and isinstance(s.value, ast.Call) and not s.value.keywords):
                return None
            return self._item_of_call(s.value, k, block, i, use, depth)
        return None

    def _item_of_call(self, call, k, block, i, use, depth):
        helper = self.shapes.helpers.get(self.shapes.callee(call))
        if helper == "getitem_grad" and len(call.args) == 3:
            h, t, j = call.args
            items, j = self.shapes.of(t), _number(j)
            if not isinstance(items, Seq) or type(j) is not int or not -len(items.items) <= j < len(items.items) \
                    or not 0 <= k < len(items.items):
                return None
            if j % len(items.items) != k:
                return ast.Constant(0.0)
            return self._same_value(h, block, i, use)
        if helper == "field_grad" and len(call.args) == 3:  # `r.logabsdet`'s adjoint: a namedtuple of zeros but one
            h, t, names = call.args
            seq = self.shapes.of(t)
            if not isinstance(seq, Seq) or seq.fields is None or not 0 <= k < len(seq.fields) \
                    or not isinstance(names, ast.List) or len(names.elts) != 1 \
                    or not isinstance(names.elts[0], ast.Constant) or names.elts[0].value not in seq.fields:
                return None
            if names.elts[0].value != seq.fields[k]:
                return ast.Constant(0.0)
            return self._same_value(h, block, i, use)
        if helper == "add" and len(call.args) == 2:
            parts = []
            for arg in call.args:
                part = self._item_at(arg, k, block, i, use, depth + 1) if isinstance(arg, ast.Name) else \
                    self._item_of_call(arg, k, block, i, use, depth + 1) if isinstance(arg, ast.Call) else None
                if part is None:
                    return None
                parts.append(part)
            a, b = parts
            if isinstance(a, ast.Constant) and a.value == 0.0:
                return b
            if isinstance(b, ast.Constant) and b.value == 0.0:
                return a
            if self.shapes.of(a) != () or self.shapes.of(b) != ():
                return None  # (numbers: s2s.add of two numbers is their sum)
            return ast.BinOp(left=a, op=ast.Add(), right=b)
        return None

    def _same_value(self, h, block, i, use):
        """A copy of `h` (a name, a literal or an expression that cannot raise) read at statement i of `block`,
        where nothing from there to statement `use` rebinds a name it reads, else None."""
        if not (_simple(h) or _pure(h, self.shapes)):
            return None
        names = {n.id for n in walk(h) if isinstance(n, ast.Name)}
        if any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in names
               for s in block[i + 1:use] for n in walk(s)):
            return None  # (h is not the same value where the item is read)
        return copy.deepcopy(h)

    def _solve_adjoint(self, name, node, args, shapes):
        """`s2s.grad_solve_a(g, ans, a, b)` / `s2s.grad_solve_b(g, a, b)` of a square matrix a (or a stack, the
        same stack as the solution's), an array g of the solution's shape: what the helper computes,
        `-(np.linalg.solve(a.T, g) @ ans.T)` (`np.outer` for a vector), `np.linalg.solve(a.T, g)`."""
        g = args[0]
        a, sa = (args[2], shapes[2]) if name == "grad_solve_a" else (args[1], shapes[1])
        sol = shapes[1] if name == "grad_solve_a" else shapes[2]  # ans, or b (of ans's shape)
        batch = _stack_of(sa)
        if batch is None or not _array_shape(shapes[0]) or shapes[0] != sol or not _simple(a) \
                or not (len(sol) == len(sa) and sol[:-2] == batch or batch == () and len(sol) == 1):
            return node
        gb = _call(ast.Attribute(value=_attr(self.np, "linalg"), attr="solve", ctx=ast.Load()),
                   self._matrix_T(a, batch), g)
        if name == "grad_solve_b":
            return gb
        ans = args[1]
        if len(sol) == 1:
            return ast.UnaryOp(op=ast.USub(), operand=_call(_attr(self.np, "outer"), gb, ans))
        return ast.UnaryOp(op=ast.USub(), operand=_matmul(gb, self._matrix_T(ans, batch)))

    def _product_adjoint(self, node, args, shapes):
        """`grad_mult_seq(g, x, y, which)` of `x * y` where x and y are arrays or numbers (not a list repeated) and
        g times the other factor has the shape of the one it is for: that product (what the helper computes)."""
        g, x, y, which = args
        k = _number(which)
        if k not in (0, 1) or type(k) is not int or any(type(sh) is not tuple for sh in shapes[:3]):
            return node
        other, own = (y, shapes[2]) if k == 0 else (x, shapes[1])
        if broadcast(shapes[0], shapes[2 if k == 0 else 1]) != (shapes[1] if k == 0 else shapes[2]) or own is None:
            return node
        return ast.BinOp(left=g, op=ast.Mult(), right=other)

    def _sum_to(self, node, g, sg, sx):
        """`unbroadcast(g, x)` of an array g broadcast from x's shape: the sums it does, written out."""
        if not isinstance(sg, tuple) or not isinstance(sx, tuple) or sg == () or len(sg) < len(sx):
            return node
        lead = len(sg) - len(sx)
        if any(b not in (1, a) for a, b in zip(sg[lead:], sx)):
            return node  # not a broadcast of x's shape (unbroadcast broadcasts then: leave it)
        negate = isinstance(g, ast.UnaryOp) and isinstance(g.op, ast.USub)
        out = g.operand if negate else g  # (the sum of -g is -(the sum of g) exactly: summed after, on fewer numbers)
        if not negate:  # (`-a * b / c` is `-(a * b / c)` bit for bit: negation commutes with rounding)
            positive = _without_leading_negation(g)
            if positive is not None:
                negate, out = True, positive
        summed = set(range(lead)) | {lead + i for i, (a, b) in enumerate(zip(sg[lead:], sx)) if b == 1 and a != 1}
        out, factor = self._constant_factor(out, summed, sg, sx)
        if lead:
            out = _call(_attr(self.np, "sum"), out)
            out.keywords = [ast.keyword(arg="axis", value=_tuple_or_int(range(lead)))]
        ones = [i for i, (a, b) in enumerate(zip(sg[lead:], sx)) if b == 1 and a != 1]
        if ones:
            out = _call(_attr(self.np, "sum"), out)
            out.keywords = [ast.keyword(arg="axis", value=_tuple_or_int(ones)),
                            ast.keyword(arg="keepdims", value=ast.Constant(True))]
        if factor is not None:
            out = ast.BinOp(left=out, op=factor[0], right=factor[1])
        if out is g or (negate and isinstance(g, ast.UnaryOp) and out is g.operand):
            return node
        return ast.UnaryOp(op=ast.USub(), operand=out) if negate else out

    def _constant_factor(self, e, summed, sg, sx):
        """(e, None), or (E, (op, s)) where `e` is `E * s` or `E / s` of real floats with `s` of extent 1 along every
        axis of `summed` (the axes of e's shape `sg` the adjoint sums) and no more axes than the sum leaves (x's shape
        `sx`): `np.sum(E / s, axis=0)` is `np.sum(E, axis=0) / s`, one division of the sum, not one per entry summed (the
        same algebra, rounded otherwise: where the entries of E are so large that their sum overflows, it may be inf
        where the sum of the quotients was not; a standardisation's `t2_bar`, 1.41x -> 1.14x of its hand gradient)."""
        if not (isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult | ast.Div) and _simple(e.right)):
            return e, None
        with self.shapes.symbolic():
            sr = self.shapes.of(e.right)
        if type(sr) is not tuple or len(sr) > len(sx) or not self.shapes.real(e.right) or not self.shapes.real(e.left):
            return e, None
        full = (1,) * (len(sg) - len(sr)) + sr
        lead = len(sg) - len(sx)
        if any(full[a] != 1 for a in summed) or any(r not in (1, d) for r, d in zip(full[lead:], sx)):
            return e, None
        return e.left, (e.op, e.right)

    def _norm(self, node, args, shapes):
        """`grad_norm(g, ans, x, None, None, False)`: the 2-norm's (Frobenius for a matrix) g * x / ans, 0 where ans is 0;
        along one axis (`np.linalg.norm(d, axis=1)`), `d * (g / np.where(ans == 0, 1.0, ans))[:, None]`, the helper's
        arithmetic, the quotient on the norms' shape."""
        g, ans, x, order, axis, keepdims = args
        along = self._norm_along_axis(node, args, shapes)
        if along is not None:
            return along
        if not all(isinstance(a, ast.Constant) and a.value is v for a, v in ((order, None), (axis, None), (keepdims, False))) \
                or shapes[1] != () or not isinstance(shapes[2], tuple) or shapes[2] == () or shapes[0] != () \
                or not _simple(ans):
            return node
        safe = ast.IfExp(test=ast.Compare(left=ans, ops=[ast.NotEq()], comparators=[ast.Constant(0)]), body=ans,
                         orelse=ast.Constant(1))
        return ast.BinOp(left=ast.BinOp(left=g, op=ast.Mult(), right=x), op=ast.Div(), right=safe)

    def _pad_cut(self, args, shapes):
        """`s2s.grad_pad(g, a, widths, "constant")` of an array `a` of known shape, int widths (as np.pad reads them)
        and a real `g` of the padded shape: the entries that were a's, `g[1:-1, 2:5].copy()` (the helper's slices,
        a copy: the adjoint array is the function's own), else None."""
        g, a, widths, mode = args
        shape = shapes[1]
        if not (isinstance(mode, ast.Constant) and mode.value == "constant" and _array_shape(shape)
                and all(type(n) is int for n in shape) and isinstance(g, ast.Name) and self.shapes.real(g)):
            return None
        ints = Site(self.shapes, [g, a, widths], {}).int_display(2)
        try:
            pairs = np.broadcast_to(np.asarray(ints, dtype=np.int64), (len(shape), 2)) if ints is not None else None
        except ValueError:
            return None
        if pairs is None or (pairs < 0).any() \
                or shapes[0] != tuple(n + int(lo) + int(hi) for n, (lo, hi) in zip(shape, pairs)):
            return None
        cut = [ast.Slice(lower=ast.Constant(int(lo)) if lo else None,
                         upper=ast.Constant(int(lo) + n) if hi else None, step=None)
               for n, (lo, hi) in zip(shape, pairs)]
        view = ast.Subscript(value=g, slice=cut[0] if len(cut) == 1 else ast.Tuple(elts=cut, ctx=ast.Load()),
                             ctx=ast.Load())
        return ast.Call(func=ast.Attribute(value=view, attr="copy", ctx=ast.Load()), args=[], keywords=[])

    def _trace_adjoint(self, node, args, shapes):
        """`grad_trace(g, x, k, 0, 1)` of a matrix x of known shape (n, m) and a number g: `g * np.eye(n, m, k)`, the
        helper's identity times g, an array also for a zero g (where the helper gives the zero 0.0)."""
        g, x, offset, axis1, axis2 = args
        sx = shapes[1]
        if not (type(shapes[0]) is tuple and shapes[0] == () and type(shapes[0]) is not ZeroScalar
                and isinstance(sx, tuple) and len(sx) == 2 and all(type(n) is int for n in sx)
                and all(isinstance(a, ast.Constant) and type(a.value) is int for a in (offset, axis1, axis2))
                and (axis1.value, axis2.value) == (0, 1)):
            return node
        n, m = sx
        eye = _call(_attr(self.np, "eye"), *[ast.Constant(v) for v in ((n,) if n == m else (n, m))]) \
            if offset.value == 0 else _call(_attr(self.np, "eye"), ast.Constant(n), ast.Constant(m), offset)
        one = isinstance(g, ast.Constant) and type(g.value) is float and g.value == 1.0
        return eye if one else ast.BinOp(left=g, op=ast.Mult(), right=eye)

    def _norm_along_axis(self, node, args, shapes):
        """`_norm`'s along one axis (ord None or 2: along one axis both are the vectors' 2-norm), else None."""
        g, ans, x, order, axis, keepdims = args
        sx = shapes[2]
        number = _number(axis)
        if not (isinstance(order, ast.Constant) and (order.value is None or type(order.value) is int and order.value == 2)
                and type(number) is int and isinstance(keepdims, ast.Constant) and type(keepdims.value) is bool
                and isinstance(sx, tuple) and -len(sx) <= number < len(sx) and len(sx) >= 2 and _simple(ans)
                and self.shapes.real(ans) and self.shapes.real(g)):
            return None
        a = number % len(sx)
        reduced = sx[:a] + ((1,) if keepdims.value else ()) + sx[a + 1:]
        if shapes[0] != reduced or shapes[1] != reduced:
            return None
        nonzero = _call(_attr(self.np, "where"), ast.Compare(left=ans, ops=[ast.Eq()], comparators=[ast.Constant(0)]),
                        ast.Constant(1.0), ans)  # (a Python float: the norms' dtype, and real)
        scale = ast.BinOp(left=g, op=ast.Div(), right=nonzero)
        if not keepdims.value:  # (a new axis where the norm summed one away: `[:, None]`)
            index = [ast.Slice() for _ in range(a)] + [ast.Constant(None)]
            scale = ast.Subscript(value=scale, slice=ast.Tuple(elts=index, ctx=ast.Load()) if a else index[0],
                                  ctx=ast.Load())
        return ast.BinOp(left=x, op=ast.Mult(), right=scale)

    def _step(self, node, args):
        """`balanced_eq(x, ans, c)` where `ans = np.maximum(x, c)` (or minimum) and c a finite number: where no
        entry of x equals c, the mask is `x > c` (`x < c`) exactly (1 where x won, 0 elsewhere, NaN included),
        one comparison instead of four passes; at a tie the general helper runs (half the adjoint there)."""
        x, ans, c = args
        number = _number(c)
        if number is None and self._number_step(x, ans, c):
            # two numbers: 1.0 where x won, 0.5 at a tie, 0.0 where it lost or either is NaN (the helper's mask)
            op = self._extreme_of(node, x, ans, c)
            if op in (np.maximum, np.minimum):
                won = ast.Compare(left=x, ops=[ast.Gt() if op is np.maximum else ast.Lt()], comparators=[c])
                tie = ast.Compare(left=copy.deepcopy(x), ops=[ast.Eq()], comparators=[copy.deepcopy(c)])
                return ast.IfExp(test=won, body=ast.Constant(1.0),
                                 orelse=ast.IfExp(test=tie, body=ast.Constant(0.5), orelse=ast.Constant(0.0)))
        if not (isinstance(x, ast.Name) and isinstance(ans, ast.Name)
                and (number is not None and np.isfinite(number) and self._array_or_number(x) or self._array_step(x, c))):
            return node
        op = self._extreme_of(node, x, ans, c)
        if op not in (np.maximum, np.minimum):
            return node
        won = ast.Compare(left=x, ops=[ast.Gt() if op is np.maximum else ast.Lt()], comparators=[c])
        # (a count of the ties, true where nonzero: np.count_nonzero is one pass, np.any two and a Python wrapper)
        pair = sorted((x, c), key=ast.dump)  # (one order for both operands' masks: one test for reuse to share)
        tie = _call(_attr(self.np, "count_nonzero"), ast.Compare(left=copy.deepcopy(pair[0]), ops=[ast.Eq()],
                                                                 comparators=[copy.deepcopy(pair[1])]))
        # at a tie the extreme is computed again from x and c (the value ans holds): the forward sweep need not
        # keep ans for this branch alone
        again = _call(_attr(self.np, op.__name__), copy.deepcopy(x), copy.deepcopy(c))
        helper = ast.Call(func=node.func, args=[copy.deepcopy(x), again, copy.deepcopy(c)], keywords=[])
        return ast.IfExp(test=tie, body=ast.copy_location(helper, node), orelse=won)

    def _array_or_number(self, x) -> bool:
        """Whether `x` certainly holds an array or a number (`x > c` compares it; a list or tuple argument, which
        np.maximum takes, would raise), its shape known or its values real floats."""
        return isinstance(self.shapes.of(x), tuple) or self.shapes.real(x)

    def _array_step(self, x, c) -> bool:
        """Whether `balanced_eq(x, ans, c)` of two names may become `x > c` where nothing ties: both real, at least
        one an array, in float64 code (the bool mask times a Python float g is float64, as the helper's mask)."""
        if not (self.float64 and isinstance(c, ast.Name)):
            return False
        sx, sc = self.shapes.of(x), self.shapes.of(c)
        return isinstance(sx, tuple) and isinstance(sc, tuple) and (sx != () or sc != ()) \
            and self.shapes.real(x) and self.shapes.real(c)

    def _number_step(self, x, ans, c) -> bool:
        """Whether x and c of `balanced_eq(x, ans, c)` are names of real numbers in float64 code (a Python float
        mask is the helper's float64 one)."""
        return self.float64 and all(isinstance(a, ast.Name) for a in (x, ans, c)) \
            and all(self.shapes.of(a) == () and self.shapes.real(a) for a in (x, c))

    def _spread(self, node, name, args, shapes):
        """`s2s.grad_var(g, x, axis, ddof, keepdims)` as the helper computes it, written out where x's shape is
        known: `(x - np.mean(x, axis=axis, keepdims=True)) * (g * 2.0 / (n - ddof))`, g read with the reduced axis
        put back (`g[:, None]`), n the count reduced, the mean read from a name that holds it (`_earlier_mean`);
        `grad_std(g, ans, ...)` is grad_var of `s2s.safe_div(g, 2.0 * ans)` (0 where the deviation is 0). The
        helper's operations, its number factors taken on g's reduced shape first (rounded otherwise where n - ddof
        is not a power of two), without the helpers' calls (13.7 us of a standardisation's 32, helper 159)."""
        g, x, axis, ddof, keepdims = (args[0], *args[2:]) if name == "grad_std" else args
        sx = shapes[2] if name == "grad_std" else shapes[1]
        k, kept = _number(axis), keepdims.value if isinstance(keepdims, ast.Constant) else None
        if not (isinstance(sx, tuple) and sx and all(type(d) is int for d in sx) and _simple(x) and self.float64
                and type(kept) is bool and type(_number(ddof)) is int
                and (isinstance(axis, ast.Constant) and axis.value is None or type(k) is int and -len(sx) <= k < len(sx))):
            return node
        axes = range(len(sx)) if k is None else (k % len(sx),)
        reduced = tuple(1 if a in axes else d for a, d in enumerate(sx) if kept or a not in axes)
        sg = shapes[0]
        if sg != reduced and sg != () or name == "grad_std" and shapes[1] != reduced:
            return node
        if name == "grad_std":
            g = ast.Call(func=ast.Attribute(value=copy.deepcopy(node.func.value), attr="safe_div", ctx=ast.Load()),
                         args=[g, ast.BinOp(left=ast.Constant(2.0), op=ast.Mult(), right=args[1])], keywords=[])
        if not kept and k is not None and (sg != () or name == "grad_std"):  # (std's g is safe_div's, ans's shape)
            g = _expanded(g, k % len(sx), reduced)
        n = math.prod(sx[a] for a in axes)
        mean = self._earlier_mean(node, x, k, sx)
        if mean is None:
            mean = _call(_attr(self.np, "mean"), copy.deepcopy(x))
            mean.keywords = [ast.keyword(arg="axis", value=copy.deepcopy(axis)),
                             ast.keyword(arg="keepdims", value=ast.Constant(True))]
        centred = ast.BinOp(left=copy.deepcopy(x), op=ast.Sub(), right=mean)
        # (the helper's `g * 2.0 * centred / d` with g's factors taken first, on g's reduced shape: one product with the
        # centred array, not two operations on it; the same where d is a power of two, rounded otherwise)
        factor = ast.BinOp(left=ast.BinOp(left=g, op=ast.Mult(), right=ast.Constant(2.0)), op=ast.Div(),
                           right=ast.Constant(max(n - _number(ddof), 0)))
        return ast.BinOp(left=centred, op=ast.Mult(), right=factor)

    def _earlier_mean(self, node, x, k, sx):
        """The mean of x over axis k (all of them where k is None) that `_spread` subtracts, read from a name `m` the
        function binds once to `np.mean(x, axis=k)` (or `x.mean(k)`, keepdims a literal) in a top-level statement
        before the one holding `node`, where neither x nor m (nor a name that may hold their arrays) is rebound or
        changed in place: the same numbers, without summing x again (`m[:, None]` where the axis was dropped).
        Else None."""
        from .unchanged import aliases, changed_in_place
        if not isinstance(x, ast.Name) or self.fdef is None or not _stable_atom(x, self.defs, self.shapes):
            return None
        body = self.fdef.body
        at = next((i for i, stmt in enumerate(body) if any(n is node for n in walk(stmt))), None)
        for stmt in body[:at or 0]:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                    and self.defs.get(stmt.targets[0].id) is stmt):
                continue
            kept = self._mean_of(stmt.value, x, k, len(sx))
            if kept is None:
                continue
            m = stmt.targets[0].id
            if any(changed_in_place(s, aliases(self.fdef, name, self.shapes), self.shapes)
                   for name in (m, x.id) for s in body):
                return None
            read = ast.Name(id=m, ctx=ast.Load())
            return read if kept or k is None else _expanded(read, k % len(sx), sx[:k % len(sx)] + sx[k % len(sx) + 1:])
        return None

    def _mean_of(self, value, x, k, ndim):
        """keepdims (True or False) where `value` is np.mean(x, axis=k) or x.mean(axis=k) (k None: no axis), the axis
        and keepdims literals given by position or keyword; else None."""
        if not isinstance(value, ast.Call) or any(isinstance(a, ast.Starred) for a in value.args):
            return None
        method = self.shapes.method_reduction(value)
        callee, args = method if method is not None else (self.shapes.callee(value), value.args)
        if callee is not np.mean or not args or not isinstance(args[0], ast.Name) or args[0].id != x.id \
                or len(args) > 2 or not {kw.arg for kw in value.keywords} <= {"axis", "keepdims"}:
            return None
        given = {kw.arg: kw.value for kw in value.keywords}
        if len(args) == 2:
            if "axis" in given:
                return None
            given["axis"] = args[1]
        axis = given.get("axis", ast.Constant(None))
        keepdims = given.get("keepdims", ast.Constant(False))
        a = _number(axis)
        same = k is None and isinstance(axis, ast.Constant) and axis.value is None \
            or type(a) is int and k is not None and -ndim <= a < ndim and a % ndim == k % ndim
        return keepdims.value if same and isinstance(keepdims, ast.Constant) and type(keepdims.value) is bool else None

    def _extreme_of(self, node, x, ans, c):
        """np.maximum or np.minimum where `ans` certainly holds that function of x and c here, else None: the
        adjoint of that very statement said so (annotations.EXTREME_OF: x and ans then hold its values, even
        where the tape restores them, as in a loop), or ans has one definition, that call, and x one value."""
        from . import annotations
        marked = annotations.get(node, annotations.EXTREME_OF)
        if marked is not None:
            return marked if x.id != ans.id else None
        if not (ans.id in self.defs and _stable_atom(x, self.defs, self.shapes)):
            return None
        value = self.defs[ans.id].value
        if not (isinstance(value, ast.Call) and len(value.args) == 2 and not value.keywords):
            return None
        pair = sorted(ast.dump(a) for a in value.args)
        return self.shapes.callee(value) if pair == sorted((ast.dump(x), ast.dump(c))) else None

    def _extreme(self, node, args, shapes):
        """`grad_extreme(g, ans, x, axis, True)`: g split evenly between the entries of x equal to the extreme."""
        g, ans, x, axis, keepdims = args
        sg, sa, sx = shapes[:3]
        number_g = sg == () and self.float64 and self.shapes.real(g)  # (a Python number g broadcasts as it is)
        if isinstance(axis, ast.Constant) and axis.value is None and isinstance(keepdims, ast.Constant) \
                and keepdims.value is False and number_g and sa == () and isinstance(sx, tuple) and sx != () \
                and _simple(g) and _simple(ans) and _simple(x) and self.shapes.real(x):
            # over all axes: `g / count * mask` of one count, where the helper counts into a (1, ..., 1) array
            return self._split_evenly(g, ans, x, [])
        if isinstance(keepdims, ast.Constant) and keepdims.value is False and isinstance(sx, tuple) and sx != () \
                and type(_number(axis)) is int and -len(sx) <= _number(axis) < len(sx) \
                and sa == sx[:_number(axis) % len(sx)] + sx[_number(axis) % len(sx) + 1:] and _simple(g) and _simple(ans) \
                and (sg == sa or number_g):
            # (keepdims=False: g and ans with the axis back, `ans[:, None]`, as the keepdims=True adjoint reads them)
            k = _number(axis) % len(sx)
            ans = _expanded(ans, k, sa)
            g = _expanded(g, k, sa) if sg != () else g
            sg = sa = sx[:k] + (1,) + sx[k + 1:]
            keepdims = ast.Constant(True)
        if not (isinstance(keepdims, ast.Constant) and keepdims.value is True) or not isinstance(sx, tuple) \
                or sx == () or sg != sa and not number_g or sa is None \
                or len(sa) != len(sx) \
                or not _simple_or_expanded(g) or not _simple_or_expanded(ans) or not _simple(x) or not _simple(axis):
            return node
        return self._split_evenly(g, ans, x, [ast.keyword(arg="axis", value=axis),
                                              ast.keyword(arg="keepdims", value=ast.Constant(True))])

    def _split_evenly(self, g, ans, x, keywords):
        """`g / np.sum(x == ans, <keywords>, dtype=x.dtype) * (x == ans)`: g split evenly between the hits
        ((g / count) * mask is g * mask / count exactly: mask is 0 or 1)."""
        mask = ast.Compare(left=x, ops=[ast.Eq()], comparators=[ans])
        count = _call(_attr(self.np, "sum"), mask)
        count.keywords = [*keywords, ast.keyword(arg="dtype", value=ast.Attribute(value=x, attr="dtype", ctx=ast.Load()))]
        return ast.BinOp(left=ast.BinOp(left=g, op=ast.Div(), right=count), op=ast.Mult(), right=copy.deepcopy(mask))

    @staticmethod
    def _reduced_size(shape, axis_node):
        try:
            axis = ast.literal_eval(axis_node)
        except ValueError:
            return None
        if axis is None:
            return int(np.prod(shape, dtype=np.int64))
        items = axis if isinstance(axis, tuple) else (axis,)
        if not all(type(a) is int and -len(shape) <= a < len(shape) for a in items):
            return None
        return int(np.prod([shape[a] for a in items], dtype=np.int64))

    def _stacked_product_adjoint(self, name, args, shapes):
        """The adjoint of `a @ b` where a is a stack of matrices (more than two axes) and b a stack of the same
        shape or one matrix, else None: of two stacks, `g @ swapaxes(b)` and `swapaxes(a) @ g`, no stack axis
        broadcast to sum over; of a stack and a matrix, `g @ b.T` for a and, for b, the stack's rows times g's
        rows, `a.reshape(-1, k).T @ g.reshape(-1, m)` (the sum over the stack in one product)."""
        g, a, b = args
        sg, sa, sb = shapes
        if not (all(type(s) is tuple and all(type(d) is int for d in s) for s in shapes)
                and len(sa) > 2 and len(sb) >= 2 and sa[-1] == sb[-2]):
            return None
        if len(sb) == len(sa) and sa[:-2] == sb[:-2] and sg == sa[:-1] + sb[-1:]:
            if name == "grad_matmul_a":
                return _matmul(g, _swap_last(b, self.np))
            return _matmul(_swap_last(a, self.np), g)
        if len(sb) == 2 and sg == sa[:-1] + sb[-1:] and sa[-1] and sb[-1]:  # (`reshape(-1, 0)` raises)
            if name == "grad_matmul_a":
                return _matmul(g, _T(b))
            rows = [ast.Call(func=ast.Attribute(value=x, attr="reshape", ctx=ast.Load()),
                             args=[ast.Constant(-1), ast.Constant(n)], keywords=[]) for x, n in ((a, sa[-1]), (g, sb[-1]))]
            return _matmul(_T(rows[0]), rows[1])
        return None

    def _matmul_adjoint(self, name, node, args, shapes):
        g, a, b = args
        sg, sa, sb = shapes
        if sg == () and sa is not None and len(sa) == 1 and sa == sb and self.shapes.real(g) \
                and (self.float64 or self.shapes.real(a) and self.shapes.real(b)):
            # a dot product of two vectors: g times the other one, as the helper computes it. For the zero
            # adjoint g = 0.0 that is zeros of the other one's dtype where the helper gives 0.0: the same numbers
            # as they accumulate (added in place, into an adjoint array that keeps its own dtype, as for any g;
            # compiled code's helper gives those zeros too)
            return ast.BinOp(left=g, op=ast.Mult(), right=b if name == "grad_matmul_a" else a)
        stacked = self._stacked_product_adjoint(name, args, shapes)
        if stacked is not None:
            return stacked
        if sg in (None, ()) or sa is None or sb is None or len(sa) not in (1, 2) or len(sb) not in (1, 2) \
                or len(sa) + len(sb) < 3 or sa[-1] != sb[0] or tuple(sa[:-1] + sb[1:]) != sg:
            return node
        outer = _attr(self.np, "outer")
        if name == "grad_matmul_a":
            if len(sb) == 1:
                return _call(outer, g, b)  # a (m, k), b (k,): the adjoint of a is g b^T
            return _matmul(g, _T(b)) if len(sa) == 2 else _matmul(b, g)
        if len(sa) == 1:
            return _call(outer, a, g)  # a (k,), b (k, n): the adjoint of b is a g^T
        return _matmul(_T(a), g) if len(sb) == 2 else _matmul(g, a)


def _swap_last(node, np_name):
    """`np.swapaxes(node, -1, -2)`: each matrix of a stack transposed."""
    return _call(_attr(np_name, "swapaxes"), node, ast.Constant(-1), ast.Constant(-2))


def _matrix_or_vector(shape) -> bool:
    """Whether `shape` is certainly a vector's or a matrix's."""
    return type(shape) is tuple and len(shape) in (1, 2)


def _stack_of(shape):
    """The batch shape of a square matrix's shape or a stack of them (`(..., m, m)`), else None."""
    if type(shape) is not tuple or len(shape) < 2 or shape[-1] != shape[-2]:
        return None
    return shape[:-2]


def _reshaped(g, shape, target, np_name):
    """`g`, of `shape`, at `target`'s shape (as many items): a sum that kept its axes (`t.sum(axis=(1, 2),
    keepdims=True)`) whose axes dropped give `target` drops them itself, else `np.reshape(g, target)`."""
    if isinstance(g, ast.Call) and isinstance(g.func, ast.Attribute) and g.func.attr == "sum" and \
            (not g.args or len(g.args) == 1 and isinstance(g.func.value, ast.Name) and g.func.value.id == np_name):
        kw = {k.arg: k.value for k in g.keywords}
        axis = _number(kw["axis"]) if "axis" in kw else None
        axes = (axis,) if type(axis) is int else tuple(_number(e) for e in kw["axis"].elts) \
            if isinstance(kw.get("axis"), ast.Tuple) else None
        if set(kw) == {"axis", "keepdims"} and isinstance(kw["keepdims"], ast.Constant) and kw["keepdims"].value is True \
                and axes is not None \
                and all(type(a) is int and 0 <= a < len(shape) for a in axes) \
                and tuple(n for k, n in enumerate(shape) if k not in axes) == tuple(target):
            return ast.Call(func=g.func, args=g.args, keywords=[k for k in g.keywords if k.arg == "axis"])
    reshape = ast.Attribute(value=ast.Name(id=np_name, ctx=ast.Load()), attr="reshape", ctx=ast.Load())
    return ast.Call(func=reshape, args=[g, ast.Tuple(elts=[ast.Constant(n) for n in target], ctx=ast.Load())],
                    keywords=[])


def _array_shape(shape) -> bool:
    """An array's shape (not a number's, a tuple's items or unknown)."""
    return type(shape) is tuple and shape != ()


def _without_leading_negation(e):
    """`a * b / c` for `-a * b / c` (the negation on the first operand of a chain of products and quotients), else
    None."""
    chain = []
    while isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult | ast.Div):
        chain.append(e)
        e = e.left
    if not chain or not (isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub)):
        return None
    out = e.operand
    for link in reversed(chain):
        out = ast.BinOp(left=out, op=link.op, right=link.right)
    return out


def _tuple_or_int(items):
    items = list(items)
    if len(items) == 1:
        return ast.Constant(items[0])
    return ast.Tuple(elts=[ast.Constant(i) for i in items], ctx=ast.Load())


def _number(node):
    """The value of a numeric literal (`0.5`, `-0.25`, `2`), or None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _has_factor(node, name) -> bool:
    """Whether `node` is a product (`*`, unary minus) of which the name `name` is a factor: `2.0 * e * g`."""
    if isinstance(node, ast.Name):
        return node.id == name
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _has_factor(node.operand, name)
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) \
        and (_has_factor(node.left, name) or _has_factor(node.right, name))


def _simple(node):
    """A name or a literal: evaluating it twice is evaluating it once."""
    return isinstance(node, ast.Name | ast.Constant) or (isinstance(node, ast.UnaryOp) and _simple(node.operand))


def _expanded(node, k, shape):
    """`node` with a new axis at k (`a[:, None]` for k = 1): the keepdims=True form of a reduction over axis k of an
    array whose reduced shape is `shape`; a number (shape ()) as it is."""
    if shape == ():
        return node
    index = [ast.Slice() for _ in range(k)] + [ast.Constant(None)]
    return ast.Subscript(value=node, slice=ast.Tuple(elts=index, ctx=ast.Load()) if k else index[0], ctx=ast.Load())


def _simple_or_expanded(node):
    """`_simple`, or a name with a new axis (`_expanded`, read by `transforms/extremes.py` as such): cheap to
    evaluate twice (a view)."""
    return _simple(node) or expanded_name(node)


def rewrite_helpers(fdef: ast.FunctionDef, shapes: Shapes, np_name: str, float64: bool = False) -> ast.FunctionDef:
    """Replace runtime helper calls by what they compute at the known shapes (`float64`: every floating-point
    argument is float64)."""
    _rewrite_helpers(fdef, shapes, np_name, float64)
    return fdef


class _ItemReads(_Rewrite):
    """`_Rewrite`'s reads of list adjoints' items alone (`visit_Subscript`)."""

    def visit_Call(self, node):
        self.generic_visit(node)
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return node


def read_list_adjoint_items(fdef: ast.FunctionDef, shapes: Shapes, np_name: str) -> bool:
    """`g[k]` of `g = s2s.getitem_grad(h, t, k)` as h (`_Rewrite.visit_Subscript`), after the clean-up passes
    have dropped the resets of h between them (`logdet_bar = 0.0` in a loop's body); whether any changed.

        >>> # slogdet_bar = s2s.getitem_grad(logdet_bar, slogdet, 1); K_bar = K_bar + slogdet_bar[1] * ...
        >>> # ... K_bar = K_bar + logdet_bar * ...
    """
    reads = _ItemReads(shapes, np_name)
    reads.blocks = statement_lists(fdef)
    reads.item_reads = _read_only_by_items(fdef, shapes)
    reads.visit(fdef)
    fix_locations(fdef)
    return reads.changed


def _rewrite_helpers(fdef, shapes, np_name, float64=False) -> bool:
    rewrite = _Rewrite(shapes, np_name, float64)
    rewrite.defs = _single_defs(fdef)
    rewrite.fdef = fdef
    rewrite.blocks = statement_lists(fdef)
    rewrite.item_reads = _read_only_by_items(fdef, shapes)
    rewrite.assigned = {id(n.value): (n.targets[0].id, n.value) for n in walk_nodes(fdef) if isinstance(n, ast.Assign)
                        and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)}
    rewrite.visit(fdef)
    fix_locations(fdef)
    return rewrite.changed


# ---- a scalar from a full reduction stays a scalar -----------------------------

_ELEMENTWISE = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def _parents(tree):
    return {child: parent for child, parent in child_parent_pairs(tree)}


def _read_only_by_items(fdef, shapes):
    """The names every read of which is `x[k]` or `s2s.part(x, k)` with an int constant k."""
    parents = _parents(fdef)
    out, other = set(), set()
    copies = {}  # name -> the names it is copied to whole (`y = x`), each read item by item in turn (or not)
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            up = parents.get(node)
            if isinstance(up, ast.Subscript) and up.value is node and isinstance(up.ctx, ast.Load):
                k = up.slice
            elif isinstance(up, ast.Call) and len(up.args) == 2 and up.args[0] is node and not up.keywords \
                    and shapes.helpers.get(shapes.callee(up)) == "part":
                k = up.args[1]
            elif isinstance(up, ast.Assign) and up.value is node and len(up.targets) == 1 \
                    and isinstance(up.targets[0], ast.Name) and up.targets[0].id != node.id:
                copies.setdefault(node.id, set()).add(up.targets[0].id)
                continue
            else:
                k = None
            (out if isinstance(k, ast.Constant) and type(k.value) is int else other).add(node.id)
    out |= set(copies)
    while True:  # a copy read otherwise than item by item: the name copied is too
        bad = {n for n in out if n in other or not copies.get(n, set()) <= out}
        if not bad:
            return out
        out -= bad


def _single_defs(fdef):
    """name -> its Assign, for names assigned exactly once (and not as a loop variable)."""
    count, where = {}, {}
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            count[node.id] = count.get(node.id, 0) + 1
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            where[node.targets[0].id] = node
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    return {n: s for n, s in where.items() if count.get(n) == 1 and n not in params}


def keep_reduced_scalars(fdef: ast.FunctionDef, shapes: Shapes, exact=lambda x: True) -> bool:
    """`expand_reduced(g, x, ...)` of a scalar `g` becomes `g` where every use re-broadcasts at once.

    A Python number keeps float32 data float32 (NumPy 2 promotion), as the general code's broadcast
    of it in the data's precision does, where `exact(x)` (`Context.numbers_for_broadcasts`: x is of the
    narrowest floating dtype, and a weak number promotes with anything as the broadcast does). Returns
    whether anything changed (the caller then infers shapes again).
    """
    defs = _single_defs(fdef)
    parents = _parents(fdef)
    loads = {}
    for node in walk_nodes(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, []).append(node)
    changed = False
    for name, stmt in list(defs.items()):
        call = _full_expand(stmt.value, shapes)
        if call is None or not exact(call.args[1]):
            continue
        g = call.args[0]
        trial_value = _replace(stmt.value, call, g)
        group = _scalar_group(name, trial_value, defs, loads, parents, shapes)
        if group is None or _divides_numbers(name, trial_value, g, group, defs, shapes, loads, parents):
            continue
        stmt.value = trial_value
        changed = True
        break  # one at a time: shapes change
    return changed


def _full_expand(value, shapes):
    """The `expand_reduced(g, x, None, False)` call with scalar g at the top of an elementwise `value`."""
    for node in walk(value):
        if not isinstance(node, ast.Call) or shapes.helpers.get(shapes.callee(node)) != "expand_reduced" \
                or len(node.args) != 4 or node.keywords:
            continue
        g, x = node.args[:2]  # (a number is broadcast to x's shape whatever the axis and keepdims)
        if shapes.of(g) == () and shapes.of(x) not in (None, ()) and _elementwise_path(value, node):
            return node
    return None


def _elementwise_path(root, target):
    """True when `target` sits in `root` under elementwise operators only."""
    if root is target:
        return True
    if isinstance(root, ast.BinOp) and isinstance(root.op, _ELEMENTWISE):
        return _elementwise_path(root.left, target) or _elementwise_path(root.right, target)
    if isinstance(root, ast.UnaryOp) and isinstance(root.op, ast.USub | ast.UAdd):
        return _elementwise_path(root.operand, target)
    return False


def _replace(tree, old, new):
    if tree is old:
        return new
    tree = copy.copy(tree)
    for field, value in ast.iter_fields(tree):
        if isinstance(value, ast.AST):
            setattr(tree, field, _replace(value, old, new))
        elif isinstance(value, list):
            setattr(tree, field, [_replace(v, old, new) if isinstance(v, ast.AST) else v for v in value])
    return tree


def _facts_as_numbers(values, shapes) -> Overrides:
    """The facts of the names of `values` (name -> the value it would be bound to), found in turn from each
    other's (`len(values) + 1` rounds reach through a chain of them), every other name keeping the facts at its
    reads (`shapes.Overrides`)."""
    env = Overrides()
    for _ in range(len(values) + 1):
        changed = False
        for member, value in values.items():
            fact = shapes.of(value, env)
            if member not in env or env[member] != fact:
                env[member] = fact
                changed = True
        if not changed:  # (a fixed point: in the order the group grew, a chain takes a round and this one)
            break
    return env


def _elementwise_top(node, parents):
    """The outermost expression that holds `node` under elementwise operators only (`t_bar` of `H + t_bar / k`:
    the whole sum)."""
    while isinstance(parents.get(node), ast.BinOp | ast.UnaryOp) and _elementwise_parent(parents[node]):
        node = parents[node]
    return node


def _scalar_group(name, new_value, defs, loads, parents, shapes, float64=False):
    """Names that turn scalar if `name` gets `new_value`; None if some use would then see a wrong shape.
    With `float64` (every argument float64), an operand of arithmetic whose other operand has the whole
    shape is fine there (a number times an array of float64 is float64 as a broadcast array times it is)."""
    values = {name: new_value}
    while True:
        env = _facts_as_numbers(values, shapes)
        grown = False
        for member in list(values):
            for use in loads.get(member, []):
                parent = parents.get(use)
                if float64 and isinstance(parent, ast.BinOp) and _elementwise_parent(parent) \
                        and shapes.of(use) is not None \
                        and shapes.of(parent.right if parent.left is use else parent.left) == shapes.of(use) \
                        and shapes.of(parent) == shapes.of(use):
                    continue  # the other operand has the whole shape already: so has the result
                top = _elementwise_top(use, parents)
                if shapes.of(top, env) == shapes.of(top) and shapes.of(top) is not None:
                    continue  # broadcast back to its own shape right here
                stmt = parents.get(top)
                if isinstance(stmt, ast.Call) and stmt.args and stmt.args[0] is top and not stmt.keywords \
                        and len(stmt.args) == 4 and shapes.helpers.get(shapes.callee(stmt)) == "expand_reduced" \
                        and shapes.of(stmt.args[1]) not in (None, ()):
                    continue  # expanded to x's shape: the same array from equal entries or from their number
                if isinstance(stmt, ast.Call) and len(stmt.args) == 3 and stmt.args[0] is top and not stmt.keywords \
                        and shapes.helpers.get(shapes.callee(stmt)) == "getitem_grad" \
                        and type(shapes.of(stmt.args[1])) is tuple and shapes.of(stmt.args[1]) != ():
                    continue  # added into an array's indexed items: a number is added to each of them as its broadcast
                if isinstance(stmt, ast.Call) and len(stmt.args) == 2 and stmt.args[0] is top and not stmt.keywords \
                        and shapes.callee(stmt) is np.broadcast_to and shapes.of(stmt) is not None \
                        and shapes.of(stmt, env) == shapes.of(stmt):
                    continue  # broadcast to the same shape again
                if isinstance(stmt, ast.Call) and len(stmt.args) == 3 and not stmt.keywords \
                        and (stmt.args[1] is top or stmt.args[2] is top) and shapes.callee(stmt) is np.where \
                        and shapes.of(stmt) is not None and shapes.of(stmt, env) == shapes.of(stmt):
                    continue  # a choice whose result has its shape either way (the condition's, or the other's)
                stmt = parents.get(top)
                if isinstance(stmt, ast.AugAssign) and stmt.value is top and isinstance(stmt.op, _ELEMENTWISE) \
                        and isinstance(stmt.target, ast.Subscript | ast.Name) \
                        and type(shapes.of(stmt.target)) is tuple and shapes.of(stmt.target) != ():
                    continue  # `x_bar[:i] += t_bar` into an array: a number goes into each item as its broadcast
                if isinstance(stmt, ast.Assign) and stmt.value is top and len(stmt.targets) == 1 \
                        and isinstance(stmt.targets[0], ast.Name) and defs.get(stmt.targets[0].id) is stmt \
                        and shapes.of(top, env) == ():
                    target = stmt.targets[0].id
                    if target not in values:
                        values[target] = stmt.value
                        grown = True
                    continue
                return None
        if not grown:
            return set(values)


def _elementwise_parent(node):
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _ELEMENTWISE)
    return isinstance(node.op, ast.USub | ast.UAdd)


# ---- statements that cannot raise ----------------------------------------------

def pure_names(fdef: ast.FunctionDef, shapes: Shapes, stack: str | None) -> set[str]:
    """Variables assigned only by statements that cannot raise at these shapes (so may be dropped if unread);
    a statement reading a name that may be unbound there raises (`UnboundLocalError`), as Python would."""
    params = {a.arg for a in walk(fdef.args) if isinstance(a, ast.arg)}
    verdicts, assign_targets, stored, pushed = {}, set(), [], set()
    for node in walk_nodes(fdef):  # (one walk: the assignments' verdicts, the other stores, what the tape saves)
        if isinstance(node, ast.Assign):
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                verdicts.setdefault(node.targets[0].id, []).append(_pure_or_view(node.value, shapes) and not any(
                    isinstance(n, ast.Name) and id(n) in shapes.maybe_unbound for n in walk_nodes(node.value)))
                assign_targets.add(id(node.targets[0]))
            if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) \
                    and node.value.func.attr == "pop":
                pushed.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                stored.append(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("append", "pop") and isinstance(node.func.value, ast.Name) \
                and node.func.value.id == stack:
            pushed.update(n.id for n in node.args if isinstance(n, ast.Name))
    other_stores = {node.id for node in stored if id(node) not in assign_targets}
    out = {n for n, v in verdicts.items() if all(v) and n not in params and n not in other_stores}
    return out - pushed


def _pure(node, shapes) -> bool:
    """True when evaluating `node` cannot raise: arithmetic and a few NumPy calls on real floats of shapes that fit."""
    if isinstance(node, ast.Name) and node.id in shapes.local and shapes.known_int(node):
        return True  # (`d = X.shape[1]`: an int of known value)
    if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.value, ast.Name) \
            and node.value.id in shapes.local and shapes.value_of(node) is not None:
        return True  # `X.shape` of an array, `t[0]` of a tuple of known ints (in range): a known value
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and shapes.of(node) is not None \
            and isinstance(node.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE | ast.Eq | ast.NotEq):
        return _pure(node.left, shapes) and _pure(node.comparators[0], shapes)  # (real operands that broadcast)
    if isinstance(node, ast.Name) and node.id in shapes.local and shapes.of(node) is not None \
            and shapes._mask(node, shapes.reals):
        return True  # a name only ever bound to comparisons (a mask)
    if isinstance(node, ast.Name):  # (a read of real floats, of any shape: `np.sum(p)` of a dict's item; an int a float
        # holds, `i + 1` of a counter of a range of bounds under 2**53: `x * i` cannot overflow converting it)
        return node.id in shapes.local and (shapes.real(node) or shapes.bounded_int(node))
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and shapes.callee(node) is len:
        of = shapes.of(node.args[0])  # the length of an array of one axis or more
        return type(of) is tuple and len(of) >= 1 and _pure(node.args[0], shapes)
    if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1 and shapes.callee(node) is sum \
            and isinstance(node.args[0], ast.Name) and node.args[0].id in shapes.local \
            and _items_of_numbers(shapes.of(node.args[0])) and shapes.items_real(node.args[0], shapes.reals):
        return True  # builtin `sum` of a list of real numbers (an RNN's per-step losses): it cannot raise
    if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1 \
            and isinstance(node.args[0], ast.Name | ast.Constant) and shapes.of(node.args[0]) == () \
            and shapes.callee(node) in (np.float64, np.float32) and _pure(node.args[0], shapes):
        return True  # (a real number as a NumPy float, `out_bar = np.float64(out_bar)`: the seed in its dtype)
    shape = shapes.of(node)
    if shape is None or not (shapes.real(node) or isinstance(node, ast.Constant)):
        return False
    if isinstance(node, ast.Constant):  # (an int literal beyond floats raises where arithmetic converts it)
        return type(node.value) is not int or abs(node.value) <= 2 ** 53
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div) and shape == () and isinstance(node.right, ast.Constant) \
                and type(node.right.value) in (int, float) and node.right.value != 0:
            return _pure(node.left, shapes)  # (a real number divided by a number literal other than 0: inf at worst)
        if isinstance(node.op, ast.Div | ast.Pow) and shape == () and not shapes.numpy_number(node.left):
            return False  # a Python number divided by zero, or overflowing a power, raises (a NumPy scalar's: inf)
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow | ast.MatMult):
            return False
        return _pure(node.left, shapes) and _pure(node.right, shapes)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd) and _pure(node.operand, shapes)
    if isinstance(node, ast.Subscript) and isinstance(shapes.of(node.value), Seq):  # an item of a tuple of known length
        return isinstance(node.value, ast.Name) and node.value.id in shapes.local and isinstance(node.slice, ast.Constant) \
            and type(node.slice.value) is int and -len(shapes.of(node.value).items) <= node.slice.value \
            < len(shapes.of(node.value).items)
    if isinstance(node, ast.Attribute):  # (a module's float constant, np.pi, is real: reading it cannot raise)
        return node.attr == "T" and _pure(node.value, shapes) or shapes.number_constant(node)
    if isinstance(node, ast.Call) and node.keywords and len(node.args) == 1 and shapes.real(node):
        # a reduction with axis= / keepdims=: the shape inference checked the axis against the shape
        obj = shapes.callee(node)
        reduced = shapes.of(node.args[0])
        if not (ctx().fact(obj, "safe") or (ctx().fact(obj, "safe_if_nonempty") and reduced is not None
                                            and 0 not in reduced)):
            return False
        return all(isinstance(k.value, ast.Constant) for k in node.keywords) and _pure(node.args[0], shapes)
    if isinstance(node, ast.Call) and not node.keywords:
        obj = shapes.callee(node)
        if ctx().fact(obj, "safe_if_nonempty") and len(node.args) == 1:  # raises on an empty array only
            reduced = shapes.of(node.args[0])
            return reduced is not None and 0 not in reduced and _pure(node.args[0], shapes)
        if not ctx().fact(obj, "safe"):  # the rule says it cannot raise on real arguments of shapes that fit
            return False
        if ctx().fact(obj, "reduction") and len(node.args) != 1:  # an axis argument may be out of range
            return False
        return all(_pure(a, shapes) for a in node.args)
    return False


def _items_of_numbers(fact) -> bool:
    """Whether a list's or tuple's fact says every item is a number (shape ())."""
    if isinstance(fact, ListOf):
        return fact.item == ()
    return isinstance(fact, Seq) and all(v == () for v in fact.items)


def _pure_or_view(node, shapes) -> bool:
    """`_pure`, or a basic index read of an array of known shape (`t = lse[:, 0]`), or int arithmetic without a
    division of loop counters and int literals (`i2 = i + 1`: Python ints, not NumPy's, which may overflow): cannot
    raise either, so an assignment of it that nothing reads may go. (Not `_pure`
    itself: its other readers move a pure value past statements that bind none of its names, an item's value
    changes with an update in place, and an index written out in its reader (`P[i + 1]`) hides the item's
    realness from the later passes.)"""
    if isinstance(node, ast.Subscript) and _basic_in_range(node, shapes):
        return _pure(node.value, shapes)
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and shapes.callee(node) is len \
            and isinstance(node.args[0], ast.Name) and node.args[0].id in shapes.local \
            and shapes._is_range(node.args[0]):
        return True  # `len(steps)` of a range (the loop with a `break`, lowered, tests it)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult) \
            and all(_int_literal(side) or shapes.counter(side) for side in (node.left, node.right)):
        return True  # `i + 1` of a loop's counter: Python ints, whose arithmetic without a division cannot raise
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords \
            and any(shapes.callee(node) is f for f in (np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like)) \
            and _array_shape(shapes.of(node)) \
            and (_pure(node.args[0], shapes) or isinstance(node.args[0], ast.Name) and node.args[0].id in shapes.local
                 and isinstance(shapes.value_of(node.args[0]), tuple)):  # (`t3 = 50, 8; np.zeros(t3)`: ints known)
        return True  # `var = np.ones(32)`: a new array of a known shape (the rule gives one only for sizes >= 0)
    return _pure(node, shapes)


def _basic_in_range(node, shapes) -> bool:
    """Whether `node` is `x[...]` of a local array name `x` of known shape by basic indexing that cannot raise:
    slices of int literals (or none) with a step other than 0, int literals within their axis, `None` or
    `np.newaxis`, and an `...` only among slices; no more axes taken than `x` has."""
    base = shapes.of(node.value)
    if not (isinstance(node.value, ast.Name) and node.value.id in shapes.local and isinstance(base, tuple)
            and base and all(type(n) is int for n in base)):
        return False
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    dots = [i for i in items if isinstance(i, ast.Constant) and i.value is Ellipsis]
    axis = 0
    for item in items:
        if shapes._newaxis(item) or item in dots:
            continue
        if isinstance(item, ast.Slice):
            bounds = [_number(b) for b in (item.lower, item.upper, item.step) if b is not None]
            if any(type(b) is not int for b in bounds) or item.step is not None and _number(item.step) == 0:
                return False
        else:
            k = _number(item)
            if dots or type(k) is not int or axis >= len(base) or not -base[axis] <= k < base[axis]:
                return False
        axis += 1
    return len(dots) <= 1 and axis <= len(base)


# ---- exp(z - logaddexp(0, z)) is the logistic function --------------------------

def logistic_from_logaddexp(fdef: ast.FunctionDef, shapes: Shapes, removable: set, np_name: str) -> bool:
    """`np.exp(a - s)` with `s = np.logaddexp(b, a)` read only there becomes sigmoid(a - b); True if changed."""
    defs = _single_defs(fdef)
    loads = {}
    for node in walk(fdef):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads[node.id] = loads.get(node.id, 0) + 1
    changed = False
    for node in walk(fdef):
        if not (isinstance(node, ast.Call) and shapes.callee(node) is np.exp and len(node.args) == 1
                and not node.keywords and isinstance(node.args[0], ast.BinOp) and isinstance(node.args[0].op, ast.Sub)):
            continue
        a, s = node.args[0].left, node.args[0].right
        if not isinstance(s, ast.Name) or s.id not in removable or loads.get(s.id) != 1 or s.id not in defs:
            continue
        value = defs[s.id].value
        if not (isinstance(value, ast.Call) and shapes.callee(value) is np.logaddexp and len(value.args) == 2
                and not value.keywords):
            continue
        x1, x2 = value.args
        if _same_atom(a, x2, defs, shapes):
            other = x1
        elif _same_atom(a, x1, defs, shapes):
            other = x2
        else:
            continue
        if not _stable_atom(other, defs, shapes):
            continue
        diff = a if isinstance(other, ast.Constant) and other.value == 0 else ast.BinOp(left=a, op=ast.Sub(), right=other)
        half = ast.Constant(0.5)
        tanh = _call(_attr(np_name, "tanh"), ast.BinOp(left=half, op=ast.Mult(), right=diff))
        # `c * sigmoid` with c a number literal (a mean's 1/n): c / 2 + c / 2 * tanh, one operation on the array fewer
        parent, c = _scaled_by_a_literal(fdef, node, defs)
        scale = 0.5 * c if parent is not None else 0.5
        logistic = ast.BinOp(left=ast.Constant(scale), op=ast.Add(),
                             right=tanh if scale == 1.0 else ast.BinOp(left=ast.Constant(scale), op=ast.Mult(), right=tanh))
        _swap(fdef, parent if parent is not None else node, logistic)
        changed = True
        break
    return changed


def _scaled_by_a_literal(fdef, node, defs):
    """(`c * node` or `node * c`, c) where c is a float literal, or a name bound once to one; (None, None) if not."""
    for parent in walk(fdef):
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mult) and node in (parent.left, parent.right):
            other = parent.right if parent.left is node else parent.left
            if isinstance(other, ast.Name) and other.id in defs:
                other = defs[other.id].value
            if isinstance(other, ast.Constant) and type(other.value) is float and math.isfinite(other.value):
                return parent, other.value
            return None, None
    return None, None


def _stable_atom(node, defs, shapes):
    """A literal, or a name with one value for the whole function (a parameter never reassigned, or one def)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if not isinstance(node, ast.Name) or node.id not in shapes.local:
        return False
    return node.id in defs or (node.id in shapes.env and node.id not in shapes.assigned)


def _same_atom(a, b, defs, shapes):
    return _stable_atom(a, defs, shapes) and ast.dump(a) == ast.dump(b)


def _swap(tree, old, new):
    for parent in walk(tree):
        if replace_child(parent, old, new):
            return


# ---- accumulation into an adjoint array without a copy per step ------------------

def accumulate_in_place(fdef: ast.FunctionDef, shapes: Shapes, adjoints: set) -> ast.FunctionDef:
    """`a_bar = a_bar + e` becomes `a_bar += e` where the array of `a_bar` is certainly its own.

    That holds for an adjoint that is only ever set to a literal 0.0 or to the result of
    array arithmetic, or accumulated into (so its array is always a fresh one), that is
    read nowhere else but in the final return (or written into through its name, `a_bar[:, 1] += c`), and
    whose every increment `e` has one known, non-scalar shape and does not read `a_bar` itself.
    """
    nodes = list(walk(fdef))
    if any(isinstance(n, ast.Constant) and isinstance(n.value, complex) for n in nodes):
        return fdef  # a float array cannot take a complex increment in place
    assigns = [n for n in nodes if isinstance(n, ast.Assign)]
    candidates = {n.targets[0].id for n in assigns if isinstance(n.targets[0], ast.Name)
                  and _is_increment(n, n.targets[0].id)} & set(adjoints)
    if not candidates:
        return fdef
    returns = {id(n) for r in nodes if isinstance(r, ast.Return) for n in walk(r)}
    in_assign_targets = {id(t) for a in assigns for target in a.targets for t in walk(target)}
    # (`a_bar[:, 1] += 9.81`: a write into the array through its name, which keeps nothing)
    written_through = {id(t.value) for n in nodes if isinstance(n, ast.Assign | ast.AugAssign)
                       for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                       if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)}
    names = [n for n in nodes if isinstance(n, ast.Name) and n.id in candidates]
    for name in sorted(candidates):
        steps, fresh, ok = [], [], True
        for node in assigns:
            if any(name in {t.id for t in walk(target) if isinstance(t, ast.Name)} for target in node.targets):
                if _is_increment(node, name) and not _reads(node.value.right, name):
                    steps.append(node)
                elif len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and _fresh(node.value, shapes):
                    fresh.append(node)
                else:
                    ok = False
        if any(n.id == name and isinstance(n.ctx, ast.Store) and id(n) not in in_assign_targets for n in names):
            ok = False
        if not ok or not steps or not fresh:
            continue
        if not all(shapes.real(s.value.right) for s in steps) or \
                not all(isinstance(f.value, ast.Constant) or shapes.real(f.value) for f in fresh):
            continue  # a complex or integer increment cannot go into a real array in place
        increment_shapes = {shapes.of(s.value.right) for s in steps}
        if len(increment_shapes) != 1 or next(iter(increment_shapes)) in (None, ()):
            continue
        if any(not isinstance(f.value, ast.Constant) and shapes.of(f.value) not in increment_shapes for f in fresh):
            continue  # an array of another shape cannot take the increments in place
        own = {id(s.value.left) for s in steps}
        # (reads in the function's own statements after the last one holding a step see the finished array,
        # `A_bar = S_bar + S_bar.T` after the loop: no one took the array before the updates)
        step_ids = {id(st) for st in steps}
        last = max(i for i, top in enumerate(fdef.body) if any(id(n) in step_ids for n in walk(top)))
        after = {id(n) for top in fdef.body[last + 1:] for n in walk(top)}
        if any(n.id == name and isinstance(n.ctx, ast.Load) and id(n) not in own and id(n) not in returns
               and id(n) not in after and id(n) not in written_through for n in names):
            continue
        for s in steps:
            _swap(fdef, s, ast.copy_location(ast.AugAssign(target=s.targets[0], op=ast.Add(), value=s.value.right), s))
    return fix_locations(fdef)


def _fresh(value, shapes):
    """A literal 0.0, or arithmetic (or a NumPy function that makes an array, `np.outer(v, g)`) that certainly makes
    a new array."""
    if isinstance(value, ast.Constant):
        return type(value.value) is float and value.value == 0.0
    made = isinstance(value, ast.BinOp | ast.UnaryOp) or isinstance(value, ast.Call) and \
        any(shapes.callee(value) is f for f in _NEW_ARRAYS)
    return made and shapes.of(value) not in (None, ())


_NEW_ARRAYS = (np.outer, np.zeros, np.ones, np.full, np.eye, np.matmul, np.dot, np.multiply, np.add,
               np.subtract, np.divide)


def _is_increment(node, name):
    return len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name \
        and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.Add) \
        and isinstance(node.value.left, ast.Name) and node.value.left.id == name


def _reads(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))


# ---- why a rewrite did not apply, said in the code ---------------------------------

# helpers the rewrites above remove where shapes are known: a note says which unknown shape kept one
EXPLAINED = ("unbroadcast", "expand_reduced", "add", "grad_matmul_a", "grad_matmul_b", "grad_dot_a", "grad_dot_b",
              "grad_slogdet", "grad_solve_a", "grad_solve_b", "grad_det")


def helpers_left(fdef: ast.FunctionDef) -> bool:
    """Whether the code still calls a helper `explain_blocked` explains (by name: a cheap test first)."""
    for n in walk(fdef):
        if isinstance(n, ast.Call) and called_name(n) in EXPLAINED:
            return True
    return False


def explain_blocked(fdef: ast.FunctionDef, shapes: Shapes, dtype_note=lambda x: None) -> ast.FunctionDef:
    """Put `# s2s: unbroadcast kept: shape of t3 unknown (line 7: t3 = foo(x))` above each statement that
    still calls a shape helper because a shape it needs is unknown, naming where that shape was lost; and
    `# s2s: expand_reduced kept: ...` with `dtype_note(x)` (`Context.broadcast_note`) above a broadcast of a
    reduction's adjoint to x's shape, known, that a number could not stand for (its dtype may be wider)."""
    from .reverse import Comment  # (the comment node the code printer renders as a `#` line)

    def notes_for(stmt):
        out = []
        for node in walk(stmt):
            if not isinstance(node, ast.Call) or isinstance(node, ast.FunctionDef):
                continue
            name = shapes.helpers.get(shapes.callee(node)) if hashable(shapes.callee(node)) else None
            if name not in EXPLAINED:
                continue
            # (a list of adjoints whose items' shape is known, `ListOf`, `ZeroOrItems`: added item by item by the
            # helper, not for want of a shape)
            unknown = [n for a in node.args for n in walk(a)
                       if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in shapes.local
                       and shapes.of(n) is None and type(shapes.fact_at(n)) not in (ListOf, ZeroOrItems)]
            text = None
            if unknown:
                text = f"s2s: {name} kept: shape of {unknown[0].id} unknown{_why(shapes, unknown[0].id, set())}"
            elif name == "expand_reduced" and len(node.args) > 1 and dtype_note(node.args[1]) is not None:
                text = f"s2s: {name} kept: {dtype_note(node.args[1])}"  # (specialize.keep_reduced_scalars)
            if text is not None and text not in out:
                out.append(text)
        return out

    def block(stmts):
        new = []
        for s in stmts:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt) \
                        and not isinstance(s, ast.FunctionDef):
                    setattr(s, field, block(inner))
            if not isinstance(s, ast.For | ast.While | ast.If | ast.FunctionDef):
                for text in notes_for(s):
                    note = Comment(text)
                    note.lineno = getattr(s, "lineno", 1)
                    new.append(note)
            new.append(s)
        return new

    fdef.body = block(fdef.body)
    return fdef


def _why(shapes, name, seen, depth=0):
    """` (line N: where the shape of `name` was lost)`, following unknown operands back to a root."""
    if name in seen or depth > 20:
        return ""
    seen.add(name)
    where = shapes.lost.get(name)
    if where is not None:  # two known shapes met at a loop's head or after an if
        kind = "branches" if isinstance(where, ast.If) else "loop iterations"
        return f" ({_line(where)}{name} has different shapes in different {kind})"
    stmt = shapes.blame.get(name)
    if stmt is not None and _container_adjoint(shapes, stmt.value):
        return f" ({_line(stmt)}{name} is the adjoint of a list, tuple or dict, added item by item)"
    base = shapes.of(stmt.value.value) if stmt is not None and isinstance(stmt.value, ast.Subscript) else None
    if isinstance(base, Seq | Keyed) and None not in items_of(base) and not isinstance(stmt.value.slice, ast.Constant):
        return f" ({_line(stmt)}{_text(stmt)}: the items there have different shapes)"
    if stmt is not None:
        for n in walk(stmt.value):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in shapes.local \
                    and shapes.of(n) is None and n.id != name:
                deeper = _why(shapes, n.id, seen, depth + 1)
                if deeper:
                    return deeper
        return f" ({_line(stmt)}{_text(stmt)})"
    if name in shapes.env and name not in shapes.assigned:
        return " (an argument that is not an array or a number)"
    return ""


def _container_adjoint(shapes, value) -> bool:
    """Whether `value` places an adjoint into a list, tuple or dict of known items (`s2s.getitem_grad(g,
    params, "W")` of a dict argument): a structure whose items are added one by one, not an array."""
    return any(isinstance(n, ast.Call) and len(n.args) == 3 and hashable(shapes.callee(n))
               and shapes.helpers.get(shapes.callee(n)) == "getitem_grad"
               and isinstance(shapes.of(n.args[1]), Seq | Keyed) for n in walk(value))


def _line(stmt):
    line = getattr(stmt, "lineno", None)
    return f"line {line}: " if line else ""


def _text(stmt):
    text = ast.unparse(stmt).splitlines()[0]
    return text if len(text) <= 80 else text[:77] + "..."


# ---- negations folded into the sums that read them ----------------------------------

def fold_negations(fdef: ast.FunctionDef, removable: set) -> bool:
    """`t = -a; v = v + t * c` becomes `v = v - a * c`, and `v + -y` anywhere becomes `v - y`.

    Exact in IEEE arithmetic: negation is exact, `(-a) * c` is `-(a * c)`, and `v + -y` is `v - y`.
    A removable `t` bound to `-a` is substituted into its one read when that read comes later in the
    same block with neither `t` nor `a` assigned in between. Returns whether anything changed.
    """
    changed = False
    reads, stores = name_counts(fdef)

    def block(stmts):
        nonlocal changed
        for k, s in enumerate(stmts):
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt) \
                        and not isinstance(s, ast.FunctionDef):
                    block(inner)
            if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                    and isinstance(s.value, ast.UnaryOp) and isinstance(s.value.op, ast.USub)
                    and isinstance(s.value.operand, ast.Name)):
                continue
            t, a = s.targets[0].id, s.value.operand.id
            if t not in removable or reads.get(t) != 1 or stores.get(t) != 1:
                continue
            for later in stmts[k + 1:]:
                if any(isinstance(n, ast.Name) and n.id == t and isinstance(n.ctx, ast.Load) for n in walk(later)):
                    if isinstance(later, ast.Assign) and _fold_into(later, t, a):
                        changed = True
                    elif isinstance(later, ast.AugAssign) and isinstance(later.op, ast.Add) \
                            and isinstance(later.value, ast.Name) and later.value.id == t \
                            and not _reads_name(later.target, t):
                        later.op, later.value = ast.Sub(), load_name(a)  # P_bar[i] += t  is  P_bar[i] -= a
                        changed = True
                    break
                targets = later.targets if isinstance(later, ast.Assign) else \
                    [later.target] if isinstance(later, ast.AugAssign) else None
                if targets is None or a in {n.id for tg in targets for n in walk(tg) if isinstance(n, ast.Name)}:
                    break

    block(fdef.body)
    for node in walk(fdef):  # v + -y is v - y
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.right, ast.UnaryOp) \
                and isinstance(node.right.op, ast.USub):
            node.op, node.right = ast.Sub(), node.right.operand
            changed = True
    return changed


def negate_into_literals(fdef: ast.FunctionDef, removable: set) -> bool:
    """`t = -1.0 / s; ...; u = -t` (the adjoint of `-np.sum(np.log(s))` read by that of `b - A @ x`) becomes
    `t = 1.0 / s; ...; u = t`, where `t`, a removable name bound once, is read only there: the sign goes into the
    number literal of a product or quotient (`-(c / E)` is `(-c) / E` exactly; a literal 0 is left, whose sign a
    Python int would lose). `u = t` shares t's value with a name nothing else reads. For code whose literals
    were merged in after `fold_negations`, with the reads counted afresh (after it, a name it read through a
    negation may be read directly). Returns whether anything changed.

        >>> fdef = ast.parse("def f(s):\\n t = -1.0 / s\\n u = -t\\n return u").body[0]
        >>> negate_into_literals(fdef, {"t", "u"}), [ast.unparse(x) for x in fdef.body[:2]]
        (True, ['t = 1.0 / s', 'u = t'])
    """
    assigns = [s for s in walk(fdef) if isinstance(s, ast.Assign) and len(s.targets) == 1
               and isinstance(s.targets[0], ast.Name)]
    negations = [s for s in assigns if isinstance(s.value, ast.UnaryOp) and isinstance(s.value.op, ast.USub)
                 and isinstance(s.value.operand, ast.Name) and s.value.operand.id in removable]
    if not negations:
        return False
    reads, stores = name_counts(fdef)
    made = {}
    for s in assigns:
        made.setdefault(s.targets[0].id, []).append(s)
    changed = False
    for s in negations:
        t = s.value.operand.id
        if reads.get(t) != 1 or stores.get(t) != 1 or len(made.get(t, ())) != 1:
            continue
        value = made[t][0].value
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult | ast.Div)):
            continue
        sides = ["left", "right"] if isinstance(value.op, ast.Mult) else ["left"]
        side = next((k for k in sides if _number(getattr(value, k)) not in (None, 0)), None)
        if side is None:
            continue
        number = -_number(getattr(value, side))
        literal = ast.Constant(abs(number))
        negated = copy.copy(value)  # (a new node: a pass may have put the old one in two places)
        setattr(negated, side, literal if number > 0 else ast.UnaryOp(op=ast.USub(), operand=literal))
        made[t][0].value = negated
        s.value = s.value.operand
        changed = True
    if changed:
        fix_locations(fdef)
    return changed


def _fold_into(stmt, t, a):
    """Rewrite `v + t * c`, `v + c * t` or `v + t` (the whole value of `stmt`) with `t = -a`."""
    v = stmt.value
    if not (isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add)):
        return False
    right = v.right
    if isinstance(right, ast.Name) and right.id == t:
        stmt.value = ast.BinOp(left=v.left, op=ast.Sub(), right=load_name(a))
        return True
    if isinstance(right, ast.BinOp) and isinstance(right.op, ast.Mult | ast.Div):
        if isinstance(right.left, ast.Name) and right.left.id == t and not _reads_name(right.right, t):
            new = ast.BinOp(left=load_name(a), op=right.op, right=right.right)
        elif isinstance(right.right, ast.Name) and right.right.id == t and not _reads_name(right.left, t):
            new = ast.BinOp(left=right.left, op=right.op, right=load_name(a))
        else:
            return False
        stmt.value = ast.BinOp(left=v.left, op=ast.Sub(), right=new)
        return True
    return False


def load_name(name):
    return ast.Name(id=name, ctx=ast.Load())


def _reads_name(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))
