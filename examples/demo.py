"""The s2s demo: differentiate an ordinary NumPy function and show the code s2s wrote.

Run with `make demo`, or `python examples/demo.py`.
"""

import numpy as np

import s2s


def predict(W, b, x):
    """A one-layer network."""
    return np.tanh(x @ W + b)


def loss(W, b, x, y):
    """Mean squared error with an L2 penalty that only counts large weights."""
    err = predict(W, b, x) - y
    total = np.mean(err ** 2)
    for row in W:
        if np.max(np.abs(row)) > 1.0:
            total = total + 0.01 * np.sum(row * row)
    return total


def main():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 2)), np.zeros(2)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))

    grad_loss = s2s.grad(loss, wrt=(0, 1))
    for step in range(51):
        gW, gb = grad_loss(W, b, x, y)
        W, b = W - 0.5 * gW, b - 0.5 * gb
        if step % 10 == 0:
            print(f"step {step:2d}  loss {loss(W, b, x, y):.5f}")

    # check one gradient against central differences
    eps, gW = 1e-6, grad_loss(W, b, x, y)[0]
    dW = np.zeros_like(W)
    dW[0, 1] = eps
    numeric = (loss(W + dW, b, x, y) - loss(W - dW, b, x, y)) / (2 * eps)
    print(f"dloss/dW[0,1]: s2s {gW[0, 1]:.10f}  finite differences {numeric:.10f}")
    print("\nThe gradient s2s generated (also: s2s show examples/demo.py:loss):\n")
    print(s2s.source(s2s.derivative(loss, wrt=(0, 1))))


if __name__ == "__main__":
    main()
