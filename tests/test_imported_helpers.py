"""Helpers imported from another module (`from utils import sigmoid`) are expanded in the caller as its own
module's are (transforms/adopt.py), where each free name of the helper denotes in its module the very
module, function or class it denotes in the caller's: otherwise it stays a call with its own derivative.
Either way the gradient is checked against central differences and autograd; and the code made is stale once
either module binds such a name again."""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2s
from tests.fixtures import imported_helpers as mod
from tests.fixtures.imported_helpers import (
    _inner,
    act,
    by_other_alias,
    calls_a_private_helper,
    gated,
    layer,
    scaled,
    sigmoid,
    softplus,
)
from tests.helpers_fd import check_all, fd_grad

R = np.random.default_rng(47)
assert math and _inner  # (read by the helpers: the caller holds the same objects by those names)


def gru_like(W, U, xs):
    h = np.zeros(U.shape[0])
    for t in range(xs.shape[0]):
        z = sigmoid(W @ xs[t] + U @ h)
        h = (1 - z) * h + z * np.tanh(U @ h)
    return np.sum(softplus(h))


def uses_gated(w, x):
    return np.sum(gated(x, w))


def uses_scaled(x):
    return np.sum(scaled(x))


def uses_other_alias(x):
    return np.sum(by_other_alias(x))


def uses_private(x):
    return calls_a_private_helper(x)


def two_layers(W, V, h):
    return np.sum(layer(V, layer(W, h)))


def _args():
    return R.normal(size=(4, 3)) * 0.5, R.normal(size=(4, 4)) * 0.5, R.normal(size=(6, 3))


def test_an_imported_helper_is_expanded_and_its_loop_specialised():
    args = _args()
    check_all(gru_like, args, wrt=(0, 1))
    src = s2s.source(s2s.grad(gru_like, wrt=(0, 1)), *args)
    assert "sigmoid_vjp" not in src and "softplus_vjp" not in src and "kept" not in src, src


def test_helpers_of_an_imported_helper_are_expanded_where_the_caller_holds_them():
    args = (0.7, R.normal(size=5))
    check_all(uses_gated, args, wrt=(0, 1))
    assert "_vjp" not in s2s.source(s2s.grad(uses_gated, wrt=(0, 1)), *args)


@pytest.mark.parametrize("f", [uses_other_alias])
def test_a_name_the_caller_lacks_keeps_the_helper_a_call(f):
    x = R.normal(size=5)
    check_all(f, (x,))
    assert "_vjp" in s2s.source(s2s.grad(f), x)


def test_a_private_helper_the_caller_imported_too_is_expanded():
    x = R.normal(size=5)
    check_all(uses_private, (x,))


def test_a_number_of_the_helper_s_module_keeps_it_a_call_and_is_read_live(monkeypatch):
    x = R.normal(size=5)
    grad = s2s.grad(uses_scaled)
    check_all(uses_scaled, (x,))
    assert "_vjp" in s2s.source(grad, x)
    monkeypatch.setattr(mod, "SCALE", 3.0)
    np.testing.assert_allclose(grad(x), fd_grad(uses_scaled, (x,)), rtol=1e-6)


def test_a_name_bound_again_in_the_helper_s_module_makes_the_code_stale(monkeypatch):
    W, V, h = R.normal(size=(3, 3)) * 0.5, R.normal(size=(3, 3)) * 0.5, R.normal(size=3)
    grad = s2s.grad(two_layers, wrt=(0, 1))
    check_all(two_layers, (W, V, h), wrt=(0, 1))
    assert "_vjp" not in s2s.source(grad, W, V, h)  # (act is np.tanh in both modules)
    monkeypatch.setattr(mod, "act", np.sin)  # layer now computes sin; the caller's `act` is still np.tanh
    for got, w in zip(grad(W, V, h), (0, 1)):
        np.testing.assert_allclose(got, fd_grad(two_layers, (W, V, h), wrt=w), rtol=1e-6, atol=1e-8)
    assert act is np.tanh


def test_a_helper_whose_module_was_reloaded_names_the_importing_module_in_its_hint(tmp_path, monkeypatch):
    """(helper 136: after `importlib.reload(helpers)`, a module that did `from helpers import plain` still calls the
    old `plain`, whose source is gone; the hint said to reload the module, which the user had just done)"""
    import importlib
    import sys

    (tmp_path / "s2s_reloaded_helpers.py").write_text("import numpy as np\n\n\ndef plain(x):\n    return np.sin(x) * x\n")
    (tmp_path / "s2s_reloading_caller.py").write_text(
        "import numpy as np\nfrom s2s_reloaded_helpers import plain\n\n\ndef f(x):\n    return np.sum(plain(x))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import s2s_reloaded_helpers
        import s2s_reloading_caller

        x = np.array([0.3, -1.2, 0.8])
        np.testing.assert_allclose(s2s.grad(s2s_reloading_caller.f)(x), np.cos(x) * x + np.sin(x))
        (tmp_path / "s2s_reloaded_helpers.py").write_text(
            "import numpy as np\n\n\n# edited\ndef plain(x):\n    return np.cos(x) * x\n")
        importlib.invalidate_caches()
        importlib.reload(s2s_reloaded_helpers)
        with pytest.raises(s2s.S2SError) as caught:
            s2s.grad(s2s_reloading_caller.f)(np.array([0.3, -1.2, 0.8, 0.1]))
        assert "s2s_reloaded_helpers was reloaded" in str(caught.value), caught.value
    finally:
        sys.modules.pop("s2s_reloaded_helpers", None)
        sys.modules.pop("s2s_reloading_caller", None)


# ---- helpers called as a module's attribute (`mod.sigmoid(...)`, `import helpers; helpers.layer(...)`)

import tests.fixtures.imported_helpers  # noqa: E402  (the dotted calls below read the package by its name)


def gru_through_the_module(W, U, xs):
    h = np.zeros(U.shape[0])
    for t in range(xs.shape[0]):
        z = mod.sigmoid(W @ xs[t] + U @ h)
        h = (1 - z) * h + z * np.tanh(U @ h)
    return np.sum(mod.softplus(h))


def through_the_package(W, V, h):
    return np.sum(tests.fixtures.imported_helpers.layer(V, tests.fixtures.imported_helpers.layer(W, h)))


def a_local_of_the_helper_s_name(x):
    sigmoid = x * 2.0  # (the expanded call's name must be another)
    return np.sum(mod.sigmoid(sigmoid) * sigmoid)


def through_the_module_scaled(x):
    return np.sum(mod.scaled(x))


def through_the_module_layer(W, V, h):
    return np.sum(mod.layer(V, mod.layer(W, h)))


def test_a_helper_called_as_a_module_attribute_is_expanded_and_its_loop_specialised():
    args = _args()
    check_all(gru_through_the_module, args, wrt=(0, 1))
    src = s2s.source(s2s.grad(gru_through_the_module, wrt=(0, 1)), *args)
    assert "_vjp" not in src and "unbroadcast" not in src and "kept" not in src, src


def test_a_helper_called_through_a_package_s_attributes_is_expanded():
    args = (R.normal(size=(3, 3)) * 0.5, R.normal(size=(3, 3)) * 0.5, R.normal(size=3))
    check_all(through_the_package, args, wrt=(0, 1))
    assert "_vjp" not in s2s.source(s2s.grad(through_the_package, wrt=(0, 1)), *args)


def test_the_expanded_call_takes_a_name_the_caller_does_not_use():
    x = R.normal(size=5)
    check_all(a_local_of_the_helper_s_name, (x,))
    assert "_vjp" not in s2s.source(s2s.grad(a_local_of_the_helper_s_name), x)


def test_a_module_attribute_reading_a_number_of_its_module_stays_a_call_read_live(monkeypatch):
    x = R.normal(size=5)
    grad = s2s.grad(through_the_module_scaled)
    check_all(through_the_module_scaled, (x,))
    assert "_vjp" in s2s.source(grad, x)
    monkeypatch.setattr(mod, "SCALE", 3.0)
    np.testing.assert_allclose(grad(x), fd_grad(through_the_module_scaled, (x,)), rtol=1e-6)


def test_a_module_attribute_bound_again_makes_the_code_stale(monkeypatch):
    W, V, h = R.normal(size=(3, 3)) * 0.5, R.normal(size=(3, 3)) * 0.5, R.normal(size=3)
    grad = s2s.grad(through_the_module_layer, wrt=(0, 1))
    check_all(through_the_module_layer, (W, V, h), wrt=(0, 1))
    assert "_vjp" not in s2s.source(grad, W, V, h)
    monkeypatch.setattr(mod, "layer", mod.gated)  # gated(x, w): another function under the attribute's name
    for got, w in zip(grad(W, V, h), (0, 1)):
        np.testing.assert_allclose(got, fd_grad(through_the_module_layer, (W, V, h), wrt=w), rtol=1e-6, atol=1e-8)
    monkeypatch.setattr(mod, "act", np.sin)  # layer's own free name, bound again in its module: stale too
    monkeypatch.setattr(mod, "layer", layer)
    for got, w in zip(grad(W, V, h), (0, 1)):
        np.testing.assert_allclose(got, fd_grad(through_the_module_layer, (W, V, h), wrt=w), rtol=1e-6, atol=1e-8)


def test_a_reloaded_module_s_attribute_gives_the_new_function_s_derivative(tmp_path, monkeypatch):
    import importlib
    import sys

    (tmp_path / "s2s_attr_helpers.py").write_text("import numpy as np\n\n\ndef plain(x):\n    return np.sin(x) * x\n")
    (tmp_path / "s2s_attr_caller.py").write_text(
        "import numpy as np\nimport s2s_attr_helpers as h\n\n\ndef f(x):\n    return np.sum(h.plain(x))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import s2s_attr_caller
        import s2s_attr_helpers

        x = np.array([0.3, -1.2, 0.8])
        grad = s2s.grad(s2s_attr_caller.f)
        np.testing.assert_allclose(grad(x), np.cos(x) * x + np.sin(x))
        assert "_vjp" not in s2s.source(grad, x)
        (tmp_path / "s2s_attr_helpers.py").write_text(
            "import numpy as np\n\n\n# edited\ndef plain(x):\n    return np.cos(x) * x\n")
        importlib.invalidate_caches()
        importlib.reload(s2s_attr_helpers)
        np.testing.assert_allclose(grad(x), -np.sin(x) * x + np.cos(x))
    finally:
        sys.modules.pop("s2s_attr_helpers", None)
        sys.modules.pop("s2s_attr_caller", None)


def test_a_module_attribute_helper_compiles():
    pytest.importorskip("numba")
    from tests.helpers_fd import compiled_matches

    args = _args()
    compiled_matches(gru_through_the_module, args, wrt=(0, 1))


def _cell_through_the_module(W, h):
    return 0.9 * h + 0.1 * mod.sigmoid(W @ h)


def recurrence_through_a_helper(W, y):
    h = np.zeros(W.shape[0]) + 0.1
    for _ in range(6):
        h = _cell_through_the_module(W, h)
    return np.sum((h - y) ** 2)


def test_a_module_attribute_called_in_a_helper_of_the_caller_s_module_is_expanded(monkeypatch):
    """(helper 142: `helpers.swish(...)` one level down, in a helper of the caller's module, stayed a call with
    its pullback on the tape; 1.8x the hand gradient)"""
    args = (R.normal(size=(4, 4)) * 0.5, R.normal(size=4))
    grad = s2s.grad(recurrence_through_a_helper)
    check_all(recurrence_through_a_helper, args)
    src = s2s.source(grad, *args)
    assert "_vjp" not in src and "unbroadcast" not in src, src
    monkeypatch.setattr(mod, "sigmoid", np.tanh)  # the attribute bound to another function: stale, made again
    np.testing.assert_allclose(grad(*args), fd_grad(recurrence_through_a_helper, args), rtol=1e-6, atol=1e-8)
