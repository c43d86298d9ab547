"""pipeline.py lists every pass in order; `--stages` text is recorded under those names; the facts
passes attach to nodes are the ones transforms/annotations.py documents."""

import os
import re

import numpy as np
from s2s.transforms import annotations, optimize

from s2s import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def f(x):
    y = x
    for i in range(2):
        y = y * np.sin(x) + i
    return np.sum(y ** 2)


def test_pass_names_in_order():
    names = pipeline.passes("reverse")
    lowering = ["contexts", "global names", "named expressions", "star displays", "reduce", "apply along axis", "operator calls",
                "generators", "inline", "missing attributes",
                "frozen distributions", "ufunc_at", "loop else", "check", "ownership", "desugar", "exits", "objects", "lower",
                "operator objects", "aliasing", "rebinding"]
    assert names[:len(lowering)] == lowering == [name for name, _ in pipeline.LOWERING]
    assert names[len(lowering):len(lowering) + 2] == ["analysis", "reverse"] and names[-1] == "derivative"
    assert names[len(lowering) + 2:-1] == [name for name, _ in pipeline.OPTIMIZER]
    assert names[len(lowering) + 2:len(lowering) + 7] == ["simplify", "dce", "copyprop", "max shifts of log-sum-exp",
                                                          "zeros"]


def test_the_optimizer_order_is_listed_in_the_pipeline_alone():
    """optimize.py defines the steps; pipeline.OPTIMIZER alone says which run and in what order."""
    assert not hasattr(optimize, "STEPS")
    steps = {step for _, step in pipeline.OPTIMIZER}
    defined = {value for name, value in vars(optimize).items() if name.endswith("_step")}
    assert steps == defined  # every step defined runs, none is left out


def test_stages_are_recorded_by_pass_name():
    for mode in ("reverse", "forward"):
        stages = pipeline.stages(f, 0, mode)
        assert list(stages) == ["source"] + pipeline.passes(mode)
        assert "np.sin(x)" in stages["lower"]


def test_forward_stages_go_through_the_optimizer():
    stages = pipeline.stages(f, 0, "forward")
    assert stages["forward"] != stages["derivative"]


def test_every_node_fact_is_documented():
    used = set()
    for name in os.listdir(os.path.join(ROOT, "transforms")):
        if name.endswith(".py") and name != "annotations.py":
            text = open(os.path.join(ROOT, "transforms", name)).read()
            used |= set(re.findall(r'\.(s2s_[a-z_]+)\s*=[^=]', text))
            used |= set(re.findall(r'"(s2s_[a-z_]+)"', text))
    assert used <= set(annotations.ALL), used - set(annotations.ALL)
    doc = annotations.__doc__
    for fact in ("global_name", "helper", "resolved", "augmented", "checkpoint_every", "local_helpers",
                 "trip_counter", "checkpoint_names", "checkpoint_carried", "loop_test"):
        assert f"`{fact}`" in doc
