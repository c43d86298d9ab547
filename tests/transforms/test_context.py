"""The context the passes read (transforms/context.py): each pipeline run states its own (`using`);
the one installed for the process serves passes called outside any run."""

import dataclasses

import numpy as np
from s2s.transforms import context

from s2s import pipeline


def f(x):
    return np.sum(np.reshape(x, (-1,)) * 2.0)


def test_using_nests_and_restores():
    outer = context.ctx()
    bare = dataclasses.replace(pipeline.CONTEXT, lookup=lambda obj: None, record=None)
    with context.using(bare):
        assert context.ctx() is bare
        assert context.ctx().fact(np.reshape, "returns_view") is False  # no rules in this context
        with context.using(pipeline.CONTEXT):
            assert context.ctx().fact(np.reshape, "returns_view") is True
        assert context.ctx() is bare
    assert context.ctx() is outer


def test_a_pipeline_run_uses_its_own_context_whatever_is_installed():
    bare = dataclasses.replace(pipeline.CONTEXT, lookup=lambda obj: None, record=None)
    previous = context.install(bare)
    try:
        program = pipeline.lowered(f)  # the passes look up np.reshape's rule through the run's context
        gen = pipeline.derivative_code(f, ("x",), "flat", True)
    finally:
        context.install(previous)
    assert "np.reshape" in program.stage_text["lower"]
    assert "np.reshape(" in gen.source
