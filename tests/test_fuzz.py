"""Differential fuzzing: random differentiable programs, every s2s derivative against finite differences and autograd.

`tests/fuzz/programs.py` writes the programs, `tests/fuzz/oracle.py` checks one. The programs include
the classes the oracle judges by where s2s refuses (aliases through every binding form, in-place NumPy
functions, list and tuple concatenation: right or refused; dead or rebound aliases: right, a refusal
counted as over-caution) and redefinitions between two gradients (stale is a failure). Two Hypothesis
profiles:

- `s2s-fuzz-fast` (default, part of `make test`): a fixed (derandomized) set of 50 smaller programs,
  with, beside it, smaller programs chosen from fixed seeds to have every class and alias form
  (`test_every_class_on_chosen_programs`; about 35 s together),
- `s2s-fuzz-long` (`S2S_FUZZ=long`, `make fuzz`): thousands of larger random programs
  (`S2S_FUZZ_EXAMPLES` overrides how many).

`python tests/fuzz/explore.py START COUNT -v` runs seeded programs outside pytest and reports failures
and refusals per class. Programs that expose a bug are shrunk (`tests/fuzz/reduce.py SEED`) and by hand
into `tests/test_fuzz_regressions.py`.
"""

from __future__ import annotations

import functools
import os

import pytest
from fuzz.oracle import KnownBugHit, Rejected, check_program, summary
from fuzz.programs import programs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

settings.register_profile("s2s-fuzz-fast", max_examples=30, derandomize=True, deadline=None, database=None,
                          suppress_health_check=_SUPPRESS, print_blob=True)
settings.register_profile("s2s-fuzz-long", max_examples=int(os.environ.get("S2S_FUZZ_EXAMPLES", "5000")),
                          derandomize=False, deadline=None, suppress_health_check=_SUPPRESS, print_blob=True)

LONG = os.environ.get("S2S_FUZZ", "").lower() == "long"
REPORT_KNOWN = os.environ.get("S2S_FUZZ_KNOWN", "").lower() == "fail"
PROFILE = settings.get_profile("s2s-fuzz-long" if LONG else "s2s-fuzz-fast")
SIZE = {"max_depth": 3, "max_stmts": 6} if LONG else {"max_depth": 2, "max_stmts": 4}

_stats: dict = {}


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    """A folder for the generated modules (s2s reads their source from files)."""
    d = tmp_path_factory.mktemp("fuzz_programs")
    yield d
    checked = _stats.get("checked", 0)
    print(f"\nfuzz: {checked} programs checked, {_stats.get('autograd', 0)} also against autograd, "
          f"{_stats.get('rejected', 0)} points rejected (refusals included), known bugs hit: {_stats.get('known', {})}")
    print("\n".join(summary(_stats)))


@PROFILE
@given(program=programs(**SIZE), seed=st.integers(0, 2**31 - 1))
def test_random_programs(program, seed, program_dir):
    """Every derivative s2s computes for a random program agrees with finite differences and autograd."""
    try:
        check_program(program, seed, program_dir, _stats)
    except Rejected:
        _stats["rejected"] = _stats.get("rejected", 0) + 1
        assume(False)
    except KnownBugHit as hit:
        if REPORT_KNOWN:
            raise AssertionError(f"known bug ({hit.bug.test} in test_fuzz_regressions.py):\n{hit}") from None
        known = _stats.setdefault("known", {})
        known[hit.bug.test] = known.get(hit.bug.test, 0) + 1
        assume(False)


def test_generator_writes_every_class():
    """The generator keeps writing each class the oracle judges (so that each stays found), in every
    rendering: aliases through every binding form (live, and dead or rebound), in-place NumPy functions,
    concatenation, redefinitions by assignment and by reload, 0-d array arguments."""
    from fuzz.programs import ALIAS_FORMS, TAG_CLASSES, RandomChooser, generate

    seen, forms, redefs = set(), set(), set()
    for seed in range(400):
        program = generate(RandomChooser(seed), max_depth=2, max_stmts=4)
        for mode in ("plain", "probe", "ag"):
            compile(program.source(mode), f"<program {seed} {mode}>", "exec")
        tags = program.tags
        seen |= {t.split(":")[0] for t in tags}
        forms |= {t.split(":")[1].split("-")[0] if not t.startswith(("alias:0d", "ok:0d")) else "0d"
                  for t in tags if t.startswith(("alias:", "ok:"))}
        redefs |= {r.what.split()[0].split(".")[-1] for r in program.redefs}
        redefs |= {"reload"} if program.reload else set()
        redefs |= {"0d-argument"} if any(v == "0d" for _, _, v in program.params) else set()
    assert seen >= set(TAG_CLASSES)
    assert forms >= (set(ALIAS_FORMS) - {"listalias"}) | {"list", "0d"}
    assert redefs >= {"helper", "global", "__defaults__", "reload", "0d-argument"}


def _coverage(program):
    """What a program exercises of the classes the oracle judges: class and form of each tag, redefinitions."""
    keys = {t.split(":")[0] + ":" + t.split(":")[1].split("-")[0] if t.startswith(("alias:", "ok:"))
            else t.split(":")[0] for t in program.tags}
    if program.redefs:
        keys |= {"redefinition:" + ("reload" if program.reload else "assignment")}
        keys |= {"redefinition:revert"} if program.revert else set()
    return keys


@functools.cache
def _chosen_programs() -> tuple:
    """(seed, program) for the programs chosen from fixed seeds until every class, alias form and redefinition
    the generator writes is met."""
    from fuzz.programs import RandomChooser, generate

    chosen, covered = [], set()
    for seed in range(2000):
        program = generate(RandomChooser(seed), max_depth=2, max_stmts=4)
        new = _coverage(program) - covered
        if new:
            chosen.append((seed, program))
            covered |= new
    return tuple(chosen)


@pytest.mark.parametrize("part", range(3))
def test_every_class_on_chosen_programs(part, program_dir):
    """Small programs chosen (from fixed seeds) so that together they have every class and alias form the
    generator writes, live and dead, and every kind of redefinition: each right, or refused as its class allows.
    (The derandomized profile above is too short to meet all of them.) In three parts, which the test workers share."""
    from fuzz.oracle import Mismatch

    chosen = _chosen_programs()
    assert len(chosen) <= 30, len(chosen)
    for seed, program in chosen[part::3]:
        try:
            check_program(program, seed, program_dir, _stats)
        except (Rejected, KnownBugHit):
            pass
        except Mismatch as exc:
            raise AssertionError(f"seed {seed} (tests/fuzz/reduce.py {seed} regenerates it at the long size, "
                                 f"not this one):\n{exc}") from None
