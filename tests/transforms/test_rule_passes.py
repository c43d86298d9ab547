"""Unit tests of the two helpers the derivative passes build on: templates (a rule's template instantiated at
one call site) and sequences (which `+` and `*` may concatenate or repeat lists), on small inputs."""

import ast

import numpy as np
from s2s.transforms import analysis, sequences, templates

from s2s import pipeline


def test_templates_substitutes_parameters_and_helper_names():
    template = ast.parse("unbroadcast(g * np.cos(x), x)", mode="eval").body
    mapping = {"g": ast.Name(id="y_bar", ctx=ast.Load()), "x": ast.Name(id="t", ctx=ast.Load())}
    got = templates.instantiate(template, mapping, {"np": "np_", "unbroadcast": "unbroadcast"})
    assert ast.unparse(got) == "unbroadcast(y_bar * np_.cos(t), t)"
    assert ast.unparse(template) == "unbroadcast(g * np.cos(x), x)"  # the rule's template is left as it was


def sums(x, n):
    a = np.sin(x) + x
    items = [x] + [2.0 * x]
    twice = items * n
    return a, twice


def test_sequences_tells_concatenation_from_arithmetic():
    program = pipeline.lowered(sums)
    facts = analysis.analyze(program.pf, program.tree, ["x"])
    seqs = sequences.Sequences(program.pf, program.tree, facts, plain_params=("x", "n"))
    ops = {ast.unparse(n): seqs.may_be_sequence_op(n) for n in ast.walk(program.tree) if isinstance(n, ast.BinOp)}
    assert ops == {"sin + x": False,  # a NumPy result plus a parameter known to be an array
                   "2.0 * x": False,
                   "t + t3": True,  # [x] + [2.0 * x]: concatenation
                   "items * n": True}  # a list repeated
