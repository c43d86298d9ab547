"""Only the user's own code is transformed: a call into an installed library (site-packages, the standard
library, compiled functions) without a rule is refused at the user's line, with a hint that works when
pasted (it registers a rule on that very function by a name that imports)."""

import contextlib
import re
import statistics
import sys

import numpy as np
import pytest
from conftest import numeric_grad

import s2s
from s2s import frontend, rules

sp = pytest.importorskip("scipy.special", reason="the library examples are SciPy's")
st = pytest.importorskip("scipy.stats")


def _hint_code(hint: str, derivative: str) -> str:
    """The import line and the s2s.defvjp call the hint gives, with `...` replaced by `derivative`."""
    pieces = re.findall(r"`([^`]*)`", hint)
    assert pieces and pieces[-1].startswith("s2s.defvjp("), hint
    code = [p for p in pieces if p.startswith("import ")] + [pieces[-1].replace("g * ...", f"g * ({derivative})")]
    return "\n".join(code)


@contextlib.contextmanager
def _pasted(hint, derivative, obj):
    """Run the hint's code (a user pasting it), and take the rule it registers away again afterwards."""
    namespace = {"s2s": s2s, "np": np}
    exec(_hint_code(hint, derivative), namespace)  # noqa: S102 - the text s2s printed
    assert rules.lookup(obj) is not None, "the pasted hint registered no rule on the function called"
    try:
        yield
    finally:
        key = rules._key(obj)
        rules._RULES.pop(key, None)
        rules._KEYED.pop(key, None)
        rules.version += 1


def _line_of(text):
    lines = open(__file__).read().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if text in line)


# ---- a compiled SciPy function (a ufunc) without a rule -------------------------------------------------


def f_dawsn(x):
    return np.sum(sp.dawsn(x) * np.array([1.0, 2.0, 3.0]))


def test_ufunc_without_rule_refused_at_the_users_line_with_a_pasteable_hint():
    x = np.array([0.3, 0.7, 1.1])
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f_dawsn)(x)
    err = info.value
    assert err.filename == __file__ and err.lineno == _line_of("sp.dawsn(x) * np.array")
    assert "scipy.special.dawsn" in err.message and "<ufunc" not in str(err)
    assert "`import scipy.special`" in err.hint and 's2s.defvjp(scipy.special.dawsn, "x", x="g * ...")' in err.hint
    # d/dx dawsn(x) = 1 - 2 x dawsn(x)
    with _pasted(err.hint, "1.0 - 2 * x * ans", sp.dawsn):
        np.testing.assert_allclose(s2s.grad(f_dawsn)(x), numeric_grad(f_dawsn, [x]), rtol=1e-6)


def test_forward_mode_refuses_with_the_same_hint():
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.jvp(f_dawsn, (np.ones(3),), (np.ones(3),))
    assert 's2s.defvjp(scipy.special.dawsn, "x"' in info.value.hint and info.value.filename == __file__


# ---- Python functions of installed packages are not read ---------------------------------------------


def f_zscore(x):
    return np.sum(st.zscore(x) ** 3)


def test_library_python_function_is_not_transformed():
    """scipy.stats.zscore is Python source in site-packages: s2s refuses at the call, never inside SciPy."""
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f_zscore)(np.array([0.3, 0.7, 1.5]))
    err = info.value
    assert err.filename == __file__ and err.lineno == _line_of("st.zscore(x) ** 3")
    assert "installed library" in err.message
    assert "`import scipy.stats`" in err.hint and "s2s.defvjp(scipy.stats.zscore, \"a\", a=" in err.hint


def f_logsumexp_no_rule_needed(x):
    return sp.logsumexp(x) * 2.0


def test_library_function_with_a_rule_is_used():
    x = np.array([0.3, -0.7, 1.5])
    np.testing.assert_allclose(s2s.grad(f_logsumexp_no_rule_needed)(x), 2.0 * sp.softmax(x))


def f_statistics(x):
    return statistics.fmean([x, x * x]) * 1.0


def test_standard_library_function_is_not_transformed():
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f_statistics)(0.5)
    assert info.value.filename == __file__
    assert "statistics.fmean" in info.value.message and "`import statistics`" in info.value.hint


# ---- bound methods of library objects ---------------------------------------------------------------


def f_gumbel(x):  # (st.logistic has a rule since 1f5ebd2)
    return np.sum(st.gumbel_r.logpdf(x) * np.array([1.0, -2.0, 0.5]))


def test_bound_method_without_rule_gets_a_hint_on_the_method_itself():
    x = np.array([0.3, -0.7, 1.5])
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f_gumbel)(x)
    hint = info.value.hint
    assert "`import scipy.stats`" in hint and "s2s.defvjp(scipy.stats.gumbel_r.logpdf, \"x\", x=" in hint
    # d/dx of -x - e^-x = e^-x - 1
    with _pasted(hint, "(np.exp(-x) - 1.0)", st.gumbel_r.logpdf):
        np.testing.assert_allclose(s2s.grad(f_gumbel)(x), numeric_grad(f_gumbel, [x]), rtol=1e-6)


def test_shape_parameters_of_a_distribution_are_named_in_the_hint():
    def f(x):
        return np.sum(st.skewnorm.logpdf(x, 2.0, loc=0.1))
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f)(np.ones(3))
    assert 's2s.defvjp(scipy.stats.skewnorm.logpdf, "x, a, loc=None", x=' in info.value.hint


def test_a_frozen_distribution_is_refused_with_a_hint_on_the_value_written():
    dist = st.norm(0.0, 1.0)

    def f(x):
        return np.sum(dist.logpdf(x))
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f)(np.ones(3))
    assert "s2s.defvjp(dist.logpdf" in info.value.hint and info.value.filename == __file__


def test_function_values_from_libraries():
    """A library function passed as a value runs through s2s.call_vjp: its rule is used, and without one it is
    refused with the same hint (a bound method is kept whole, not split into its class's function)."""
    def uses_rule(x, lp=st.norm.logpdf, nl=sp.expit):
        return np.sum(lp(x, 0.3, 2.0) + nl(x))

    def no_rule(x, lp=st.gumbel_r.logpdf):
        return np.sum(lp(x))
    x = np.array([0.1, 0.5, -1.0])
    np.testing.assert_allclose(s2s.grad(uses_rule)(x), numeric_grad(uses_rule, [x]), rtol=1e-6)
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(no_rule)(x)
    assert 's2s.defvjp(scipy.stats.gumbel_r.logpdf, "x", x=' in info.value.hint and info.value.filename == __file__


# ---- the decision itself --------------------------------------------------------------------------------


def _mine(x):
    return x * x


def test_is_user_code():
    import json
    assert frontend.is_user_code(_mine) and frontend.is_user_code(lambda x: x)
    assert not frontend.is_user_code(json.dumps) and not frontend.is_user_code(np.sin)
    assert not frontend.is_user_code(st.zscore) and not frontend.is_user_code(sp.erfcx)
    assert not frontend.is_user_code(st.norm.logpdf)  # a bound method has no code of its own


@pytest.fixture
def installed_package(tmp_path, monkeypatch):
    """A module `s2s_fake_lib` installed in a site-packages folder of its own."""
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "s2s_fake_lib.py").write_text("def cube(x):\n    return x * x * x\n")
    monkeypatch.syspath_prepend(str(site))
    import s2s_fake_lib
    yield s2s_fake_lib
    sys.modules.pop("s2s_fake_lib", None)


def test_a_function_in_site_packages_is_not_transformed(installed_package):
    lib = installed_package
    assert not frontend.is_user_code(lib.cube)

    def f(x):
        return lib.cube(x) + x
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f)(1.5)
    assert info.value.filename == __file__
    hint = info.value.hint
    assert "`import s2s_fake_lib`" in hint and 's2s.defvjp(s2s_fake_lib.cube, "x", x="g * ...")' in hint
    with _pasted(hint, "3 * x * x", lib.cube):
        assert s2s.grad(f)(1.5) == pytest.approx(3 * 1.5 ** 2 + 1)


def test_own_helpers_are_still_transformed():
    def f(x):
        return _mine(x) * 3.0
    assert s2s.grad(f)(2.0) == pytest.approx(12.0)


def test_importable_name():
    assert frontend.importable_name(sp.expit) == ("scipy.special", "expit")
    assert frontend.importable_name(sp.logsumexp) == ("scipy.special", "logsumexp")
    assert frontend.importable_name(st.norm.logpdf) == ("scipy.stats", "norm.logpdf")
    assert frontend.importable_name(np.sin) == ("numpy", "sin")
    assert frontend.importable_name(st.norm(0.0, 1.0).logpdf) is None
