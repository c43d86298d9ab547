"""The quality of s2s's errors: every refusal names the user's file and line, quotes the line with a
caret under the offending spot, says what is unsupported and gives a hint.

Also: functions without source, calls without a derivative rule, bad `wrt`, non-scalar outputs and
tracebacks through generated code (which show the generated line and lead back to the user's line).
"""

import functools
import importlib.util
import inspect
import linecache
import math
import os
import re
import sys
import textwrap
import traceback

import numpy as np
import pytest

import s2s

HERE = os.path.abspath(__file__)
COUNTER = 0.0


# ---- functions s2s refuses ------------------------------------------------------------------------
# each comes with (the text that identifies the offending line, the text the caret must point at,
# words the message must use to say what is unsupported)


def with_try(x):
    y = x * 2.0
    try:
        y = y * x
    except ValueError:
        y = x
    return y


def with_try_finally(x):
    y = x * 2.0
    try:
        y = y * x
    finally:
        y = y + 1.0
    return y


def with_with(x):
    y = x * 2.0
    with open(os.devnull) as fh:
        fh.read()
    return y


def with_yield(x):
    y = x * 2.0
    yield y * y


def with_yield_from(x):
    yield from [x * x]


def with_genexp(x):
    return np.sum(v * v for v in [x, x])  # (sum of one is differentiated: a list comprehension)


async def with_async(x):
    return x * x


def with_global(x):
    global LATEST
    LATEST = x * 2.0  # (differentiated, then read back: a constant of the derivative)
    return LATEST * x


def _make_nonlocal():
    c = 1.0

    def with_nonlocal(x):
        nonlocal c
        c = c * 2.0
        return x * c

    return with_nonlocal


with_nonlocal = _make_nonlocal()


def with_class(x):
    class Box:
        pass

    return x * x


def with_del(x):
    y = x * x
    del y
    return x


def with_del_item(x):
    ys = [x, x * x]
    del ys[0]
    return ys[0]


def with_double_star_in_a_dict(x):
    options = {"a": x}
    d = {"b": x, **options}
    return d["a"] * d["b"]


def with_walrus(x):
    while np.all((y := x * 2.0) > 100.0):  # (in a while test: evaluated each trip; one evaluated first elsewhere is taken)
        x = y
    return x


def with_import(x):
    import math as m
    return m.sin(x)


def with_match(x):
    match 1:
        case 1:
            return x * x
    return x


def with_set(x):
    s = {1, 2}
    return x * len(s)


def with_set_comp(x):
    s = {k for k in [1, 2]}
    return x * len(s)


def with_local_as_value(x):
    scale = 2.0
    def helper(v):
        return v * scale
    scale = 3.0  # a closure would see 3.0: s2s refuses to pass helper as a value
    alias = helper
    return alias(x)


def with_call_through_variable(x):
    fn = functools.partial(np.multiply, x)  # a partial holding x (a closure over x is differentiated)
    return np.sum(fn(2.0))


def with_unknown_method(x):
    return x.view() * 2.0


def with_immediate_lambda(x):
    s = 0.0
    for k in range(2):
        s = s + (lambda v: v * k)(x)  # a lambda made in a loop body: refused (an immediate call elsewhere is not)
    return s


def with_attribute_assign(x):
    o = np.zeros(2)
    o.flags.writeable = False
    return x * x


def with_alias_update(x):
    y = x
    y[0] = 3.0
    return np.sum(x * y)


UNSUPPORTED = [
    (with_try, "try:", "try:", "try/except"),
    (with_try_finally, "try:", "try:", "try/finally"),
    (with_with, "with open", "with open", "with statement"),
    (with_yield, "yield y", "yield y", "yield"),
    (with_yield_from, "yield from", "yield from", "yield from"),
    (with_genexp, "for v in", "(v * v for", "generator expression"),
    (with_async, "async def", "async def", "async function"),
    (with_global, "LATEST = ", "LATEST = ", "global `LATEST`"),
    (with_nonlocal, "nonlocal c", "nonlocal c", "nonlocal statement"),
    (with_class, "class Box", "class Box", "class definition"),
    (with_del, "del y", "del y", "del"),
    (with_del_item, "del ys", "del ys", "del"),
    (with_double_star_in_a_dict, "**options", "{\"b\"", "**-unpacking"),
    (with_walrus, ":=", "y :=", ":="),
    (with_import, "import math", "import math", "import"),
    (with_match, "match 1", "match 1", "match statement"),
    (with_set, "{1, 2}", "{1, 2}", "set"),
    (with_set_comp, "{k for", "{k for", "set comprehension"),
    (with_local_as_value, "def helper", "def helper", "local function 'helper'"),
    (with_call_through_variable, "fn = ", "functools.partial(", "depends on the differentiated input"),
    (with_unknown_method, "view", "x.view", "method .view()"),
    (with_immediate_lambda, "lambda v", "lambda v", "function defined inside"),
    (with_attribute_assign, "writeable", "o.flags", "assignment to attribute"),
    (with_alias_update, "y = x", "y = x", "in-place update"),
]


def source_line(func, marker):
    """(line number in the file, text of the line) of the first line of `func` containing `marker`."""
    lines, first = inspect.getsourcelines(func)
    for k, text in enumerate(lines):
        if marker in text:
            return first + k, text.rstrip("\n")
    raise AssertionError(f"{marker!r} is not in the source of {func.__name__}")


def assert_points_at(err, path, lineno, line, at):
    """`err` names `path` and `lineno`, quotes `line`, puts a caret under `at` and gives a hint."""
    text = str(err)
    col = line.index(at)
    assert isinstance(err, s2s.S2SError)
    assert err.filename == path and err.lineno == lineno and err.col == col, (err.filename, err.lineno, err.col)
    assert os.path.basename(path) in text
    assert f'File "{path}", line {lineno}, column {col + 1}' in text, text
    shown = text.splitlines()
    quoted = "    " + line.strip()
    assert quoted in shown, f"the source line is not quoted:\n{text}"
    caret = shown[shown.index(quoted) + 1]
    assert caret.strip() == "^", f"no caret line under the source line:\n{text}"
    assert quoted[caret.index("^"):].startswith(at), f"the caret is not under {at!r}:\n{text}"
    hints = [h for h in shown if h.startswith("Hint: ")]
    assert hints and len(hints[0]) > len("Hint: ") + 10, f"no hint:\n{text}"
    return text


@pytest.mark.parametrize("func,marker,at,what", UNSUPPORTED, ids=[c[0].__name__ for c in UNSUPPORTED])
def test_unsupported_syntax_is_pointed_at(func, marker, at, what):
    lineno, line = source_line(func, marker)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(func)(np.array([1.0, 2.0]))
    text = assert_points_at(info.value, HERE, lineno, line, at)
    assert what in text.splitlines()[0], f"the first line does not say what is unsupported ({what!r}):\n{text}"


def test_every_unsupported_hint_offers_a_way_out():
    """Each hint tells the user what to do: rewrite (move, use, build, ...), stop_gradient or a custom rule."""
    verbs = {"use", "move", "drop", "pass", "rewrite", "define", "call", "list", "build", "make", "bind", "assign",
             "wrap", "register"}
    for func, _, _, _ in UNSUPPORTED:
        with pytest.raises(s2s.UnsupportedSyntaxError) as info:
            s2s.grad(func)(np.array([1.0, 2.0]))
        hint = info.value.hint
        assert hint and hint.split()[0].lower() in verbs, f"{func.__name__}: {hint!r}"


def test_the_default_unsupported_hint_names_all_ways_out():
    hint = s2s.UnsupportedSyntaxError("m").hint
    assert "rewrite" in hint and "stop_gradient" in hint and "defvjp" in hint


@pytest.mark.parametrize("entry", ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "derivative"])
@pytest.mark.parametrize("func,marker,at", [(with_try, "try:", "try:"), (with_walrus, "y :=", "y :="),
                                            (with_nonlocal, "nonlocal c", "nonlocal c")],
                         ids=["try", "walrus", "nonlocal"])
def test_every_entry_point_gives_the_same_pointed_error(entry, func, marker, at):
    x = 1.5
    calls = {
        "grad": lambda: s2s.grad(func)(x),
        "value_and_grad": lambda: s2s.value_and_grad(func)(x),
        "vjp": lambda: s2s.vjp(func, x),
        "jvp": lambda: s2s.jvp(func, (x,), (1.0,)),
        "jacobian": lambda: s2s.jacobian(func)(x),
        "hessian": lambda: s2s.hessian(func)(x),
        "derivative": lambda: s2s.derivative(func),
    }
    lineno, line = source_line(func, marker)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        calls[entry]()
    assert_points_at(info.value, HERE, lineno, line, at)


def _load(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, str(path)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="except* is Python 3.11 syntax")
def test_try_star_is_pointed_at(tmp_path):
    module, path = _load(tmp_path, "trystar_case", """\
        def f(x):
            y = x * 2.0
            try:
                y = y * x
            except* ValueError:
                y = x
            return y
        """)
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(module.f)(1.0)
    text = assert_points_at(info.value, path, 3, "    try:", "try:")
    assert "try/except*" in text


# ---- columns in methods, nested functions and lambdas (the source is parsed dedented) ------------------


class Model:
    def loss(self, x):
        y = x * 2.0
        with open(os.devnull):
            pass
        return y

    @staticmethod
    def fft_loss(x):
        return np.sum(np.fft.fft(x).real)


lambda_fft = lambda x: np.sum(np.abs(np.fft.fft(x)))  # noqa: E731


def test_method_error_column_is_the_column_in_the_file():
    lineno, line = source_line(Model.loss, "with open")
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(Model().loss)(1.0)
    assert_points_at(info.value, HERE, lineno, line, "with open")


def test_static_method_no_rule_column():
    lineno, line = source_line(Model.fft_loss, "np.fft.fft")
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(Model.fft_loss)(np.ones(4))
    assert_points_at(info.value, HERE, lineno, line, "np.fft.fft")


def test_nested_function_error_column():
    lineno, line = source_line(with_nonlocal, "nonlocal c")
    with pytest.raises(s2s.UnsupportedSyntaxError) as info:
        s2s.grad(with_nonlocal)(1.0)
    assert line.index("nonlocal") == 8  # two levels deep: the column must include the dedented margin
    assert_points_at(info.value, HERE, lineno, line, "nonlocal c")


def test_lambda_error_points_inside_the_lambda():
    lineno, line = source_line(lambda_fft, "lambda_fft =")
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(lambda_fft)(np.ones(4))
    assert_points_at(info.value, HERE, lineno, line, "np.fft.fft")


def test_multiline_lambda_source_error_names_the_line(tmp_path):
    module, path = _load(tmp_path, "multiline_lambda", """\
        import numpy as np

        f = (
            lambda x:
                np.sum(x * x)
        )
        """)
    # s2s isolates the lambda written over several lines
    g = s2s.grad(module.f)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [2.0, 4.0])


# ---- errors built directly: defaults and rendering ---------------------------------------------------


@pytest.mark.parametrize("cls", [s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError, s2s.NonScalarOutputError])
def test_errors_without_an_explicit_hint_still_give_one(cls):
    err = cls("something is off", filename="model.py", lineno=3, col=4, line="    y = f(x)\n")
    text = str(err)
    assert text.splitlines()[:4] == ["something is off", '  File "model.py", line 3, column 5', "    y = f(x)", "    ^"]
    assert "Hint: " in text and err.hint


def test_unsupported_syntax_error_is_a_syntax_error_for_tools():
    err = s2s.UnsupportedSyntaxError("nope", filename="m.py", lineno=2, col=0, line="del y\n", hint="drop it")
    assert isinstance(err, SyntaxError)
    assert err.filename == "m.py" and err.lineno == 2
    assert str(err).endswith("Hint: drop it")


def test_an_explicit_hint_wins_over_the_default():
    assert s2s.NoDerivativeRuleError("m", hint="do this").hint == "do this"


# ---- functions without source -------------------------------------------------------------------------

_ns = {}
exec("def made_by_exec(x):\n    return x * x\n\nlambda_by_exec = lambda x: x * 3.0\n", {"np": np}, _ns)
made_by_exec = _ns["made_by_exec"]
lambda_by_exec = _ns["lambda_by_exec"]


def user_two(x, y):
    return x * y


def calls_exec_built(x):
    return made_by_exec(x) * 2.0


@pytest.mark.parametrize("func,name", [(made_by_exec, "made_by_exec"), (lambda_by_exec, "lambda")],
                         ids=["def", "lambda"])
def test_exec_built_function_has_no_source(func, name):
    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.grad(func)(2.0)
    text = str(info.value)
    assert name in text and "exec" in text and "<string>" in text
    assert "Hint: " in text and "file" in info.value.hint


@pytest.mark.parametrize("func,x,expected", [
    (math.sin, 2.0, math.cos(2.0)),
    (np.sin, 2.0, math.cos(2.0)),
    (abs, -2.0, -1.0),
    (np.linalg.norm, np.array([3.0, 4.0]), np.array([0.6, 0.8])),
], ids=["math.sin", "np.sin", "abs", "np.linalg.norm"])
def test_a_primitive_with_a_rule_passed_directly_is_differentiated(func, x, expected):
    # autograd's grad(np.sqrt)(2.0): the rule is the derivative, no source is needed
    np.testing.assert_allclose(s2s.grad(func)(x), expected, rtol=1e-12)


def test_compiled_function_without_a_usable_rule_passed_directly():
    # max(x) of one number is a TypeError in Python; s2s says what it can do instead
    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.grad(max)(2.0)
    text = str(info.value)
    assert "max" in text and "built-in" in text and "not a function written in Python" in text
    assert "def f(x)" in info.value.hint and "defvjp" in info.value.hint


def test_partial_of_a_user_function():
    # a keyword bound before a required parameter cannot be a default: the partial stays refused, with a hint
    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.grad(functools.partial(user_two, x=3.0))(2.0)
    text = str(info.value)
    assert "functools.partial" in text and "user_two" in text and "0x" not in text
    assert "wrt" in info.value.hint
    # what the hint suggests works, and so does a partial binding the last parameter (tests/test_partial.py)
    assert s2s.grad(user_two, wrt=1)(3.0, y=2.0) == 3.0
    assert s2s.grad(functools.partial(user_two, y=3.0))(2.0) == 3.0


def test_callable_object():
    class Scale:
        def __call__(self, x):
            return 2.0 * x

    with pytest.raises(s2s.SourceUnavailableError) as info:
        s2s.grad(Scale())(1.0)
    assert "callable object of type Scale" in str(info.value)
    with pytest.raises(s2s.SourceUnavailableError) as info:  # (review 236: AttributeError '__code__')
        s2s.grad(Scale(), compile=True)(1.0)
    assert "callable object of type Scale" in str(info.value)


def test_exec_built_callee_is_named():
    with pytest.raises((s2s.SourceUnavailableError, s2s.NoDerivativeRuleError)) as info:
        s2s.grad(calls_exec_built)(2.0)
    assert "made_by_exec" in str(info.value) and "Hint: " in str(info.value)


@pytest.mark.xfail(strict=True, reason="a callee without source is reported without the caller's file and line")
def test_exec_built_callee_error_points_at_the_call():
    lineno, line = source_line(calls_exec_built, "made_by_exec(x)")
    with pytest.raises(s2s.S2SError) as info:
        s2s.grad(calls_exec_built)(2.0)
    assert_points_at(info.value, HERE, lineno, line, "made_by_exec(x)")


# ---- calls without a derivative rule ---------------------------------------------------------------------


def with_fft(x):
    y = np.fft.fft(x)
    return np.sum(np.abs(y))


def with_cbrt(x):
    return math.cbrt(x) * x


def with_eigvals(a):
    return np.sum(np.linalg.eigvals(a).real)


def with_flat(x):
    return x.flat[0] * 2.0


PARTIAL_POWER = functools.partial(np.power, 2.0)


def with_partial_global(x):
    return PARTIAL_POWER(x)


try:
    import scipy.special as SPECIAL  # noqa: N812
except ImportError:  # pragma: no cover
    SPECIAL = None

NO_RULE = [
    (with_fft, np.ones(4), "np.fft.fft", "numpy.fft.fft"),
    (with_cbrt, 2.5, "math.cbrt", "math.cbrt"),
    (with_eigvals, np.eye(2), "np.linalg.eigvals", "numpy.linalg.eigvals"),
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("func,arg,at,name", NO_RULE, ids=[c[0].__name__ for c in NO_RULE])
def test_no_derivative_rule(func, arg, at, name, mode):
    lineno, line = source_line(func, at)
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        if mode == "reverse":
            s2s.grad(func)(arg)
        else:
            s2s.jvp(func, (arg,), (np.ones_like(arg),))
    text = assert_points_at(info.value, HERE, lineno, line, at)
    assert name.split(".")[-1] in text.splitlines()[0]
    if mode == "reverse":
        assert name in text.splitlines()[0]
    assert "defvjp" in info.value.hint and "stop_gradient" in info.value.hint


def test_no_rule_for_a_scipy_function():
    if SPECIAL is None:
        pytest.skip("scipy is not installed")

    def f(x):
        return SPECIAL.dawsn(x) * 2.0  # (gammaln and erfcx have rules now)

    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(f)(2.5)
    assert "dawsn" in str(info.value) and "defvjp" in str(info.value)


def test_no_rule_error_hint_works():
    """Following the hint (register a rule with s2s.defvjp) makes the same function differentiable."""
    def cubed(v):
        return v * v * v

    cube = np.vectorize(cubed)  # a library's callable object: no source s2s reads, no rule

    def g(x):
        return cube(x) * 1.0

    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(g)(2.0)
    assert "defvjp" in str(info.value)
    s2s.defvjp(cube, "x", x="g * 3.0 * x * x")
    try:
        assert s2s.grad(g)(2.0) == pytest.approx(12.0)
    finally:  # the rule is this test's: other tests list s2s's own rules (those of NumPy's objects among them)
        key = s2s.rules._key(cube)
        s2s.rules._RULES.pop(key, None)
        s2s.rules._KEYED.pop(key, None)
        s2s.rules.version += 1


def test_an_object_of_your_class_with_a_call_is_differentiated_without_a_rule():
    class Cube:  # its __call__ is your code: s2s reads it (tests/test_callable_objects.py)
        def __call__(self, v):
            return v * v * v

    cube = Cube()

    def g(x):
        return cube(x) * 1.0

    assert s2s.grad(g)(2.0) == pytest.approx(12.0)


@pytest.mark.xfail(strict=True, reason="s2s.defvjp on a callable whose __name__ is not an identifier (a lambda, "
                                       "np.frompyfunc) raises a bare SyntaxError from ast.parse")
def test_defvjp_on_a_lambda():
    square = lambda v: v * v  # noqa: E731
    try:
        s2s.defvjp(square, "x", x="g * 2 * x")
    except SyntaxError as exc:
        raise AssertionError(f"bare SyntaxError: {exc}") from None
    except (TypeError, ValueError, s2s.S2SError) as exc:  # a clear refusal would do
        assert "defvjp" in str(exc)


def test_attribute_without_derivative_has_a_hint():
    lineno, line = source_line(with_flat, "x.flat")
    with pytest.raises(s2s.NoDerivativeRuleError) as info:
        s2s.grad(with_flat)(np.ones(2))
    assert_points_at(info.value, HERE, lineno, line, "x.flat")


def test_stop_gradient_is_the_way_around_a_missing_rule():
    def f(x):
        return x * s2s.stop_gradient(np.sum(np.abs(np.fft.fft(x))))

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(s2s.grad(lambda v: np.sum(f(v)))(x), np.full(2, np.sum(np.abs(np.fft.fft(x)))))


def test_a_global_partial_object_is_differentiated():
    # it was refused with an unreadable name; a partial of a function with a rule is a call of that function
    np.testing.assert_allclose(s2s.grad(with_partial_global)(1.5), 2.0 ** 1.5 * math.log(2.0), rtol=1e-12)


# ---- wrt --------------------------------------------------------------------------------------------


def two(x, y):
    return np.sum(x * y)


def with_keyword_only(x, *, scale):
    return x * x * scale


@pytest.mark.parametrize("wrt", [2, 10, -3, (0, 2)])
def test_wrt_out_of_range(wrt):
    with pytest.raises(IndexError) as info:
        s2s.grad(two, wrt=wrt)(np.ones(2), np.ones(2))
    text = str(info.value)
    assert "out of range" in text and "two" in text and "['x', 'y']" in text


@pytest.mark.parametrize("wrt", ["z", ("x", "nope")])
def test_wrt_names_a_missing_parameter(wrt):
    with pytest.raises(ValueError) as info:
        s2s.grad(two, wrt=wrt)(np.ones(2), np.ones(2))
    text = str(info.value)
    assert "names no parameter" in text and "['x', 'y']" in text


@pytest.mark.parametrize("wrt", [1.5, True, b"x", [0.0]])
def test_wrt_of_the_wrong_type(wrt):
    with pytest.raises(TypeError) as info:
        s2s.grad(two, wrt=wrt)
    assert "wrt must be an int, a parameter name or a tuple of them" in str(info.value)


def test_wrt_errors_come_when_grad_is_called_not_later():
    with pytest.raises(IndexError):
        s2s.grad(two, wrt=5)
    with pytest.raises(ValueError):
        s2s.value_and_grad(two, wrt="w")


def test_negative_wrt_counts_from_the_end_like_python():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    np.testing.assert_allclose(s2s.grad(two, wrt=-1)(x, y), x)
    np.testing.assert_allclose(s2s.grad(two, wrt=-2)(x, y), y)


@pytest.mark.parametrize("wrt", [(0, 0), ("x", "x"), (0, "x"), (1, 0, 1)])
def test_duplicated_wrt_gives_each_gradient_once_per_mention(wrt):
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    grads = s2s.grad(two, wrt=wrt)(x, y)
    expected = {"x": y, "y": x, 0: y, 1: x}
    assert len(grads) == len(wrt)
    for w, g in zip(wrt, grads):
        np.testing.assert_allclose(g, expected[w])  # not doubled by the repetition


def test_wrt_a_keyword_only_parameter():
    assert s2s.grad(with_keyword_only, wrt="scale")(3.0, scale=2.0) == 9.0
    assert s2s.grad(with_keyword_only, wrt=1)(3.0, scale=2.0) == 9.0


def test_non_callable():
    with pytest.raises(TypeError) as info:
        s2s.grad(3.0)
    assert "not float" in str(info.value)


@pytest.mark.xfail(strict=True, reason="a wrong number of arguments to grad(f) is reported against the "
                                       "generated function `_s2s_factory.<locals>.dtwo_dx`, not against `two`")
def test_wrong_number_of_arguments_names_the_users_function():
    with pytest.raises(TypeError) as info:
        s2s.grad(two)(np.ones(2))
    assert "_s2s_factory" not in str(info.value)


# ---- non-scalar output ----------------------------------------------------------------------------------


def vector_out(x):
    return x * 2.0


def dict_out(x):
    return {"a": np.sum(x)}


def tuple_out(x):
    return np.sum(x), np.sum(x * x)


@pytest.mark.parametrize("func", [vector_out, dict_out, tuple_out], ids=["vector", "dict", "tuple"])
@pytest.mark.parametrize("entry", ["grad", "value_and_grad"])
def test_non_scalar_output_suggests_vjp_and_sum(func, entry):
    api = getattr(s2s, entry)
    with pytest.raises(s2s.NonScalarOutputError) as info:
        api(func)(np.array([1.0, 2.0]))
    text = str(info.value)
    assert func.__name__ in text and "scalar" in text
    assert "vjp" in info.value.hint and ("sum" in info.value.hint or "single number" in info.value.hint)
    assert isinstance(info.value, TypeError)


def test_non_scalar_output_of_hvp():
    # (s2s.hessian of an array output is each element's Hessian, as in JAX: tests/test_compose.py)
    with pytest.raises(s2s.NonScalarOutputError) as info:
        s2s.hvp(vector_out)(np.array([1.0, 2.0]), np.ones(2))
    assert "vjp" in str(info.value) and "s2s.jvp(s2s.jacrev(f)" in str(info.value)


# ---- tracebacks through generated code ------------------------------------------------------------------


def raises_on_purpose(x):
    y = x * 2.0
    if y > 10.0:
        raise ValueError("too big on purpose")
    return y * y


def prim_with_bad_rule(x):
    return np.sum(x)


s2s.defvjp(prim_with_bad_rule, "x", x="g * (np.ones(7) + x)")  # a rule whose adjoint has the wrong shape


def uses_bad_rule(x):
    y = x * 3.0
    z = prim_with_bad_rule(y)
    return z * z


def _generated_frames(tb):
    out = []
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith("<s2s "):
            out.append((name, tb.tb_lineno))
        tb = tb.tb_next
    return out


def test_user_raise_inside_generated_code_shows_the_generated_line():
    with pytest.raises(ValueError, match="too big on purpose") as info:
        s2s.grad(raises_on_purpose)(6.0)
    text = "".join(traceback.format_exception(info.type, info.value, info.tb))
    assert "raise ValueError('too big on purpose')" in text or 'raise ValueError("too big on purpose")' in text
    frames = _generated_frames(info.tb)
    assert frames, text
    name, _ = frames[-1]
    assert HERE in name and "raises_on_purpose" in name  # the generated file's label names the user's file


def test_backward_failure_shows_the_generated_line_and_the_user_line_above_it():
    with pytest.raises(ValueError) as info:
        s2s.grad(uses_bad_rule)(np.ones(3))
    text = "".join(traceback.format_exception(info.type, info.value, info.tb))
    assert "np.ones(7) + y" in text, text  # the failing generated line, from linecache
    name, lineno = _generated_frames(info.tb)[-1]
    assert HERE in name
    above = [ln.strip() for ln in linecache.getlines(name)[:lineno - 1]]
    comments = [ln for ln in above if ln.startswith("# ")]
    _, user_line = source_line(uses_bad_rule, "z = prim_with_bad_rule")
    assert comments and comments[-1] == "# " + user_line.strip()  # the block quotes the user's line


def test_wrong_cotangent_shape_is_an_error_not_an_answer():
    _, pullback = s2s.vjp(vector_out, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError):
        pullback(np.ones(5))
    with pytest.raises(ValueError):
        pullback(np.ones((2, 3)))


@pytest.mark.parametrize("case", ["forward", "backward"])
def test_traceback_mentions_the_user_line(case):
    if case == "forward":
        func, arg, marker, exc = raises_on_purpose, 6.0, "raise ValueError", ValueError
    else:
        func, arg, marker, exc = uses_bad_rule, np.ones(3), "z = prim_with_bad_rule", ValueError
    lineno, _ = source_line(func, marker)
    with pytest.raises(exc) as info:
        s2s.grad(func)(arg)
    text = "".join(traceback.format_exception(info.type, info.value, info.tb))
    assert re.search(rf"{re.escape(os.path.basename(HERE))}\D+{lineno}\b", text), text


def _popped_from_a_dict(x):
    d = {"a": x * 2.0, "b": x}
    v = d.pop("a")
    return np.sum(v * d["b"]) + len(d)


def _popped_by_a_name(x, key):
    d = {key: x * 2.0, "b": x}
    v = d.pop(key)
    return np.sum(v * d["b"])


def _made_again_without_the_item(x):
    d = {"a": x * 2.0, "b": x}
    v = d["a"]
    d = {k_: v_ for k_, v_ in d.items() if k_ != "a"}
    return np.sum(v * d["b"]) + len(d)


@pytest.mark.parametrize("f, args", [(_popped_from_a_dict, ()), (_popped_by_a_name, ("k",))],
                         ids=["constant key", "named key"])
def test_a_dicts_pop_is_named_as_a_dicts_with_a_hint_that_works(f, args):
    # (review 228: it was called list.pop() with the hint to use forward mode, which refuses it too)
    x = np.array([0.3, -1.2, 2.0])
    with pytest.raises(s2s.UnsupportedSyntaxError, match=r"dict\.pop\(\)") as info:
        s2s.grad(f)(x, *args)
    assert "v = d[" in str(info.value) and "list" not in str(info.value), str(info.value)
    np.testing.assert_allclose(s2s.grad(_made_again_without_the_item)(x), 4 * x, rtol=1e-14)  # (the hint, pasted)


def _gets_from_a_parameters_dict(params, x):
    return np.sum(np.tanh(x @ params["l1"]["W"] + params["l1"].get("b", 0.0)))


class _Model:
    def loss(self, params, x):
        return np.sum(params["l1"].get("b", 0.0) * x)


def test_a_mappings_get_is_named_as_written_with_a_hint_that_works():
    # (review 238: the message named the temporary `t4` and suggested a class's method; a dict's `.get` is read
    # since stop 71, tests/test_dict_get.py, and a mapping of another class's is still refused so)
    from collections import OrderedDict
    params, x = {"l1": OrderedDict(W=np.eye(2), b=np.ones(2))}, np.array([0.3, -0.2])
    for f in (_gets_from_a_parameters_dict, _Model().loss):
        with pytest.raises(s2s.UnsupportedSyntaxError, match=r"called on `params\['l1'\]`") as info:
            s2s.grad(f)(params, x)
        assert "key in params['l1'] else default" in info.value.hint


class _NotRead:
    def __init__(self, a):
        self.a = a


def _constructs_inside(p, x):
    s = _NotRead(np.exp(p[0]))
    return np.sum((s.a * x) ** 2) * p[1]


def test_a_hessian_refused_for_a_construction_hints_at_the_construction():
    # (review 238: the hint said to draw random numbers outside, where there were none)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="constructs a _NotRead") as info:
        s2s.hessian(_constructs_inside)(np.array([0.1, 2.0]), np.array([1.0, 2.0]))
    assert "construct the object outside the function" in info.value.hint



_STEPPED = """
import numpy as np


class Counter:
    def __init__(self):
        self.total = 0.0
        self.n = 0

    def step(self, x):
        self.n += 1
        self.total = self.total + np.sum(x ** self.n)


def self_state(x):
    obj = Counter()
    obj.step(x)
    obj.step(x)
    return obj.total
"""


def test_a_call_made_for_its_effect_names_its_object_too(tmp_path, monkeypatch):
    """(review 247: the message named the argument `x` alone, where the method stores into its object)"""
    import importlib
    (tmp_path / "stepped_for_its_effect.py").write_text(_STEPPED)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("stepped_for_its_effect")
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(module.self_state)(np.array([1.0, 2.0]))
    assert "changes `x` or `obj` in place" in str(caught.value)


def _piece(v):
    return v * v if v > 0 else 0.5 * v


_VECTORIZED_PIECE = np.vectorize(_piece)


def with_vectorize(x):
    return np.sum(_VECTORIZED_PIECE(x))


def with_the_hint_s_loop(x):
    return np.sum(np.array([_piece(v) for v in x]))


def test_np_vectorize_is_named_with_its_function_and_a_hint_that_works():
    """(review 247: the message said `numpy.<lambda>`, and the hint offered a defvjp line)"""
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(s2s.NoDerivativeRuleError) as caught:
        s2s.grad(with_vectorize)(x)
    assert "np.vectorize made of _piece" in str(caught.value) and "[_piece(v) for v in x]" in caught.value.hint
    np.testing.assert_allclose(s2s.grad(with_the_hint_s_loop)(x), [1.0, 0.5, 4.0])
