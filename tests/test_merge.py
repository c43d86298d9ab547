"""Number temporaries read once are written into their reader (transforms/merge.py).

The scalar loops below: the generated names merge away, the user's names stay, and the
gradient equals the general code's (s2s.derivative) exactly and agrees with central
differences and autograd.
"""

import ast

from helpers_fd import check_all

import s2s


def euler(k, x0):
    x, v = x0, 0.0
    for _ in range(30):
        a = -k * x - 0.1 * v
        x = x + 0.01 * v
        v = v + 0.01 * a
    return x * x + v * v


def reused(x, y):
    s = 0.0
    for _ in range(4):
        t = x * y
        s = s + t * t + t  # the user's t stays, read three times
    return s


def _assigned(src):
    fdef = ast.parse(src).body[-1]
    return [s for s in ast.walk(fdef) if isinstance(s, ast.Assign)]


def test_euler_loop_reads_like_the_hand_written_one():
    src = s2s.source(s2s.grad(euler), 1.3, 0.8)
    lines = [ast.unparse(s) for s in _assigned(src)]
    assert "a = t2 * x - 0.1 * v" in lines or any(line.startswith("a = ") and " * x - 0.1 * v" in line
                                                     for line in lines), src
    assert "v_bar = v_bar + x_bar * 0.01 - a_bar * 0.1" in lines, src
    assert "k_bar = k_bar - a_bar * x" in lines, src
    for g, general in zip(s2s.grad(euler, wrt=(0, 1))(1.3, 0.8), s2s.derivative(euler, wrt=(0, 1))(1.3, 0.8)):
        assert g == general
    check_all(euler, (1.3, 0.8), wrt=(0, 1))


def test_user_names_are_not_merged():
    src = s2s.source(s2s.grad(reused), 0.4, 1.1)
    lines = [ast.unparse(s) for s in _assigned(src)]
    assert any(line.startswith("t = ") for line in lines), src
    assert s2s.grad(reused)(0.4, 1.1) == s2s.derivative(reused)(0.4, 1.1)
    check_all(reused, (0.4, 1.1), wrt=(0, 1))
