"""One record per primitive: a rule registered in one place reaches every pass (issue 14).

The fixture takes out the rule s2s has for `np.fmod`, registers it again with one `defrule` call (the worked
example of docs/internals.md, "Adding a primitive") and puts the original back afterwards. With only that, reverse
mode, forward mode, the shape-specialised code and SymPy's symbolic derivative all pick it up.
"""

import numpy as np
import pytest
from helpers_fd import assert_close, fd_grad

import s2s
from s2s import rules, symbolic
from s2s.errors import NoDerivativeRuleError


def _register_fmod():
    # np.fmod(x1, x2) = x1 - x2 * trunc(x1 / x2): slope 1 in x1, -trunc(x1 / x2) in x2 (between the jumps)
    return rules.defrule(
        "np.fmod(x1, x2)", elementwise=True, real=True, safe=True,
        sympy="x1 - x2 * sympy.Piecewise((sympy.floor(x1 / x2), x1 / x2 >= 0), (sympy.ceiling(x1 / x2), True))",
        x1="unbroadcast(g, x1)", x2="unbroadcast(-g * np.trunc(x1 / x2), x2)",
        x1_dot="x1_dot", x2_dot="-x2_dot * np.trunc(x1 / x2)")


@pytest.fixture
def no_fmod_rule():
    """np.fmod without its rule (s2s/rules has one since eef3404): taken out, and put back afterwards."""
    saved = rules._RULES.pop(id(np.fmod), None), rules._KEYED.pop(id(np.fmod), None)
    rules.version += 1
    try:
        assert rules.lookup(np.fmod) is None
        yield
    finally:  # the table, the object kept alive, and a new version for the caches
        rules._RULES.pop(id(np.fmod), None)
        rules._KEYED.pop(id(np.fmod), None)
        if saved[0] is not None:
            rules._RULES[id(np.fmod)], rules._KEYED[id(np.fmod)] = saved
        rules.version += 1


@pytest.fixture
def fmod_rule(no_fmod_rule):
    return _register_fmod()


def f(x, y):
    return np.sum(np.fmod(x, y) ** 2)


def g_dead(x, y):
    r = np.fmod(x, y)  # noqa: F841 - read nowhere: dropped from specialised code once the rule says it cannot raise
    return np.sum(x * y)


def _point():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.3, 0.9, size=(3, 4))
    y = rng.uniform(1.1, 1.6, size=(3, 4))  # x / y inside (0, 1): away from the jumps
    return x, y


def test_without_the_rule_fmod_is_refused(no_fmod_rule):
    x, y = _point()
    with pytest.raises(NoDerivativeRuleError):
        s2s.grad(f, wrt=(0, 1))(x, y)


def test_grad_picks_it_up(fmod_rule):
    x, y = _point()
    gx, gy = s2s.grad(f, wrt=(0, 1))(x, y)
    assert_close(gx, fd_grad(f, (x, y), wrt=0), rtol=1e-5, atol=1e-6)
    assert_close(gy, fd_grad(f, (x, y), wrt=1), rtol=1e-5, atol=1e-6)
    assert_close(gx, 2 * np.fmod(x, y))


def test_forward_mode_picks_it_up(fmod_rule):
    x, y = _point()
    tx, ty = np.ones_like(x) * 0.3, np.ones_like(y) * -0.2
    value, tangent = s2s.jvp(f, (x, y), (tx, ty))
    gx, gy = s2s.grad(f, wrt=(0, 1))(x, y)
    assert_close(value, f(x, y))
    assert_close(tangent, np.sum(gx * tx) + np.sum(gy * ty))


def test_shape_specialisation_picks_it_up(fmod_rule):
    x, y = _point()
    assert fmod_rule.elementwise and fmod_rule.real and fmod_rule.safe
    special = s2s.source(s2s.grad(f, wrt=(0, 1)), x, y)
    assert "unbroadcast" not in special, special  # the shapes of fmod's operands are known to agree
    dead = s2s.source(s2s.grad(g_dead, wrt=(0, 1)), x, y)
    assert "fmod" not in dead, dead  # real and safe: the unread statement is dropped
    assert "fmod" in s2s.source(s2s.grad(g_dead, wrt=(0, 1)))  # the general code keeps it (shapes unknown)
    assert_close(s2s.grad(g_dead, wrt=0)(x, y), y)


def test_sympy_check_picks_it_up(fmod_rule):
    x, y = _point()
    d = symbolic.derivative(f, x, y, wrt=(0, 1), simplify=False, compare=False)
    sx, sy = d.function(x, y)
    gx, gy = s2s.grad(f, wrt=(0, 1))(x, y)
    assert_close(sx, gx, rtol=1e-6, atol=1e-7)
    assert_close(sy, gy, rtol=1e-6, atol=1e-7)


def test_the_record_replaces_the_side_tables():
    """The facts the passes read come from the rules (a few spot checks of what the old tables said)."""
    assert rules.lookup(np.sum).reduction and rules.lookup(np.sum).safe and rules.lookup(np.sum).methods == ("sum",)
    assert rules.lookup(np.dot).real and not rules.lookup(np.dot).safe
    assert rules.lookup(np.reshape).returns_view is True and rules.lookup(np.diag).returns_view == "sometimes"
    assert rules.method("flatten") is np.ravel and rules.method("round") is np.round
    assert rules.lookup(np.sin).sympy == "sympy.sin(x)" and rules.lookup(np.sin).elementwise
    assert not rules.lookup(np.matmul).elementwise and not rules.lookup("op:matmul").elementwise


def test_views_of_functions_without_rules_are_facts_records():
    """Whether a function returns a view is stated once, in its record: a rule's `returns_view`, or `facts`
    for a function with no derivative rule (which stays refused on a differentiated value)."""
    from s2s.pipeline import CONTEXT
    assert CONTEXT.fact(np.imag, "returns_view") is True and rules.lookup(np.imag).returns_view is True
    for func in (np.require, np.broadcast_arrays, np.lib.stride_tricks.as_strided):
        assert rules.lookup(func) is None and CONTEXT.fact(func, "returns_view") == "sometimes", func
    for func in (np.asanyarray, np.ascontiguousarray, np.asfortranarray):  # (rules of their own, the same fact)
        assert rules.lookup(func).returns_view == "sometimes" == CONTEXT.fact(func, "returns_view"), func
    assert CONTEXT.fact(np.sum, "returns_view") is False


def update_through_asanyarray(x):
    y = x * 1.0
    z = np.asanyarray(y)  # z is y itself: the update below is seen through y
    z[0] = 5.0
    return np.sum(y * x)


def test_an_update_through_a_facts_view_is_guarded():
    """np.asanyarray's returns_view ("sometimes") makes the ownership analysis follow it, so the update of z
    is checked at run time and refused (it really changes y), never a silent gradient."""
    with pytest.raises(s2s.S2SError, match="`y` refers to the same array"):
        s2s.grad(update_through_asanyarray)(np.ones(3))


def copies_into(x):
    y = np.zeros(3)
    r = np.copyto(y, x)  # (its result read: not a statement of its own, so not written as an update of y)
    return np.sum(y * y) + (r is None)


def test_in_place_functions_are_facts_records():
    """That a function changes its first argument in place, and the hint of the error refusing it, is its
    record's `mutates` (`facts` in s2s/rules): ownership has no table of its own."""
    from s2s.errors import UnsupportedSyntaxError
    from s2s.pipeline import CONTEXT
    for func in (np.copyto, np.put, np.putmask, np.place, np.fill_diagonal, np.put_along_axis, np.random.shuffle,
                 np.ndarray.fill, np.ndarray.sort, np.ndarray.put, np.ndarray.resize, np.ndarray.partition,
                 list.sort, list.reverse, list.extend, list.insert, list.remove, list.clear, dict.update, dict.clear):
        assert rules.lookup(func) is None and CONTEXT.fact(func, "mutates", None), func
    assert CONTEXT.fact(np.sum, "mutates", None) is None
    with pytest.raises(UnsupportedSyntaxError, match="changes its first argument in place") as info:
        s2s.derivative(copies_into)
    assert CONTEXT.fact(np.copyto, "mutates") in str(info.value)
