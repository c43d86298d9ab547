"""Unit tests of the passes that read a user function: desugar, lower, analysis, ownership,
aliasing, reverse and forward, each on a small function (input source -> expected output source).

These passes resolve names against the function's globals and look up rules, so they run with the
context `s2s.pipeline` installs (transforms/context.py); ownership needs none and runs on a bare AST.
"""

import ast
import textwrap

import numpy as np
import pytest
from s2s.transforms import analysis, ownership

from s2s import UnsupportedSyntaxError, pipeline


def aug(x):
    y = x
    y += 2.0
    return np.sum(y * x)


def nested(x, w):
    return np.sum(np.tanh(x @ w) ** 2)


def loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.sin(x) * i
    return s


def dead(x, c):
    y = x * 2.0
    z = c * 3.0
    return y + z


def view_update(x):
    v = x[0:2]
    x[0] = 1.0
    return np.sum(v)


def _same(got, want):
    assert got.strip() == textwrap.dedent(want).strip(), got


def test_desugar_guards_an_augmented_update_of_a_possible_alias():
    # the second argument names the error the check raises, bound with the code (transforms/refusals.py)
    low = pipeline.lowered(aug)
    _same(low.stage_text["desugar"], """
        def aug(x):
            y = x
            y = s2s.unshared(y + 2.0, site, False, y, x)
            return np.sum(y * x)
        """)
    assert list(low.refusals) == ["site"] and "`y` in place" in low.refusals["site"]["message"]
    assert low.refusals["site"]["lineno"] == aug.__code__.co_firstlineno + 2


def test_lower_gives_one_primitive_per_statement():
    _same(pipeline.lowered(nested).stage_text["lower"], """
        def nested(x, w):
            t = x @ w
            tanh = np.tanh(t)
            t2 = tanh ** 2
            out = np.sum(t2)
            return out
        """)


def test_lower_inside_a_loop():
    _same(pipeline.lowered(loop).stage_text["lower"], """
        def loop(x):
            s = 0.0
            for i in range(3):
                sin = np.sin(x)
                t = sin * i
                s = s + t
            return s
        """)


def test_analysis_activity():
    low = pipeline.lowered(dead)
    facts = analysis.analyze(low.pf, low.tree, ["x"])
    assert facts.active == {"x", "y", "out"}  # z depends on c only: no adjoint
    assert "z" not in facts.varied and "z" in facts.useful


def test_ownership_guards_an_update_through_an_alias():
    tree = ast.parse("def f(x):\n    y = x * 1.0\n    a = y\n    a += 1.0\n    return y").body[0]
    updates = ownership.analyse(tree, lambda name: None)
    assert [u.others for u in updates[id(tree.body[2])]] == [("y",)]


def test_ownership_summary_of_a_function_that_updates_its_parameter():
    tree = ast.parse("def f(p):\n    q = p\n    q += 1.0\n    return q * 2.0").body[0]
    summary = ownership.summarise(tree, lambda name: None)
    assert summary.returns_fresh and summary.updated_params == frozenset({"p"})


def test_ownership_refuses_an_update_of_a_global():
    tree = ast.parse("def f(x):\n    G[0] = x\n    return x").body[0]
    with pytest.raises(ownership.OwnershipError):
        ownership.analyse(tree, lambda name: np.zeros(3) if name == "G" else None)


def test_aliasing_refuses_a_view_read_after_an_update():
    with pytest.raises(UnsupportedSyntaxError, match="view taken before an update"):
        pipeline.lowered(view_update)


def test_reverse_unoptimized():
    _same(pipeline.derivative_code(nested, ("x",), "flat", False).source, """
        def dnested_dx(x, w, *, out_bar=1.0):
            s2s.numbers_or_arrays(x, 'x')
            s2s.numbers_or_arrays(w, 'w')
            t = x @ w
            tanh = np.tanh(t)
            t2 = tanh ** 2
            out = np.sum(t2)
            out_bar = s2s.seed_of(out_bar, out)
            # return np.sum(np.tanh(x @ w) ** 2)
            t2_bar = s2s.expand_reduced(out_bar, t2, None, False)
            out_bar = 0.0
            tanh_bar = t2_bar * 2 * tanh ** (2 - 1)
            t2_bar = 0.0
            t_bar = tanh_bar * (1 - tanh * tanh)
            tanh_bar = 0.0
            x_bar = s2s.grad_matmul_a(t_bar, x, w)
            t_bar = 0.0
            return s2s.finish(x_bar, x)
        """)


def test_reverse_tapes_what_a_loop_overwrites():
    source = pipeline.derivative_code(loop, ("x",), "flat", False).source
    assert "stack.append(s)" in source and "s = stack.pop()" in source
    assert "for i in reversed(range(3)):" in source


def test_forward_optimized_folds_tangent_code():
    _same(pipeline.derivative_code(nested, ("x",), "jvp", True).source, """
        def nested_jvp(x, w, *, x_dot):
            s2s.numbers_or_arrays(x, 'x')
            s2s.numbers_or_arrays(w, 'w')
            t = x @ w
            t_dot = x_dot @ w
            tanh = np.tanh(t)
            tanh_dot = t_dot * (1 - tanh * tanh)
            t2 = tanh ** 2
            t2_dot = tanh_dot * 2 * tanh
            out = np.sum(t2)
            out_dot = np.sum(t2_dot, axis=None, keepdims=False)
            return out, s2s.finish(out_dot, out)
        """)


def test_forward_over_reverse_keeps_the_tangent_tape_pops():
    # a tangent assigned from stack_dot.pop() is never deleted: the pop keeps the tape in step
    import s2s
    from s2s import pipeline as p

    def comprehension(x):
        return sum([v * v for v in x if v > 0])

    source = p.stages(s2s.derivative(comprehension), 0, "forward")["derivative"]
    assert source.count("stack_dot.pop()") == source.count("stack.pop()")
    x = np.array([0.5, -1.0, 2.0, 1.5, -0.3])
    np.testing.assert_allclose(np.diag(s2s.hessian(comprehension)(x)), 2.0 * (x > 0))


def test_forward_unoptimized():
    _same(pipeline.derivative_code(nested, ("x",), "jvp", False).source, """
        def nested_jvp(x, w, *, x_dot):
            s2s.numbers_or_arrays(x, 'x')
            s2s.numbers_or_arrays(w, 'w')
            t = x @ w
            t_dot = x_dot @ w
            tanh = np.tanh(t)
            tanh_dot = t_dot * (1 - tanh * tanh)
            t2 = tanh ** 2
            t2_dot = tanh_dot * 2 * tanh ** (2 - 1)
            out = np.sum(t2)
            out_dot = np.sum(t2_dot, axis=None, keepdims=False)
            return out, s2s.finish(out_dot, out)
        """)
