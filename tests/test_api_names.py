"""The names JAX and autograd users reach for: argnums / argnum, has_aux, jacfwd, jacrev,
elementwise_grad, vjp's pullback for every argument, and the errors that say the s2s spelling.

Every derivative is checked against central finite differences and, where autograd has the
same function, against autograd."""

import autograd
import numpy as np
import pytest

import s2s
from tests.helpers_fd import assert_close, autograd_version, fd_grad

RNG = np.random.default_rng(15)
A = RNG.normal(size=(4, 3))


def f2(x, y):
    return np.sum(np.sin(x) * y) + np.sum(y ** 3)


def loss_aux(w, x):
    pred = np.tanh(x @ w)
    loss = np.sum(pred ** 2)
    return loss, {"pred": pred, "n": 3, "label": "train", "top": np.argmax(pred)}


def vec(x):
    return np.sin(A @ x) * np.sum(x ** 2)


def elementwise(x):
    return np.tanh(x) * x ** 2


def _xy(seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=3), r.normal(size=3)


# ---------------------------------------------------------------- argnums / argnum


@pytest.mark.parametrize("keyword", ["wrt", "argnums", "argnum"])
def test_argnums_and_argnum_mean_wrt(keyword):
    x, y = _xy()
    g = s2s.grad(f2, **{keyword: 1})(x, y)
    assert_close(g, fd_grad(f2, (x, y), wrt=1))
    assert_close(g, autograd.grad(autograd_version(f2), 1)(x, y))
    gx, gy = s2s.grad(f2, **{keyword: (0, 1)})(x, y)
    assert_close(gx, fd_grad(f2, (x, y), wrt=0))
    assert_close(gy, fd_grad(f2, (x, y), wrt=1))


@pytest.mark.parametrize("entry", ["grad", "value_and_grad", "jacobian", "jacfwd", "jacrev", "hessian", "hvp",
                                   "elementwise_grad", "derivative"])
def test_every_entry_takes_argnums_and_argnum(entry):
    x, y = _xy(1)
    for keyword in ("argnums", "argnum", "wrt"):
        fn = getattr(s2s, entry)(f2, **{keyword: 1})
        if entry == "hvp":
            v = np.array([1.0, -2.0, 0.5])
            out = fn(x, y, v)
            expected = s2s.hessian(f2, wrt=1)(x, y) @ v
        elif entry == "value_and_grad":
            out = fn(x, y)[1]
            expected = fd_grad(f2, (x, y), wrt=1)
        elif entry == "hessian":
            out = fn(x, y)
            expected = np.stack([fd_grad(lambda x, y, i=i: s2s.grad(f2, wrt=1)(x, y)[i], (x, y), wrt=1) for i in range(3)])
        else:
            out = fn(x, y)
            expected = fd_grad(f2, (x, y), wrt=1)
        assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_vjp_takes_argnums():
    x, y = _xy(2)
    value, pullback = s2s.vjp(f2, x, y, argnums=1)
    assert_close(pullback(1.0), fd_grad(f2, (x, y), wrt=1))


def test_wrt_and_argnums_together_is_an_error():
    with pytest.raises(TypeError, match="both wrt= and argnums="):
        s2s.grad(f2, wrt=0, argnums=1)
    with pytest.raises(TypeError, match="both argnums= and argnum="):
        s2s.jacobian(f2, argnums=0, argnum=1)


def test_decorator_with_argnums():
    @s2s.grad(argnums=1)
    def g(x, y):
        return np.sum(x * y ** 2)

    x, y = _xy(3)
    assert_close(g(x, y), 2 * x * y)


# ---------------------------------------------------------------- has_aux


def test_grad_has_aux_returns_gradient_and_aux_untouched():
    w = RNG.normal(size=3)
    x = RNG.normal(size=(5, 3))
    g, aux = s2s.grad(loss_aux, has_aux=True)(w, x)
    assert_close(g, fd_grad(lambda w, x: loss_aux(w, x)[0], (w, x)))
    assert_close(g, autograd.grad(lambda w, x: autograd_version(loss_aux)(w, x)[0])(w, x))
    assert aux["n"] == 3 and aux["label"] == "train"
    assert_close(aux["pred"], np.tanh(x @ w))
    assert aux["top"] == np.argmax(np.tanh(x @ w))


def test_value_and_grad_has_aux_is_jax_layout():
    w = RNG.normal(size=3)
    x = RNG.normal(size=(5, 3))
    (value, aux), g = s2s.value_and_grad(loss_aux, has_aux=True)(w, x)
    assert np.isclose(value, loss_aux(w, x)[0])
    assert_close(aux["pred"], np.tanh(x @ w))
    assert_close(g, fd_grad(lambda w, x: loss_aux(w, x)[0], (w, x)))


def powers_kept(x):
    s, t = x, 1.0
    kept = []
    for _ in range(3):
        t = t * s
        kept.append(t)  # the backward sweep pops `kept` back to its length before each append
        s = np.sin(s) * x
    return np.sum(s), {"powers": kept, "last": [kept, s]}


@pytest.mark.parametrize("x", [0.7, np.array([0.3, -0.4])])
def test_an_auxiliary_list_the_function_appended_to_is_returned_full(x):
    want = powers_kept(x)[1]
    for aux in (s2s.grad(powers_kept, has_aux=True)(x)[1], s2s.value_and_grad(powers_kept, has_aux=True)(x)[0][1]):
        assert len(aux["powers"]) == 3 and aux["last"][0] is aux["powers"]
        for got, expected in zip(aux["powers"], want["powers"]):
            np.testing.assert_array_equal(got, expected)


def test_has_aux_does_not_differentiate_aux():
    # aux depends on w: were it differentiated, the gradient would change
    def f(w):
        return np.sum(w ** 2), np.sum(w ** 3) * 100.0

    w = np.array([1.0, -2.0, 3.0])
    g, aux = s2s.grad(f, has_aux=True)(w)
    assert_close(g, 2 * w)
    assert np.isclose(aux, 100.0 * np.sum(w ** 3))


def test_has_aux_with_tuple_wrt_and_list_return():
    def f(x, y):
        return [np.sum(x * y), x + y]

    x, y = _xy(4)
    (gx, gy), aux = s2s.grad(f, wrt=(0, 1), has_aux=True)(x, y)
    assert_close(gx, y)
    assert_close(gy, x)
    assert_close(aux, x + y)


def test_has_aux_without_a_pair_is_refused():
    with pytest.raises(TypeError, match=r"has_aux=True needs f2 to return a pair \(value, aux\)"):
        s2s.grad(f2, has_aux=True)(*_xy())

    def three(x):
        return np.sum(x), 1.0, 2.0

    with pytest.raises(TypeError, match="pair"):
        s2s.value_and_grad(three, has_aux=True)(np.ones(2))


def test_has_aux_with_non_scalar_value_is_refused():
    def f(x):
        return x * 2, 0.0

    with pytest.raises(s2s.NonScalarOutputError):
        s2s.grad(f, has_aux=True)(np.ones(2))


def test_vjp_and_jvp_and_jacobian_has_aux():
    w = RNG.normal(size=3)
    x = RNG.normal(size=(5, 3))
    value, pullback, aux = s2s.vjp(loss_aux, w, x, has_aux=True)
    assert np.isclose(value, loss_aux(w, x)[0])
    assert aux["label"] == "train"
    assert_close(pullback(2.0), 2 * fd_grad(lambda w, x: loss_aux(w, x)[0], (w, x)))
    t = RNG.normal(size=3)
    value, tangent, aux = s2s.jvp(loss_aux, (w, x), (t, None), has_aux=True)
    assert np.isclose(tangent, fd_grad(lambda w, x: loss_aux(w, x)[0], (w, x)) @ t)
    assert_close(aux["pred"], np.tanh(x @ w))

    def g(x):
        return np.sin(A @ x), np.sum(x)

    x3 = RNG.normal(size=3)
    for mode in ("reverse", "forward"):
        jac, aux = s2s.jacobian(g, mode=mode, has_aux=True)(x3)
        assert_close(jac, np.cos(A @ x3)[:, None] * A)
        assert np.isclose(aux, np.sum(x3))


# ---------------------------------------------------------------- jacfwd / jacrev / elementwise_grad


def _fd_jac(f, x, eps=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    out = np.asarray(f(x))
    return np.stack(cols, axis=-1).reshape(out.shape + x.shape)


@pytest.mark.parametrize("entry", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("shape", [(3,), (2, 3), ()])
def test_jacfwd_and_jacrev_shapes_and_values(entry, shape):
    def f(x):
        return np.outer(np.sin(x), x ** 2)

    x = np.asarray(RNG.normal(size=shape)) if shape else np.float64(0.7)
    jac = getattr(s2s, entry)(f)(x)
    expected = _fd_jac(f, np.asarray(x, dtype=float))
    assert jac.shape == np.shape(f(x)) + np.shape(x)
    assert_close(jac, expected, rtol=1e-5, atol=1e-6)
    if len(shape) == 1:  # autograd's np.outer takes vectors
        assert_close(jac, autograd.jacobian(autograd_version(f))(x))


def test_jacfwd_tuple_argnums_gives_tuple():
    def f(x, y):
        return np.sin(x) * y[:3] + x ** 2

    x, y = RNG.normal(size=3), RNG.normal(size=4)
    jx, jy = s2s.jacfwd(f, argnums=(0, 1))(x, y)
    jrx, jry = s2s.jacrev(f, argnums=(0, 1))(x, y)
    assert jx.shape == (3, 3) and jy.shape == (3, 4)
    assert_close(jx, _fd_jac(lambda x: f(x, y), x))
    assert_close(jy, _fd_jac(lambda y: f(x, y), y))
    assert_close(jrx, jx)
    assert_close(jry, jy)


def test_elementwise_grad_is_autograds():
    x = RNG.normal(size=(2, 3))
    g = s2s.elementwise_grad(elementwise)(x)
    assert_close(g, autograd.elementwise_grad(autograd_version(elementwise))(x))
    assert_close(g, fd_grad(lambda x: np.sum(elementwise(x)), (x,)))
    # not elementwise: the sum of the Jacobian's rows
    x3 = RNG.normal(size=3)
    assert_close(s2s.elementwise_grad(vec)(x3), _fd_jac(vec, x3).sum(axis=0))
    assert_close(s2s.elementwise_grad(vec)(x3), autograd.elementwise_grad(autograd_version(vec))(x3))


def test_elementwise_grad_argnum_and_scalar():
    def f(a, x):
        return a * np.exp(x)

    x = RNG.normal(size=4)
    assert_close(s2s.elementwise_grad(f, argnum=1)(2.0, x), 2.0 * np.exp(x))
    assert np.isclose(s2s.elementwise_grad(f, argnum=1)(2.0, 0.5), 2.0 * np.exp(0.5))
    assert np.isclose(s2s.elementwise_grad(f)(2.0, x), np.sum(np.exp(x)))


# ---------------------------------------------------------------- vjp for every argument


def test_vjp_all_returns_one_cotangent_per_argument():
    def f(x, n, y, label, scale):
        return np.sin(x) * y * scale + n

    x, y = _xy(5)
    value, pullback = s2s.vjp(f, x, 3, y, "a", 2.0, wrt="all")
    ct = RNG.normal(size=3)
    gx, gn, gy, glabel, gscale = pullback(ct)
    assert_close(value, f(x, 3, y, "a", 2.0))
    assert_close(gx, ct * np.cos(x) * y * 2.0)
    assert_close(gy, ct * np.sin(x) * 2.0)
    assert np.isclose(gn, np.sum(ct))
    assert glabel is None
    assert np.isclose(gscale, np.sum(ct * np.sin(x) * y))


def test_vjp_all_matches_autograd_make_vjp():
    from autograd import make_vjp
    x, y = _xy(6)
    ct = RNG.normal(size=3)
    ours = s2s.vjp(lambda x, y: np.sin(x) * y, x, y, wrt="all")[1](ct)

    def fag(x, y):
        import autograd.numpy as anp
        return anp.sin(x) * y

    for i in range(2):
        theirs = make_vjp(fag, i)(x, y)[0](ct)
        assert_close(ours[i], theirs)


def test_vjp_all_int_array_gets_none():
    def f(x, idx):
        return x[idx] * 2.0

    value, pullback = s2s.vjp(f, np.arange(4.0), np.array([0, 2]), wrt="all")
    gx, gidx = pullback(np.ones(2))
    assert_close(gx, [2.0, 0.0, 2.0, 0.0])
    assert gidx is None


# ---------------------------------------------------------------- errors in JAX's and autograd's spelling


def test_static_argnums_is_explained():
    with pytest.raises(TypeError, match="static_argnums=: it is jax.jit's"):
        s2s.grad(f2, static_argnums=(1,))
    with pytest.raises(TypeError, match="holomorphic"):
        s2s.jacobian(f2, holomorphic=True)


def test_unknown_keyword_lists_accepted_names():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'wrtt'; it accepts wrt=, argnums=, argnum=, "
                                        r"has_aux=, optimize="):
        s2s.grad(f2, wrtt=1)
    with pytest.raises(TypeError, match="it accepts"):
        s2s.hessian(f2, mode="forward")
    with pytest.raises(TypeError, match="it accepts has_aux="):
        s2s.jvp(f2, (1.0, 2.0), (1.0, None), argnums=0)


def test_value_and_grad_has_aux_keyword_accepted_as_decorator():
    @s2s.value_and_grad(has_aux=True, argnums=0)
    def f(x):
        return np.sum(x ** 2), "aux"

    (v, aux), g = f(np.array([1.0, 2.0]))
    assert np.isclose(v, 5.0) and aux == "aux"
    assert_close(g, [2.0, 4.0])


# ---------------------------------------------------------------- docs/api.md runs as written


def test_docs_api_examples_run(tmp_path):
    import pathlib
    import re
    import runpy

    text = (pathlib.Path(__file__).parent.parent / "docs" / "api.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "s2s.custom.vjp(" not in b]
    script = tmp_path / "api_examples.py"
    script.write_text("import numpy as np\nimport s2s\n" + "\n".join(blocks))
    names = runpy.run_path(str(script))
    assert names["J"]["w"].shape == (2, 2, 3) and names["J"]["b"].shape == (2, 2)
    assert_close(names["flat"], [3.0, 1.0, 1.0, 1.0, 1.0])
    assert_close(names["gx"], 2 * np.ones(3))
    assert names["gn"] == 3.0
    assert "pred" in names["aux"]


def test_has_aux_with_compile_is_refused_not_ignored():
    with pytest.raises(TypeError, match="compile= does not take an auxiliary output"):
        s2s.grad(loss_aux, has_aux=True, compile=True)


@pytest.mark.parametrize("module", ["s2s.runtime", "s2s.runtime.calls", "s2s.argcheck", "s2s.cache", "s2s.frontend"])
def test_a_module_imported_first_in_a_fresh_process(module):
    """`import s2s.runtime` first (what printed derivative code does) failed with a circular import once
    s2s/runtime/calls.py read s2s.cache at its top (s2s.cache reads the rules, which read the runtime)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}; import s2s; s2s.flatten([1.0])"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
