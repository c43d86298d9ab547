"""Generated programs in which a value reaches arithmetic through a random chain of binding forms (a parameter, an
item, an attribute, a copy, a branch, a loop's variable, a helper's result, a global, a closure, `*args`...):
given an object of a class doing arithmetic of its own, every transform refuses; given a number, the derivative
agrees with central differences (transforms/operator_objects.py; reviews 249 and 250 found such chains
differentiated as products). Fixed seeds: the same programs on every run."""

import importlib.util
import random
import textwrap

import numpy as np
import pytest
from helpers_fd import fd_grad

import s2s

HEADER = '''
import numpy as np


class Cube:
    def __mul__(self, v):
        return v ** 3

    __rmul__ = __mul__

    def __add__(self, v):
        return v ** 2

    __radd__ = __add__


class Root:
    """(no operator method: NumPy's functions of it call its methods by name)"""

    def sqrt(self):
        return Cube()

    def exp(self):
        return Cube()

    def log1p(self):
        return Cube()

    def sum(self, *args, **kwargs):
        return Cube()

    def round(self, *args, **kwargs):
        return Cube()


class Box:
    def __init__(self, value):
        self.value = value


def first(items):
    return items[0]


def identity(v):
    return v

'''

# each step wraps the expression `e` of the value into a new form, and gives the statements that bind it (indented
# by the caller), the new expression, and what the value must be packed as when it enters (for the parameter)
STEPS = {
    "copy": lambda e, n: ([f"c{n} = {e}"], f"c{n}"),
    "list item": lambda e, n: ([f"l{n} = [{e}, 1.0]"], f"l{n}[0]"),
    "dict item": lambda e, n: ([f"d{n} = {{'k': {e}}}"], f"d{n}['k']"),
    "tuple unpacked": lambda e, n: ([f"a{n}, b{n} = {e}, 2.0"], f"a{n}"),
    "attribute": lambda e, n: ([f"o{n} = Box({e})"], f"o{n}.value"),
    "branch": lambda e, n: ([f"i{n} = {e} if x.shape[0] > 0 else 2.0"], f"i{n}"),
    "loop variable": lambda e, n: ([f"for v{n} in [{e}]:", f"    w{n} = v{n}"], f"w{n}"),
    "helper": lambda e, n: ([f"h{n} = first([{e}])"], f"h{n}"),
    "kept helper": lambda e, n: ([f"k{n} = identity({e})"], f"k{n}"),
    "enumerate": lambda e, n: ([f"for _, u{n} in enumerate([{e}]):", f"    z{n} = u{n}"], f"z{n}"),
    "zip": lambda e, n: ([f"for u{n}, _ in zip([{e}], [0.0]):", f"    y{n} = u{n}"], f"y{n}"),
    "walrus": lambda e, n: ([f"if (q{n} := {e}) is not None:", "    pass"], f"q{n}"),
    "appended": lambda e, n: ([f"p{n} = []", f"p{n}.append({e})"], f"p{n}[0]"),
    "stored": lambda e, n: ([f"s{n} = [0.0, 1.0]", f"s{n}[0] = {e}"], f"s{n}[0]"),
}
ENTRIES = {  # how the value enters the function: (signature's parameters, the call's arguments, its expression)
    "parameter": ("c", "C", "c"),
    "list parameter": ("cs", "[C]", "cs[0]"),
    "dict parameter": ("d", "{'c': C}", "d['c']"),
    "object parameter": ("o", "Box(C)", "o.value"),
    "star args": ("*cs", "C", "cs[0]"),
    "global": ("", "", "G[0]"),
}
USES = {
    "product": "np.sum({e} * x)",
    "sum": "np.sum(x + {e})",
    "ufunc": "np.sum(np.add({e}, x))",
    "array of": "np.sum(np.asarray([{e}]) * x)",
    "dot method": "np.sum(x.dot([{e}, 1.0, 1.0]))",
}

CALLED_BY_NAME = {  # (NumPy's functions whose loop over objects calls the object's method of that name)
    "sqrt": "np.sum(np.sqrt({e}) * x)",
    "exp": "np.sum(x * np.exp({e}))",
    "log1p": "np.sum(np.log1p({e}) + x)",
    "sum": "np.sum(np.sum({e}) * x)",  # (NumPy hands a value that is no array to its own method)
    "round": "np.sum(x * np.round({e}))",
}


def program(seed, uses=USES):
    """(source of a module whose `f(x, ...)` computes with the value as one of `uses` does, the call's extra
    arguments' text, what the chain is)."""
    rng = random.Random(seed)
    entry = rng.choice(sorted(ENTRIES))
    params, args, expr = ENTRIES[entry]
    chain = [rng.choice(sorted(STEPS)) for _ in range(rng.randint(1, 3))]
    body = []
    for n, step in enumerate(chain):
        lines, expr = STEPS[step](expr, n)
        body += lines
    use = rng.choice(sorted(uses))
    body.append("return " + uses[use].format(e=expr))
    signature = "x" + (", " + params if params else "")
    text = f"def f({signature}):\n" + textwrap.indent("\n".join(body), "    ") + "\n"
    return text, args, f"{entry} -> {' -> '.join(chain)} -> {use}"


def _load(tmp_path, name, source, value):
    path = tmp_path / f"{name}.py"
    path.write_text(HEADER + f"C = {value}\nG = [C]\n\n" + source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _call(module, args_text):
    extra = eval(f"[{args_text}]", vars(module)) if args_text else []
    return lambda x: module.f(x, *extra)


SEEDS = range(48)
X = np.array([0.6, -0.4, 1.3])
TRANSFORMS = {
    "grad": lambda g: s2s.grad(g)(X),
    "jvp": lambda g: s2s.jvp(g, (X,), (np.ones(3),))[1],
    "value_and_grad": lambda g: s2s.value_and_grad(g)(X)[1],
}


CHAINS = [f"{seed}: {program(seed)[2]}" for seed in SEEDS]


@pytest.mark.parametrize("seed", SEEDS, ids=CHAINS)
def test_an_object_doing_arithmetic_through_any_chain_is_refused(seed, tmp_path):
    source, args, _ = program(seed)
    module = _load(tmp_path, f"chain_cube_{seed}", source, "Cube()")
    f = _call(module, args)  # (a function of x: s2s reads the module's `f` through it, its closure the arguments)
    assert not np.allclose(fd_grad(f, (X,)), 1.0)  # (the object's own arithmetic runs, not a product: x ** 3 or x ** 2)
    for transform in TRANSFORMS.values():
        with pytest.raises((s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError), match="does arithmetic of its own"):
            transform(f)


@pytest.mark.parametrize("seed", SEEDS, ids=CHAINS)
def test_a_number_through_the_same_chain_is_differentiated(seed, tmp_path):
    source, args, what = program(seed)
    module = _load(tmp_path, f"chain_number_{seed}", source, "2.5")
    f = _call(module, args)
    want = fd_grad(f, (X,))
    np.testing.assert_allclose(s2s.grad(f)(X), want, rtol=1e-6, atol=1e-8, err_msg=what)
    np.testing.assert_allclose(s2s.jvp(f, (X,), (np.ones(3),))[1], want.sum(), rtol=1e-6, atol=1e-8, err_msg=what)


ROOT_CHAINS = [f"{seed}: {program(seed, CALLED_BY_NAME)[2]}" for seed in SEEDS]


@pytest.mark.parametrize("seed", SEEDS, ids=ROOT_CHAINS)
def test_an_object_whose_method_numpy_calls_through_any_chain_is_refused(seed, tmp_path):
    source, args, what = program(seed, CALLED_BY_NAME)
    module = _load(tmp_path, f"chain_root_{seed}", source, "Root()")
    f = _call(module, args)
    method = what.rsplit(" ", 1)[-1]
    for transform in TRANSFORMS.values():
        with pytest.raises((s2s.UnsupportedSyntaxError, s2s.NoDerivativeRuleError), match=f"method `{method}`"):
            transform(f)
    number = _call(_load(tmp_path, f"chain_root_number_{seed}", source, "2.5"), args)
    np.testing.assert_allclose(s2s.grad(number)(X), fd_grad(number, (X,)), rtol=1e-6, atol=1e-8, err_msg=what)
