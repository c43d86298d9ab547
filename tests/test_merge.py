"""Number temporaries read once are written into their reader (transforms/merge.py).

The scalar loops below: the generated names merge away, the user's names stay, and the
gradient equals the general code's (s2s.derivative) exactly (where no like terms are combined,
transforms/like_terms.py, which changes rounding) and agrees with central differences and autograd.
"""

import ast

import pytest
from helpers_fd import check_all
from test_tape_recompute import newton_sqrt as newton

import s2s


def euler(k, x0):
    x, v = x0, 0.0
    for _ in range(30):
        a = -k * x - 0.1 * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    return x * x + v * v


def reused(x, y):
    s = 0.0
    for _ in range(4):
        t = x * y
        s = s + t * t + t  # the user's t stays, read three times
    return s


def _assigned(src):
    fdef = ast.parse(src).body[-1]
    return [s for s in ast.walk(fdef) if isinstance(s, ast.Assign)]


def test_euler_loop_reads_like_the_hand_written_one():
    src = s2s.source(s2s.grad(euler), 1.3, 0.8)
    lines = [ast.unparse(s) for s in _assigned(src)]
    assert "a = t2 * x - 0.1 * v" in lines or any(line.startswith("a = ") and " * x - 0.1 * v" in line
                                                     for line in lines), src
    assert "v_bar = v_bar + x_bar * 0.01 - a_bar * 0.1" in lines, src
    assert "k_bar = k_bar - a_bar * x" in lines, src
    for g, general in zip(s2s.grad(euler, wrt=(0, 1))(1.3, 0.8), s2s.derivative(euler, wrt=(0, 1))(1.3, 0.8)):
        assert g == general
    check_all(euler, (1.3, 0.8), wrt=(0, 1))


def test_user_names_are_not_merged():
    src = s2s.source(s2s.grad(reused), 0.4, 1.1)
    lines = [ast.unparse(s) for s in _assigned(src)]
    assert any(line.startswith("t = ") for line in lines), src
    # (t + t: like terms, 2.0 * t, rounded otherwise)
    assert s2s.grad(reused)(0.4, 1.1) == pytest.approx(s2s.derivative(reused)(0.4, 1.1), rel=1e-14)
    check_all(reused, (0.4, 1.1), wrt=(0, 1))


def test_a_loop_tests_temporaries_merge_though_bound_before_the_loop_and_in_it():
    """The test of a while loop is computed before it and again at the end of its body: its temporaries are
    bound twice, each binding dead after its one read (dce.live_after)."""
    src = s2s.source(s2s.grad(newton), 2.3)
    lines = [ast.unparse(s) for s in _assigned(src)]
    assert lines.count("cond = abs(x * x - a) > 1e-12") == 2, src
    assert s2s.grad(newton)(2.3) == s2s.derivative(newton)(2.3)
    check_all(newton, (2.3,))


def read_after_the_loop(a, b):
    s = 0.0
    k = 0
    while k < 3:
        s = s + a * b
        k += 1
    return s * (a - b)


def test_a_temporary_read_again_later_is_not_merged_into_its_first_reader():
    from s2s.transforms.dce import live_after
    from s2s.transforms.merge import merge_number_temporaries
    from s2s.transforms.shapes import Shapes
    from s2s.transforms.specialize import _pure, runtime_helpers

    fdef = ast.parse("def f(a, b):\n    t = a * b\n    u = t + 1.0\n    while u < 9.0:\n        u = u + t\n"
                     "        t = a * b\n        v = t - 1.0\n    return u + v").body[0]
    live = live_after(fdef)
    assert "t" in live[id(fdef.body[0])] and "t" in live[id(fdef.body[1])]  # read again in the loop
    inner = fdef.body[2].body
    assert "t" in live[id(inner[1])] and "t" in live[id(inner[2])]  # the loop's next trip reads it
    shapes = Shapes(fdef, {"a": (), "b": ()}, lambda n: None, runtime_helpers(), kinds={"a": "d", "b": "d"})
    merge_number_temporaries(fdef, shapes, _pure, {"t", "u", "v"})
    assert ast.unparse(fdef).count("t = a * b") == 2
    assert s2s.grad(read_after_the_loop, wrt=(0, 1))(0.7, 1.9) == s2s.derivative(read_after_the_loop, wrt=(0, 1))(0.7, 1.9)
    check_all(read_after_the_loop, (0.7, 1.9), wrt=(0, 1))


def test_a_read_moved_later_by_one_merge_keeps_its_value_live_for_the_next():
    """`b_bar = t3` written into `b_bar = b_bar + y` reads t3 after `a_bar = t3 * y`: t3 is then live after that
    statement, so it is not written into it (the liveness found before the merges is kept up to date)."""
    from s2s.transforms.merge import merge_number_temporaries
    from s2s.transforms.shapes import Shapes
    from s2s.transforms.specialize import _pure, runtime_helpers

    import s2s.pipeline  # noqa: F401  (installs the context the passes read)

    text = ("def f(x, y):\n    t3 = x * 2.0\n    b_bar = t3\n    a_bar = t3 * y\n    b_bar = b_bar + y\n"
            "    return a_bar, b_bar")
    fdef = ast.parse(text).body[0]
    shapes = Shapes(fdef, {"x": (), "y": ()}, lambda n: None, runtime_helpers(), kinds={"x": "d", "y": "d"})
    assert merge_number_temporaries(fdef, shapes, _pure, {"t3", "b_bar", "a_bar"})
    merged = ast.unparse(fdef)
    assert "t3 = x * 2.0" in merged and merged.count("t3") == 3, merged
    scope = {}
    exec(merged, scope)
    assert scope["f"](1.5, 0.25) == (0.75, 3.25)


def _random_program(rng):
    """A function of x and y of number temporaries t0..t4: assignments of arithmetic, some in a loop."""
    bound = ["x", "y"]
    names = [f"t{i}" for i in range(5)]

    def expr():
        a, b = rng.choice(bound), rng.choice(bound)
        return rng.choice([f"{a} + {b}", f"{a} * {b}", f"{a} - {b}", f"-{a}", f"{a} * 0.5", f"abs({a})", a])

    lines = []
    for _ in range(rng.randint(3, 9)):
        if rng.random() < 0.15:  # a test copied into the name an `if` reads (the lowering of `and`)
            test, copy = rng.choice(names), rng.choice(names)
            lines.append(f"    {test} = {rng.choice(bound)} > {rng.choice(bound)}")
            bound += [n for n in (test, copy) if n not in bound]
            target = rng.choice([n for n in bound if n in names])  # (bound before: read after the `if` either way)
            lines += [f"    {copy} = {test}", f"    if {copy}:", f"        {target} = {expr()}"]
        elif rng.random() < 0.2:
            lines.append("    for _ in range(2):")
            for _ in range(rng.randint(1, 3)):
                target = rng.choice(names)
                lines.append(f"        {target} = {expr()}")
                if target not in bound:
                    bound.append(target)
        else:
            target = rng.choice(names)
            lines.append(f"    {target} = {expr()}")
            if target not in bound:
                bound.append(target)
    outs = rng.sample(bound, min(3, len(bound)))
    return "def f(x, y):\n" + "\n".join(lines) + f"\n    return ({', '.join(outs)},)"


def test_merged_programs_compute_what_they_computed():
    """A fuzzer of the pass itself: random number programs, merged and run against the program as it was."""
    import random

    from s2s.transforms.merge import merge_number_temporaries
    from s2s.transforms.shapes import Shapes
    from s2s.transforms.specialize import _pure, runtime_helpers

    import s2s.pipeline  # noqa: F401  (installs the context the passes read)

    rng = random.Random(11)
    merged_some = 0
    for _ in range(400):
        text = _random_program(rng)
        fdef = ast.parse(text).body[0]
        shapes = Shapes(fdef, {"x": (), "y": ()}, lambda n: None, runtime_helpers(), kinds={"x": "d", "y": "d"})
        merged_some += merge_number_temporaries(fdef, shapes, _pure, {f"t{i}" for i in range(5)})
        before, after = {}, {}
        exec(text, before)
        exec(ast.unparse(fdef), after)
        assert after["f"](1.25, -0.75) == before["f"](1.25, -0.75), (text, ast.unparse(fdef))
    assert merged_some > 100


def test_a_copy_read_only_by_the_next_if_test_is_the_test():
    """`cond2 = cond; if cond2: cond = ...` (the lowering of `and`) is `if cond: cond = ...`: the test is read
    before the branch runs; not where the copy is read again."""
    from s2s.transforms.merge import merge_number_temporaries
    from s2s.transforms.shapes import Shapes
    from s2s.transforms.specialize import _pure, runtime_helpers

    import s2s.pipeline  # noqa: F401  (installs the context the passes read)

    src = s2s.source(s2s.grad(newton), 2.3)
    assert "cond2" not in src and src.count("if cond:") == 2, src
    text = ("def f(a, b):\n    c = a > b\n    c2 = c\n    if c2:\n        c = b > 0.0\n    d2 = c\n    if d2:\n"
            "        c = a > 1.0\n    return c, d2")
    fdef = ast.parse(text).body[0]
    shapes = Shapes(fdef, {"a": (), "b": ()}, lambda n: None, runtime_helpers(), kinds={"a": "d", "b": "d"})
    merge_number_temporaries(fdef, shapes, _pure, {"c2", "d2"})
    merged = ast.unparse(fdef)
    assert "c2" not in merged and "d2 = c" in merged and "if d2:" in merged, merged
    for args in ((2.0, 1.0), (0.5, 1.0), (2.0, -1.0)):
        before, after = {}, {}
        exec(text, before)
        exec(merged, after)
        assert before["f"](*args) == after["f"](*args)


def test_a_quotient_moves_past_tape_pushes_only_into_a_reader_that_cannot_raise_otherwise():
    """`t = a / x` may raise (x == 0.0): it is written into `x = 0.5 * (x + t)` past `stack.append(x)`, which
    only the derivative's own tape sees, and not past a statement of another kind or into a reader that may
    raise itself."""
    from s2s.transforms.merge import merge_number_temporaries
    from s2s.transforms.shapes import Shapes
    from s2s.transforms.specialize import _pure, runtime_helpers

    import s2s.pipeline  # noqa: F401  (installs the context the passes read)

    def merged(body):
        fdef = ast.parse("def f(a, x):\n    stack = []\n" + body + "    return x, stack").body[0]
        shapes = Shapes(fdef, {"a": (), "x": ()}, lambda n: None, runtime_helpers(), kinds={"a": "d", "x": "d"})
        merge_number_temporaries(fdef, shapes, _pure, {"t"}, "stack")  # (u: a name of yours)
        return ast.unparse(fdef)

    assert "x = 0.5 * (x + a / x)" in merged("    t = a / x\n    stack.append(x)\n    x = 0.5 * (x + t)\n")
    assert "t = a / x" in merged("    t = a / x\n    u = x * 2.0\n    x = 0.5 * (u + t)\n")  # not a push between
    assert "t = a / x" in merged("    t = a / x\n    stack.append(x)\n    x = t / x\n")  # the reader divides too
    assert s2s.grad(newton)(2.0) == s2s.derivative(newton)(2.0)
    check_all(newton, (2.0,))
