"""Adjoints in their values' dtypes: the seed in the output's, a conversion's adjoint in its operand's.

NumPy treats a Python number as weak: `3.3 * w[i]` of a float32 item is float32. Reverse-mode code
seeds with the Python number 1.0 (`s2s.grad` never passes its `out_bar`), so in code that holds
float32 and float64 values, a float64 value's adjoint met a float32 operand in float32: `x[i] *
w[i]` of a float64 x and a float32 w gave x's gradient 1.5e-7 off. The generated code therefore
gives the seed the output's dtype (`out_bar = s2s.seed_of(out_bar, out)`) and a conversion's
adjoint its operand's (`s2s.cast_back(g, x)` for `float(x)`, `x.astype(d)`, `np.float32(x)`,
`x.item()`), as JAX's transposes do.

Both only widen (a float32 adjoint of a float64 value, a Python number where the value is float64
or wider), and are needed only where the code holds floating values of more than one dtype. This
pass drops them where they are idle: the code reads no value whose dtype s2s does not see (an object's
`m.w`: `precision.hidden_read_site`) and is float64 only, or of one floating dtype (every
floating argument float32, nothing narrower made: every gradient is float32 then), or
`transforms.precision.Dtypes` proves the value always a Python number, or where it is a NumPy
value of the narrowest floating dtype the code makes (nothing narrower meets its adjoint), or for
the seed an output narrower than float64. In `s2s.grad`'s code it writes the seed
as a number of the output's dtype where that is known (`out_bar = np.float64(out_bar)`), so the
forward sweep need not compute the output for its dtype.

Example::

    settle_adjoint_dtypes(fdef, context, seed_one=True)
    # out_bar = s2s.seed_of(out_bar, out)  ->  (gone in float64 code; `out_bar = np.float64(out_bar)` in mixed)
    # t_bar = s2s.cast_back(g, t)          ->  t_bar = g (float64 code)
"""

from __future__ import annotations

import ast

import numpy as np

from .context import ctx
from .walk import fix_locations, walk

__all__ = ["settle_adjoint_dtypes"]


def settle_adjoint_dtypes(fdef: ast.FunctionDef, context, seed_one: bool) -> bool:
    """Drop the `s2s.seed_of(g, out)` line and the `s2s.cast_back(g, x)` calls of `fdef` that are idle (see the
    module docstring), and in code whose every caller leaves the seed at 1.0 (`seed_one`) write the seed in the
    output's dtype where the inference knows it. `context` is the call's `transforms.specialize.Context`. Returns
    whether anything changed."""
    runtime = ctx().runtime
    if not any(isinstance(n, ast.Call) and _helper(n, context, runtime) in ("seed_of", "cast_back") for n in walk(fdef)):
        return False
    # (one floating dtype: every floating argument float32, say, and nothing narrower made; a float64 value the code
    # makes may have its adjoint in float32 then, but every gradient is float32 at the end)
    # (a value whose dtype s2s does not see, `m.w` of an object argument, may be of any: `context.hidden`)
    seen = context.hidden is None
    dtypes = None if seen and (context.float64_only or context.one_floating_dtype) else context.dtypes(fdef, either=True)
    narrowest = context.narrowest if seen else None

    def idle(value, seed=False) -> bool:
        """Whether giving a Python number or an adjoint its dtype changes nothing: float64-only code, code of one
        floating dtype, a value always a Python number, one of the narrowest dtype where it is a NumPy value, or
        (`seed`) an output narrower than float64, whose seed `s2s.seed_of` leaves as given."""
        if dtypes is None:
            return True
        dtype = dtypes.numpy_or_number(value)  # (Dtypes keeps its fixed point: a second read of a name is a lookup)
        # (`is not None` first: NumPy reads None as float64, `np.dtype('float64') == None` is True)
        return isinstance(dtype, type) or dtype is not None and (
            narrowest is not None and dtype == narrowest or seed and dtype.itemsize < 8)

    changed = _seed(fdef, context, runtime, seed_one, idle, dtypes)

    class Casts(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if _helper(node, context, runtime) == "cast_back" and len(node.args) == 2 and idle(node.args[1]):
                nonlocal changed
                changed = True
                return node.args[0]
            return node

    Casts().visit(fdef)
    if changed:
        fix_locations(fdef)
    return changed


def _seed(fdef, context, runtime, seed_one, idle, dtypes) -> bool:
    """The `out_bar = s2s.seed_of(out_bar, out)` line: dropped where idle, the seed in the output's dtype where
    `seed_one` and that dtype is known, else kept with a comment saying why."""
    from .reverse import Comment  # (the comment node the code printer renders as a `#` line)

    for at, stmt in enumerate(fdef.body):
        value = stmt.value if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
        if not (isinstance(value, ast.Call) and _helper(value, context, runtime) == "seed_of" and len(value.args) == 2
                and isinstance(value.args[1], ast.Name)):
            continue
        if idle(value.args[1], seed=True):
            del fdef.body[at]
            return True
        dtype = dtypes.numpy_or_number(value.args[1])
        why = context.other_dtype or context.hidden_note or "mixed dtypes"
        if seed_one and isinstance(dtype, np.dtype) and dtype.kind == "f":
            stmt.value = ast.copy_location(ast.Call(
                func=ast.Attribute(value=ast.Name(id=context.np_name, ctx=ast.Load()), attr=dtype.name, ctx=ast.Load()),
                args=[value.args[0]], keywords=[]), value)
            note = Comment(f"s2s: the seed in {dtype.name}, the output's dtype: a Python 1.0 would give a wider value's "
                           f"adjoint the dtype of a narrower operand ({why})")
        else:
            known = "its output's dtype is not known here" if seed_one else "its cotangent may be given"
            note = Comment(f"s2s: the seed takes the output's dtype ({known}): a Python 1.0 would give a wider value's "
                           f"adjoint the dtype of a narrower operand ({why})")
        note.lineno = getattr(fdef.body[0], "lineno", 1)
        fdef.body.insert(0, note)  # (at the top, as `fold_unit_seed`'s: the later passes move the line itself)
        return True
    return False


def _helper(call, context, runtime):
    """The name of the runtime helper `call` calls (`s2s.seed_of(...)`), or None."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    try:
        module = context.resolve(func.value.id)
    except Exception:  # noqa: BLE001 - a local name of the code: no module
        return None
    return func.attr if module is runtime else None
