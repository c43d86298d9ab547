"""NumPy reductions of arrays are written as array methods in specialised code (transforms/reduction_methods.py)."""

import numpy as np
from helpers_fd import check_all

import s2s


def lse(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.mean(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m)


def of_numbers(a, b):
    return np.sum(a * b) + np.max(a) * b  # b a number: np.max(a) of an array, b left alone


def test_reductions_become_methods_with_the_same_numbers():
    z = np.random.default_rng(0).normal(size=(5, 4))
    src = s2s.source(s2s.grad(lse), z)
    assert "z.max(axis=1, keepdims=True)" in src and ".sum(axis=1, keepdims=True)" in src, src
    assert "    m = np.max(" not in src, src
    np.testing.assert_array_equal(s2s.grad(lse)(z), s2s.derivative(lse)(z))
    check_all(lse, (z,))


def test_numbers_are_left_alone():
    a = np.random.default_rng(1).normal(size=4)
    src = s2s.source(s2s.grad(of_numbers, wrt=(0, 1)), a, 0.5)
    assert "a.max()" in src or "np.max(a)" not in src, src
    for g, e in zip(s2s.grad(of_numbers, wrt=(0, 1))(a, 0.5), s2s.derivative(of_numbers, wrt=(0, 1))(a, 0.5)):
        np.testing.assert_array_equal(g, e)
    check_all(of_numbers, (a, 0.5), wrt=(0, 1))


def test_the_rules_say_which_functions_are_methods():
    """`array_method` in a rule names the ndarray method NumPy's function calls: the same array bit for bit,
    with each keyword the pass lets through (the function's parameters but `out`)."""
    from s2s import rules
    stated = {rule.name: rule for rule in rules._RULES.values() if rule.array_method}
    assert sorted(stated) == ["np.amax", "np.amin", "np.max", "np.mean", "np.min", "np.prod", "np.std", "np.sum",
                              "np.var"]
    x = np.random.default_rng(0).normal(size=(3, 4))
    for name, rule in stated.items():
        func = getattr(np, name[3:])
        keywords = set(rule.params[1:]) - {"out"}
        assert keywords <= {"axis", "keepdims", "dtype", "ddof", "initial", "where"}, name
        for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True}, {"axis": -1, "dtype": np.float64},
                   {"axis": 0, "ddof": 1}, {"ddof": 2, "keepdims": True}, {"axis": 1, "where": x > 0, "initial": 0.5},
                   {"where": x < 0.3}, {"axis": 0, "where": x > -0.5, "keepdims": True}):
            if "where" in kw and "initial" in keywords:
                kw = {"initial": -3.0, **kw}  # (a maximum with `where=` needs one)
            if set(kw) <= keywords:
                np.testing.assert_array_equal(func(x, **kw), getattr(x, rule.array_method)(**kw), err_msg=name)


def spread(x):
    v = np.var(x, axis=0)  # noqa: F841  (read by nothing: dropped, np.var cannot raise on a non-empty real array)
    return np.sum(x * x) + np.std(x, ddof=1) + np.mean(np.var(x, axis=1))


def test_var_and_std_are_methods_and_a_dead_one_goes():
    x = np.random.default_rng(2).normal(size=(5, 4))
    src = s2s.source(s2s.grad(spread), x)
    assert "x.std(ddof=1)" in src and "x.var(axis=1)" in src and "axis=0" not in src, src
    # (x + x is 2.0 * x, added after the spreads' terms: the general code's sum but for rounding)
    np.testing.assert_allclose(s2s.grad(spread)(x), s2s.derivative(spread)(x), rtol=1e-14, atol=1e-15)
    check_all(spread, (x,))


def scaled_stencil(u0, r):
    u = u0.copy()
    for _ in range(2):
        u[1:-1] = u[1:-1] + r * (u[2:] - u[:-2])
    return np.sum(u ** 2)


def test_the_adjoint_of_a_number_scaling_a_slice_update_is_a_dot():
    """r's adjoint sums the saved slice of the item assignment's adjoint (`g = u_bar[1:-1].copy()`) times the
    vector r scaled: the copy has the slice's shape, so the sum is `g @ t`."""
    u0, r = np.cos(np.linspace(0.0, 2.0, 7)), 0.4
    src = s2s.source(s2s.grad(scaled_stencil, wrt=1), u0, r)
    code = [line for line in src.splitlines() if not line.strip().startswith("#")]
    assert not any("np.sum(" in line for line in code) and any(" @ " in line for line in code), src
    np.testing.assert_allclose(s2s.grad(scaled_stencil, wrt=1)(u0, r), s2s.derivative(scaled_stencil, wrt=1)(u0, r),
                               rtol=1e-13)
    check_all(scaled_stencil, (u0, r), wrt=(0, 1), use_autograd=False)
