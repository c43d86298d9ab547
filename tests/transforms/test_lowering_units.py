"""Unit tests of the lowering passes not covered in test_pass_units.py: generators, inline, check and
objects, each on a small function (input source -> the program after that pass, as `s2s show --stages`
prints it). They resolve names through the function's globals, so they run with the context
`s2s.pipeline` installs."""

import textwrap

import numpy as np
import pytest

from s2s import UnsupportedSyntaxError, pipeline


def _same(got, want):
    assert got.strip() == textwrap.dedent(want).strip(), got


def generator_expression(x):
    return sum(v * v for v in [x, 2.0 * x])


def test_generators_a_consumed_generator_expression_becomes_a_list():
    _same(pipeline.lowered(generator_expression).stage_text["generators"], """
        def generator_expression(x):
            return sum([v * v for v in [x, 2.0 * x]])
        """)


def local_helper(x):
    def sq(v):
        return v * v
    return np.sum(sq(x) + sq(2.0 * x))


def test_inline_takes_the_local_function_out_and_lower_expands_its_calls():
    program = pipeline.lowered(local_helper)
    assert sorted(program.local_helpers) == ["sq"]
    _same(program.stage_text["inline"], """
        def local_helper(x):
            return np.sum(sq(x) + sq(2.0 * x))
        """)
    _same(program.stage_text["lower"], """
        def local_helper(x):
            t = x * x
            t2 = 2.0 * x
            t3 = t2 * t2
            t4 = t + t3
            out = np.sum(t4)
            return out
        """)


def with_try(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return y


def test_check_refuses_at_the_users_line_with_a_hint():
    with pytest.raises(UnsupportedSyntaxError, match="try/except") as info:
        pipeline.lowered(with_try)
    assert info.value.lineno == with_try.__code__.co_firstlineno + 1
    assert "outside the differentiated function" in str(info.value)


def record_read(p, x):
    return np.sum(p.w * x + p.b)


def test_objects_field_reads_become_helper_calls():
    _same(pipeline.lowered(record_read).stage_text["objects"], """
        def record_read(p, x):
            return np.sum(s2s.field(p, 'w') * x + s2s.field(p, 'b'))
        """)
