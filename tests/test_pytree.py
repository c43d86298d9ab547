"""Parameters of any structure at every entry point: nested dicts, lists, tuples, namedtuples and
dataclasses in grad, value_and_grad, vjp, jvp, jacobian, hessian and hvp, with results of the same
structure, and s2s.flatten (autograd's `flatten`).

Checked against central finite differences over the flattened parameters, and against autograd
(which takes dicts, lists and tuples) where it has the same function."""

import collections
import dataclasses

import autograd
import numpy as np
import pytest
from autograd.misc import flatten as ag_flatten

import s2s
from s2s import pytree
from tests.helpers_fd import assert_close, autograd_version

Pair = collections.namedtuple("Pair", "w b")


@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray
    name: str = "dense"


@dataclasses.dataclass(frozen=True)
class Frozen:
    a: float
    v: np.ndarray


RNG = np.random.default_rng(1515)


def params(seed=0):
    r = np.random.default_rng(seed)
    return {"w": r.normal(size=(2, 3)), "layers": [{"b": r.normal(size=3), "s": float(r.normal())},
                                                   (r.normal(size=2), r.normal())]}


def loss(p, x):
    h = np.tanh(p["w"] @ x + p["layers"][0]["b"][:2] * p["layers"][0]["s"])
    return np.sum(h * p["layers"][1][0]) + p["layers"][1][1] ** 2 * np.sum(x)


def vector_out(p, x):
    return np.sin(p["w"] @ x) * p["layers"][1][1] + p["layers"][1][0]


def dict_out(p, x):
    return {"a": np.sum(p["w"] ** 2, axis=0) * x, "b": [p["layers"][0]["s"] * 2.0, p["layers"][1][0] ** 3]}


def tuple_loss(t):
    return np.sum(np.sin(t[0]) * t[1]) + t[0][0] ** 2


# -------------------------------------------------------------------- finite differences over structures


def fd_structured(f, args, wrt=0, eps=1e-6):
    """Central differences of a function with a structured argument: (output's flat vector) x (flat parameter)."""
    flat, unflatten = s2s.flatten(args[wrt])

    def at(v):
        a = list(args)
        a[wrt] = unflatten(v)
        return s2s.flatten(f(*a))[0]

    cols = []
    for i in range(flat.size):
        e = np.zeros(flat.size)
        e[i] = eps
        cols.append((at(flat + e) - at(flat - e)) / (2 * eps))
    return np.stack(cols, axis=-1)


def flat(value, like):
    return pytree.flat_like(value, like)


# -------------------------------------------------------------------- flatten


def test_flatten_matches_autograd():
    for value in (params(1), [np.ones(2), (3.0, {"z": np.zeros((2, 2)), "a": 1.5})], {"b": 1.0, "a": np.arange(3.0)}):
        ours, unflatten = s2s.flatten(value)
        theirs, _ = ag_flatten(value)
        assert_close(ours, theirs)
        back = unflatten(ours)
        assert_close(s2s.flatten(back)[0], ours)
        assert type(back) is type(value)


def test_flatten_keeps_structure_types_and_non_leaves():
    value = {"pair": Pair(np.ones(2), 3.0), "layer": Layer(np.ones((2, 2)), np.zeros(2)), "frozen": Frozen(1.0, np.ones(1)),
             "tag": "x", "none": None, "flag": True}
    vector, unflatten = s2s.flatten(value)
    assert vector.shape == (2 + 1 + 4 + 2 + 1 + 1,)
    back = unflatten(vector * 2)
    assert isinstance(back["pair"], Pair) and back["pair"].b == 6.0 and isinstance(back["pair"].b, float)
    assert isinstance(back["layer"], Layer) and back["layer"].name == "dense"
    assert_close(back["layer"].w, 2 * np.ones((2, 2)))
    assert isinstance(back["frozen"], Frozen) and back["frozen"].a == 2.0
    assert back["tag"] == "x" and back["none"] is None and back["flag"] is True
    assert value["layer"].w[0, 0] == 1.0  # the original is untouched
    with pytest.raises(ValueError, match="vector of shape"):
        unflatten(np.zeros(3))


def test_flatten_of_empty_and_scalars():
    assert s2s.flatten([])[0].shape == (0,)
    assert s2s.flatten({})[1](np.zeros(0)) == {}
    vector, unflatten = s2s.flatten(2.5)
    assert_close(vector, [2.5])
    assert unflatten(np.array([4.0])) == 4.0
    v32, unflatten32 = s2s.flatten(np.ones(3, dtype=np.float32))
    assert v32.dtype == np.float32


# -------------------------------------------------------------------- first order


def test_grad_value_and_grad_vjp_of_nested_dict_against_fd_and_autograd():
    p, x = params(2), RNG.normal(size=3)
    expected = fd_structured(loss, (p, x))[0]
    g = s2s.grad(loss)(p, x)
    assert_close(flat(g, p), expected)
    assert isinstance(g["layers"][1], tuple) and isinstance(g["layers"][0]["s"], float)
    ag = autograd.grad(autograd_version(loss))(p, x)
    assert_close(flat(g, p), ag_flatten(ag)[0])
    v, g2 = s2s.value_and_grad(loss)(p, x)
    assert np.isclose(v, loss(p, x))
    assert_close(flat(g2, p), expected)
    value, pullback = s2s.vjp(loss, p, x)
    assert_close(flat(pullback(2.0), p), 2 * expected)


def test_vjp_of_structured_output():
    p, x = params(3), RNG.normal(size=3)
    value, pullback = s2s.vjp(dict_out, p, x)
    ct = pytree.map_leaves(lambda v: RNG.normal(size=np.shape(v)) if np.ndim(v) else float(RNG.normal()), value)
    g = pullback(ct)
    J = fd_structured(dict_out, (p, x))
    assert_close(flat(g, p), s2s.flatten(ct)[0] @ J)


def test_jvp_with_structured_tangents():
    p, x = params(4), RNG.normal(size=3)
    t = pytree.map_leaves(lambda v: RNG.normal(size=np.shape(v)) if np.ndim(v) else float(RNG.normal()), p)
    value, tangent = s2s.jvp(dict_out, (p, x), (t, None))
    J = fd_structured(dict_out, (p, x))
    assert_close(s2s.flatten(tangent)[0], J @ s2s.flatten(t)[0], rtol=1e-5, atol=1e-6)
    assert set(tangent) == {"a", "b"} and isinstance(tangent["b"], list)
    v2, t2 = s2s.jvp(loss, (p, x), (t, None))
    assert np.isclose(t2, fd_structured(loss, (p, x))[0] @ s2s.flatten(t)[0])


def test_namedtuple_parameter_gradient_is_a_namedtuple():
    pair = Pair(RNG.normal(size=3), RNG.normal(size=3))
    for entry in (lambda: s2s.grad(tuple_loss)(pair), lambda: s2s.value_and_grad(tuple_loss)(pair)[1],
                  lambda: s2s.vjp(tuple_loss, pair)[1](1.0)):
        g = entry()
        assert type(g) is Pair
        assert_close(flat(g, pair), fd_structured(tuple_loss, (pair,))[0])
    _, tangent = s2s.jvp(lambda t: (t[0] * 2.0, t[1]), (pair,), (Pair(np.ones(3), np.zeros(3)),))
    assert_close(tangent[0], 2 * np.ones(3))


def test_tuple_wrt_with_structures():
    p, x = params(5), RNG.normal(size=3)
    gp, gx = s2s.grad(loss, argnums=(0, 1))(p, x)
    assert_close(flat(gp, p), fd_structured(loss, (p, x))[0])
    assert_close(gx, fd_structured(loss, (p, x), wrt=1)[0])


def test_vjp_all_with_structures():
    p, x = params(6), RNG.normal(size=3)
    value, pullback = s2s.vjp(loss, p, x, wrt="all")
    gp, gx = pullback(1.0)
    assert_close(flat(gp, p), fd_structured(loss, (p, x))[0])
    assert_close(gx, fd_structured(loss, (p, x), wrt=1)[0])


# -------------------------------------------------------------------- Jacobians: JAX's layout


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_with_respect_to_a_dict_is_a_dict(mode):
    p, x = params(7), RNG.normal(size=3)
    jac = s2s.jacobian(vector_out, mode=mode)(p, x)
    assert set(jac) == {"w", "layers"}
    out = vector_out(p, x)
    assert jac["w"].shape == out.shape + p["w"].shape
    assert jac["layers"][0]["s"].shape == out.shape
    assert jac["layers"][1][0].shape == out.shape + (2,)
    # blocks against the finite-difference matrix
    J = fd_structured(vector_out, (p, x))
    assert_close(_matrix(jac, out, p), J, rtol=1e-5, atol=1e-6)


def _matrix(jac, out, p):
    """The Jacobian's blocks back into one matrix (inverse of pytree.pack)."""
    rows = []
    out_leaves = pytree.leaves(out)
    jac_parts = _jac_parts(jac, out)
    for out_leaf, part in zip(out_leaves, jac_parts):
        n = int(np.size(out_leaf))
        rows.append(np.concatenate([np.reshape(b, (n, -1)) for b in pytree.leaves(part)], axis=1))
    return np.concatenate(rows, axis=0)


def _jac_parts(jac, out):
    """The parameter-structured parts of `jac`, one per output leaf, walking `out`'s structure."""
    if pytree.is_leaf(out):
        return [jac]
    if not pytree.is_structure(out):
        return []  # a string or None inside: no leaves, no blocks
    keys, children = pytree._children(out)
    parts = []
    for k, c in zip(keys, children):
        parts += _jac_parts(getattr(jac, k) if isinstance(k, str) and not isinstance(jac, dict) else jac[k], c)
    return parts


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_structured_output_and_input(mode):
    p, x = params(8), RNG.normal(size=3)
    jac = s2s.jacobian(dict_out, mode=mode)(p, x)
    out = dict_out(p, x)
    assert jac["a"]["w"].shape == (3, 2, 3)
    assert jac["b"][0]["layers"][0]["b"].shape == (3,)
    assert jac["b"][1]["layers"][1][0].shape == (2, 2)
    assert_close(_matrix(jac, out, p), fd_structured(dict_out, (p, x)), rtol=1e-5, atol=1e-6)


def test_jacobian_tuple_argument_matches_autograd():
    t = (RNG.normal(size=3), RNG.normal(size=3))

    def f(t):
        return np.sin(t[0]) * t[1]

    for mode in ("reverse", "forward"):
        jac = s2s.jacobian(f, mode=mode)(t)
        assert isinstance(jac, tuple) and jac[0].shape == (3, 3)
        assert_close(np.stack(jac, axis=1), _fd_tuple_jac(f, t))
        for i in range(2):  # autograd, one tuple entry at a time
            assert_close(jac[i], autograd.jacobian(lambda v, i=i: autograd_version(f)(
                (v, t[1]) if i == 0 else (t[0], v)))(t[i]))


def _fd_tuple_jac(f, t):
    return fd_structured(f, (t,)).reshape(3, 2, 3)


# -------------------------------------------------------------------- Hessians and hvp


def _fd_hessian(f, args, wrt=0):
    return fd_structured(lambda *a: s2s.grad(f, wrt=wrt)(*a), args, wrt=wrt)


def test_hessian_of_a_dict_is_a_nested_dict():
    p = {"a": RNG.normal(size=2), "b": {"c": RNG.normal(size=(2, 2)), "d": 0.3}}

    def f(p):
        return np.sum(np.sin(p["a"]) * (p["b"]["c"] @ p["a"])) * p["b"]["d"] + p["b"]["d"] ** 3

    H = s2s.hessian(f)(p)
    assert H["a"]["a"].shape == (2, 2)
    assert H["a"]["b"]["c"].shape == (2, 2, 2)
    assert H["b"]["c"]["a"].shape == (2, 2, 2)
    assert H["b"]["d"]["b"]["d"].shape == ()
    expected = _fd_hessian(f, (p,))
    assert_close(_matrix(H, p, p), expected, rtol=1e-5, atol=1e-5)
    assert_close(_matrix(H, p, p), _matrix(H, p, p).T, atol=1e-10)
    ag_flat, ag_unflatten = ag_flatten(p)  # the same order as s2s.flatten's
    ag = autograd.hessian(lambda v: autograd_version(f)(ag_unflatten(v)))(ag_flat)
    assert_close(_matrix(H, p, p), ag)


def test_hessian_of_a_list_and_of_a_namedtuple():
    lst = [RNG.normal(size=3), 0.4]

    def f(v):
        return np.sum(v[0] ** 3) * v[1] + v[1] ** 4

    H = s2s.hessian(f)(lst)
    assert isinstance(H, list) and isinstance(H[0], list)
    assert_close(_matrix(H, lst, lst), _fd_hessian(f, (lst,)), rtol=1e-5, atol=1e-5)
    pair = Pair(RNG.normal(size=2), RNG.normal(size=2))
    H2 = s2s.hessian(tuple_loss)(pair)
    assert_close(_matrix(H2, pair, pair), _fd_hessian(tuple_loss, (pair,)), rtol=1e-5, atol=1e-5)


def test_hessian_tuple_wrt_gives_blocks():
    x, y = RNG.normal(size=2), RNG.normal(size=3)

    def f(x, y):
        return np.sum(np.sin(x)) * np.sum(y ** 2) + np.sum(x ** 2) * y[0]

    H = s2s.hessian(f, argnums=(0, 1))(x, y)
    assert H[0][0].shape == (2, 2) and H[0][1].shape == (2, 3) and H[1][0].shape == (3, 2)
    full = _fd_hessian(lambda xy: f(xy[0], xy[1]), ((x, y),))
    assert_close(np.block([[H[0][0], H[0][1]], [H[1][0], H[1][1]]]), full, rtol=1e-5, atol=1e-5)


def test_hvp_with_a_structured_vector():
    p = {"a": RNG.normal(size=2), "b": [RNG.normal(size=3), 0.5]}

    def f(p):
        return np.sum(np.sin(p["a"])) * np.sum(p["b"][0] ** 2) + p["b"][1] ** 3 * np.sum(p["a"])

    v = {"a": RNG.normal(size=2), "b": [RNG.normal(size=3), -1.0]}
    out = s2s.hvp(f)(p, v)
    assert set(out) == {"a", "b"} and isinstance(out["b"], list)
    expected = _fd_hessian(f, (p,)) @ s2s.flatten(v)[0]
    assert_close(s2s.flatten(out)[0], expected, rtol=1e-5, atol=1e-5)


# -------------------------------------------------------------------- dataclasses (attribute access: helper E)


def test_dataclass_parameter_gradient_and_hessian():
    layer = Layer(RNG.normal(size=(2, 3)), RNG.normal(size=2))
    x = RNG.normal(size=3)

    def f(layer, x):
        return np.sum(np.tanh(layer.w @ x + layer.b) ** 2)

    g = s2s.grad(f)(layer, x)  # attribute reads are differentiated (transforms/objects.py): no refusal
    assert type(g) is Layer
    assert_close(flat(g, layer), fd_structured(f, (layer, x))[0])
    H = s2s.hessian(f)(layer, x)
    assert_close(_matrix(H, layer, layer), _fd_hessian(f, (layer, x)), rtol=1e-5, atol=1e-5)


# -------------------------------------------------------------------- flatten_func (autograd's)


def gmm_like(params, data, scale=1.0):
    means, log_sd = params["means"], params["log_sd"]
    z = (data[:, None] - means[None, :]) / np.exp(log_sd)
    return scale * np.sum(np.log(np.sum(np.exp(-0.5 * z ** 2), axis=1))) + np.sum(log_sd ** 2)


def test_flatten_func_gradient_hvp_and_hessian_are_vectors():
    params = {"means": RNG.normal(size=3), "log_sd": RNG.normal(size=3) * 0.1}
    data = RNG.normal(size=7)
    flat_obj, unflatten, x0 = s2s.flatten_func(gmm_like, params)
    assert np.isclose(flat_obj(x0, data), gmm_like(params, data))
    g = s2s.grad(flat_obj)(x0, data)
    assert g.shape == x0.shape
    assert_close(g, s2s.flatten(s2s.grad(gmm_like)(params, data))[0])
    assert_close(g, fd_structured(gmm_like, (params, data))[0])
    from autograd.misc.flatten import flatten_func as ag_flatten_func
    ag_obj, _, ag_x0 = ag_flatten_func(autograd_version(gmm_like), params)
    assert_close(x0, ag_x0)
    assert_close(g, autograd.grad(ag_obj)(ag_x0, data))
    v = RNG.normal(size=x0.size)
    H = s2s.hessian(flat_obj)(x0, data)
    assert_close(H, _fd_hessian(gmm_like, (params, data)), rtol=1e-5, atol=1e-5)
    assert_close(s2s.hvp(flat_obj)(x0, data, v), H @ v, rtol=1e-6, atol=1e-8)
    assert_close(s2s.hvp(flat_obj)(x0, data, v), autograd.hessian_vector_product(ag_obj)(ag_x0, data, v))
    assert np.isclose(s2s.grad(flat_obj, wrt="x")(x0, data, scale=2.0) @ v,
                      s2s.flatten(s2s.grad(gmm_like)(params, data, 2.0))[0] @ v)
    back = unflatten(x0)
    assert set(back) == {"means", "log_sd"}


def test_flatten_func_with_scipy_minimize():
    from scipy.optimize import minimize

    target = {"a": np.array([1.0, -2.0]), "b": 0.5}

    def objective(p):
        return np.sum((p["a"] - target["a"]) ** 2) + (p["b"] - target["b"]) ** 4 + np.sum(p["a"] ** 2) * 0.1

    flat_obj, unflatten, x0 = s2s.flatten_func(objective, {"a": np.zeros(2), "b": 0.0})
    result = minimize(flat_obj, x0, jac=s2s.grad(flat_obj), hessp=s2s.hvp(flat_obj), method="Newton-CG")
    best = unflatten(result.x)
    assert_close(best["a"], target["a"] / 1.1, atol=1e-5)
    assert abs(best["b"] - 0.5) < 2e-2


def test_flatten_func_of_a_function_with_a_parameter_named_x():
    """The flat function's vector parameter was always named `x`: a function of `(params, x)` gave a SyntaxError
    (duplicate argument, review 218); the vector takes another name."""
    flat, unflatten, v0 = s2s.flatten_func(_weighted, {"w": np.ones(3)})
    x = np.arange(3.0)
    assert flat(v0, x) == _weighted({"w": np.ones(3)}, x)
    np.testing.assert_allclose(s2s.grad(flat)(v0, x), 2 * v0 * x, rtol=1e-12)


def _weighted(params, x):
    return np.sum(params["w"] ** 2 * x)
