"""Unit tests of the passes that need nothing but an AST: input source -> expected output source.

exits, and the clean-up passes of the optimizer (simplify, dce, copyprop, zeros, tape). Each runs on a
small function parsed here; none needs a context, rules or the runtime.
"""

import ast
import textwrap

from s2s.transforms import copyprop, dce, exits, simplify, tape, zeros
from s2s.transforms.names import NameAllocator, names_in


def _run(src, apply):
    tree = ast.parse(textwrap.dedent(src)).body[0]
    out = apply(tree)
    return ast.unparse(out if out is not None else tree).strip()


def _same(got, want):
    assert got == textwrap.dedent(want).strip(), got


def test_exits_break_becomes_a_flag():
    got = _run("""
        def f(x):
            for i in range(3):
                if x > 1:
                    break
                x = x * 2
            return x
        """, lambda t: exits.structure_exits(t, NameAllocator(names_in(t))))
    _same(got, """
        def f(x):
            stop = False
            steps = range(3)
            step = 0
            while not stop and step < len(steps):
                i = steps[step]
                step = step + 1
                if x > 1:
                    stop = True
                if not stop:
                    x = x * 2
            return x
        """)


def test_exits_early_return_becomes_one_return():
    got = _run("""
        def f(x):
            if x > 0:
                return x
            return -x
        """, lambda t: exits.structure_exits(t, NameAllocator(names_in(t))))
    _same(got, """
        def f(x):
            returned = False
            result = None
            if x > 0:
                result = x
                returned = True
            if not returned:
                result = -x
                returned = True
            return result
        """)


def test_exits_leaves_straight_code_alone():
    src = """
        def f(x):
            y = x * 2
            return y
        """
    _same(_run(src, lambda t: exits.structure_exits(t, NameAllocator(names_in(t)))), src)


def test_simplify_folds_constants_and_drops_units():
    got = _run("""
        def f(x, t4):
            a_bar = t4 ** (2 - 1) * 1.0
            b_bar = a_bar + 0.0
            return b_bar
        """, lambda t: simplify.simplify(t, {"a_bar", "b_bar"}))
    _same(got, """
        def f(x, t4):
            a_bar = t4
            b_bar = a_bar
            return b_bar
        """)


def test_simplify_leaves_the_users_statements_alone():
    src = """
        def f(x):
            m = (x > 0) * 1.0
            return m
        """
    _same(_run(src, lambda t: simplify.simplify(t, {"other"})), src)


def test_dce_deletes_unread_removable_assignments_only():
    got = _run("""
        def f(x):
            t = x * 2
            u = x + 1
            v = x - 1
            return t
        """, lambda t: dce.eliminate_dead_code(t, {"u", "t"}))
    _same(got, """
        def f(x):
            t = x * 2
            v = x - 1
            return t
        """)


def test_copyprop_through_temporaries():
    got = _run("""
        def f(x, y_bar):
            g = y_bar
            x_bar = g * x
            return x_bar
        """, lambda t: copyprop.propagate_copies(t, {"g"}))
    _same(got, """
        def f(x, y_bar):
            g = y_bar
            x_bar = y_bar * x
            return x_bar
        """)


def test_zeros_accumulation_into_a_fresh_zero_is_an_assignment():
    got = _run("""
        def f(x, g):
            x_bar = 0.0
            x_bar = x_bar + g * x
            return x_bar
        """, lambda t: zeros.drop_zero_accumulations(t, {"x_bar"}))
    _same(got, """
        def f(x, g):
            x_bar = 0.0
            x_bar = g * x
            return x_bar
        """)


def test_tape_drops_values_restored_but_never_read():
    got = _run("""
        def f(x):
            stack = []
            stack.append(x)
            x = x * 2
            x = stack.pop()
            return 1.0
        """, lambda t: tape.drop_unread_restores(t, "stack"))
    _same(got, """
        def f(x):
            x = x * 2
            return 1.0
        """)
