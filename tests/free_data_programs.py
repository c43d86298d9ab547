"""Programs reading numbers and arrays from their module or closure, for tests/test_free_data.py (a module of
its own: the tests rebind its globals)."""

import numpy as np

X = np.ones((5, 3))
DT = 0.1
STEPS = 4


def logistic_global(w):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z)) * DT


def euler_global(x0):
    x = x0
    for _ in range(STEPS):
        x = x + DT * np.tanh(X @ x[:3]).sum() * x
    return np.sum(x ** 2)


def make_loss(A, y, c):
    def loss(w):
        r = A @ w - y
        return np.sum(r ** 2) * c + np.sum(w ** 2)
    return loss


def mean_over_rows(w):
    n = X.shape[0]
    return np.sum(np.tanh(X @ w)) / n


def make_mean_over_rows(A):
    def mean(w):
        return np.sum(np.tanh(A @ w)) / A.shape[0]
    return mean


VOCAB = 5


def one_hot_rnn(W, idx):
    h = np.zeros(W.shape[0])
    loss = 0.0
    for t in range(STEPS):
        x = np.zeros(VOCAB)
        x[idx[t]] = 1.0
        h = np.tanh(W[:, :VOCAB] @ x + h)
        loss = loss + np.sum(h ** 2)
    return loss
