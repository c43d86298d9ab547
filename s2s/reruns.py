"""Whether a derivative may be run a second time to the same effect: what `s2s.grad` asks before it runs the code
again in NumPy numbers where Python floats divided by zero (api.in_numpy_numbers), and what the NumPy path's
Python-float item reads ask at transform time (transforms/float_items.py, through pipeline.py).

    >>> plain_data([1.0, np.ones(2)]), plain_data(np.random.default_rng(0))
    (True, False)
"""

from __future__ import annotations

import dis
import numbers

import numpy as np


def plain_data(value) -> bool:
    """Numbers, strings, None, NumPy arrays and lists, tuples and dicts of them: what a second run cannot find
    changed by the first (no generator, no object with state of its own)."""
    if value is None or isinstance(value, numbers.Number | np.generic | np.ndarray | str):
        return True
    if type(value) in (list, tuple):
        return all(plain_data(v) for v in value)
    return type(value) is dict and all(plain_data(v) for v in value.values())


_NUMPY_SCALAR_TYPES = {"floating", "generic", "number", "inexact", "float64", "float32", "double", "integer"}


def writes_globals(target) -> bool:
    """Whether `target`'s code binds a global name (`global calls; calls += 1`): s2s runs it no more than once per
    call of a derivative (a second run, on copies of its arguments, would count or log twice).

        >>> writes_globals(lambda x: x * 2.0)
        False
    """
    code = getattr(target, "__code__", None)
    return code is not None and any(i.opname in ("STORE_GLOBAL", "DELETE_GLOBAL") for i in dis.get_instructions(code))


def may_differ_when_run_again(target, writes_checked: bool = False) -> bool:
    """Whether running `target` again may give another result or change something (transforms/effects.py: random
    draws, `next()`, methods of objects, stores into attributes or items, functions s2s cannot read; an update
    of an argument or of something outside it, transforms/ownership.py), or its code tests a type (`type(x) is
    float` tells a Python float from the np.float64 of the second run). A `print` is no effect here: a function
    that prints prints again where its derivative is run again in NumPy numbers (an inf or NaN given, with the
    line twice, rather than a ZeroDivisionError where the function gives a number).

    `writes_checked`: the derivative code that ran first is known to call nothing but NumPy, `math`, the runtime
    and builtins without effects, and to write into nothing it did not make (its specialised code was read:
    transforms/float_items.py), so what the function's summary says it may update (`N = p[2]; N += d` updates p
    where p[2] is a 0-d array) it did not, and its stores into items were into its own arrays.

        >>> may_differ_when_run_again(lambda x: x * 2.0), may_differ_when_run_again(np.random.normal)
        (False, True)
    """
    from s2s.transforms import effects
    from s2s.transforms.desugar import callee_summary
    code = getattr(target, "__code__", None)
    if code is None or "type" in code.co_names or "isinstance" in code.co_names and _NUMPY_SCALAR_TYPES & set(
            code.co_names):
        return True  # (`isinstance(a, np.floating)` tells the np.float64 of the second run from a Python float)
    try:
        # (an argument's list the first run appended to is restored by the backward sweep it did not finish)
        summary = callee_summary(target)
        if summary is None:
            return True
        # (the code that ran, calling nothing else, wrote only into what it made: the function's stores into its own
        # arrays, which the summary and the effects analysis cannot tell from others', changed nothing a rerun reads)
        return not writes_checked and (bool(summary.updated_params) or bool(summary.changes_outside)
                                       or effects.function_effect(target) is not None)
    except Exception:  # noqa: BLE001 - s2s cannot read it all: it may
        return True


class RerunSafety:
    """The question the NumPy path's Python-float item reads ask at transform time (transforms/float_items.py):
    called with whether the code writes only into what it made, it answers for `target`, and remembers where
    that knowledge was needed (`writes_checked`, which the same question at run time is then given).

        >>> safety = RerunSafety(f)   # def f(p): N = p[2]; N += 1.0 / p[0]; return N
        >>> safety(True), safety.writes_checked
        (True, True)
    """

    def __init__(self, target):
        self.target, self.writes_checked = target, False

    def __call__(self, own_writes_only: bool) -> bool:
        if not may_differ_when_run_again(self.target):
            return True
        if own_writes_only and not may_differ_when_run_again(self.target, writes_checked=True):
            self.writes_checked = True
            return True
        return False
