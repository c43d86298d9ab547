"""Shrink a failing generated program by deleting lines and unwrapping blocks while it still fails the same way.

`python tests/fuzz/reduce.py SEED [--key TEXT]` regenerates the program of `explore.py`'s seed SEED,
and prints the smallest variant whose failure message still starts with the same words (or
contains TEXT). The result is a starting point for a hand-written regression test.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import pathlib
import signal
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from fuzz.oracle import KnownBugHit, Mismatch, check_program  # noqa: E402
from fuzz.programs import RandomChooser, generate, leaf  # noqa: E402


def failure(program, seed, directory):
    """The first line of the failure of `program` (None when it passes, is rejected or breaks)."""
    def alarm(signum, frame):
        raise TimeoutError("candidate runs too long")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        check_program(program, seed, directory)
    except (Mismatch, KnownBugHit) as exc:
        return str(exc).splitlines()[0]
    except Exception:  # noqa: BLE001 - a broken candidate is simply not kept
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return None


def _blocks(lines):
    """(start, end) of each line with its indented body."""
    out = []
    for i, (ind, _) in enumerate(lines):
        j = i + 1
        while j < len(lines) and lines[j][0] > ind:
            j += 1
        out.append((i, j))
    return out


def _variants(lines):
    for i, j in sorted(_blocks(lines), key=lambda b: b[0] - b[1]):
        yield lines[:i] + lines[j:]
        if j > i + 1:  # unwrap: drop the header, dedent the body
            yield lines[:i] + [(ind - 1, n) for ind, n in lines[i + 1:j]] + lines[j:]


def _expr_nodes(program):
    """Every expression node of the program whose shape is known, in a fixed order."""
    out = []

    def walk(node):
        if node.shape is not None:
            out.append(node)
        for k in node.kids:
            walk(k)

    for h in program.helpers:
        for _, n in h.lines:
            walk(n)
    for _, n in program.main_lines:
        walk(n)
    return out


def _simpler(node):
    """Replacements for an expression node: a constant of its shape, or a child of the same shape."""
    if node.shape == ():
        yield leaf("0.5")
    else:
        yield leaf(f"np.ones({node.shape})")
    for k in node.kids:
        if k.shape == node.shape:
            yield k


def _reduce_exprs(program, seed, matches, d):
    """One pass of replacing expressions by simpler ones; (program, changed)."""
    k = 0
    changed = False
    while k < len(_expr_nodes(program)):
        node = _expr_nodes(program)[k]
        if not node.kids:
            k += 1
            continue
        for repl in list(_simpler(node)):
            trial = copy.deepcopy(program)
            target = _expr_nodes(trial)[k]
            saved = (target.fmt, target.kids, target.alts, target.fresh)
            target.fmt, target.kids, target.alts, target.fresh = repl.fmt, copy.deepcopy(repl.kids), repl.alts, repl.fresh
            msg = failure(trial, seed, d)
            if msg is not None and matches(msg):
                program, changed = trial, True
                break
            target.fmt, target.kids, target.alts, target.fresh = saved
        k += 1
    return program, changed


def reduce(program, seed, matches):
    """The smallest program found that still fails with a message `matches` accepts."""
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        changed = True
        while changed:
            changed = False
            for h in range(len(program.helpers) + 1):
                lines = program.main_lines if h == len(program.helpers) else program.helpers[h].lines
                for cand in _variants(lines):
                    if not cand or cand[0][0] != 0 or (len(cand) < 2):
                        continue
                    if h == len(program.helpers):
                        trial = dataclasses.replace(program, main_lines=cand)
                    else:
                        helpers = list(program.helpers)
                        helpers[h] = dataclasses.replace(helpers[h], lines=cand)
                        trial = dataclasses.replace(program, helpers=helpers)
                    msg = failure(trial, seed, d)
                    if msg is not None and matches(msg):
                        program, changed = trial, True
                        break
                if changed:
                    break
            if not changed:
                program, changed = _reduce_exprs(program, seed, matches, d)
            if not changed:
                for h in range(len(program.helpers)):
                    helpers = program.helpers[:h] + program.helpers[h + 1:]
                    trial = dataclasses.replace(program, helpers=helpers)
                    msg = failure(trial, seed, d)
                    if msg is not None and matches(msg):
                        program, changed = trial, True
                        break
            if not changed:
                for trial in _simpler_module(program):
                    msg = failure(trial, seed, d)
                    if msg is not None and matches(msg):
                        program, changed = trial, True
                        break
    return program


def _simpler_module(program):
    """The program without one of its redefinitions (or without reload, revert), one module global or
    one alias helper."""
    for k in range(len(program.redefs)):
        yield dataclasses.replace(program, redefs=program.redefs[:k] + program.redefs[k + 1:])
    if program.reload:
        yield dataclasses.replace(program, reload=False)
    if program.revert:
        yield dataclasses.replace(program, revert=False)
    for k in range(len(program.header)):
        yield dataclasses.replace(program, header=program.header[:k] + program.header[k + 1:])
    for k in range(len(program.aux)):
        yield dataclasses.replace(program, aux=program.aux[:k] + program.aux[k + 1:])
    for k in range(len(program.alts)):
        yield dataclasses.replace(program, alts=program.alts[:k] + program.alts[k + 1:])
    for k in range(len(program.footer)):
        yield dataclasses.replace(program, footer=program.footer[:k] + program.footer[k + 1:])


def main(argv=None):
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("seed", type=int)
    ap.add_argument("--key", default=None)
    opts = ap.parse_args(argv)
    program = generate(RandomChooser(opts.seed))
    with tempfile.TemporaryDirectory() as tmp:
        msg = failure(program, opts.seed, pathlib.Path(tmp))
    if msg is None:
        print("seed", opts.seed, "does not fail")
        return
    key = opts.key or " ".join(msg.split()[:4])
    print("failure:", msg)
    small = reduce(program, opts.seed, lambda m: key in m)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            check_program(small, opts.seed, pathlib.Path(tmp))
        except (Mismatch, KnownBugHit) as exc:
            print(exc)
            print(small.redefinition_text())


if __name__ == "__main__":
    main()
