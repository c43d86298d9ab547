"""Tangents derived from adjoints (`family(..., tangent_from_adjoint=True)`, or the keyword on one rule).

Where a rule opts in, a parameter's tangent template defaults to its adjoint template with the Name `g`
renamed `p_dot`; a rule writes a tangent only where it differs. These tests check, for every registered
rule (and the call-site variants of the power rules and casts):
- a derived tangent is exactly (ast.dump-equal, positions included) what writing it out would give;
- an opted-in rule that writes a tangent writes one that differs from the derived one (else the template
  is redundant and should go);
- a rule that does not opt in derives nothing, so a rule with an adjoint and no tangent still has none.
"""

import ast
import copy

import numpy as np
import pytest

import s2s.rules as rules
from s2s.rules import Rule, defrule, defrule_for, derived_tangent


class _Rename(ast.NodeTransformer):
    def __init__(self, name):
        self.name = name

    def visit_Name(self, node):
        return ast.Name(id=self.name, ctx=node.ctx) if node.id == "g" else node


def _renamed(adjoint: ast.expr, param: str) -> str:
    """The adjoint with every Name `g` replaced by the Name `param_dot`, dumped (an AST-level derivation,
    independent of `derived_tangent`'s text-level one)."""
    return ast.dump(_Rename(param + "_dot").visit(copy.deepcopy(adjoint)))


def _own(key) -> bool:
    """Whether the rule under `key` is s2s's: an operator, or a rule for an object of NumPy, SciPy, math,
    builtins or s2s itself (not a function of a test module's)."""
    if isinstance(key, str):
        return True
    obj = rules._KEYED.get(key)
    module = getattr(obj, "__module__", None) or type(obj).__module__ or ""
    return isinstance(obj, np.ufunc) or module.split(".")[0] in ("numpy", "scipy", "math", "builtins", "s2s")


def _all_rules():
    """Every registered rule, plus the rules its call-site variants give for a few literal arguments."""
    seen, count = {}, {}
    for key, rule in rules._RULES.items():
        if not _own(key):
            continue  # a rule another test registers for its own function (s2s.defvjp), written as it likes
        # a stable label (the same in every process, as pytest-xdist's workers need): the name, numbered
        # in registration order where several rules share it
        count[rule.name] = count.get(rule.name, 0) + 1
        label = key if isinstance(key, str) else f"{rule.name}#{count[rule.name]}"
        seen[label] = rule
        if rule.variant is not None:
            for literal in (0, 2, -1, 0.5, "float32"):
                at = rule.at_site({p: ast.Constant(literal) for p in rule.params})
                if at is not rule:
                    seen.setdefault(f"{label}[{literal!r}]", at)
    return seen


RULES = _all_rules()


@pytest.mark.parametrize("label", sorted(RULES))
def test_each_tangent_is_derived_or_differs(label):
    rule: Rule = RULES[label]
    for p in rule.derived:
        assert rule.tangent_from_adjoint, (label, p)
        assert p in rule.vjp and rule.jvp.get(p) is not None, (label, p)
        assert ast.dump(rule.jvp[p]) == _renamed(rule.vjp[p], p), (label, p)
    if not rule.tangent_from_adjoint:
        assert rule.derived == (), label
        return
    for p, adjoint in rule.vjp.items():
        assert p in rule.jvp, f"{label}: {p} has an adjoint and, opted in, must have a tangent"
        if p not in rule.derived and rule.jvp[p] is not None:
            assert ast.dump(rule.jvp[p]) != _renamed(adjoint, p), \
                f"{label}: the tangent of {p} is its adjoint with g renamed: drop the {p}_dot template, it is derived"


def test_the_elementwise_families_opt_in():
    """The families that derive (a tangent written there only where it differs) and those that do not."""
    by_name = {r.name: r for r in rules._RULES.values()}
    for name in ("np.sin", "np.exp", "math.sin", "math.log", "usub", "np.add", "np.where"):
        assert by_name[name].tangent_from_adjoint, name
    for name in ("np.sum", "np.dot", "np.reshape", "np.transpose", "sum", "grad_dot_a"):
        assert not by_name[name].tangent_from_adjoint, name
    for name in ("np.swapaxes", "np.flip"):  # their own transposes: opted in one by one, in shape.py
        assert by_name[name].tangent_from_adjoint and by_name[name].derived, name
    assert by_name["np.sin"].derived == ("x",)
    assert by_name["math.log"].derived == ("x", "base")
    assert by_name["np.add"].derived == ()  # unbroadcast(g, x1) is not x1's tangent: written out


def test_derived_template_is_the_written_one():
    """Deriving gives the very template one would write: same AST, same positions."""
    for param, adjoint, written in [
        ("x", "g * np.cos(x)", "x_dot * np.cos(x)"),
        ("x", "-g / np.sqrt(1 - x * x)", "-x_dot / np.sqrt(1 - x * x)"),
        ("y", "g * ans * math.log(x) if x > 0 else 0.0", "y_dot * ans * math.log(x) if x > 0 else 0.0"),
        ("val", "s2s.real_part(g, val)", "s2s.real_part(val_dot, val)"),
        ("x", "g", "x_dot"),
        ("x", "g.g + g", "x_dot.g + x_dot"),  # only the Name g: an attribute named g stays
    ]:
        assert derived_tangent(param, adjoint) == written
        derived = ast.parse(derived_tangent(param, adjoint), mode="eval").body
        assert ast.dump(derived, include_attributes=True) == \
            ast.dump(ast.parse(written, mode="eval").body, include_attributes=True)


def test_no_opt_in_no_tangent():
    """Without the opt-in an adjoint alone gives no tangent (today's meaning kept); with it, one derived;
    an explicit tangent always wins."""
    plain = defrule("np.sin(x)", register=False, elementwise=True, tangent_from_adjoint=False, x="g * np.cos(x)")
    assert "x" not in plain.jvp and plain.derived == ()
    derived = defrule("np.sin(x)", register=False, tangent_from_adjoint=True, x="g * np.cos(x)")
    assert ast.unparse(derived.jvp["x"]) == "x_dot * np.cos(x)" and derived.derived == ("x",)
    written = defrule("np.sin(x)", register=False, tangent_from_adjoint=True, x="g * np.cos(x)", x_dot="x_dot")
    assert ast.unparse(written.jvp["x"]) == "x_dot" and written.derived == ()
    zero = defrule("np.copysign(x1, x2)", register=False, tangent_from_adjoint=True, zero=("x2",),
                   x1="g * np.sign(x1)")
    assert zero.jvp["x2"] is None and zero.derived == ("x1",)


def test_defrule_for_does_not_derive_by_default():
    def helper(x):
        return x

    key = rules._key(helper)
    try:
        rule = defrule_for(helper, "helper(x)", x="g")
        assert "x" not in rule.jvp
        rule = defrule_for(helper, "helper(x)", tangent_from_adjoint=True, x="g")
        assert ast.unparse(rule.jvp["x"]) == "x_dot"
    finally:
        rules._RULES.pop(key, None)
        rules._KEYED.pop(key, None)


@pytest.mark.parametrize("label", sorted(RULES))
def test_no_written_tangent_is_the_derived_one(label):
    """In every family, opted in or not: a tangent written out that is its adjoint with g renamed should be
    derived (`tangent_from_adjoint=True` on the rule) rather than written a second time."""
    rule: Rule = RULES[label]
    for p, adjoint in rule.vjp.items():
        tangent = rule.jvp.get(p)
        if tangent is not None and p not in rule.derived:
            assert ast.dump(tangent) != _renamed(adjoint, p), \
                f"{label}: the tangent of {p} is its adjoint with g renamed: pass tangent_from_adjoint=True, drop {p}_dot"


def test_linear_helpers_derive_their_tangent():
    """`linear=` on a runtime helper's rule: each linear parameter's tangent is the helper applied to it, the
    other linear parameters 0.0 (the templates shape.py wrote out before)."""
    import s2s.runtime as rt
    by_func = {rules._KEYED[k]: r for k, r in rules._RULES.items() if not isinstance(k, str)}
    for func, param, written in [
        (rt.grad_take, "g", "s2s.grad_take(g_dot, a, indices, axis)"),
        (rt.grad_split, "g", "s2s.grad_split(g_dot, ans, ary, axis, kind)"),
        (rt.append_tangent, "t_arr", "s2s.append_tangent(t_arr_dot, 0.0, arr, values, axis)"),
        (rt.append_tangent, "t_values", "s2s.append_tangent(0.0, t_values_dot, arr, values, axis)"),
        (rt.np_select_tangent, "t_default", "s2s.np_select_tangent(condlist, choicelist, default, 0.0, t_default_dot)"),
    ]:
        rule = by_func[func]
        assert param in rule.linear, (func, param)
        assert ast.dump(rule.jvp[param]) == ast.dump(ast.parse(written, mode="eval").body), (func, param)
        assert rule.jvp[rule.params[-1]] is None or rule.params[-1] in rule.linear  # the rest carry no tangent


def test_linear_does_not_replace_a_written_tangent():
    import s2s.runtime as rt
    key = rules._key(rt.grad_take)
    before = rules._RULES[key]
    try:
        rule = defrule_for(rt.grad_take, "grad_take(g, a, indices, axis)", linear=("g",), g_dot="g_dot * 2.0")
        assert ast.unparse(rule.jvp["g"]) == "g_dot * 2.0" and rule.linear == ()
    finally:
        rules._RULES[key] = before


def test_no_helper_writes_a_tangent_linear_would_derive():
    """A runtime helper's rule writes a tangent only where `linear=` cannot derive it: for no written tangent
    of `p` would adding `p` to the rule's `linear` parameters give the same templates."""
    import s2s.api  # noqa: F401 - registers s2s/pytree.py's helper rules too
    import s2s.runtime as rt
    from s2s.rules import linear_tangent

    for key, rule in rules._RULES.items():
        func = rules._KEYED.get(key)
        module = getattr(func, "__module__", "") or ""
        if isinstance(key, str) or rule.varargs or not module.startswith(rt.__name__):
            continue
        for p, tangent in rule.jvp.items():
            if tangent is None or p in rule.linear or p in rule.derived:
                continue
            wider = rule.linear + (p,)
            same = all(ast.dump(rule.jvp[q]) == ast.dump(ast.parse(linear_tangent(func, rule.params, wider, q),
                                                                    mode="eval").body) for q in wider)
            assert not same, f"{rule.name}: the tangent of {p} is the helper applied to it: say linear=({p!r}, ...)"
