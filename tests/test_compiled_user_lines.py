"""A compiled fallback's warning names the user's line of the construct numba refused (helper 144: the
generated function's lines were counted one short of the factory's, and the line above was named)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")
R = np.random.default_rng(1450)


def pair_energy(s, X):
    diff = X[:, None, :] - X[None, :, :]
    D2 = np.einsum("ijk,ijk->ij", diff, diff)
    return np.sum(np.exp(-s * D2))


def test_a_fallback_names_the_users_line_of_the_construct():
    import warnings

    import s2s
    from s2s import compiled
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s2s.grad(pair_energy, compile=True)(0.3, R.normal(size=(5, 3)))
    messages = [str(w.message) for w in caught if issubclass(w.category, compiled.CompiledFallbackWarning)]
    assert len(messages) == 1 and "einsum" in messages[0]
    assert 'D2 = np.einsum("ijk,ijk->ij", diff, diff)' in messages[0].splitlines()[2], messages[0]
