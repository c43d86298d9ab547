"""The command line reaches objects: `s2s show FILE.py:Class.method` and `--at` values that are dicts
or lists of arrays (parsed without evaluating anything but literals and a few NumPy constructors)."""

import textwrap

import numpy as np
import pytest

from s2s import check
from s2s.cli import main

MODULE = textwrap.dedent('''
    import numpy as np


    class Model:
        def __init__(self):
            self.W = np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.4]])
            self.b = np.array([0.1, -0.1])

        def loss(self, x):
            self.h = np.tanh(self.W @ x + self.b)
            return np.sum(self.h ** 2)

        @staticmethod
        def square(x):
            return np.sum(x ** 2)

        @classmethod
        def cubed(cls, x):
            return np.sum(x ** 3)


    class NeedsArgs:
        def __init__(self, n):
            self.n = n

        def f(self, x):
            return np.sum(x * self.n)


    def predict(params, x):
        return np.sum(np.tanh(params["W"] @ x + params["b"]))


    def layers(ws, x):
        for w in ws:
            x = np.tanh(w @ x)
        return np.sum(x)
''')


@pytest.fixture()
def module(tmp_path, monkeypatch):
    path = tmp_path / "objs.py"
    path.write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    return "objs.py"


def run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_show_a_method_differentiates_after_self(module, capsys):
    status, out, err = run(capsys, "show", f"{module}:Model.loss")
    assert status == 0, err
    assert "def dloss_dx(self, x, *, out_bar=1.0):" in out
    assert "s2s.store_field(self, 'h', self_h)" in out  # the store is made, the value read back locally


@pytest.mark.parametrize("target,header", [("Model.square", "def dsquare_dx(x,"), ("Model.cubed", "def dcubed_dx(cls, x,")])
def test_show_static_and_class_methods(module, capsys, target, header):
    status, out, err = run(capsys, "show", f"{module}:{target}")
    assert status == 0, err
    assert header in out


def test_show_names_the_class_when_no_method_is_given(module, capsys):
    status, _, err = run(capsys, "show", f"{module}:Model")
    assert status == 2 and "is a class" in err and "Model.METHOD" in err


def test_check_a_method_makes_its_object(module, capsys):
    status, out, err = run(capsys, "check", f"{module}:Model.loss", "--at", "x=[0.1, 0.2, 0.3]")
    assert status == 0, err
    assert "self=Model()" in out and "s2s agrees" in out


def test_check_a_method_whose_class_needs_arguments_is_explained(module, capsys):
    status, _, err = run(capsys, "check", f"{module}:NeedsArgs.f", "--at", "x=[1, 2]")
    assert status == 2 and "NeedsArgs()" in err and "module-level function" in err


def test_check_with_a_dict_of_arrays(module, capsys):
    status, out, err = run(capsys, "check", f"{module}:predict", "--wrt", "x",
                           "--at", 'params={"W": np.ones((2, 3)), "b": np.zeros(2)}', "--at", "x=[0.1, 0.2, 0.3]")
    assert status == 0, err
    assert "params={'W': [[1., 1., 1.], [1., 1., 1.]], 'b': [0., 0.]}" in out
    assert "s2s agrees" in out


def test_check_with_a_list_of_arrays(module, capsys):
    status, out, err = run(capsys, "check", f"{module}:layers", "--wrt", "x",
                           "--at", "ws=[np.eye(3), np.full((2, 3), 0.5)]", "--at", "x=[0.1, 0.2, 0.3]")
    assert status == 0, err
    assert "s2s agrees" in out


def test_check_with_respect_to_a_dict_is_explained(module, capsys):
    status, _, err = run(capsys, "check", f"{module}:predict",
                         "--at", 'params={"W": np.ones((2, 3)), "b": np.zeros(2)}', "--at", "x=[0.1, 0.2, 0.3]")
    assert status == 2 and "its value is a dict" in err and "s2s.grad(predict, wrt='params')" in err


# ---- the parser: values, and nothing else ---------------------------------------------------------

def test_parse_value_structures():
    v = check.parse_value('{"W": np.ones((2, 3)), "b": [0, 1], "c": {"d": np.full(2, 0.5)}, "s": -1.5}')
    np.testing.assert_array_equal(v["W"], np.ones((2, 3)))
    np.testing.assert_array_equal(v["b"], [0.0, 1.0])
    np.testing.assert_array_equal(v["c"]["d"], [0.5, 0.5])
    assert v["s"] == -1.5 and v["b"].dtype == float
    ws = check.parse_value("[np.eye(2), np.zeros(3), np.arange(4.0), np.linspace(0, 1, 5), numpy.array([1, 2])]")
    assert [w.shape for w in ws] == [(2, 2), (3,), (4,), (5,), (2,)]
    assert check.parse_value("np.array([1, 2], dtype='float32')").dtype == np.float32
    np.testing.assert_array_equal(check.parse_value("[[1, 2], [3, 4]]"), [[1.0, 2.0], [3.0, 4.0]])
    assert check.parse_value("3") == 3 and check.parse_value("np.pi") == np.pi


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "open('x')", "np.random.randn(3)", "np.load('x')", "x", "np.ones",
    "np.ones((10 ** 9,))", "np.ones((100000, 100000))", "np.arange(0, 1e12)", "np.ones(2).sum()",
    "[1, [2, 3]]", "{1: 2}", "{**{}}", "lambda: 0", "np.ones(2, dtype=object)", "'text'", "np.zeros(-1)",
    "(1,"])
def test_parse_value_refuses_everything_else(text):
    with pytest.raises(ValueError):
        check.parse_value(text)


def test_bad_structured_at_is_a_usage_error(module, capsys):
    status, _, err = run(capsys, "check", f"{module}:predict", "--wrt", "x",
                         "--at", "params={'W': np.ones((2, 3)), 'b': float('nan')}", "--at", "x=[1, 2, 3]")
    assert status == 2 and "bad --at" in err
    status, _, err = run(capsys, "check", f"{module}:predict", "--wrt", "x",
                         "--at", "params={'W': np.full((2, 3), 1e400), 'b': np.zeros(2)}", "--at", "x=[1, 2, 3]")
    assert status == 2 and "finite" in err
