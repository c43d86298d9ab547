"""Unit tests of transforms/loops.py: `for` over anything becomes `for` over `range` (input source ->
expected output source). The rewriter resolves names (is `zip` the builtin?) through the parsed
function, so it runs with the context `s2s.pipeline` installs."""

import ast
import textwrap

import numpy as np
import pytest
from s2s.transforms import loops
from s2s.transforms.desugar import local_names
from s2s.transforms.names import NameAllocator, names_in

from s2s import UnsupportedSyntaxError, frontend, pipeline  # noqa: F401 - pipeline installs the context


def over_enumerate_zip(xs, ys):
    s = 0.0
    for i, (a, b) in enumerate(zip(xs, ys)):
        s = s + i * a * b
    return s


def over_zip_with_range(xs, n):
    s = 0.0
    for a, i in zip(xs, range(n - 1, 2 * n, 3)):
        s = s + i * a
    return s


def over_range(x):
    for _ in range(3):
        x = x * 2.0
    return x


def updates_what_it_iterates(v):
    for e in v:
        v[0] = e
    return np.sum(v)


def _rewritten(func):
    pf = frontend.parse_function(func)
    tree = pf.tree
    rewriter = loops.LoopRewriter(pf, local_names(tree), NameAllocator(names_in(tree)))
    rewriter.visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree)).strip()


def _same(got, want):
    assert got == textwrap.dedent(want).strip(), got


def test_enumerate_of_zip_becomes_a_range_loop_over_explicit_sequences():
    _same(_rewritten(over_enumerate_zip), """
        def over_enumerate_zip(xs, ys):
            s = 0.0
            s2s.not_an_iterator(xs, site)
            seq = s2s.as_sequence(xs)
            s2s.not_an_iterator(ys, site2)
            seq2 = s2s.as_sequence(ys)
            for k in range(min(len(seq), len(seq2))):
                i, (a, b) = (k + 0, (seq[k], seq2[k]))
                s = s + i * a * b
            return s
        """)


def test_a_range_zipped_with_a_sequence_is_counted():
    _same(_rewritten(over_zip_with_range), """
        def over_zip_with_range(xs, n):
            s = 0.0
            s2s.not_an_iterator(xs, site)
            seq = s2s.as_sequence(xs)
            start = n - 1
            stop = 2 * n
            for k in range(min(len(seq), len(range(start, stop, 3)))):
                a, i = (seq[k], start + k * 3)
                s = s + i * a
            return s
        """)


def left_early(xs, it):
    s = 0.0
    for a in xs:
        s = s + a
        if s > 1.0:
            break
    for i in iter(it):
        s = s * i
        if s > 2.0:
            break
    for a in xs[1:]:
        s = s - a
        if s < 0.0:
            return s
    for i in it:
        s = s + i
    return s


def test_a_loop_checks_first_that_it_runs_over_no_iterator():
    """What a name holds is checked to be no iterator (taking all its items first would show: another name for
    it, `next`, a break); of a new iterator made in the loop statement (`iter(it)`), what it runs over; nothing of
    a slice."""
    _same(_rewritten(left_early), """
        def left_early(xs, it):
            s = 0.0
            s2s.not_an_iterator(xs, site)
            seq = s2s.as_sequence(xs)
            for k in range(len(seq)):
                a = seq[k]
                s = s + a
                if s > 1.0:
                    break
            s2s.not_an_iterator(it, site2)
            seq2 = s2s.as_sequence(iter(it))
            for k2 in range(len(seq2)):
                i = seq2[k2]
                s = s * i
                if s > 2.0:
                    break
            seq3 = s2s.as_sequence(xs[1:])
            for k3 in range(len(seq3)):
                a = seq3[k3]
                s = s - a
                if s < 0.0:
                    return s
            s2s.not_an_iterator(it, site3)
            seq4 = s2s.as_sequence(it)
            for k4 in range(len(seq4)):
                i = seq4[k4]
                s = s + i
            return s
        """)


def test_a_range_loop_stays():
    _same(_rewritten(over_range), """
        def over_range(x):
            for _ in range(3):
                x = x * 2.0
            return x
        """)


def test_a_loop_that_updates_its_sequence_is_refused():
    with pytest.raises(UnsupportedSyntaxError, match="updates `v` in place while it iterates"):
        _rewritten(updates_what_it_iterates)


def comprehension(xs):
    return np.sum(np.array([x * 2.0 for x in xs]))


def test_lower_rewrites_a_comprehension_loop_with_the_same_code():
    """lower writes a comprehension as a loop and hands it to loops.rewrite_loops (no pass calls another)."""
    _same(pipeline.lowered(comprehension).stage_text["lower"], """
        def comprehension(xs):
            items = []
            s2s.not_an_iterator(xs, site)
            seq = s2s.as_sequence(xs)
            len_out = len(seq)
            for k in range(len_out):
                x2 = seq[k]
                t = x2 * 2.0
                items.append(t)
            array = np.array(items)
            out = np.sum(array)
            return out
        """)


def over_zip_strict(x):
    return sum(a * b for a, b in zip(x, x[1:], strict=True))


def over_zip_not_strict(x):
    return sum(a * b for a, b in zip(x, x[::-1], strict=False))


def test_zip_strict_is_refused_and_strict_false_is_zip():
    # Python raises for zip(x, x[1:], strict=True); s2s's loop ran to the shortest and gave a gradient
    import s2s
    x = np.array([0.3, -0.7, 1.2])
    with pytest.raises(UnsupportedSyntaxError, match="strict=True"):
        s2s.grad(over_zip_strict)(x)
    np.testing.assert_allclose(s2s.grad(over_zip_not_strict)(x), 2 * x[::-1])
