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


def norm_of_order_inf(x):
    return np.linalg.norm(x, np.inf) + np.sum(x ** 2)


def dtype_of_state_changes(x32, c):
    s = x32
    for _ in range(3):
        s = s * c + x32
    return np.sum(s)


def test_numba_reasons_in_plain_words():
    """numba's reasons name the helper and the arguments it has no version for, and the name that would hold two
    types (not a function object's address, nor numba's `s.2` for a version of `s`)."""
    import warnings

    import s2s
    from s2s.compiled import CompiledFallbackWarning
    for f, args, words in [(norm_of_order_inf, (np.ones(3),), "no compiled version of grad_norm takes these arguments"),
                           (dtype_of_state_changes, (np.ones(3, np.float32), np.float64(0.3)),
                            "`s` holds array(float32, 1d, C) in one place and array(float64, 1d, C) in another")]:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            s2s.grad(f, compile=True)(*args)
        text = " ".join(str(w.message) for w in seen if issubclass(w.category, CompiledFallbackWarning))
        assert words in text and " at 0x" not in text and "'s.2'" not in text
