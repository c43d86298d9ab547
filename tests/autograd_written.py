"""Programs written for autograd (`import autograd.numpy as np`), read by tests/test_autograd_imports.py."""

import autograd.extend
import autograd.numpy as np
import autograd.scipy.special as asp
import autograd.scipy.stats.norm as norm


def mlp_loss(W, X, t):
    h = np.tanh(np.dot(X, W))
    logits = np.concatenate([h, np.zeros((X.shape[0], 1))], axis=1)
    log_p = logits - asp.logsumexp(logits, axis=1, keepdims=True)
    return -np.mean(np.sum(log_p * t, axis=1)) + np.sum(norm.logpdf(W, 0.0, 2.0))


def shapes_and_moments(w):
    m = np.stack([w, np.sin(w)])
    v = np.hstack([w, w ** 2]) @ np.vstack([np.ones(3), np.arange(3.0)]).T.ravel()[:6]
    return np.var(m) + np.std(w) * np.mean(np.append(w, 1.0)) + np.sum(np.column_stack([w, w]) ** 3) + v \
        + np.sum(np.array([w[0], w[1] * 2.0]) ** 2)


def selected(w):
    return np.sum(np.select([w > 0], [w ** 2]))


_round = __import__("numpy").round
round_ste = autograd.extend.primitive(_round)  # (a straight-through estimator: autograd's defvjp, the gradient g)
autograd.extend.defvjp(round_ste, lambda ans, x: lambda g: g)


def rounded(x):
    return np.sum(round_ste(x * 3.0) * x)


def chosen_and_normed(x):
    y = np.where(x > 0, x ** 2, -x)  # (autograd's custom_where and its norm wrapper: NumPy's for arrays)
    return np.linalg.norm(y) + np.sum(np.where(x > 0.5, np.sin(x), 0.0))
