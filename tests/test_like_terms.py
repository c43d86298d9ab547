"""Like terms of an adjoint's sum added once (transforms/like_terms.py).

The pass on its own (what it combines and what it leaves), then programs whose product rule writes
equal terms: their gradients against central differences and autograd, the general code
(s2s.derivative, which does not combine) up to rounding, float32 kept, and the compiled path.
"""

import ast
import textwrap

import numpy as np
import pytest
from helpers_fd import check_all

import s2s
from transforms.like_terms import combine_like_terms


class _Numbers:
    """Shapes as the pass asks them: every name a real number, every literal a number."""

    def of(self, node):
        return ()

    def real(self, node):
        return not isinstance(node, ast.Constant) or type(node.value) is float


class _Arrays(_Numbers):
    def of(self, node):
        return (3,)


def _pure(node, shapes):
    return not any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) for n in ast.walk(node))


def _rewrite(src, shapes=None):
    fdef = ast.parse(textwrap.dedent(src)).body[0]
    changed = combine_like_terms(fdef, shapes or _Numbers(), _pure)
    return changed, ast.unparse(fdef)


@pytest.mark.parametrize("src, expected", [
    ("return x + t * x + t * x", "return x + 2.0 * (t * x)"),
    ("return x + t * (3.0 * x) + t * x * 3.0", "return x + 6.0 * (t * x)"),
    ("return x - t * x - x * t", "return x - 2.0 * (t * x)"),
    ("return x * t - t * x * 3.0 + a", "return -2.0 * (x * t) + a"),
    ("return a + t * x * x + 2.0 * (x * t * x)", "return a + 3.0 * (t * x * x)"),
    ("return f(a + b * c + c * b, a)", "return f(a + 2.0 * (b * c), a)"),
    ("return (a * b + b * a) * (c + c)", "return 2.0 * (a * b) * (2.0 * c)"),
    ("return a + (-b) * c + t * x + t * x", "return a + -b * c + 2.0 * (t * x)"),  # a term left keeps its sign
    ("return -(2.0 * a) + t * x - (-b) * c + t * x", "return -(2.0 * a) + 2.0 * (t * x) - -b * c"),
    ("return (1.0 - x) * 2.0 - (1.0 - x) * 3.0 + a", "return -(1.0 - x) + a"),  # not -1.0 - x
])
def test_like_terms_of_a_number_sum_are_added_once(src, expected):
    changed, out = _rewrite(f"def f(a, b, c, t, x):\n    {src}\n")
    assert changed
    assert out.splitlines()[1].strip() == expected


@pytest.mark.parametrize("src", [
    "return a * b - b * a + c",          # the coefficients add to 0: inf * 0 would be NaN
    "return t * x + t * y",              # different factors
    "return a / b + a / b",              # a term that may raise (a quotient of numbers)
    "return 1e-300 * a * b + b * a",     # a literal too small to move out of its product
    "return 1e5 * a * b + 1e5 * b * a",  # or too large
    "return a + 2 + 2",                  # number literals alone
])
def test_sums_left_as_they_are(src):
    changed, out = _rewrite(f"def f(a, b, c, t, x, y):\n    {src}\n")
    assert not changed, out


def test_the_same_expression_added_in_a_row_is_added_once_scaled():
    changed, out = _rewrite("""
    def f(d_bar, r_bar, d, g):
        d_bar = d_bar + r_bar * d
        d_bar = d_bar + r_bar * d
        d_bar = d_bar + r_bar * d
        g += r_bar
        g += r_bar
        g -= d
        g += d
    """, _Arrays())
    assert changed
    assert "d_bar = d_bar + 3.0 * (r_bar * d)" in out and out.count("d_bar =") == 1, out
    assert "g += 2.0 * r_bar" in out and "g -= d" in out and "g += d" in out, out


class _ArraysAndNumbers(_Arrays):
    """`lam` a number, every other name an array."""

    def of(self, node):
        return () if isinstance(node, ast.Name) and node.id == "lam" or isinstance(node, ast.Constant) else (3,)


def test_a_binding_then_the_same_expression_added_is_one_scaled_binding():
    # the adjoint of `lam * (w @ w)`: `w_bar = t * w; w_bar += t * w`
    changed, out = _rewrite("""
    def f(w, lam, t):
        w_bar = lam * w
        w_bar += lam * w
        t_bar = t * w
        t_bar = t_bar + t * w
        t_bar = t_bar + t * w
    """, _ArraysAndNumbers())
    assert changed
    # (not `2.0 * lam * w`: `2.0 * lam` overflows for lam = 1.5e308 where `lam * w` does not; helper 112)
    assert "w_bar = 2.0 * (lam * w)" in out and out.count("w_bar") == 1, out
    assert "t_bar = 3.0 * (t * w)" in out and out.count("t_bar") == 1, out


@pytest.mark.parametrize("body", [
    "v = t * u\n    v = v + t * u * v",       # the addition reads the name
    "v = t / u\n    v = v + t / u",           # may raise
    "v = t\n    v = v - t",                   # subtracted
    "v = t\n    w = v\n    v = v + t",        # not in a row
])
def test_bindings_left_as_they_are(body):
    changed, out = _rewrite(f"def f(t, u):\n    {body}\n", _Arrays())
    assert not changed, out


@pytest.mark.parametrize("body", [
    "v = v + v * t\n    v = v + v * t",       # reads the name it adds to: the second sees the first
    "v = v + t\n    v = v - t",               # opposite signs
    "v = v + t / u\n    v = v + t / u",       # may raise
    "v = v + t\n    w = v\n    v = v + t",    # not in a row
    "v += t\n    v = v + t",                   # in place, then a new array: w = v before would see one add
])
def test_accumulations_left_as_they_are(body):
    changed, out = _rewrite(f"def f(v, t, u):\n    {body}\n", _Arrays())
    assert not changed, out


# ---- programs -------------------------------------------------------------------------------------------------

def cube_root(a):
    x = max(a, 1.0)
    step = 1.0
    while abs(step) > 1e-12 * abs(x):
        step = (x * x * x - a) / (3.0 * x * x)
        x -= step
    return x


def radius_terms(a, b):
    r2 = a * a + b * b
    return r2 * a * b * a


def squared_error(x, y):
    d = x - y
    r = d * d
    return np.sum(r * d)


def energy(x0, v0):
    x, v, e = x0, v0, 0.0
    for _ in range(20):
        e = e + 0.5 * v * v + 0.5 * x * x * x * x
        v = v - 0.01 * x * x * x
        x = x + 0.01 * v
    return e


def bending(th):
    bend = 0.0
    for i in range(th.shape[0]):
        t = th[i]
        bend += t * t + 0.25 * t * t * t
    return bend


def test_newton_step_adjoint_has_its_like_terms_added():
    src = s2s.source(s2s.grad(cube_root), 5.0)
    assert "6.0 * " in src and "3.0 * " in src, src
    check_all(cube_root, (5.0,))
    assert s2s.grad(cube_root)(5.0) == pytest.approx(s2s.derivative(cube_root)(5.0), rel=1e-13)


@pytest.mark.parametrize("f, args, wrt", [
    (radius_terms, (1.5, -2.0), (0, 1)),
    (energy, (0.7, -0.3), (0, 1)),
])
def test_scalar_programs(f, args, wrt):
    src = s2s.source(s2s.grad(f, wrt=wrt), *args)
    assert "2.0 * " in src or "4.0 * " in src, src
    got = check_all(f, args, wrt=wrt)
    general = s2s.derivative(f, wrt=wrt)(*args)
    np.testing.assert_allclose(np.asarray(got), np.asarray(general), rtol=1e-13)


def negated_factor(x, y):
    return x * x + (-y) * x


def test_a_term_with_a_negated_factor_next_to_like_terms():
    # (the sign of `(-y) * x` was counted twice where `x * x`'s terms combined: d/dx 1.9 where it is 3.3)
    got = check_all(negated_factor, (1.3, -0.7), wrt=(0, 1))
    np.testing.assert_allclose(np.asarray(got), [3.3, -1.3], rtol=1e-13)


def difference_factor(x, y):
    s = (1.0 - y) * 2.0 - (1.0 - y) * 3.0
    return x * s


def test_a_negative_sum_of_a_difference_written_first():
    # (the sign went into the difference's literal: s = -1.0 - y where it is y - 1.0, d/dx -1.4 where it is -0.6)
    got = check_all(difference_factor, (1.3, 0.4), wrt=(0, 1))
    np.testing.assert_allclose(np.asarray(got), [-0.6, 1.3], rtol=1e-13)
    assert s2s.value_and_grad(difference_factor)(1.3, 0.4)[0] == pytest.approx(1.3 * -0.6, rel=1e-13)


@pytest.mark.parametrize("shape, other", [((5,), (5,)), ((4, 3), (3,)), ((2, 1, 3), (4, 1)), ((), ())])
def test_array_program_with_broadcasting(shape, other):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=shape), rng.normal(size=other)
    if shape:
        assert "2.0 * " in s2s.source(s2s.grad(squared_error), x, y)
    for wrt in (0, 1):
        got = check_all(squared_error, (x, y), wrt=wrt)
        np.testing.assert_allclose(got, s2s.derivative(squared_error, wrt=wrt)(x, y), rtol=1e-13)


def test_rows_of_an_array():
    th = np.random.default_rng(3).normal(size=7)
    check_all(bending, (th,))


def test_float32_stays_float32():
    x = np.random.default_rng(1).normal(size=6).astype(np.float32)
    y = np.float32(0.5)
    g = s2s.grad(squared_error)(x, y)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, s2s.grad(squared_error)(x.astype(np.float64), 0.5), rtol=1e-5)
    g = s2s.grad(radius_terms)(np.float32(1.5), np.float32(-2.0))
    assert np.asarray(g).dtype == np.float32


def test_infinite_and_zero_values_agree_with_the_general_code():
    for args in [(0.0, 0.0), (np.inf, 1.0), (1e200, 1e200), (-0.0, 3.0)]:
        with np.errstate(all="ignore"):
            got = s2s.grad(radius_terms, wrt=(0, 1))(*args)
            general = s2s.derivative(radius_terms, wrt=(0, 1))(*args)
        np.testing.assert_allclose(np.asarray(got), np.asarray(general), rtol=1e-13)


def test_compiled_path():
    pytest.importorskip("numba")
    import warnings

    from s2s import compiled
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompiledFallbackWarning)
        got = s2s.grad(cube_root, compile="strict")(5.0)
    assert got == pytest.approx(s2s.derivative(cube_root)(5.0), rel=1e-13)


# ---- a fuzzer of the pass: random sums of products, evaluated before and after ------------------------------

def _random_term(rng, depth=0):
    pick = rng.integers(0, 7 if depth < 2 else 3)
    if pick == 0:
        return str(rng.choice(["a", "b", "c"]))
    if pick == 1:
        return repr(float(rng.choice([0.5, 2.0, 3.0, 0.25, 1.0, 1e-300, 7.0])))
    if pick == 2:
        return f"{rng.choice(['a', 'b', 'c'])} * {rng.choice(['a', 'b', 'c'])}"
    if pick == 3:
        return f"-{_random_term(rng, depth + 1)}"
    if pick == 4:
        return f"({_random_term(rng, depth + 1)}) * ({_random_term(rng, depth + 1)})"
    if pick == 5:
        return f"({rng.choice(['1.0', '2.0'])} {rng.choice(['-', '+'])} {rng.choice(['a', 'b'])})"
    return f"({_random_term(rng, depth + 1)} {rng.choice(['+', '-'])} {_random_term(rng, depth + 1)})"


@pytest.mark.parametrize("seed", range(6))
def test_fuzz_the_pass_keeps_the_value(seed):
    rng = np.random.default_rng(seed)
    values = {"a": 1.3, "b": -0.7, "c": 2.1}
    changed_any = 0
    for _ in range(150):
        terms = [_random_term(rng) for _ in range(rng.integers(2, 7))]
        expr = terms[0] + "".join(f" {rng.choice(['+', '-'])} {t}" for t in terms[1:])
        changed, out = _rewrite(f"def f(a, b, c):\n    return {expr}\n")
        changed_any += changed
        before, after = {}, {}
        exec(f"def f(a, b, c):\n    return {expr}\n", before)
        exec(out, after)
        want, got = before["f"](**values), after["f"](**values)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (expr, out)
    assert changed_any > 10  # (the generator makes like terms often: the comparisons above are not vacuous)


def scaled_square_norm(w, lam):
    return lam * (w @ w)


def test_a_doubled_adjoint_near_the_largest_float_stays_finite():
    # `2.0 * (lam * w)`: the count multiplies the term, never the number alone (helper 112)
    g = s2s.grad(scaled_square_norm)(np.array([0.1, 0.2]), 1.5e308)
    np.testing.assert_allclose(g, [3e307, 6e307], rtol=1e-12)
    g32 = s2s.grad(scaled_square_norm)(np.array([0.1, 0.2], dtype=np.float32), np.float32(2e38))
    assert g32.dtype == np.float32 and np.all(np.isfinite(g32))
