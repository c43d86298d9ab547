"""Facts the passes attach to AST nodes, in one place.

A pass that learns something about a node which a later pass needs records it here, on the node, by
one of these accessors (the attribute names are private to this module). Every such fact:

`global_name` (Name): the name denotes a global or builtin of the user's module (`np`, `math`, a
    helper function), not a local variable. Set by `lower`; read by analysis, forward, sequences.
`helper` (Name): the name denotes one of s2s's own helpers (`s2s`, `np`, `unbroadcast` inside
    generated code) and is renamed by the pipeline if the user's function uses the name. Set by
    `desugar` and `lower`.
`resolved` (Call.func): the object a call's function expression was resolved to when s2s itself
    wrote the call (desugared `len`, `range`, builtins), so it is not looked up again.
`augmented` (Assign): the assignment was written `x += v` by the user (desugar).
`in_place` (BinOp): the operation of `x op= v` (desugar), which Python does in place on an array: lower writes
    the check `s2s.inplace_check(x, v, "op")` before it (NumPy's error where the result does not fit x).
`checkpoint_every` (For/While): `for ... in s2s.checkpoint(xs, every=k)`: the k (desugar; lower and
    exits carry it over to the loops they make; reverse checkpoints the loop).
`local_helpers` (FunctionDef): the user's local helper functions that `lower` expands at their call
    sites (desugar).
`trip_counter` (For/While): the name of the variable counting the loop's trips (reverse).
`checkpoint_names` (For): the names of the steps, segment, snapshots and start variables of a
    checkpointed loop (reverse; the pipeline reads the snapshots list to know the tapes).
`loop_test` (While): the statements that compute a lowered while loop's condition, run before each
    test (lower; reverse and forward replay them with the body).
`checkpoint_carried` (For): the values a checkpointed loop carries from one trip to the next and the
    lists it appends to (reverse).
`refusals` (FunctionDef): the errors the function's run-time checks raise (`s2s.unshared`,
    `s2s.effect_free`), by the name each check passes its record under (desugar and loops, through
    transforms/refusals.py; the pipeline binds the names in the generated code's closure), also where
    its calls through function values are (reverse) and the code of its local functions passed as
    values (inline).
`names` (FunctionDef): the NameAllocator of the transform (the pipeline), for refusals.site called by
    a pass handed none.
`placeholder` (Assign): `t = t2 = None`, the tape's placeholder the pipeline writes before the forward sweep
    for values pushed before their first assignment: never read as a value (a `v = None` of your own is
    a value; shapes reads it as one).
`extreme_of` (Call): `s2s.balanced_eq(x, ans, c)` written by the adjoint of `ans = np.maximum(x, c)` (or
    np.minimum, either argument order): the function, np.maximum or np.minimum. Where the call runs,
    x and ans hold the values of that statement, as the helper's own result needs (reverse; read by
    specialize, which then needs no single definition of ans to know what it is).
`fresh_locals` (a statement): the first statement of a helper's body expanded in place (inline), with the names
    its locals were given: unbound there, as a call's locals are, even where an earlier expansion of the same
    call (in a loop) bound them (definite.py).
`expanded_names` (FunctionDef): the names the expansion of a helper's statements gave its parameters and
    locals (inline): names of code you wrote, as the function's own are (aliasing reads it).
`written_as` (a statement): the text you wrote for a statement a pass rewrote (`np.add.at(a, i, b)`, written
    `a[...] = s2s.added_at(a, i, b)` by ufunc_at): the messages that quote the statement quote it so (desugar).
`entry_check` (Call): `s2s.numbers_or_arrays(p, 'p')` checking a parameter's value where the function starts (a
    value it is bound to later is checked where it is bound): specialize drops it by what the parameter is given
    (operator_objects).
"""

from __future__ import annotations

import ast
from typing import Any

GLOBAL = "s2s_global"
HELPER = "s2s_helper"
RESOLVED = "s2s_obj"
AUGMENTED = "s2s_augmented"
IN_PLACE = "s2s_in_place"
CHECKPOINT_EVERY = "s2s_checkpoint"
LOCAL_HELPERS = "s2s_local_helpers"
TRIP_COUNTER = "s2s_counter"
CHECKPOINT_NAMES = "s2s_ckpt"
CHECKPOINT_CARRIED = "s2s_ckpt_carried"
LOOP_TEST = "s2s_test"
REFUSALS = "s2s_refusals"
NAMES = "s2s_names"
EXPANDED_NAMES = "s2s_expanded_names"
EXPANDED_RESULTS = "s2s_expanded_results"  # the names an expanded helper's result is bound to
RECORD_ITEMS = "s2s_record_items"  # {variable: `d["k"]`}: what the user wrote for a record's variable (records.py)
PLACEHOLDER = "s2s_placeholder"
EXTREME_OF = "s2s_extreme_of"
FRESH_LOCALS = "s2s_fresh_locals"
USER_NAMES = "s2s_user_names"  # {name: the name you wrote}: the locals and parameters of helpers expanded in place
WRITTEN_AS = "s2s_written_as"
ENTRY_CHECK = "s2s_entry_check"  # `s2s.numbers_or_arrays(p, 'p')` of a parameter: its value where the function starts

ALL = (GLOBAL, HELPER, RESOLVED, AUGMENTED, IN_PLACE, CHECKPOINT_EVERY, LOCAL_HELPERS, TRIP_COUNTER, CHECKPOINT_NAMES,
       CHECKPOINT_CARRIED, LOOP_TEST, REFUSALS, NAMES, EXPANDED_NAMES, EXPANDED_RESULTS, PLACEHOLDER,
       EXTREME_OF, RECORD_ITEMS, FRESH_LOCALS, USER_NAMES, WRITTEN_AS, ENTRY_CHECK)

_ABSENT = object()


def get(node: ast.AST, fact: str, default: Any = None) -> Any:
    """The fact recorded on `node`, or `default`."""
    return getattr(node, fact, default)


def has(node: ast.AST, fact: str) -> bool:
    return getattr(node, fact, _ABSENT) is not _ABSENT


def put(node: ast.AST, fact: str, value: Any = True) -> None:
    """Record `fact` (one of the names above) on `node`."""
    assert fact in ALL, fact
    setattr(node, fact, value)


def carry(source: ast.AST, target: ast.AST, fact: str) -> None:
    """Copy `fact` from `source` to `target` where `source` has it (a pass replacing a node by another)."""
    if has(source, fact):
        put(target, fact, get(source, fact))


def is_global(node: ast.AST) -> bool:
    return bool(getattr(node, GLOBAL, False))


def is_helper(node: ast.AST) -> bool:
    return bool(getattr(node, HELPER, False))


def resolved(node: ast.AST) -> Any:
    return getattr(node, RESOLVED, None)
