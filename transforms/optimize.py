"""The clean-up passes run over generated code, in order; each lives in its own module.

1. `simplify`: algebraic simplification and constant folding (`x * 1`, `2 - 1`).
2. `dce`: assignments to made-up names that nothing reads are deleted (run
   again at the end; the first run clears resets that would block step 3).
3. `copyprop`: copy propagation into made-up names (`g = y_bar; ... g ...`).
4. `zeros`: accumulation into a known-zero adjoint becomes plain assignment.
   Then, for code specialised to the argument shapes of a call, `specialize`:
   `unbroadcast` dropped where shapes are equal, matrix-product adjoints
   inlined, the loss value not computed when only the gradient is needed.
5. `tape`: values saved on the tape but restored where nothing reads them are
   not saved at all (the per-place refinement of the to-be-recorded analysis).
6. For shape-specialised code, adjoint arrays that are certainly their own are
   accumulated in place (`W_bar += e`) instead of copied at each step.

The activity analysis (no adjoint for what needs none), the to-be-recorded
analysis (tape only overwritten values the backward sweep reads) and the
replay of fixed-bound loops without a tape happen while the code is
generated, in `transforms/analysis.py` and `transforms/reverse.py`.
"""

from __future__ import annotations

import ast

from . import specialize
from .copyprop import propagate_copies
from .dce import eliminate_dead_code
from .simplify import simplify
from .tape import drop_unread_restores
from .zeros import drop_zero_accumulations


def optimize(fdef: ast.FunctionDef, removable: set[str] = frozenset(), adjoints: set[str] = frozenset(),
             stack: str | None = None, shapes: specialize.Context | None = None) -> ast.FunctionDef:
    """Apply the clean-up passes; the function computes the same values afterwards.

    `removable` names the variables (adjoints, temporaries of the backward
    sweep) whose assignments may be deleted; `adjoints` those that start as
    a literal zero and are accumulated into. Copies are propagated through
    the temporaries only (removable names that are not adjoints), so that
    `y_bar = out_bar` stays as readable as a person would write it.
    `shapes`, given when the argument shapes of a call are known, adds the
    shape-specialised rewrites of `specialize` (and lets dead-code elimination
    drop primal statements that cannot raise and that nothing reads).
    """
    removable = set(removable)
    fdef = simplify(fdef, removable)
    fdef = eliminate_dead_code(fdef, removable)
    fdef = propagate_copies(fdef, removable - set(adjoints))
    fdef = drop_zero_accumulations(fdef, set(adjoints))
    if shapes is not None:
        fdef = eliminate_dead_code(fdef, removable)  # resets of adjoints that hide their shapes
        fdef, pure, inferred = specialize.specialize(fdef, shapes, stack)
        removable |= pure
    fdef = eliminate_dead_code(fdef, removable)
    if shapes is not None and specialize.logistic(fdef, inferred, removable, shapes.np_name):
        fdef = eliminate_dead_code(fdef, removable)  # the logaddexp that nothing reads now
    fdef = drop_unread_restores(fdef, stack)
    if shapes is not None and shapes.float64_only:  # (a float32 array must not take float64 terms in place)
        fdef = specialize.accumulate_in_place(fdef, inferred, set(adjoints))
    return fdef
