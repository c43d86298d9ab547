"""The s2s demo: differentiate an ordinary NumPy function, show the code s2s wrote, check its numbers.

Run with `make demo`, or `python examples/demo.py`.
"""

import inspect

import numpy as np

import s2s


def predict(W, b, x):
    """A one-layer tanh network (try: s2s show examples/demo.py:predict --mode forward)."""
    return np.tanh(x @ W + b)


def loss(W, b, x, y):
    """Mean squared error of a one-layer tanh network."""
    err = np.tanh(x @ W + b) - y
    return np.mean(err ** 2)


def central_difference(f, args, i, index, eps=1e-6):
    """d f / d args[i][index] by central differences."""
    plus = [a.copy() for a in args]
    minus = [a.copy() for a in args]
    plus[i][index] += eps
    minus[i][index] -= eps
    return (f(*plus) - f(*minus)) / (2 * eps)


def main():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    args = (W, b, x, y)

    print("1. Your function (an ordinary Python/NumPy function in a file):\n")
    print(inspect.getsource(loss))

    grad_loss = s2s.grad(loss, wrt=(0, 1))
    print("2. The Python function s2s wrote for its gradient, for W (3, 2), b (2,), x (16, 3), y (16, 2):")
    print("   s2s.source(s2s.grad(loss, wrt=(0, 1)), W, b, x, y)\n")
    print(s2s.source(grad_loss, *args))

    gW, gb = grad_loss(*args)
    print("3. Its numbers against central finite differences:\n")
    print(f"   {'entry':8} {'s2s':>16} {'finite diff.':>16}")
    for name, i, index, value in [("W[0, 1]", 0, (0, 1), gW[0, 1]), ("W[2, 0]", 0, (2, 0), gW[2, 0]),
                                  ("b[1]", 1, (1,), gb[1])]:
        print(f"   {name:8} {value:16.10f} {central_difference(loss, args, i, index):16.10f}")

    print("\nNext: `s2s show examples/seed_functions.py:control` (loops and branches), "
          "`s2s check examples/seed_functions.py:control --at a=0.7`\n"
          "(s2s against SymPy and finite differences), and examples/comparison.ipynb.")


if __name__ == "__main__":
    main()
