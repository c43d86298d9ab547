"""Unit tests of s2s.runtime, the helpers generated code calls (inside generated code `s2s` is this package)."""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import s2s.runtime as rt
from s2s.errors import UnsupportedSyntaxError
from s2s.runtime.zero import ZERO, is_zero, linear_in_g

# namespaces of their own inside generated code, not re-exported: s2s.custom.vjp (rules written as Python
# functions), s2s.scipy_helpers.lse_b (SciPy's rules), and compiled_helpers and compiled_adjoints (numba versions of
# the same names that compiled code calls `s2s`; imported only for compile=True)
NAMESPACES = {"custom", "scipy_helpers", "compiled_helpers", "compiled_adjoints"}
SUBMODULES = [m.name for m in pkgutil.iter_modules(rt.__path__) if m.name not in NAMESPACES]


# ---- the package: one namespace -------------------------------------------------------------------

def test_every_public_helper_of_every_module_is_in_the_package():
    for name in SUBMODULES:
        module = importlib.import_module(f"s2s.runtime.{name}")
        for attr, value in vars(module).items():
            if attr.startswith("_") or getattr(value, "__module__", None) not in (f"s2s.runtime.{name}", "s2s.runtime"):
                continue
            assert getattr(rt, attr) is value, f"s2s.runtime.{name}.{attr} is not re-exported"


def test_helpers_name_the_package_as_their_module():
    # the transforms tell s2s's helpers (rules) from user functions (read and differentiated) by this
    for attr in dir(rt):
        value = getattr(rt, attr)
        if inspect.isfunction(value):
            assert value.__module__ == "s2s.runtime", attr


def test_no_process_wide_list_of_update_sites():
    """The errors of run-time checks belong to the generated code (transforms/refusals.py)."""
    assert not hasattr(rt, "UPDATE_SITES")


# ---- the zero guard --------------------------------------------------------------------------------

def test_linear_in_g_returns_the_zero_adjoint_without_running_the_helper():
    calls = []

    @linear_in_g
    def helper(g, x, axis=None):
        calls.append(g)
        return g * x

    assert helper(ZERO, np.ones(3)) is ZERO
    assert helper(0.0, np.ones(3), axis=1) is ZERO
    assert calls == []
    assert np.array_equal(helper(np.ones(3), 2.0), 2 * np.ones(3))
    assert np.array_equal(helper(np.zeros(3), 2.0), np.zeros(3))  # an array of zeros is not the symbolic zero
    assert len(calls) == 2
    assert str(inspect.signature(helper)) == "(g, x, axis=None)"
    assert helper.__name__ == "helper" and helper.__doc__ is None


def test_linear_in_g_with_a_structured_zero():
    @linear_in_g(zero=lambda arrays, axis: [ZERO] * len(arrays))
    def pieces(g, arrays, axis):
        return [g] * len(arrays)

    assert pieces(ZERO, [1, 2, 3], 0) == [ZERO, ZERO, ZERO]
    assert pieces(1.0, [1, 2], 0) == [1.0, 1.0]


def test_linear_in_g_varargs_and_keyword_only():
    @linear_in_g
    def helper(g, *rest, scale=1.0, **extra):
        return (g, rest, scale, extra)

    assert helper(ZERO, 1, 2, scale=3.0, k=4) is ZERO
    assert helper(1.0, 1, 2, scale=3.0, k=4) == (1.0, (1, 2), 3.0, {"k": 4})


def test_is_zero():
    assert is_zero(ZERO) and is_zero(0.0) and is_zero(-0.0)
    assert not is_zero(0) and not is_zero(np.float64(0.0)) and not is_zero(np.zeros(2)) and not is_zero(1.0)


@pytest.mark.parametrize("name, args", [
    ("unbroadcast", (np.ones(3),)), ("grad_dot_a", (np.ones((2, 3)), np.ones(3))),
    ("grad_matmul_b", (np.ones((2, 3)), np.ones(3))), ("grad_transpose", (None,)),
    ("grad_extreme", (1.0, np.ones(3), None, False)), ("grad_var", (np.ones(3), None, 0, False)),
    ("grad_cumsum", (np.ones(3), 0)), ("grad_clip", (np.ones(3), 0.0, 1.0)),
    ("grad_where", (np.ones(3) > 0, np.ones(3), True)), ("grad_det", (1.0, np.eye(2))),
    ("grad_tile", (np.ones(2), 2)), ("part", (0,)),
])
def test_adjoint_helpers_keep_the_zero_adjoint(name, args):
    assert getattr(rt, name)(ZERO, *args) is ZERO


def test_structured_zero_adjoints():
    assert rt.grad_concatenate(ZERO, [np.ones(2), np.ones(3)], 0) == [ZERO, ZERO]
    assert rt.grad_stack(ZERO, [np.ones(2)] * 3, 0) == [ZERO] * 3
    assert rt.grad_vstack(ZERO, (np.ones(2), np.ones(2))) == [ZERO, ZERO]
    assert rt.setitem_grads(ZERO, np.ones(3), 0) == (ZERO, ZERO)
    assert rt.append_grads(ZERO) == (ZERO, ZERO)
    assert rt.grad_einsum_parts(ZERO, ["i,i->", np.ones(2), np.ones(2)]) == [ZERO] * 3


# ---- array-library dispatch ------------------------------------------------------------------------

def test_dispatch():
    assert rt.is_array(np.ones(2)) and rt.is_array(np.float64(1.0)) and not rt.is_array(1.0)
    assert not rt.is_foreign(np.ones(2))
    assert rt.shape_of(3.0) == () and rt.shape_of(np.ones((2, 3))) == (2, 3)
    b = rt.broadcast_to_like(np.ones(3), np.zeros((2, 3)))
    assert b.shape == (2, 3)


# ---- adjoint arithmetic ----------------------------------------------------------------------------

def test_unbroadcast_sums_over_broadcast_axes():
    g = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(rt.unbroadcast(g, np.ones(3)), g.sum(0))
    assert np.array_equal(rt.unbroadcast(g, np.ones((2, 1))), g.sum(1, keepdims=True))
    assert rt.unbroadcast(g, 2.0) == g.sum()
    assert rt.unbroadcast(g, np.ones((2, 3))) is g


def test_add_understands_zeros_and_structures():
    a = np.ones(2)
    assert rt.add(ZERO, a) is a and rt.add(a, ZERO) is a
    assert rt.add([1.0, ZERO], [ZERO, 2.0]) == [1.0, 2.0]
    assert rt.add((1.0, 2.0), (1.0, 1.0)) == (2.0, 3.0)
    assert rt.add({"a": 1.0}, {"a": 1.0, "b": 2.0}) == {"a": 2.0, "b": 2.0}


def test_finish_shapes_the_gradient_like_the_argument():
    x = np.ones((2, 3))
    assert np.array_equal(rt.finish(ZERO, x), np.zeros((2, 3)))
    assert np.array_equal(rt.finish(2.0, x), np.full((2, 3), 2.0))
    view = np.broadcast_to(np.ones(3), (2, 3))
    out = rt.finish(view, x)
    assert out.flags.writeable
    assert rt.finish([1.0, ZERO], [1.0, 2.0]) == [1.0, 0.0]
    assert rt.finish({}, {"a": 1.0}) == {"a": 0.0}
    assert type(rt.finish(np.float64(2.0), 1.0)) is float


def test_part_of_a_structured_adjoint():
    assert rt.part(ZERO, 1) is ZERO
    assert rt.part({"a": 1.0}, "b") is ZERO
    assert rt.part([1.0, 2.0], 1) == 2.0


# ---- indexing ---------------------------------------------------------------------------------------

def test_getitem_grad_accumulates_repeated_indices():
    out = rt.getitem_grad(np.ones(3), np.zeros(4), [0, 0, 2])
    assert np.array_equal(out, [2.0, 0.0, 1.0, 0.0])
    assert rt.getitem_grad(5.0, [1.0, 2.0], 1) == [ZERO, 5.0]


def test_setitem_grads_follow_last_write_wins():
    x = np.zeros(3)
    gx, gv = rt.setitem_grads(np.array([1.0, 2.0, 3.0]), x, [0, 0])
    assert np.array_equal(gx, [0.0, 2.0, 3.0])
    assert np.array_equal(gv, [0.0, 1.0])  # the first write to x[0] was overwritten


def test_setitem_is_functional():
    x = np.zeros(3)
    y = rt.setitem(x, 1, 5.0)
    assert x[1] == 0.0 and y[1] == 5.0


# ---- reductions, linear algebra, einsum: against finite differences ------------------------------

def _numeric_vjp(f, x, g, eps=1e-6):
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        out[i] = np.sum(g * (f(x + e) - f(x - e))) / (2 * eps)
    return out


@pytest.mark.parametrize("name, f, adjoint", [
    ("prod", lambda x: np.prod(x, axis=1), lambda g, x: rt.grad_prod(g, np.prod(x, axis=1), x, 1, False)),
    ("var", lambda x: np.var(x, axis=0), lambda g, x: rt.grad_var(g, x, 0, 0, False)),
    ("std", lambda x: np.std(x), lambda g, x: rt.grad_std(g, np.std(x), x, None, 0, False)),
    ("cumsum", lambda x: np.cumsum(x, axis=1), lambda g, x: rt.grad_cumsum(g, x, 1)),
    ("norm", lambda x: np.linalg.norm(x), lambda g, x: rt.grad_norm(g, np.linalg.norm(x), x, None, None, False)),
    ("matmul a", lambda x: x @ np.arange(12.0).reshape(3, 4), lambda g, x: rt.grad_matmul_a(g, x, np.arange(12.0).reshape(3, 4))),
    ("tensordot b", lambda x: np.tensordot(np.ones((3, 2)), x, axes=([0], [1])),
     lambda g, x: rt.grad_tensordot(g, np.ones((3, 2)), x, ([0], [1]), 1)),
    ("einsum", lambda x: np.einsum("ij,jk->ik", x, np.ones((3, 2))),
     lambda g, x: rt.grad_einsum_parts(g, ["ij,jk->ik", x, np.ones((3, 2))])[1]),
    ("det", lambda x: np.linalg.det(x[:, :2]),
     lambda g, x: np.pad(rt.grad_det(g, np.linalg.det(x[:, :2]), x[:, :2]), ((0, 0), (0, 1)))),
])
def test_adjoint_helpers_against_finite_differences(name, f, adjoint):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3)) + 1.5
    g = rng.normal(size=np.shape(f(x)))
    assert np.allclose(adjoint(g, x), _numeric_vjp(f, x, g), atol=1e-6), name


def test_power_slope_is_zero_where_the_exponent_is_zero():
    assert rt.power_slope(0.0, 0.0) == 0.0
    assert np.array_equal(rt.power_slope(np.array([0.0, 2.0]), np.array([0.0, 3.0])), [0.0, 12.0])


def test_fdiv_divides_as_numpy_does():
    with np.errstate(divide="ignore"):
        assert rt.fdiv(1.0, 0.0) == np.inf
    assert rt.safe_div(1.0, 0.0) == 0.0


# ---- helpers for desugared code ----------------------------------------------------------------------

def test_desugared_helpers():
    assert rt.as_sequence({"a": 1}) == ["a"]
    x = np.ones(2)
    assert rt.copy(x) is not x and rt.astype(x, int).dtype.kind == "i" and rt.item(np.array([3.0])) == 3.0
    assert rt.is_float_dtype(np.float32) and not rt.is_float_dtype(int)
    assert rt.stop_gradient(x) is x


def test_unshared_refuses_an_update_seen_through_another_name():
    site = rt.Refusal(message="y is updated in place while z refers to it")
    y = np.zeros(3)
    assert rt.unshared(1.0, site, False, y, np.ones(3)) == 1.0
    with pytest.raises(UnsupportedSyntaxError, match="updated in place"):
        rt.unshared(1.0, site, False, y, y[1:])
    with pytest.raises(UnsupportedSyntaxError):
        rt.unshared(1.0, site, True, [y, y])  # one array held twice in the list updated deeply


def test_power_term_is_zero_where_its_factor_is_and_its_derivatives_match_differences():
    """power_term(c, x, y) = c * x ** y, exactly 0 where c == 0 (also where x ** y is inf); its x and y
    derivatives (`power_term(c * y, x, y - 1)`, `power_term_dy`) against central differences, arrays broadcast."""
    assert rt.power_term(0.0, 0.0, -1) == 0.0 and rt.power_term(6.0, 2.0, 1) == 12.0
    np.testing.assert_array_equal(rt.power_term(np.array([0.0, 2.0]), np.array([0.0, 3.0]), -1), [0.0, 2.0 / 3.0])
    rng = np.random.default_rng(11)
    c, x, y = rng.normal(size=(3, 1)), rng.uniform(0.5, 2.0, size=(1, 4)), rng.uniform(-2.0, 3.0, size=(3, 4))
    h = 1e-6
    np.testing.assert_allclose(rt.power_term(c * y, x, y - 1),
                               (rt.power_term(c, x + h, y) - rt.power_term(c, x - h, y)) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(rt.power_term_dy(c, x, y),
                               (rt.power_term(c, x, y + h) - rt.power_term(c, x, y - h)) / (2 * h), rtol=1e-6)
    assert rt.power_term_dy(2.0, -1.0, 2.0) == 0.0 and rt.power_term_dy(0.0, 2.0, 1.0) == 0.0
    assert rt.power_term_dy(2.0, 3.0, 2.0) == pytest.approx(2.0 * 9.0 * np.log(3.0), rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("seed_type", [float, np.float64, np.float32])
def test_the_whole_array_norms_fast_adjoint_is_the_general_one_bit_for_bit(dtype, seed_type):
    # grad_norm's fast path (ord and axis None, an ndarray, NumPy-float norm) against the broadcast arithmetic
    from s2s.runtime.reductions import expand_reduced, grad_norm
    r = np.random.default_rng(3)
    for x in (r.normal(size=7).astype(dtype), r.normal(size=(3, 2)).astype(dtype), np.zeros(4, dtype)):
        ans, g = np.linalg.norm(x), seed_type(0.37)
        n = expand_reduced(ans, x, None, False)
        want = expand_reduced(g, x, None, False) * x / np.where(n == 0, 1, n)
        got = grad_norm(g, ans, x, None, None, False)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
