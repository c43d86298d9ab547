"""`*args`, `**kwargs` and star-unpacking in definitions, calls, assignments and zip(*...), zip(a, b) as a
value consumed at once (list, tuple, dict, sum, unpacking), against central
differences and autograd, in reverse and forward mode."""

import numpy as np
import pytest
from helpers_fd import assert_close, autograd_version, check_all, fd_grad
from test_functions_as_values import X, jvp_check

import s2s


def total(*parts):
    out = 0.0
    for p in parts:
        out = out + np.sum(p * p)
    return out


def weighted(x, **weights):
    return np.sum(x * weights["a"]) + np.sum(np.sin(x) * weights["b"])


def calls_varargs(x, y):
    return total(x, 2.0 * y, np.sin(x))


def calls_kwargs(x, w):
    return weighted(x, a=w, b=3.0) + weighted(w, b=x, a=1.0)


def star_call(x):
    xs = [x, x * 2.0]
    return total(*xs) + np.sum(np.add(*xs))


def double_star_call(x, w):
    d = {"a": w, "b": x * x}
    return weighted(x, **d)


def star_of_an_array(m):
    return np.sum(np.multiply(*m))


def star_assignment(x):
    first, *rest, last = [x, x * 2.0, np.sin(x), x ** 3]
    return np.sum(first * last) + np.sum(rest[0] * rest[1])


def star_assignment_of_an_array(x):
    a, *rest = x
    return a * sum(rest)


def zip_star(x):
    pairs = [(x[0], x[1]), (x[2], x[3]), (x[1], x[2])]
    firsts, seconds = zip(*pairs)
    return np.sum(np.array(firsts) * np.array(seconds))


def zip_star_in_a_loop(x):
    rows = [x[:2], x[2:]]
    s = 0.0
    for a, b in zip(*rows):
        s = s + a * np.sin(b)
    return s


def zip_listed(x):
    pairs = list(zip(x[:-1], x[1:]))
    return sum((b - a) ** 2 for a, b in pairs)


def zip_into_dict(x):
    d = dict(zip(["u", "v", "w", "z"], x))
    return d["u"] * d["w"] + np.sin(d["z"])


def zip_nested_and_summed(x):
    triples = list(zip(zip(x, x[::-1]), x ** 2))
    return sum(a * b + c for (a, b), c in triples) + sum(tuple(zip(x, x))[1])


def zip_unpacked(x):
    (a, b), (c, d) = zip(x[:2], x[2:])
    return a * d - b * c


def random_shape(x, rs):
    shape = (2, 2)
    noise = rs.randn(*shape)
    return np.sum(x.reshape(shape) * noise)


CASES = [
    (calls_varargs, (X(seed=1), X(seed=2)), (0, 1)),
    (calls_kwargs, (X(seed=3), X(seed=4)), (0, 1)),
    (star_call, (X(seed=5),), 0),
    (double_star_call, (X(seed=6), X(seed=7)), (0, 1)),
    (star_of_an_array, (X(6, seed=8).reshape(2, 3),), 0),
    (star_assignment, (X(seed=9),), 0),
    (star_assignment_of_an_array, (X(seed=10),), 0),
    (zip_star, (X(seed=11),), 0),
    (zip_star_in_a_loop, (X(seed=12),), 0),
    (zip_listed, (X(seed=16),), 0),
    (zip_into_dict, (X(seed=17),), 0),
    (zip_nested_and_summed, (X(seed=18),), 0),
    (zip_unpacked, (X(seed=19),), 0),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_reverse_against_fd_and_autograd(f, args, wrt):
    check_all(f, args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_forward_against_fd(f, args, wrt):
    for w in (wrt if isinstance(wrt, tuple) else (wrt,)):
        jvp_check(f, args, w)


def test_star_of_a_random_state_shape_is_a_constant():
    x = X(seed=13)
    g = s2s.grad(random_shape)(x, np.random.RandomState(3))
    assert_close(g, fd_grad(lambda v: random_shape(v, np.random.RandomState(3)), (x,)))


def test_a_function_with_varargs_differentiated_itself():
    x, y = X(seed=14), X(seed=15)
    g = s2s.grad(total)(x, y)  # wrt=0 names the *parts parameter: the gradient is a tuple, one per argument
    assert isinstance(g, tuple) and len(g) == 2
    assert_close(g[0], 2 * x)
    assert_close(g[1], 2 * y)


def test_a_function_with_kwargs_differentiated_itself():
    x = X(seed=16)
    g = s2s.grad(weighted)(x, a=2.0, b=np.ones(4))
    assert_close(g, fd_grad(lambda v: weighted(v, a=2.0, b=np.ones(4)), (x,)))


def mixed_signature(a, *rest, k=1.0, **kw):
    s = a * k
    for r in rest:
        s = s + r * r
    return s * kw["m"]


def calls_mixed_signature(x, w):
    return np.sum(mixed_signature(x, w, x * 2.0, k=w, m=x))


def star_in_a_loop_target(x):
    triples = [(x[0], x[1], x[2]), (x[1], x[2], x[3])]
    s = 0.0
    for a, *rest in triples:
        s = s + a * rest[0] * rest[1]
    return s


@pytest.mark.parametrize("f, args, wrt", [(calls_mixed_signature, (X(seed=17), X(seed=18)), (0, 1)),
                                          (star_in_a_loop_target, (X(seed=19),), 0)],
                         ids=["mixed-signature", "loop-target"])
def test_mixed_signatures_and_loop_targets(f, args, wrt):
    check_all(f, args, wrt=wrt)
    for w in (wrt if isinstance(wrt, tuple) else (wrt,)):
        jvp_check(f, args, w)


def test_hessian_through_a_varargs_helper():
    x = X(seed=20)
    h = s2s.hessian(lambda v: calls_varargs(v, v * 0.5))(x)
    import autograd
    want = autograd.hessian(autograd_version(calls_varargs_of_one))(x)
    assert_close(h, want, rtol=1e-6, atol=1e-8)


def calls_varargs_of_one(v):
    return total(v, 2.0 * (v * 0.5), np.sin(v))
