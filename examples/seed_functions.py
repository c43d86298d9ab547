"""The seed lecture's functions (07 自动求导, "automatic differentiation"), ready for the command line.

Each function is one of the lecture's PyTorch examples written as plain NumPy; s2s differentiates it
from its source. Try:

    s2s show  examples/seed_functions.py:dot2                 # the gradient code s2s writes (4 * x)
    s2s show  examples/seed_functions.py:control --stages     # the program after each pass, by name
    s2s show  examples/seed_functions.py:z_dot --mode forward # tangent code
    s2s check examples/seed_functions.py:control --at a=0.7   # s2s vs SymPy vs finite differences
    s2s check examples/seed_functions.py:z_dot --at w="[1, 2, 3]" --at x="[0.5, -1, 2]" --at y=0.5
    s2s graph examples/seed_functions.py:z_ls --wrt w         # the computation graph as Graphviz DOT

`python examples/seed_functions.py` checks each of the lecture's claims with s2s.grad and prints them.
"""

import numpy as np

import s2s

# ---- the vector chain rule (向量链式法则): the lecture's two worked examples ----


def z_dot(w, x, y):
    """z = (<x, w> - y)^2; the lecture derives dz/dw = 2 (<x, w> - y) x^T."""
    return (np.dot(x, w) - y) ** 2


def z_ls(w, X, y):
    """z = ||X w - y||^2; the lecture derives dz/dw = 2 (X w - y)^T X."""
    r = X @ w - y
    return np.dot(r, r)


# ---- the lecture's code, one function per torch snippet ----


def dot2(x):
    """y = 2 * torch.dot(x, x); y.backward() gives x.grad == 4 * x."""
    y = 2 * np.dot(x, x)
    return y


def total(x):
    """y = x.sum(); the gradient is all ones."""
    return np.sum(x)


def sum_of_squares(x):
    """y = x * x is a vector; torch needs y.sum().backward(): the gradient is 2 * x."""
    y = x * x
    return y.sum()


def detached(x):
    """u = y.detach(); z = u * x; z.sum().backward() gives x.grad == u: u is a constant."""
    y = x * x
    u = s2s.stop_gradient(y)
    z = u * x
    return z.sum()


def control(a):
    """The lecture's f(a): a while loop and an if on values; f(a) = k * a, so the gradient is f(a) / a."""
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if np.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return c


def main():
    x = np.arange(4.0)
    checks = [
        ("grad of 2 * dot(x, x) == 4 * x", s2s.grad(dot2)(x), 4 * x),
        ("grad of x.sum() == ones", s2s.grad(total)(x), np.ones_like(x)),
        ("grad of (x * x).sum() == 2 * x", s2s.grad(sum_of_squares)(x), 2 * x),
        ("grad of (detach(x * x) * x).sum() == u", s2s.grad(detached)(x), x * x),
    ]
    a = np.random.default_rng(0).standard_normal(size=())
    checks.append(("grad of control(a) == control(a) / a", s2s.grad(control)(a), control(a) / a))
    w, xv, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0]), 0.5
    checks.append(("grad of (<x, w> - y)^2 == 2 (<x, w> - y) x", s2s.grad(z_dot)(w, xv, y), 2 * (xv @ w - y) * xv))
    X, yv = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0]]), np.array([1.0, -1.0])
    checks.append(("grad of ||X w - y||^2 == 2 X^T (X w - y)", s2s.grad(z_ls)(w, X, yv), 2 * X.T @ (X @ w - yv)))
    width = max(len(text) for text, _, _ in checks)
    for text, got, want in checks:
        ok = np.allclose(got, want, rtol=1e-12, atol=0)
        print(f"{text:<{width}}  {'ok' if ok else 'WRONG'}  {np.array2string(np.asarray(got), precision=6)}")


if __name__ == "__main__":
    main()
