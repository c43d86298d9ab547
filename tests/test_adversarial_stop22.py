"""Programs a user could write that gave a wrong derivative or crashed (found probing stop 22's changes;
each also wrong or crashing at 307c12a). Checked against central finite differences, or refused where
s2s cannot follow the program.
"""

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

X = np.array([0.3, -0.7, 1.1, 0.5])
V = np.array([1.0, 2.0, 3.0, 4.0])

# ---------------------------------------------------------------- programs (module level: s2s reads source)


def read_through_vars(x):
    s = np.sum(x) * 2.0
    return vars()["s"] * s  # s * s: the read by name was a constant (half the derivative)


def read_through_eval(x):
    s = np.sum(x) * 2.0  # noqa: F841 (read by eval)
    return eval("s * s")  # (the general code gave 0, the specialised a NameError)


def format_with_locals(x):
    s = np.sum(x) * 2.0
    label = "{s}".format(**locals())
    return s * s + 0.0 * len(label)  # (crashed: call_plain() got multiple values for argument 'site')


def pop_last_then_append(x):
    hs = [x * 1.0, x * 2.0]
    hs.pop()
    hs.append(x * 3.0)
    return np.sum(hs[0] * hs[1])


def pop_front_then_append(x):
    hs = [x * 1.0, x * 2.0]
    hs.pop(0)
    hs.append(x * 3.0)
    return np.sum(hs[0] * hs[1] * hs[1])


def sliding_window(x):
    hs = [x * 1.0, x * 2.0]
    for i in range(3):
        hs.pop(0)
        hs.append(hs[0] * (i + 1.5))
    return np.sum(hs[0] * hs[1])


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("f, what", [(read_through_vars, "vars"), (read_through_eval, "eval"),
                                     (format_with_locals, "locals")])
@pytest.mark.parametrize("make", [lambda f: s2s.grad(f), lambda f: s2s.derivative(f),
                                  lambda f: lambda x: s2s.jvp(f, (x,), (V,))])
def test_reads_by_name_refused(f, what, make):
    """locals(), vars() and eval read the function's variables by name: the derivative missed them."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match=rf"cannot differentiate {what}\(\): it reads the function's "
                                                          "variables by their names"):
        make(f)(X)


@pytest.mark.parametrize("f", [pop_last_then_append, pop_front_then_append, sliding_window])
def test_bare_pop_forward_mode(f):
    """`L.pop()` / `L.pop(0)` as a statement: the tangents' list drops the same item (it dropped none: the
    tangents of the other items were read; 21.0 where 25.2 for pop_last_then_append)."""
    _, tangent = s2s.jvp(f, (X,), (V,))
    assert np.allclose(tangent, fd_grad(f, (X,)) @ V, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("f", [pop_last_then_append, pop_front_then_append, sliding_window])
@pytest.mark.parametrize("make", [lambda f: s2s.grad(f), lambda f: s2s.derivative(f)])
def test_bare_pop_reverse_mode_refused(f, make):
    """Reverse mode cannot put the popped item's adjoint back (it raised IndexError in the backward sweep)."""
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"list.pop\(\) in forward mode only"):
        make(f)(X)
