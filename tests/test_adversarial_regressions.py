"""Regressions from the adversarial review (/tmp/adv/FINDINGS.md): each was a silent wrong derivative or a
crash; each now gives the right derivative (checked against central differences, and autograd where it
runs the program) or is refused with an s2s error at the construct."""

import collections
import dataclasses
import functools
import math
import types

import numpy as np
import pytest
import scipy.linalg as sl

import s2s
from tests.conftest import check_grad, numeric_grad

X = np.array([0.3, 0.7, 1.1])


# ---- W14: SciPy's overwrite_a / overwrite_b write into the argument: refused -------------------------

_A = np.tril(np.ones((3, 3))) + np.eye(3)


def _solve_overwrite(v):
    b = v * 1.0
    y = sl.solve_triangular(_A, b, lower=True, overwrite_b=True)
    return np.sum(b * 2.0) + np.sum(y)


def _cho_solve_overwrite(v):
    b = v * 1.0
    y = sl.cho_solve(sl.cho_factor(np.eye(3) * 2), b, overwrite_b=True)
    return np.sum(b) + np.sum(y)


def _cho_factor_overwrite(v):
    m = (np.outer(v, v) + 3 * np.eye(3)).T
    c = sl.cho_factor(m, overwrite_a=True)
    return np.sum(m) + np.sum(c[0])


@pytest.mark.parametrize("f", [_solve_overwrite, _cho_solve_overwrite, _cho_factor_overwrite])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_scipy_overwrite_is_refused(f, mode):
    with pytest.raises(s2s.S2SError, match=r"overwrite_[ab]=False, its default"):
        if mode == "grad":
            s2s.grad(f)(X)
        else:
            s2s.jvp(f, (X,), (np.ones(3),))


def _solve_no_overwrite(v):
    b = v * 1.0
    y = sl.solve_triangular(_A, b, lower=True, overwrite_b=False)
    return np.sum(b * 2.0) + np.sum(np.sin(y))


def test_scipy_overwrite_false_still_differentiated():
    check_grad(_solve_no_overwrite, X, ag=False)


# ---- W15: svd(hermitian=True) runs eigh on the lower triangle: the derivative reads that triangle only ----

_C = np.array([1.0, -2.0, 0.5])
_W = np.array([1.0, 2.0, 3.0])
_W33 = np.arange(9.0).reshape(3, 3) / 9 - 0.4


def _svd_hermitian(v):
    return np.sum(np.linalg.svd(np.outer(v, _C) + 3 * np.eye(3), compute_uv=False, hermitian=True) * _W)


def _svd_hermitian_uv(v):
    u, s, vh = np.linalg.svd(np.outer(v, v) + np.diag([3.0, -1.0, 0.5]), hermitian=True)
    return np.sum(s * _W)


def _svd_hermitian_vectors(v):
    u, s, vh = np.linalg.svd(np.outer(v, _C) + np.diag([3.0, -1.0, 0.5]), hermitian=True)
    return np.sum(u * _W33) + np.sum(vh * _W33.T) + np.sum(s * _W)


@pytest.mark.parametrize("f", [_svd_hermitian, _svd_hermitian_uv, _svd_hermitian_vectors])
def test_svd_hermitian_of_an_unsymmetric_matrix_reads_the_lower_triangle(f):
    """np.linalg.svd(a, hermitian=True) decomposes a's lower triangle mirrored (outer(v, C) is not
    symmetric): the gradient must be that of the triangle it reads, in reverse and forward mode."""
    x = np.array([0.3, -0.7, 1.1])
    want = numeric_grad(f, (x,))
    np.testing.assert_allclose(s2s.grad(f)(x), want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(s2s.jacfwd(f)(x), want, rtol=1e-6, atol=1e-8)


def test_svd_hermitian_of_a_complex_matrix_is_refused():
    def f(v):
        return np.sum(np.linalg.svd(np.outer(v, _C) * (1 + 1j), compute_uv=False, hermitian=True))
    with pytest.raises(s2s.S2SError, match="hermitian=True"):
        s2s.grad(f)(X)


def _svd_general(v):
    return np.sum(np.linalg.svd(np.outer(v, _C) + 3 * np.eye(3), compute_uv=False, hermitian=False) * _W)


def test_svd_hermitian_false_still_differentiated():
    check_grad(_svd_general, X, ag=False)


# ---- W16: an integer dtype= truncates every element: derivative 0; object arrays refused --------------

X16 = np.array([1.3, 1.7, 2.1])


def _sum_int(v):
    return np.sum(v, dtype=int) * 1.0 + np.sum(v ** 2)


def _prod_int(v):
    return np.prod(v, dtype=int) * 1.0 + np.sum(v ** 2)


def _method_sum_int(v):
    return v.sum(dtype=np.int64) * 1.0 + np.mean(v, dtype=bool) + np.sum(v ** 2)


def _sum_float32(v):
    return np.sum(v ** 3, dtype=np.float64) + np.var(v, dtype=float)


@pytest.mark.parametrize("f", [_sum_int, _prod_int, _method_sum_int, _sum_float32])
def test_reduction_dtype(f):
    got = s2s.grad(f)(X16)
    np.testing.assert_allclose(got, numeric_grad(f, (X16,)), rtol=1e-5, atol=1e-6)
    _, tangent = s2s.jvp(f, (X16,), (np.ones(3),))
    np.testing.assert_allclose(tangent, np.sum(got), rtol=1e-5, atol=1e-6)


def _object_round_trip(v):
    return np.sum(np.array(v, dtype=object).astype(float) * np.array([1.0, 2.0, 3.0]))


def test_object_array_round_trip_is_refused():
    with pytest.raises(s2s.S2SError, match="object array"):
        s2s.grad(_object_round_trip)(X16)


# ---- W5: a function returning None or a string is refused, not a zero gradient ---------------------


def _forgot_return(w):
    loss = np.sum(w ** 2)  # noqa: F841 - the slip under test


def _falls_off(w):
    if np.sum(w) > 10:
        return np.sum(w ** 2)


def _returns_string(w):
    return "done"


def _returns_none_sometimes(w):
    return None if np.sum(w) > 10 else np.sum(w ** 2)


@pytest.mark.parametrize("f", [_forgot_return, _falls_off, _returns_string])
@pytest.mark.parametrize("api", [s2s.grad, s2s.value_and_grad, s2s.hessian])
def test_no_number_output_refused(f, api):
    with pytest.raises(s2s.NonScalarOutputError, match="(without a `return`|returns a string)"):
        api(f)(X)


def test_none_output_at_run_time_refused():
    np.testing.assert_allclose(s2s.grad(_returns_none_sometimes)(X), 2 * X)
    with pytest.raises(s2s.NonScalarOutputError, match="NoneType"):
        s2s.grad(_returns_none_sometimes)(X + 10)


def _all_paths_return(w):
    if np.sum(w) > 10:
        return np.sum(w ** 2)
    else:
        while True:
            return np.sum(w ** 3)


def test_every_path_returning_is_accepted():
    check_grad(_all_paths_return, X)


# ---- C2: a local named like a module s2s's code uses (`np` as a count) -------------------------------


def _local_np(x):
    np = len(x)  # "number of particles": shadows the module in this function only
    e = 0.0
    for i in range(np):
        e = e + math.sin(x[i]) ** 2 / np
    return e


def _calls_local_np(x):
    return _local_np(x * 2.0) + np.sum(x ** 2)


@pytest.mark.parametrize("f", [_local_np, _calls_local_np])
def test_local_np_does_not_shadow_generated_code(f):
    check_grad(f, X, ag=False)
    np.testing.assert_allclose(s2s.hessian(f)(X), s2s.jacfwd(s2s.grad(f))(X), rtol=1e-6, atol=1e-9)


# ---- C1: enumerate over a dict parameter: the keys carry no derivative ------------------------------


def _enumerate_dict(p):
    tot = 0.0
    for i, k in enumerate(p):
        tot = tot + np.sum(p[k] ** 2) * (i + 1)
    return tot


def _enumerate_dict_generator(p):
    return sum(np.sum(p[k] ** 2) * i for i, k in enumerate(p))


@pytest.mark.parametrize("f", [_enumerate_dict, _enumerate_dict_generator])
def test_enumerate_dict_parameter(f):
    p = {"b": 2 * X, "a": X}
    got = s2s.grad(f)(p)
    assert list(got) == ["b", "a"] or sorted(got) == ["a", "b"]
    for key in p:
        want = numeric_grad(lambda v, key=key: f({**p, key: v}), (p[key],))
        np.testing.assert_allclose(got[key], want, rtol=1e-5, atol=1e-6)
    tangent = {"b": np.ones(3), "a": np.full(3, 0.5)}
    _, t = s2s.jvp(f, (p,), (tangent,))
    np.testing.assert_allclose(t, sum(np.dot(got[k], tangent[k]) for k in p), rtol=1e-6)


# ---- C3: a list parameter iterated in one branch, indexed in another --------------------------------


def _branchy_list(ws):
    if len(ws) == 1:
        return ws[0] ** 2
    return sum(w ** 2 for w in ws)


def _branchy_arrays(ws):
    return np.sum(_branchy_list(ws) * np.array([1.0, 3.0]))


def _both_branches_iterate(v):
    if len(v) > 1:
        return sum([t ** 3 for t in v])
    return sum([t ** 2 for t in v])


@pytest.mark.parametrize("f", [_branchy_list, _both_branches_iterate])
@pytest.mark.parametrize("ws", [[3.0], [1.0, 2.0], (1.5, 0.5, 2.0)])
def test_list_parameter_in_branches(f, ws):
    got = s2s.grad(f)(ws)
    assert type(got) is type(ws) and len(got) == len(ws)
    for i in range(len(ws)):
        want = numeric_grad(lambda v, i=i: f(type(ws)(v if j == i else w for j, w in enumerate(ws))), (ws[i],))
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-6)
    check_grad(f, np.array(ws))


@pytest.mark.parametrize("n", [1, 2])
def test_list_of_arrays_parameter_in_branches(n):
    ws = [np.array([0.5, 1.5]) * (i + 1) for i in range(n)]
    got = s2s.grad(_branchy_arrays)(ws)
    for i in range(n):
        want = numeric_grad(lambda v, i=i: _branchy_arrays([v if j == i else w for j, w in enumerate(ws)]), (ws[i],))
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-6)


# ---- W0: functools.wraps wrappers: differentiated where their parameters are the wrapped function's -----


x = X.copy()  # a global named like _wraps_star's parameter: the form that gave a silent 0


def _doubled(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        return 2.0 * fn(*a, **k)
    return wrapper


def _doubled_same(fn):
    @functools.wraps(fn)
    def wrapper(v):
        return 2.0 * fn(v)
    return wrapper


def _timed(fn):
    @functools.wraps(fn)
    def wrapper(self, *a, **k):
        return fn(self, *a, **k)
    return wrapper


@_doubled
def _wraps_star(x):
    return np.sum(x ** 2)


@_doubled_same
def _wraps_same(v):
    return np.sum(v ** 2)


class _Model:
    @_timed
    def loss(self, v):
        return np.sum(v ** 2)


def _apply(f, v):
    return f(v)


def _calls_wraps_star(y):
    return _wraps_star(y)


def _passes_wraps_star(y):
    return _apply(_wraps_star, y)


@pytest.mark.parametrize("f", [_wraps_star, _calls_wraps_star, _passes_wraps_star, _Model().loss],
                         ids=["top", "helper", "value", "method"])
def test_wraps_with_other_parameters_refused(f):
    with pytest.raises(s2s.S2SError, match=r"wrapper \(functools.wraps\)"):
        s2s.grad(f)(X)


def test_wraps_method_hint_runs():
    # the hint's form: the wrapped function, the object its first argument
    got = s2s.grad(_Model.loss.__wrapped__, wrt=1)(_Model(), X)
    np.testing.assert_allclose(got, 2 * X)


def _calls_wraps_same(y):
    return _wraps_same(y) + np.sum(np.sin(y))


def _passes_wraps_same(y):
    return _apply(_wraps_same, y)


@pytest.mark.parametrize("f", [_wraps_same, _calls_wraps_same, _passes_wraps_same])
def test_wraps_with_same_parameters_differentiated(f):
    check_grad(f, X, ag=False)
    _, t = s2s.jvp(f, (X,), (np.ones(3),))
    np.testing.assert_allclose(t, np.sum(numeric_grad(f, (X,))), rtol=1e-5)


# ---- W6: `.T` is a transpose only of an array; of an object, its own attribute T ---------------------

Hyper = collections.namedtuple("Hyper", "lr T")
_GLOBAL_HYPER = Hyper(0.1, 4.0)


@dataclasses.dataclass
class _Temp:
    T: float


class _Tempered:
    def __init__(self):
        self.T = 3.0

    def loss(self, v):
        return np.sum(v ** 2) * self.T


def _softmax_temperature(logits, h):
    return np.log(np.sum(np.exp(logits / h.T)))


def _config_T(v, cfg):
    return np.sum(np.sin(v) ** 2) * cfg.T


def _global_T(v):
    return np.sum(v ** 3) / _GLOBAL_HYPER.T


def _array_T(w):
    v = w.T
    return np.sum(np.sin(v) * (v @ w @ v)) + np.sum(w.T ** 2 * np.arange(2.0))


@pytest.mark.parametrize("cfg", [Hyper(0.1, 10.0), types.SimpleNamespace(T=4.0), _Temp(2.5)],
                         ids=["namedtuple", "namespace", "dataclass"])
def test_attribute_T_of_a_constant_object(cfg):
    x = np.array([0.3, 1.7])
    for f in (_softmax_temperature, _config_T):
        value, got = s2s.value_and_grad(f)(x, cfg)
        assert np.isclose(value, f(x, cfg))
        np.testing.assert_allclose(got, numeric_grad(f, (x, cfg)), rtol=1e-5, atol=1e-6)


def test_attribute_T_of_self_and_of_a_global():
    check_grad(_global_T, X, ag=False)
    np.testing.assert_allclose(s2s.grad(_Tempered().loss)(X), 6 * X)


def test_attribute_T_of_an_array():
    w = np.array([[0.3, -0.5, 0.8], [1.1, 0.2, -0.4]])
    check_grad(_array_T, w)
    np.testing.assert_allclose(s2s.hessian(_array_T)(w).reshape(6, 6),
                               s2s.jacfwd(s2s.grad(_array_T))(w).reshape(6, 6), rtol=1e-9, atol=1e-12)


def test_differentiated_record_with_field_T_still_refused():
    with pytest.raises(s2s.S2SError, match="field named 'T'"):
        s2s.grad(_softmax_temperature, wrt=1)(np.array([0.3, 1.7]), Hyper(0.1, 10.0))
