"""transforms/callees.py: the callee a path leads to, what a call of it may change, and a summary's calls of
what it is given settled by what its caller passes."""

import ast
import dataclasses
import functools

import numpy as np
from s2s.transforms import callees
from s2s.transforms.desugar import callee_reader, callee_summary


def double(a):
    a *= 2.0
    return a


def reads(a, b):
    return a * b


def second_changed(a, b):
    b[0] = 1.0
    return a


def apply(f, v):
    return f(v)


class Layer:
    def __init__(self, g):
        self.g = g
        self.fs = [g]

    def forward(self, v):
        return self.g(v)


def test_callee_path_of_names_attributes_and_constant_items():
    assert callees.callee_path(ast.parse("f", mode="eval").body) == ("f", ())
    assert callees.callee_path(ast.parse("self.fs[0]", mode="eval").body) == ("self", (("attr", "fs"), ("item", 0)))
    assert callees.callee_path(ast.parse("g()(v)", mode="eval").body.func) is None
    assert callees.callee_path(ast.parse("fs[i]", mode="eval").body) is None


def test_follow_binds_a_class_s_function_and_reads_items():
    layer = Layer(double)
    method = callees.follow(layer, (("attr", "forward"),))
    assert method.__func__ is Layer.forward and method.__self__ is layer
    assert callees.follow(layer, (("attr", "g"),)) is double
    assert callees.follow(layer, (("attr", "fs"), ("item", 0))) is double
    assert callees.follow([layer, layer], (("each", None), ("attr", "g"))) == [double, double]
    assert callees.follow(layer, (("attr", "fs"), ("item", 5))) is callees.UNKNOWN


def test_follow_runs_no_property():
    class WithProperty:
        @property
        def f(self):
            raise AssertionError("a property ran")
    assert callees.follow(WithProperty(), (("attr", "f"),)) is callees.UNKNOWN


def test_changed_keys_of_functions_methods_and_library_callables():
    from s2s import api  # noqa: F401 - installs the transforms' context
    reader = callee_reader()
    assert callees.changed_keys(double, reader) == {0, "a"}
    assert callees.changed_keys(reads, reader) == set()
    assert callees.changed_keys(second_changed, reader) == {1, "b"}
    assert callees.changed_keys(np.sin, reader) == {1, "out"}  # (an output array, where one is passed)
    assert callees.changed_keys(np.sum, reader) == set()
    assert callees.changed_keys(functools.partial(double), reader) == {0, "a"}
    assert callees.changed_keys(functools.partial(double, np.ones(2)), reader) == {callees.SELF}  # (what it holds)
    assert callees.changed_keys(functools.partial(np.add, 1.0), reader) == {1, "out"}
    assert callees.changed_keys(functools.partial(reads, 2.0), reader) == set()
    assert callees.changed_keys(np.random.default_rng(0).normal, reader) == set()
    assert callees.changed_keys(np.random.default_rng(0).shuffle, reader) == {0}
    assert callees.changed_keys([].append, reader) == {callees.SELF}
    assert callees.changed_keys(setattr, reader) is callees.ALL
    layer = Layer(double)
    assert callees.changed_keys(layer.forward, reader) == {0, "v"}  # (its object's g is double)
    assert callees.changed_keys(Layer(np.tanh).forward, reader) == set()


def test_a_summary_keeps_a_call_of_a_parameter_for_its_caller_to_settle():
    from s2s import api  # noqa: F401
    summary = callee_summary(apply)
    # (f itself counts too until settled: a function value may change what it holds, `w.sort`, a partial's w)
    assert summary.updated_params == {"f", "v"} and summary.certain == frozenset()
    (entry,) = summary.deferred
    assert entry.root == "f" and entry.steps == () and dict(entry.given) == {0: {"v"}} and entry.receiver == {"f"}
    reader = callee_reader()
    by_sin = callees.settle(summary, lambda e: callees.changed_keys(np.sin, reader))
    by_double = callees.settle(summary, lambda e: callees.changed_keys(double, reader))
    assert by_sin.updated_params == frozenset() and by_double.updated_params == {"v"}


def test_a_method_s_own_object_counts_only_where_the_callee_says_so():
    entry = callees.Deferred("o", (("attr", "step"),), ((0, frozenset({"v"})),), frozenset({"o"}), False)
    assert entry.params(callees.ALL) == {"v"}
    assert entry.params({callees.SELF}) == {"o"}
    assert entry.params({0}) == {"v"}
    assert entry.params(set()) == frozenset()


def test_follow_notes_what_it_reads_for_the_cache():
    """Each attribute or item `follow` reads is handed to the context's `note_read`, so that code settled from it
    is stale once it changes (`HOLDER.g = double` after a first gradient)."""
    from s2s.transforms import context

    seen = []
    holder = Layer(double)
    holder.layers, holder.table = [Layer(double)], {"f": reads}
    noting = dataclasses.replace(context.ctx(), note_read=lambda *read: seen.append(read))
    with context.using(noting):
        assert callees.follow(holder, (("attr", "g"),)) is double
        assert callees.follow(holder, (("attr", "table"), ("item", "f"))) is reads
        callees.follow(holder, (("attr", "layers"), ("item", 0)))
    kinds = [(kind, key) for kind, _, key, _ in seen]
    assert kinds == [("a", "g"), ("a", "table"), ("d", "f"), ("a", "layers"), ("i", 0)]
