"""A helper called for what it draws on an object it is given (`plot(ax, r)` with `if ax: ax.imshow(r)`), passed
None where the function is differentiated: autograd's wing example. Refused since 2806f49 (a helper called for a
change of its argument), which is too strict where the argument is None: a known gap (issue 16), kept as a strict
xfail with the value it should give."""

import numpy as np
import pytest

import s2s


def plot(ax, r):
    if ax:
        ax.imshow(r)


def simulate(v, ax=None):
    r = np.tanh(v) ** 2
    plot(ax, r)
    return r


def objective(v):
    return np.sum(simulate(v))


@pytest.mark.xfail(strict=True, raises=s2s.UnsupportedSyntaxError,
                   reason="a helper called for its change of an argument is refused even where that argument is None")
def test_a_plotting_helper_given_none_is_differentiated():
    v = np.array([0.2, -0.4, 0.9])
    np.testing.assert_allclose(s2s.grad(objective)(v), 2 * np.tanh(v) * (1 - np.tanh(v) ** 2), rtol=1e-12)
