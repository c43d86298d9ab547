"""Unit tests of transforms/definite.py: the reads that may find a name unbound, and the guards put before
them (input source -> expected output source)."""

import ast
import textwrap

from s2s.transforms.definite import guard_unbound_reads, maybe_unbound_reads
from s2s.transforms.names import NameAllocator, names_in


def _guarded(source):
    tree = ast.parse(textwrap.dedent(source)).body[0]
    changed = guard_unbound_reads(tree, NameAllocator(names_in(tree)))
    return changed, ast.unparse(tree)


def test_a_name_bound_in_a_loop_and_read_after_it_is_guarded_with_a_flag():
    changed, text = _guarded("""
        def f(x, n):
            for i in range(n):
                if x[i] > 0.5:
                    v = x[i]
                    del w
            return v + i
        """)
    assert changed
    assert text == textwrap.dedent("""\
        def f(x, n):
            i_bound = False
            v_bound = False
            for i in range(n):
                i_bound = True
                if x[i] > 0.5:
                    v = x[i]
                    v_bound = True
                    del w
            if not i_bound:
                raise UnboundLocalError("cannot access local variable 'i' where it is not associated with a value")
            if not v_bound:
                raise UnboundLocalError("cannot access local variable 'v' where it is not associated with a value")
            return v + i""")


def test_no_guard_where_every_path_binds_or_the_read_may_not_run():
    for source in ("""
        def f(x, c):
            if c:
                v = x
            else:
                v = -x
            return v
        """, """
        def f(x, n):
            for i in range(n):
                v = x
            g = lambda: v
            return [v for j in range(n)], (v if n else x), n and v
        """):
        assert _guarded(source) == (False, ast.unparse(ast.parse(textwrap.dedent(source)).body[0]))


def test_a_name_deleted_is_unbound_again():
    changed, text = _guarded("""
        def f(x):
            v = x
            del v
            return v
        """)
    assert changed and "v_bound = False\n    return v" in text.replace("    if not v_bound:\n        raise "
                                                                       "UnboundLocalError(\"cannot access local "
                                                                       "variable 'v' where it is not associated "
                                                                       "with a value\")\n", "")


def test_maybe_unbound_reads_follows_definite_assignment():
    tree = ast.parse(textwrap.dedent("""
        def f(x, n):
            for i in range(n):
                a = x
            b = 1.0
            if n:
                c = a
            raise ValueError(b, c)
        """)).body[0]
    reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) in
             maybe_unbound_reads(tree, {"i", "a", "b", "c"})}
    assert reads == {"a", "c"}


def test_no_guard_after_a_loop_of_literal_trips():
    changed, _ = _guarded("""
        def f(x):
            for _ in range(10):
                u = x * 2.0
            return u
        """)
    assert not changed
    changed, text = _guarded("""
        def f(x):
            for _ in range(0):
                u = x * 2.0
            return u
        """)
    assert changed and "if not u_bound" in text
