"""The clean-up steps run over generated code, each a function from Code to Code; the rewrites
themselves live in modules of their own. `s2s/pipeline.py` (OPTIMIZER) lists the steps in the
order they run, under the names `s2s show --stages` prints; in that order they do this:

1. `simplify`: algebraic simplification and constant folding (`x * 1`, `2 - 1`).
2. `dce`: assignments to made-up names that nothing reads are deleted (run
   again later; the first run clears resets that would block step 3).
3. `copyprop`: copy propagation into made-up names (`g = y_bar; ... g ...`);
   then, for code specialised to the argument shapes of a call, the adjoint of
   a max that the function's value provably does not depend on (the shift of a
   log-sum-exp) is not computed (`transforms/shifts.py`, read from the primal).
4. `zeros`: accumulation into a known-zero adjoint becomes plain assignment.
   Then, for code specialised to the argument shapes of a call: a container
   argument's adjoint one name per item (`transforms/container_adjoints.py`);
   `specialize`: `unbroadcast` dropped where shapes are equal, matrix-product
   adjoints inlined, the loss value not computed when only the gradient is
   needed (docs/specialisation.md); `dce` again; copies the rewrites left
   propagated, negations folded and broadcasts nothing needs dropped (`copyprop
   again`); in the code of `s2s.grad` the seed is the number 1.0
   (`transforms/seed.py`); and `exp(z - logaddexp(0, z))` the logistic.
5. `tape`: values saved on the tape but restored where nothing reads them are
   not saved at all (the per-place refinement of the to-be-recorded analysis);
   loop-index arithmetic (and, specialised, numbers from unchanged arguments)
   is recomputed in the backward loop instead of taped.
6. For shape-specialised code, the adjoints of index reads go into an adjoint
   array of its own in place (`P_bar[i] += t_bar`, `transforms/index_adjoints.py`),
   an index read nothing reads goes where its adjoint checks the same index
   (`transforms/checked_reads.py`), and adjoint arrays that are certainly their
   own are accumulated in place (`W_bar += e`) instead of copied at each step.
7. For shape-specialised code, the adjoint of a division by its own sum over an axis (`P = E /
   E.sum(axis=a, keepdims=True)`) is one sum, `(P_bar - np.sum(P_bar * P, axis=a, keepdims=True)) / s`,
   and a product `(N / s) * E` reads the quotient `P = E / s` the code computed (a softmax's adjoint is
   `(P_bar - ...) * P`: `transforms/normalisation.py`); the adjoint of a max or min over an axis counts the
   hits per slice only where some slice ties (`transforms/extremes.py`), an array
   temporary read once by elementwise arithmetic takes the result in place
   (`transforms/reuse.py`), `s2s.finish` goes where it would return the adjoint
   itself (`transforms/finish.py`), numbers every trip of a loop computes alike are
   computed once before it (`transforms/invariants.py`), a negated number read several
   times is negated where its reads take the sign (`transforms/negations.py`), number
   temporaries read once are written into their reader (`transforms/merge.py`), like terms of
   a sum are added once (`transforms/like_terms.py`: `t * x + t * x` is `2.0 * (t * x)`), and a costly
   call statements of one block compute on the same operands is computed once (`transforms/shared_calls.py`:
   a solve's two adjoints solve with `A.T` once). Before these, an item of a list adjoint is read straight
   from what was placed there (`specialize.read_list_adjoint_items`: `slogdet_bar[1]` is `logdet_bar`).
8. For shape-specialised code, item assignments and index adjoints into arrays no
   one else can see are written in place (`transforms/item_updates.py`); then a
   forward loop and its backward loop whose trips are independent become one loop
   without the tape (`transforms/fusion.py`).
9. In `s2s.grad`'s shape-specialised code, solves with a matrix whose inverse the
   code computes anyway read that inverse (`transforms/inverses.py`), and in its NumPy path solves with
   a triangular factor substitute (`transforms/triangular.py`); a sum of two products
   with a shared factor is one product (the adjoint of a Gram product `A @ A.T`: `(G + G.T) @ A`), a
   number factor multiplies the smallest array of the linear chain reading it, three products go in
   the cheaper order, a product computed before read from its name (`transforms/products.py`), and the
   transpose of a matrix symmetric by construction read as the matrix (`transforms/symmetric.py`).
10. For shape-specialised code, a `# s2s: ... kept: shape of t unknown (line N: ...)`
    note above each statement that still calls a shape helper says why; NumPy's
    reductions of arrays are written as array methods (`transforms/reduction_methods.py`).
11. Last, in the shape-specialised code the NumPy path runs (not the code numba's lowering reads): a
    loop's sum of outer products is one matrix product after it (`transforms/outer_sums.py`), and a
    list, tuple or dict argument's gradient, a display of float64 adjoints of its own, is returned as
    made (`finish.drop_container_finish`).

The activity analysis (no adjoint for what needs none), the to-be-recorded
analysis (tape only overwritten values the backward sweep reads) and the
replay of fixed-bound loops without a tape happen while the code is
generated, in `transforms/analysis.py` and `transforms/reverse.py`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from . import specialize
from .adjoint_dtypes import settle_adjoint_dtypes
from .checked_reads import rechecked_index_reads
from .container_adjoints import split_container_adjoints
from .copyprop import propagate_copies
from .dce import eliminate_dead_code
from .extremes import split_extreme_ties
from .finish import (
    copy_argument_views,
    drop_container_finish,
    drop_finish,
    drop_float_finish,
    inline_float_zero_tests,
    returns_container_displays,
)
from .float_items import one_float64_precision, read_items_as_floats
from .fusion import fuse_independent_trips
from .index_adjoints import accumulate_index_adjoints, diagonal_adjoints_in_place, diff_adjoints_in_place
from .invariants import hoist_loop_invariants
from .inverses import share_inverses
from .item_sums import sum_items_in_names, updates_fixed_items
from .item_updates import drop_restored_items, drop_restored_items_copying, explain_copies, update_items_in_place
from .like_terms import combine_like_terms
from .list_adjoints import accumulate_item_adjoints, pop_owned_list_adjoints, sum_adjoints_as_items
from .merge import merge_number_temporaries
from .negations import spread_number_negations
from .normalisation import normalisation_adjoints
from .outer_sums import batch_outer_sums, sums_outer_products
from .powers import powers_from_squares
from .products import products, transposed_outers
from .reduction_methods import reads_a_reduction, reductions_as_methods
from .reuse import rebind_in_place, reuse_dead_operands
from .row_writes import write_rows_once
from .seed import fold_unit_seed, unit_product_is_itself
from .shapes import Keyed, Seq, slices_only
from .shared_calls import repeats_a_reduction, share_repeated_calls
from .shifts import drop_shift_adjoints
from .simplify import drop_unit_updates, fold_literals, fold_power_of_two_factors, fold_unit_copies, simplify
from .sliced_adjoints import compose_slice_adjoints
from .tape import (
    drop_dead_placeholders,
    drop_unread_list_pops,
    drop_unread_restores,
    drop_write_only_lists,
    recompute_from_restored,
    recompute_index_arithmetic,
)
from .triangular import triangular_solves
from .walk import walk, walk_nodes
from .wheres import merge_wheres, negate_wheres, scale_wheres
from .zero_operands import zeros_as_numbers
from .zeros import drop_zero_accumulations


@dataclass
class Code:
    """Generated code on its way through the clean-up passes, and what they tell each other."""

    fdef: ast.FunctionDef
    removable: set  # names whose assignments may be deleted (adjoints, temporaries)
    adjoints: set  # names that start as a literal zero and are accumulated into
    stack: str | None = None  # the tape list, if the code has one
    shapes: specialize.Context | None = None  # argument shapes, for shape-specialised code
    inferred: object = None  # the shapes `specialize` inferred (read by the later shape passes)
    seed_one: str | None = None  # the seed keyword, where every caller leaves it at 1.0 (s2s.grad's code)
    user_names: frozenset = frozenset()  # names in the user's function (the others are made up)
    primal: ast.FunctionDef | None = None  # the lowered primal program the code was made from (reverse mode)
    numpy_path: bool = False  # the code s2s.grad runs with NumPy (not lowered for numba, not differentiated again)
    rerun_safe: object = None  # () -> whether running the derivative again changes nothing (float_items_step)


def simplify_step(c: Code) -> Code:
    c.fdef = simplify(c.fdef, c.removable)
    return c


def dce_step(c: Code) -> Code:
    c.fdef = eliminate_dead_code(c.fdef, c.removable)
    return c


def copyprop_step(c: Code) -> Code:
    c.fdef = propagate_copies(c.fdef, c.removable - set(c.adjoints))
    return c


def zeros_step(c: Code) -> Code:
    c.fdef = drop_zero_accumulations(c.fdef, set(c.adjoints))
    return c


def shifts_step(c: Code) -> Code:
    if c.shapes is not None and c.primal is not None:
        drop_shift_adjoints(c.fdef, c.primal, c.shapes.shapes)
    return c


def _item_adjoint_of_a_display(fdef) -> bool:
    """Whether some `s2s.getitem_grad(g, t, k)` places an adjoint into a name bound to a tuple or list display
    (the cheap test before inferring shapes: an array's `x[0]` has getitem_grad too)."""
    displays = {t.id for n in walk(fdef) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Tuple | ast.List)
                for t in n.targets if isinstance(t, ast.Name)}
    return bool(displays) and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "getitem_grad"
        and len(n.args) == 3 and isinstance(n.args[1], ast.Name) and n.args[1].id in displays for n in walk(fdef))


def container_adjoints_step(c: Code) -> Code:
    # a container argument's adjoint and its parts'; without one, a local tuple's made by a display (a helper's
    # returned `(h, c)` read item by item)
    if c.shapes is None:
        return c
    arguments = any(isinstance(fact, Seq | Keyed) for fact in c.shapes.params.values())
    if arguments or _item_adjoint_of_a_display(c.fdef):
        items = split_container_adjoints(c.fdef, c.shapes.shapes(c.fdef), displays_only=not arguments)
        c.removable |= items
        c.adjoints |= items
    return c


def specialize_step(c: Code) -> Code:
    if c.shapes is not None:
        # (the seed in the output's dtype and conversions' adjoints in their operands', where it matters: mixed dtypes)
        settle_adjoint_dtypes(c.fdef, c.shapes, c.seed_one is not None)
        c.fdef = eliminate_dead_code(c.fdef, c.removable)  # resets of adjoints that hide their shapes
        # (a loop's index arithmetic computed again in the backward loop, not restored: `t = i + 3` there is a
        # window's bound the shapes know, a restored one is any int)
        c.fdef = recompute_index_arithmetic(c.fdef, c.stack)
        if c.numpy_path and _mentions(c.fdef, "getitem_grad"):  # (a list's item adjoints in place: run, not differentiated)
            accumulate_item_adjoints(c.fdef, c.shapes.shapes(c.fdef))
        c.fdef, pure, c.inferred = specialize.specialize(c.fdef, c.shapes, c.stack)
        c.removable |= pure
        if _mentions(c.fdef, "grad_builtin_sum") and sum_adjoints_as_items(c.fdef, c.inferred):
            c.fdef, pure, c.inferred = specialize.specialize(c.fdef, c.shapes, c.stack)  # (`g = 1.0`: a number now)
            c.removable |= pure
        # (np.sign's adjoint at a real x is the zero now: `z_bar = z_bar + 0.0`)
        _drop_zero_additions(c.fdef, c.removable, c.inferred)
    return c


def _drop_zero_additions(fdef, removable, shapes) -> None:
    """`z_bar = z_bar + 0.0` of a name made up for the derivative that certainly holds real floats (a number or an
    array, whose values and dtype adding 0.0 keeps): gone."""
    for holder in list(walk(fdef)):
        for field in ("body", "orelse"):
            block = getattr(holder, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                kept = [s for s in block if not _adds_zero_to_itself(s, removable, shapes)]
                block[:] = kept or ([ast.Pass()] if field == "body" else [])


def _adds_zero_to_itself(s, removable, shapes) -> bool:
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
            and s.targets[0].id in removable and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, ast.Add)):
        return False
    left, right = s.value.left, s.value.right
    return isinstance(left, ast.Name) and left.id == s.targets[0].id and isinstance(right, ast.Constant) \
        and type(right.value) is float and right.value == 0.0 and shapes.real(left)


def seed_step(c: Code) -> Code:
    if c.shapes is not None and c.seed_one is not None:
        if fold_unit_seed(c.fdef, c.seed_one, c.inferred, c.shapes.float64_only):
            c.fdef = eliminate_dead_code(c.fdef, c.removable)  # copies of the seed nothing reads now
            if _seeded_helper(c.fdef):  # (an adjoint made of the seed 1.0 is certainly not the zero now)
                c.fdef, pure, c.inferred = specialize.specialize(c.fdef, c.shapes, c.stack)
                c.removable |= pure
                c.fdef = eliminate_dead_code(c.fdef, c.removable)
            if _broadcasts_a_literal(c.fdef):  # (a broadcast of the seed, 1.0 now, summed: a count)
                c.inferred = c.shapes.shapes(c.fdef)
                _drop_broadcasts(c)
    return c


def _seeded_helper(fdef) -> bool:
    """Whether a runtime helper's adjoint argument is now a number literal other than 0 (`s2s.grad_var(1.0, H,
    ...)`): its result's shape, unknown while that was the seed's name, may be known now."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args
               and isinstance(n.args[0], ast.Constant) and type(n.args[0].value) is float and n.args[0].value != 0
               and isinstance(n.func.value, ast.Name) and n.func.value.id == "s2s" for n in walk(fdef))


def copyprop_again_step(c: Code) -> Code:
    """The rewrites leave copies (`g = v_bar` where `unbroadcast(v_bar, v)` was): propagate (into adjoints too:
    specialised code is for running), drop, infer again."""
    if c.shapes is not None:
        c.fdef = eliminate_dead_code(propagate_copies(c.fdef, c.removable), c.removable)
        if _mentions(c.fdef, "setitem") and drop_restored_items_copying(c.fdef, c.shapes.shapes(c.fdef)):
            # (`y[i] += v`'s adjoint: y_bar's items zeroed and added back, once the copies between are gone)
            c.fdef = eliminate_dead_code(propagate_copies(c.fdef, c.removable), c.removable)
        if specialize.fold_negations(c.fdef, c.removable):
            c.fdef = eliminate_dead_code(c.fdef, c.removable)
        c.inferred = c.shapes.shapes(c.fdef)
        if specialize.fold_known_tests(c.fdef, c.inferred):  # (`returned = True; cond2 = not returned`, copied)
            c.fdef = eliminate_dead_code(c.fdef, c.removable)
            c.inferred = c.shapes.shapes(c.fdef)
        _drop_broadcasts(c)
    return c


def _broadcasts_a_literal(fdef) -> bool:
    """Whether `fdef` broadcasts a number literal (`np.broadcast_to(1.0, S)`, the seed once it is 1.0): the cheap
    test before the shapes are inferred again for `_drop_broadcasts`."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "broadcast_to"
               and n.args and isinstance(n.args[0], ast.Constant) for n in walk(fdef))


def _drop_broadcasts(c: Code) -> None:
    """Copies gone (or the seed a number), a broadcast read only by sums that broadcast anyway may go."""
    for _ in range(16):
        if not _mentions(c.fdef, "broadcast_to") or \
                not specialize.drop_broadcasts(c.fdef, c.inferred, c.shapes.float64_only):
            break
        c.fdef = eliminate_dead_code(c.fdef, c.removable)
        c.inferred = c.shapes.shapes(c.fdef)


def logistic_step(c: Code) -> Code:
    if c.shapes is not None and specialize.logistic(c.fdef, c.inferred, c.removable, c.shapes.np_name):
        c.fdef = eliminate_dead_code(c.fdef, c.removable)  # the logaddexp that nothing reads now
    return c


def tape_step(c: Code) -> Code:
    c.fdef = drop_unread_restores(c.fdef, c.stack)
    c.fdef = recompute_index_arithmetic(c.fdef, c.stack, c.inferred if c.shapes is not None else None)
    if c.shapes is not None and recompute_from_restored(c.fdef, c.stack, c.inferred):
        c.inferred = c.shapes.shapes(c.fdef)
    if c.shapes is not None and drop_unread_list_pops(c.fdef, c.inferred):
        c.inferred = c.shapes.shapes(c.fdef)
    if c.shapes is not None and drop_write_only_lists(c.fdef, lambda: c.shapes.shapes(c.fdef).maybe_unbound):
        # (`losses.append(t12)` of a sum the gradient does not compute)
        c.inferred = c.shapes.shapes(c.fdef)
    if c.shapes is not None:  # a value no longer taped (`e` of `e = e + t`) may be one nothing reads now
        c.removable |= specialize.pure_names(c.fdef, c.inferred, c.stack)
        shapes, kinds = c.inferred, c.shapes.kinds
        c.fdef = eliminate_dead_code(c.fdef, c.removable, lambda loop: _range_of_ints(loop, shapes, kinds))
    return c


def _range_of_ints(loop: ast.For, shapes, kinds) -> bool:
    """Whether the loop is over `range(...)` of ints, which cannot raise: int literals (a step other than 0), ints
    of known value (`X.shape[0]`), counters of other loops over ranges, `len(...)` of an array, parameters given
    one int (not an array of them) and never bound again (the forward sweep's loop, left with nothing to do, may go:
    transforms/dce.py). Not other ints the shape inference knows: a sum of two NumPy ints may be a float."""
    call = loop.iter
    if not (isinstance(call, ast.Call) and not call.keywords and 1 <= len(call.args) <= 3
            and shapes.callee(call) is range):
        return False

    def an_int(arg):
        if isinstance(arg, ast.Constant):
            return type(arg.value) is int
        if any(isinstance(n, ast.Name) and id(n) in shapes.maybe_unbound for n in walk(arg)):
            return False  # (`range(i)` after a loop of no trips raises)
        if isinstance(arg, ast.Name) and arg.id in shapes.arguments and arg.id not in shapes.assigned:
            return kinds.get(arg.id) in tuple("bhilqpBHILQP") and shapes.of(arg) == ()
        if isinstance(arg, ast.Call):
            return shapes.callee(arg) is len and specialize._pure(arg, shapes)
        return shapes.counter(arg) or shapes.known_int(arg)

    step = call.args[2] if len(call.args) == 3 else None
    return all(an_int(a) for a in call.args) and (step is None or isinstance(step, ast.Constant) and step.value != 0)


def item_updates_step(c: Code) -> Code:
    """Item assignments and index adjoints in place where no one else sees the array; an index adjoint
    written in place no longer reads its base, whose tape entries may then go, and its updates in place."""
    if c.shapes is not None and (_mentions(c.fdef, "setitem") or _mentions(c.fdef, "getitem_grad")):
        params = {a.arg for a in walk(c.fdef.args) if isinstance(a, ast.arg)}
        for _ in range(3):
            if not update_items_in_place(c.fdef, c.inferred, params, c.shapes.np_name, c.shapes.without_float16,
                                         c.stack):
                break
            c.fdef = eliminate_dead_code(drop_unread_restores(c.fdef, c.stack), c.removable)
            c.inferred = c.shapes.shapes(c.fdef)
        if drop_restored_items(c.fdef):  # (the adjoint of `y[i] += v`: y_bar[i] zeroed and g added back)
            c.fdef = eliminate_dead_code(c.fdef, c.removable)
            c.inferred = c.shapes.shapes(c.fdef)
        explain_copies(c.fdef, c.inferred, params)  # (what keeps the copies that stay)
    if c.shapes is not None and c.shapes.float64_only:  # (rows a backward loop touches once: no dead zeroing, one write)
        made_up = {n.id for n in walk_nodes(c.fdef) if isinstance(n, ast.Name)} - set(c.user_names)
        if write_rows_once(c.fdef, made_up):
            c.fdef = eliminate_dead_code(c.fdef, c.removable)
            c.inferred = c.shapes.shapes(c.fdef)
        # (a slice's adjoint into slices of another, as np.diff's and the index adjoints written in place above add
        # it: `t[:-1, 1:] += d_bar`, no zeros between)
        if _mentions(c.fdef, "zeros") and one_float64_precision(c.fdef, c.shapes.params, c.shapes.kinds,
                                                                c.shapes.np_name, c.inferred) \
                and compose_slice_adjoints(c.fdef, c.inferred):  # (no float32 made here: A + h is A + (0.0 + h))
            c.inferred = c.shapes.shapes(c.fdef)
    return c


def index_adjoints_step(c: Code) -> Code:
    # (the adjoint array is float64, or of a float32 or float64 argument's dtype, or a local's, never float16)
    if c.shapes is not None and c.shapes.without_float16:
        dtypes = None if c.shapes.float64_only else \
            {p: {"f": "float32", "d": "float64"}[k] for p, k in c.shapes.kinds.items() if k in ("f", "d")}
        before = _index_adjoints(c.fdef)
        c.fdef = accumulate_index_adjoints(c.fdef, c.inferred, set(c.adjoints), c.shapes.np_name, dtypes)
        if _index_adjoints(c.fdef) < before:  # (`g_bar[:10] += t7_bar` reads no `g`: its tape entries may go)
            c.fdef = eliminate_dead_code(drop_unread_restores(c.fdef, c.stack), c.removable)
        if specialize.fold_negations(c.fdef, c.removable):  # t = -d_bar; P_bar[i] += t  is  P_bar[i] -= d_bar
            c.fdef = eliminate_dead_code(c.fdef, c.removable)
        rechecked = _unread_index_reads(c.fdef) and rechecked_index_reads(c.fdef, c.shapes.shapes(c.fdef))
        if rechecked:  # (reads whose adjoint checks the index again)
            c.removable |= rechecked
            c.fdef = eliminate_dead_code(c.fdef, c.removable)
            c.inferred = c.shapes.shapes(c.fdef)
    return c


def _index_adjoints(fdef) -> int:
    """How many `getitem_grad` calls `fdef` makes."""
    return sum(1 for n in walk(fdef) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
               and n.func.attr == "getitem_grad")


def in_place_step(c: Code) -> Code:
    if c.shapes is not None and c.shapes.float64_only:  # (a float32 array must not take float64 terms in place)
        c.fdef = specialize.accumulate_in_place(c.fdef, c.inferred, set(c.adjoints))
        if _mentions(c.fdef, "grad_diff") and diff_adjoints_in_place(c.fdef, c.shapes.shapes(c.fdef), c.shapes.np_name):
            c.inferred = c.shapes.shapes(c.fdef)  # (np.diff's adjoint added in place: two slice updates)
            if _mentions(c.fdef, "grad_diff"):  # (an adjoint made of a difference's zeros now: the next adds in place)
                c.fdef = specialize.accumulate_in_place(c.fdef, c.inferred, set(c.adjoints))
                if diff_adjoints_in_place(c.fdef, c.shapes.shapes(c.fdef), c.shapes.np_name):
                    c.inferred = c.shapes.shapes(c.fdef)
    return c


def fusion_step(c: Code) -> Code:
    """A forward loop and its backward loop whose trips are independent as one loop, without the tape
    (transforms/fusion.py)."""
    if c.shapes is not None and fuse_independent_trips(c.fdef, c.stack, c.inferred, specialize._pure,
                                                       c.shapes.np_name):
        c.fdef = eliminate_dead_code(c.fdef, c.removable)
        drop_dead_placeholders(c.fdef)  # (the values the fused loop pushed before binding them)
        c.inferred = c.shapes.shapes(c.fdef)
    return c


def _reduced_numbers_kept(c: Code):
    """`specialize.keep_reduced_scalars` again, on the finished code: `t_bar = s2s.expand_reduced(g, t, None, False)`
    of a number g read by `x_bar[:i] += t_bar` is g (it had three bindings while specialize ran: the 0.0 before
    the loop, the sum in it, the 0.0 after its use). Returns the shapes of the code."""
    shapes = c.shapes.shapes(c.fdef)
    for _ in range(8):
        exact = c.shapes.numbers_for_broadcasts(c.fdef)  # (specialize.specialize says why)
        if exact is None:
            break
        with shapes.symbolic():
            if not specialize.keep_reduced_scalars(c.fdef, shapes, exact):
                break
        c.fdef = eliminate_dead_code(c.fdef, c.removable)
        shapes = c.shapes.shapes(c.fdef)
    return shapes


def late_step(c: Code) -> Code:
    """The rewrites of the finished code (each in its own module): a division by a sum's adjoint in one sum,
    max/min adjoints counted only at
    ties, array temporaries read once lending their array, `finish` dropped where it returns its
    adjoint, a returned argument's array copied, a list adjoint's own list popped in place, invariant numbers out of loops, once-read number
    temporaries into their reader, like terms added once, two masked halves of an adjoint as one np.where."""
    if c.shapes is not None:
        if _mentions(c.fdef, "getitem_grad") and \
                specialize.read_list_adjoint_items(c.fdef, c.inferred, c.shapes.np_name):  # (`slogdet_bar[1]`)
            c.fdef = eliminate_dead_code(c.fdef, c.removable)
            c.inferred = c.shapes.shapes(c.fdef)
        made_up = {n.id for n in walk_nodes(c.fdef) if isinstance(n, ast.Name)} - set(c.user_names)
        if normalisation_adjoints(c.fdef, c.inferred, c.shapes.shapes, c.shapes.np_name, made_up):
            c.inferred = c.shapes.shapes(c.fdef)
        split_extreme_ties(c.fdef, c.inferred, c.shapes.np_name)
        if _mentions(c.fdef, "expand_reduced"):  # (an adjoint accumulated in a loop has one binding by now)
            c.inferred = _reduced_numbers_kept(c)
        shapes = c.shapes.shapes(c.fdef)
        if _mentions(c.fdef, "broadcast_to") and \
                specialize.drop_broadcasts_into_place(c.fdef, shapes, c.shapes.float64_only):
            shapes = c.shapes.shapes(c.fdef)
        if (_mentions(c.fdef, "zeros") or _mentions(c.fdef, "zeros_like")) \
                and zeros_as_numbers(c.fdef, shapes, c.shapes.float64_only):
            c.fdef = eliminate_dead_code(c.fdef, c.removable | specialize.pure_names(c.fdef, shapes, c.stack))
            shapes = c.shapes.shapes(c.fdef)
        reuse_dead_operands(c.fdef, shapes, made_up, c.shapes.float64_only)
        if _mentions(c.fdef, "grad_diag") and diagonal_adjoints_in_place(c.fdef, shapes, c.shapes.np_name):
            shapes = c.shapes.shapes(c.fdef)  # (np.diag's adjoint added on the diagonal: no n x n zeros)
        if c.shapes.float64_only:  # (np.diff's adjoint into an array reused now: `t += s2s.grad_diff(g, u, 1, 0)`)
            if _mentions(c.fdef, "grad_diff") and diff_adjoints_in_place(c.fdef, shapes, c.shapes.np_name):
                shapes = c.shapes.shapes(c.fdef)
        # (float64 arguments, and no other floating dtype named in the code: `np.float32(0.3) * ...` makes float32
        # arrays of float64 ones, and a float32 number scales a where of Python floats into float32)
        float64_only = c.shapes.float64_only and one_float64_precision(c.fdef, c.shapes.params, c.shapes.kinds,
                                                                       c.shapes.np_name, shapes)
        drop_finish(c.fdef, shapes, c.shapes.kinds, made_up, float64_only)
        floats = {p for p in c.shapes.numbers if c.shapes.kinds.get(p) == "d"} | ({c.seed_one} if c.seed_one else set())
        float_names = shapes.python_float_names(floats) if floats else frozenset()  # (once, for both rewrites)
        drop_float_finish(c.fdef, shapes, floats, float_names)
        inline_float_zero_tests(c.fdef, shapes, float_names)
        copy_argument_views(c.fdef, shapes, c.shapes.np_name)
        pop_owned_list_adjoints(c.fdef, shapes)
        hoist_loop_invariants(c.fdef, shapes, specialize._pure)
        spread_number_negations(c.fdef, shapes, made_up & c.removable)
        merge_number_temporaries(c.fdef, shapes, specialize._pure, made_up, c.stack)
        for _ in range(4):  # (a temporary read twice may be read once now, and its value have like terms)
            if not (combine_like_terms(c.fdef, shapes, specialize._pure)
                    and merge_number_temporaries(c.fdef, shapes, specialize._pure, made_up, c.stack)):
                break
        if spread_number_negations(c.fdef, shapes, made_up & c.removable):  # (merges made `t = -a / c` forms)
            merge_number_temporaries(c.fdef, shapes, specialize._pure, made_up, c.stack)
        rebind_in_place(c.fdef, shapes, made_up, c.shapes.float64_only)  # (after like terms: `y = y + e; y = y + e`)
        scale_wheres(c.fdef, shapes, c.shapes.np_name, float_names)  # (a piecewise loss's seed where, scaled: once)
        # (a leaky ReLU's two masked halves: one np.where; after scaling, the halves of a piecewise loss too)
        if merge_wheres(c.fdef, shapes, c.shapes.np_name, float64_only):
            negate_wheres(c.fdef, c.shapes.shapes(c.fdef), c.shapes.np_name)  # (a pinball loss's `-r_bar`)
        if (_mentions(c.fdef, "linalg") or any(isinstance(n, ast.MatMult) for n in walk(c.fdef))
                or repeats_a_reduction(c.fdef)) \
                and share_repeated_calls(c.fdef, c.shapes.shapes):  # (a solve's two adjoints solve with A.T once)
            shapes = c.shapes.shapes(c.fdef)
        c.inferred = shapes  # (still true: these rewrites move and merge expressions, none changes a shape)
    return c


def inverses_step(c: Code) -> Code:
    """In `s2s.grad`'s code, solves with a matrix whose inverse the code computes anyway read that inverse."""
    if c.shapes is not None and c.shapes.float64_only and c.seed_one is not None \
            and _mentions(c.fdef, "inv") and _mentions(c.fdef, "solve"):
        if share_inverses(c.fdef, c.shapes.shapes, c.shapes.np_name):
            c.inferred = c.shapes.shapes(c.fdef)
    return c


def triangular_step(c: Code) -> Code:
    """In the NumPy path of `s2s.grad`'s code, solves with a triangular factor by substitution
    (transforms/triangular.py)."""
    if c.shapes is not None and c.seed_one is not None and c.numpy_path and _mentions(c.fdef, "solve"):
        if triangular_solves(c.fdef, c.shapes.shapes(c.fdef)):
            c.inferred = c.shapes.shapes(c.fdef)
    return c


def products_step(c: Code) -> Code:
    """In `s2s.grad`'s code, a sum of two products with a shared factor as one product, a number factor on
    the smallest array of a linear chain, three products in the cheaper order (transforms/products.py)."""
    if c.shapes is not None and _mentions(c.fdef, "outer") and transposed_outers(c.fdef, c.shapes.np_name, c.removable):
        c.inferred = c.shapes.shapes(c.fdef)
    if c.shapes is not None and specialize.negate_into_literals(c.fdef, c.removable):  # (`u = -t` of `t = -1.0 / s`)
        c.fdef = eliminate_dead_code(propagate_copies(c.fdef, c.removable), c.removable)
        c.inferred = c.shapes.shapes(c.fdef)
    if c.shapes is not None:  # (`1.0 * 0.5 * 2 * z`: numbers a group of broadcasts left, then `1.0 * e`)
        fold_literals(c.fdef)
        if _unit_products(c.fdef) or _several_literal_factors(c.fdef):
            # (inferred for the folds alone: c.inferred is replaced only where they changed the code, as the later
            # steps read it; the NumPy path's outer sums of an RK step's stages needed the one they had)
            inferred = c.shapes.shapes(c.fdef)

            def keeps(e):
                return unit_product_is_itself(e, inferred, c.shapes.float64_only)
            if fold_power_of_two_factors(c.fdef, keeps, c.removable, lambda e: inferred.of(e) == ()) \
                    | fold_literals(c.fdef, keeps) \
                    | fold_unit_copies(c.fdef, keeps) \
                    | drop_unit_updates(c.fdef, lambda t: keeps(ast.Name(id=t.id, ctx=ast.Load()))):
                c.inferred = c.shapes.shapes(c.fdef)
            elif _unit_products(c.fdef):
                c.inferred = inferred
    if c.shapes is not None and c.seed_one is not None and \
            products(c.fdef, c.shapes.shapes, c.shapes.float64_only and c.numpy_path):  # (eye_product: NumPy path)
        c.fdef = eliminate_dead_code(c.fdef, c.removable)
        c.inferred = c.shapes.shapes(c.fdef)
    if c.shapes is not None and c.seed_one is not None and c.shapes.float64_only and c.numpy_path \
            and powers_from_squares(c.fdef, c.shapes.shapes):  # (`x ** 3` as `x_sq * x`: no pow per entry)
        c.inferred = c.shapes.shapes(c.fdef)
    return c


def _several_literal_factors(fdef) -> bool:
    """Whether some product has a number literal factor, or a negation, on both sides, or a statement's product
    with a literal reads a name another's product with a literal made (the cheap test before inferring shapes for
    `fold_power_of_two_factors`)."""
    literal = [n for n in walk(fdef) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult | ast.Div)
               and any(isinstance(s, ast.Constant) or isinstance(s, ast.UnaryOp) for s in (n.left, n.right))]
    return len(literal) >= 2


def _unit_products(fdef) -> bool:
    """Whether some product in `fdef` is `1.0 * e`, `e * 1.0` or `t *= 1.0`."""
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and any(
        isinstance(one, ast.Constant) and type(one.value) is float and one.value == 1.0
        for one, other in ((n.left, n.right), (n.right, n.left)))
        or isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Mult) and isinstance(n.value, ast.Constant)
        and type(n.value.value) is float and n.value.value == 1.0 for n in walk_nodes(fdef))


def explain_step(c: Code) -> Code:
    if c.shapes is not None and specialize.helpers_left(c.fdef):
        c.fdef = specialize.explain_blocked(c.fdef, c.shapes.shapes(c.fdef), c.shapes.broadcast_note(c.fdef))
    return c


def methods_step(c: Code) -> Code:
    if c.shapes is not None and reads_a_reduction(c.fdef, c.shapes.np_name):
        reductions_as_methods(c.fdef, c.inferred)
    return c


def numpy_path_step(c: Code) -> Code:
    """In the shape-specialised code the NumPy path runs: a loop's sum of outer products as one product after
    it (transforms/outer_sums.py); a list, tuple or dict argument's gradient, a display of float64 adjoints of
    their own, returned as made (finish.drop_container_finish). numba's lowering reads the plain forms."""
    if not c.numpy_path or c.shapes is None:
        return c
    if sums_outer_products(c.fdef) and batch_outer_sums(c.fdef, c.inferred or c.shapes.shapes(c.fdef),
                                                         c.shapes.np_name):
        c.inferred = c.shapes.shapes(c.fdef)
    if c.shapes.float64_only and returns_container_displays(c.fdef):  # (finish casts a float32 term to float64)
        made_up = {n.id for n in walk_nodes(c.fdef) if isinstance(n, ast.Name)} - set(c.user_names)
        drop_container_finish(c.fdef, c.inferred or c.shapes.shapes(c.fdef), c.shapes.kinds, made_up)
    return c


def float_items_step(c: Code) -> Code:
    """In the shape-specialised code the NumPy path runs: the items of float64 array arguments a loop reads one
    by one read as Python floats (transforms/float_items.py), then the rewrites that know Python floats made
    again with them (a zero adjoint's guard as `g == 0.0`, a float argument's `finish` dropped)."""
    if not c.numpy_path or c.shapes is None or not _reads_argument_items_in_loops(c.fdef, c.shapes):
        return c
    shapes = c.shapes.shapes(c.fdef)
    if not read_items_as_floats(c.fdef, shapes, c.shapes.params, c.shapes.kinds, c.shapes.np_name, c.shapes.tapes,
                                c.rerun_safe or (lambda: False)):
        return c
    shapes = c.shapes.shapes(c.fdef)
    floats = {p for p in c.shapes.numbers if c.shapes.kinds.get(p) == "d"} | ({c.seed_one} if c.seed_one else set())
    names = shapes.python_float_names(floats)
    drop_float_finish(c.fdef, shapes, floats, names)
    inline_float_zero_tests(c.fdef, shapes, names)
    c.inferred = shapes
    return c


def item_sums_step(c: Code) -> Code:
    """In the shape-specialised code the NumPy path runs: the sums a loop adds into fixed items of a float64 adjoint
    array (`p_bar[2] -= e`) kept in local names through the loop (transforms/item_sums.py)."""
    if c.numpy_path and c.shapes is not None and updates_fixed_items(c.fdef, c.shapes.np_name) and sum_items_in_names(
            c.fdef, c.shapes.shapes(c.fdef), c.shapes.params, c.shapes.kinds, c.shapes.np_name):
        c.inferred = c.shapes.shapes(c.fdef)
    return c


def _reads_argument_items_in_loops(fdef, context) -> bool:
    """Whether a loop reads one item of a float64 array argument or of a slice of one bound to a name (`a[i]`,
    `a[i, j]`: an index per axis, none a slice), the cheap test before inferring shapes."""
    ndims = {p: len(context.params[p]) for p, k in context.kinds.items()
             if k == "d" and isinstance(context.params.get(p), tuple) and len(context.params[p]) >= 1}
    if not ndims:
        return False
    for s in fdef.body:  # (`t = x[:-1]` of `enumerate(x[:-1])`: a slice keeps its argument's axes)
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.Subscript) and isinstance(s.value.value, ast.Name) \
                and s.value.value.id in ndims and slices_only(s.value.slice):
            ndims.setdefault(s.targets[0].id, ndims[s.value.value.id])
    for loop in walk_nodes(fdef):
        if isinstance(loop, ast.For | ast.While):
            for n in walk_nodes(loop):
                if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id in ndims:
                    index = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
                    if len(index) == ndims[n.value.id] and not any(isinstance(i, ast.Slice) for i in index):
                        return True
    return False


def _unread_index_reads(fdef) -> bool:
    """Whether some top-level `t = a[i]` binds a name nothing reads (the cheap test before inferring shapes)."""
    reads = {n.id for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return any(isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
               and isinstance(s.value, ast.Subscript) and s.targets[0].id not in reads for s in fdef.body)


def _mentions(fdef, name):
    """Whether `name` appears in `fdef` as a name or an attribute (`np.broadcast_to`)."""
    return any(n.attr == name if isinstance(n, ast.Attribute) else isinstance(n, ast.Name) and n.id == name
               for n in walk_nodes(fdef))


def optimize(fdef: ast.FunctionDef, steps, removable: set[str] = frozenset(), adjoints: set[str] = frozenset(),
             stack: str | None = None, shapes: specialize.Context | None = None, record=None,
             seed_one: str | None = None, user_names=frozenset(), primal=None, numpy_path: bool = False,
             rerun_safe=None) -> ast.FunctionDef:
    """Apply the clean-up `steps` in order, (name, step) pairs of the step functions above (the list the
    pipeline runs is `s2s.pipeline.OPTIMIZER`); the function computes the same values afterwards.

        >>> fdef = ast.parse("def f(x): t = x * 1; return t").body[0]
        >>> steps = [("simplify", simplify_step), ("copyprop", copyprop_step), ("dce", dce_step)]
        >>> print(ast.unparse(optimize(fdef, steps, {"t"})))
        def f(x):
            return x

    `removable` names the variables (adjoints, temporaries of the backward
    sweep) whose assignments may be deleted; `adjoints` those that start as
    a literal zero and are accumulated into. Copies are propagated through
    the temporaries only (removable names that are not adjoints), so that
    `y_bar = out_bar` stays as readable as a person would write it.
    `shapes`, given when the argument shapes of a call are known, adds the
    shape-specialised rewrites of `specialize` (and lets dead-code elimination
    drop primal statements that cannot raise and that nothing reads).
    `record(name, fdef)`, if given, is called after each pass. `seed_one` names the seed keyword
    where every caller leaves it at its default 1.0 (the code of `s2s.grad`); `user_names` are
    the names of the user's function (only other, made-up, names are merged away); `primal` the lowered
    program a reverse-mode `fdef` was made from (read by `shifts_step`); `numpy_path` says the code is what
    `s2s.grad` runs with NumPy, neither lowered for numba nor differentiated again (`numpy_path_step`);
    `rerun_safe()` whether running it again gives the same result and changes nothing (`float_items_step`).
    """
    # (the tape's `stack = []` is removable too: dead-code elimination drops it once no push or pop is left)
    c = Code(fdef, set(removable) | ({stack} if stack else set()), set(adjoints), stack, shapes, seed_one=seed_one,
             user_names=frozenset(user_names), primal=primal, numpy_path=numpy_path, rerun_safe=rerun_safe)
    for name, step in steps:
        c = step(c)
        if record is not None:
            record(name, c.fdef)
    return c.fdef
