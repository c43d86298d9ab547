"""Adversarial programs around appended lists (transforms/shapes.py `Site.items_real`, `Shapes._list_adjoints`,
commit c12ff4e) and the reverse pass's tape of the appended states.

1. `h = np.tanh(h); L.append(h)` in a loop with nothing else in the backward sweep reading `h`: the reverse pass
   reads `h` for the adjoint's output (`h_new = h`) without noting the read, so `h` is never taped and every
   trip's adjoint uses the last state (wrong gradient; also with optimize=False and before c12ff4e).
2. A Python float raised to a non-integer power (`(-2.0) ** 0.5` is complex in Python) is claimed real by
   `Shapes.real`; appended to a list, `np.array(L)` / `np.stack(L)` are now claimed real too, so the complex
   values reach code specialised for real floats: a complex gradient of a real argument, or numpy's
   UFuncTypeError from an in-place update, where the general code refused with NoDerivativeRuleError.
"""

import numpy as np
import pytest
from helpers_fd import check_all

import s2s
from s2s.errors import NoDerivativeRuleError


def tanh_states(x, W):
    states = []
    h = x
    for _i in range(3):
        h = np.tanh(h)
        states.append(h)
    return np.sum(np.array(states) * W)


def tanh_states_stacked(x, W):
    states = []
    h = x
    for _i in range(3):
        h = np.tanh(h)
        states.append(h)
    return np.sum(np.stack(states) * W)


def sqrt_states(x, W):
    states = []
    h = x
    for _i in range(3):
        h = np.sqrt(h)
        states.append(h)
    return np.sum(np.array(states) * W)


def tanh_states_summed(x):
    states = []
    h = x
    for _i in range(3):
        h = np.tanh(h)
        states.append(h)
    return np.sum(np.array(states))


def _args():
    r = np.random.default_rng(2)
    return np.abs(r.normal(size=4)) + 0.5, r.normal(size=(3, 4))


@pytest.mark.parametrize("f", [tanh_states, tanh_states_stacked, sqrt_states])
def test_state_overwritten_by_its_own_function_is_taped(f):
    check_all(f, _args())


def test_state_overwritten_by_its_own_function_is_taped_unoptimized():
    x, _ = _args()
    want = s2s.grad(tanh_states_summed)(x)  # (compared with FD below)
    check_all(tanh_states_summed, (x,))
    np.testing.assert_allclose(s2s.grad(tanh_states_summed, optimize=False)(x), want, rtol=1e-12)


def complex_roots(x):
    roots = []
    v = -2.0
    for _i in range(3):
        roots.append(v ** 0.5)  # Python: (-2.0) ** 0.5 is 1.414...j
    return np.sum((np.array(roots) * 2 + x) ** 2)


def complex_roots_abs(x, c):
    scaled = []
    for _i in range(3):
        scaled.append(c ** 0.5 * x)
    return np.sum(np.abs(np.stack(scaled)) ** 2)


def test_appended_complex_power_is_not_claimed_real():
    x = np.array([0.3, -0.2, 0.5])
    with pytest.raises(NoDerivativeRuleError, match="complex numbers"):
        s2s.grad(complex_roots)(x)


def test_appended_complex_power_of_a_parameter_is_not_claimed_real():
    x = np.array([0.3, -0.2, 0.5])
    with pytest.raises(NoDerivativeRuleError, match="complex numbers"):
        s2s.grad(complex_roots_abs)(x, -2.0)


def test_appended_power_of_a_positive_parameter_is_right():
    """The same program where the power is real: accepted, and the gradient right (not refused either way)."""
    x = np.array([0.3, -0.2, 0.5])
    check_all(complex_roots_abs, (x, 4.0))
    assert s2s.grad(complex_roots_abs)(x, 4.0).dtype == np.float64
