"""s2s.numeric: finite differences, complex step and Richardson extrapolation against analytic derivatives."""

import math

import numpy as np
import pytest

import s2s
from s2s import numeric
from s2s.numeric import METHODS, ComplexStepError, default_step, error_curve, gradient, jacobian

EPS = np.finfo(float).eps

# relative accuracy each method reaches at its default step on smooth, well-scaled functions
TOL = {"forward": 1e-6, "central": 1e-9, "complex": 1e-14, "richardson": 1e-11}


def rel_err(actual, expected):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    return float(np.max(np.abs(actual - expected)) / max(1.0, float(np.max(np.abs(expected)))))


# ---- functions with known derivatives ----------------------------------------

def poly(x):
    return 3.0 * x**4 - 2.0 * x**3 + x - 5.0


def dpoly(x):
    return 12.0 * x**3 - 6.0 * x**2 + 1.0


SCALAR_CASES = [
    (np.sin, np.cos),
    (np.exp, np.exp),
    (poly, dpoly),
    (lambda x: x * np.log(1.0 + x * x), lambda x: np.log(1.0 + x * x) + 2.0 * x * x / (1.0 + x * x)),
]


def quad_form(x, A):
    return x @ A @ x


def bcast(x, y):
    """x of shape (m, 1) against y of shape (n,): a broadcast to (m, n) before the sum."""
    return np.sum(np.sin(x * y) + x**2)


def bcast_grads(x, y):
    c = np.cos(x * y)
    return np.sum(c * y, axis=1, keepdims=True) + 2.0 * x * y.size, np.sum(c * x, axis=0)


def model(w, x, b=0.5):
    return np.sum(np.tanh(x @ w + b) ** 2)


def branchy(a, c):
    y = a * c
    if np.sum(y) > 0:
        y = np.exp(-y) * y
    else:
        y = np.sin(y)
    return np.sum(y * y)


# ---- default steps ------------------------------------------------------------

def test_methods_tuple():
    assert METHODS == ("forward", "central", "complex", "richardson")
    assert jacobian is gradient


def test_default_step_values_and_scaling():
    assert default_step("forward", 0.5) == pytest.approx(np.sqrt(EPS))
    assert default_step("central", 0.5) == pytest.approx(np.cbrt(EPS))
    assert default_step("complex", 1e6) == 1e-20
    assert default_step("richardson", -0.1) == pytest.approx(1e-2)
    assert default_step("central", -100.0) == pytest.approx(100.0 * np.cbrt(EPS))
    assert isinstance(default_step("forward", 3), float)
    x = np.array([[0.0, -4.0], [0.5, 1e3]])
    h = default_step("forward", x)
    assert h.shape == x.shape
    np.testing.assert_allclose(h, np.sqrt(EPS) * np.array([[1.0, 4.0], [1.0, 1e3]]))
    with pytest.raises(ValueError, match="unknown method"):
        default_step("backward", 1.0)


# ---- accuracy against analytic derivatives -----------------------------------

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", range(len(SCALAR_CASES)))
def test_scalar_functions(method, case):
    f, df = SCALAR_CASES[case]
    rng = np.random.default_rng(100 + case)
    for x in rng.uniform(-2.0, 2.0, size=5):
        g = gradient(f, float(x), method=method)
        assert isinstance(g, float)
        assert rel_err(g, df(x)) < TOL[method], (method, x)


@pytest.mark.parametrize("method", METHODS)
def test_quadratic_form(method):
    rng = np.random.default_rng(7)
    for _ in range(3):
        n = int(rng.integers(2, 7))
        A = rng.normal(size=(n, n))
        x = rng.normal(size=n)
        g = gradient(quad_form, x, A, method=method)
        assert g.shape == (n,)
        assert rel_err(g, (A + A.T) @ x) < TOL[method]


@pytest.mark.parametrize("method", METHODS)
def test_broadcasting_function_both_arguments(method):
    rng = np.random.default_rng(11)
    m, n = rng.integers(2, 5, size=2)
    x = rng.normal(size=(m, 1))
    y = rng.normal(size=n)
    gx, gy = gradient(bcast, x, y, wrt=(0, 1), method=method)
    ex, ey = bcast_grads(x, y)
    assert gx.shape == x.shape and gy.shape == y.shape
    assert rel_err(gx, ex) < TOL[method]
    assert rel_err(gy, ey) < TOL[method]


@pytest.mark.parametrize("method", METHODS)
def test_matches_s2s_grad(method):
    rng = np.random.default_rng(3)
    n, k = rng.integers(2, 5, size=2)
    w = rng.normal(size=(k,))
    x = rng.normal(size=(n, k))
    aw, ax = s2s.grad(model, wrt=(0, 1))(w, x)
    nw, nx = gradient(model, w, x, wrt=(0, 1), method=method)
    assert rel_err(nw, aw) < TOL[method]
    assert rel_err(nx, ax) < TOL[method]

    a = rng.normal(size=(3, 2))
    c = 0.7
    ga, gc = s2s.grad(branchy, wrt=(0, 1))(a, c)
    na, nc = gradient(branchy, a, c, wrt=("a", "c"), method=method)
    assert isinstance(nc, float)
    assert rel_err(na, ga) < TOL[method]
    assert rel_err(nc, gc) < TOL[method]


# ---- accuracy orders ------------------------------------------------------------

def test_accuracy_orders_at_default_steps():
    rng = np.random.default_rng(5)
    xs = rng.uniform(-2.0, 2.0, size=20)
    errors = {m: np.array([abs(gradient(np.exp, x, method=m) - np.exp(x)) / np.exp(x) for x in xs]) for m in METHODS}
    # central is second order: several digits better than forward, point by point
    assert np.all(errors["central"] < errors["forward"] / 30)
    assert np.median(errors["central"]) < np.median(errors["forward"]) / 300
    # the complex step reaches machine precision
    assert errors["complex"].max() <= 4 * EPS
    # Richardson extrapolation beats the plain central difference
    assert errors["richardson"].max() < errors["central"].max()
    assert np.median(errors["richardson"]) < np.median(errors["central"]) / 10


def test_complex_step_to_machine_precision_on_arrays():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 4))
    g = gradient(lambda v: np.sum(np.sin(v) * np.exp(v)), x, method="complex")
    expected = np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x)
    np.testing.assert_allclose(g, expected, rtol=4 * EPS, atol=4 * EPS)


# ---- the step parameter ------------------------------------------------------------

def test_step_sets_truncation_error():
    # exp at 0: forward error ~ h/2, central ~ h**2/6, complex ~ h**2/6 (from sin(h)/h)
    assert gradient(np.exp, 0.0, method="forward", step=1e-3) - 1.0 == pytest.approx(0.5e-3, rel=1e-2)
    assert gradient(np.exp, 0.0, method="central", step=1e-2) - 1.0 == pytest.approx(1e-4 / 6, rel=1e-2)
    assert 1.0 - gradient(np.exp, 0.0, method="complex", step=1e-3) == pytest.approx(1e-6 / 6, rel=1e-2)
    # Richardson from a huge first step is still accurate, but not identical to the default
    big = gradient(np.exp, 0.0, method="richardson", step=1.0)
    assert abs(big - 1.0) < 1e-9
    assert big != gradient(np.exp, 0.0, method="richardson")


def test_step_array_per_element():
    x = np.array([0.0, 0.0])
    g = gradient(lambda v: np.sum(np.exp(v)), x, method="forward", step=np.array([1e-2, 1e-4]))
    np.testing.assert_allclose(g - 1.0, [0.5e-2, 0.5e-4], rtol=2e-2)


@pytest.mark.parametrize("bad", [0.0, -1e-3, np.nan, np.inf])
def test_bad_step(bad):
    with pytest.raises(ValueError, match="step"):
        gradient(np.sin, 1.0, step=bad)


def test_unknown_method():
    with pytest.raises(ValueError, match="central"):
        gradient(np.sin, 1.0, method="five-point")


# ---- wrt -----------------------------------------------------------------------------

def three(a, b, c=2.0):
    return a * a * b + np.sin(b) * c


def test_wrt_positions_names_and_tuples():
    a, b, c = 1.5, -0.5, 3.0
    da, db, dc = 2 * a * b, a * a + np.cos(b) * c, np.sin(b)
    assert gradient(three, a, b, c) == pytest.approx(da)
    assert gradient(three, a, b, c, wrt=1) == pytest.approx(db)
    assert gradient(three, a, b, c, wrt=-1) == pytest.approx(dc)
    assert gradient(three, a, b, c, wrt="b") == pytest.approx(db)
    out = gradient(three, a, b, c, wrt=("c", 0), method="complex")
    assert isinstance(out, tuple) and len(out) == 2
    assert out == pytest.approx((dc, da), rel=1e-14)
    assert gradient(three, a, b, c, wrt=[1]) == pytest.approx((db,))
    # a name passed through kwargs
    assert gradient(three, a, b, wrt="c", kwargs={"c": c}) == pytest.approx(dc)
    assert gradient(three, a, b, wrt=1, kwargs={"c": c}) == pytest.approx(db)


def test_wrt_errors():
    with pytest.raises(IndexError):
        gradient(three, 1.0, 2.0, wrt=2)
    with pytest.raises(ValueError, match="names no argument"):
        gradient(three, 1.0, 2.0, wrt="d")
    with pytest.raises(ValueError, match="names no argument"):
        gradient(three, 1.0, 2.0, wrt="c")   # c was not passed
    with pytest.raises(TypeError):
        gradient(three, 1.0, 2.0, wrt=1.0)
    with pytest.raises(TypeError):
        gradient(three, 1.0, 2.0, wrt=True)


# ---- shapes -----------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_jacobian_of_non_scalar_output(method):
    rng = np.random.default_rng(21)
    m, k, n = rng.integers(2, 5, size=3)
    A = rng.normal(size=(m, k))
    x = rng.normal(size=(k, n))
    J = jacobian(lambda v: A @ np.sin(v), x, method=method)
    assert J.shape == (m, n, k, n)
    expected = np.einsum("ik,kl,jl->ijkl", A, np.cos(x), np.eye(n))
    assert rel_err(J, expected) < TOL[method]


def test_shapes_for_scalars_and_vectors():
    # scalar in, vector out -> out.shape
    J = gradient(lambda t: np.array([t, t * t, np.sin(t)]), 0.5)
    assert J.shape == (3,)
    np.testing.assert_allclose(J, [1.0, 1.0, np.cos(0.5)], rtol=1e-9)
    # 0-d array in, scalar out -> float
    g = gradient(np.sin, np.array(0.5), method="complex")
    assert isinstance(g, float) and g == pytest.approx(np.cos(0.5), rel=1e-15)
    # list in -> array shaped like it
    g = gradient(lambda v: np.sum(np.asarray(v) ** 2), [1.0, 2.0, 3.0])
    assert isinstance(g, np.ndarray) and g.shape == (3,)
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0], rtol=1e-9)
    # 1-element array keeps its shape
    assert gradient(lambda v: np.sum(v**2), np.array([3.0])).shape == (1,)


# ---- ints and mutation -----------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_integer_inputs(method):
    seen = []

    def cube(x):
        seen.append(np.asarray(x).dtype.kind)
        return x**3

    g = gradient(cube, 2, method=method)
    assert isinstance(g, float)
    assert g == pytest.approx(12.0, rel=TOL[method])
    assert set(seen) <= {"f", "c"}

    x = np.arange(4)
    g = gradient(lambda v: np.sum(v**3), x, method=method)
    assert g.dtype == float
    np.testing.assert_allclose(g, 3.0 * np.arange(4.0) ** 2, rtol=TOL[method], atol=TOL[method])
    assert x.dtype.kind == "i"
    np.testing.assert_array_equal(x, np.arange(4))


@pytest.mark.parametrize("method", METHODS)
def test_inputs_not_mutated(method):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(2, 3))
    A = rng.normal(size=(3, 3))
    x_before, A_before = x.copy(), A.copy()
    gradient(lambda u, B: np.sum(u @ B), x, A, wrt=(0, 1), method=method)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(A, A_before)


@pytest.mark.parametrize("method", METHODS)
def test_function_that_mutates_its_argument(method):
    def doubles_in_place(v):
        v *= 2.0
        return np.sum(v * v)

    x = np.array([1.0, -2.0])
    g = gradient(doubles_in_place, x, method=method)   # d/dv sum((2v)**2) = 8 v
    np.testing.assert_allclose(g, 8.0 * np.array([1.0, -2.0]), rtol=TOL[method])
    np.testing.assert_array_equal(x, [1.0, -2.0])


# ---- the complex step's limits -----------------------------------------------------------

def test_complex_step_refuses_math_sin():
    with pytest.raises(ValueError, match="central") as info:
        gradient(math.sin, 1.0, method="complex")
    assert isinstance(info.value, ComplexStepError)
    assert isinstance(info.value.__cause__, TypeError)
    # central differences work on it
    assert gradient(math.sin, 1.0) == pytest.approx(math.cos(1.0), rel=1e-9)


def test_complex_step_refuses_dropped_imaginary_part():
    with pytest.raises(ComplexStepError, match="central"):
        gradient(lambda v: np.sum(np.abs(v) ** 2), np.array([1.0, 2.0]), method="complex")
    with pytest.raises(ComplexStepError, match="central"):
        gradient(lambda v: np.real(v) ** 2, 1.5, method="complex")

    def into_real_array(v):
        out = np.zeros(2)
        out[:] = v          # casts the complex value to float
        return np.sum(out**2)

    with pytest.raises(ComplexStepError, match="central"):
        gradient(into_real_array, np.array([1.0, 2.0]), method="complex")


# ---- error curves ---------------------------------------------------------------------------

def test_error_curve_shapes():
    steps = np.logspace(-10, -2, 9)
    curves = error_curve(np.sin, 0.7, np.cos(0.7), steps)
    assert set(curves) == {"forward", "central", "complex"}
    for errors in curves.values():
        assert isinstance(errors, np.ndarray) and errors.shape == (9,)
        assert np.all(errors >= 0)
    curves = error_curve(np.sin, 0.7, np.cos(0.7), list(steps), methods=("richardson",))
    assert set(curves) == {"richardson"} and curves["richardson"].shape == (9,)
    with pytest.raises(ValueError):
        error_curve(np.sin, 0.7, np.cos(0.7), steps, methods=("central", "spline"))


def test_error_curve_array_uses_max_error():
    rng = np.random.default_rng(17)
    x = rng.normal(size=int(rng.integers(3, 7)))
    steps = [1e-3, 1e-5]
    curves = error_curve(lambda v: np.sum(np.exp(v)), x, np.exp(x), steps, methods=("forward",))
    for i, h in enumerate(steps):
        g = gradient(lambda v: np.sum(np.exp(v)), x, method="forward", step=h)
        assert curves["forward"][i] == np.max(np.abs(g - np.exp(x)))


def test_error_curve_minima():
    steps = np.logspace(-12, -1, 45)
    rng = np.random.default_rng(19)
    xs = rng.uniform(0.5, 2.0, size=8)
    curves = [error_curve(np.exp, x, np.exp(x), steps) for x in xs]
    # rounding noise makes single curves jagged (lucky cancellations): average the log errors over several points
    mean_log = {m: np.mean([np.log10(np.maximum(c[m], 1e-300)) for c in curves], axis=0) for m in ("forward", "central")}
    best_central = steps[np.argmin(mean_log["central"])]
    best_forward = steps[np.argmin(mean_log["forward"])]
    # truncation vs rounding balance near cbrt(eps) for central, sqrt(eps) for forward
    assert abs(np.log10(best_central / np.cbrt(EPS))) < 1.0
    assert abs(np.log10(best_forward / np.sqrt(EPS))) < 1.0
    assert mean_log["central"].min() < mean_log["forward"].min() - 2
    # either side of the minimum the error grows: rounding for small steps, truncation for large ones
    assert mean_log["central"][0] > mean_log["central"].min() + 3
    assert mean_log["central"][-1] > mean_log["central"].min() + 3
    # the complex step has no subtraction, hence no rounding floor: machine precision at every small step
    for x, c in zip(xs, curves):
        assert np.all(c["complex"][steps < 1e-8] <= 4 * EPS * np.exp(x))


def test_module_is_documented():
    assert "truncation" in numeric.__doc__ and "rounding" in numeric.__doc__
    for fn in (gradient, default_step, error_curve):
        assert fn.__doc__ and len(fn.__doc__) > 100
    assert "abs()" in gradient.__doc__ and "central" in gradient.__doc__
