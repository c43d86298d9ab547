"""Check every derivative s2s computes for a generated program against finite differences and autograd.

`check_program(program, seed, directory)` writes the program to a file (s2s reads source), picks
inputs from `seed`, and compares:

- reverse mode three ways (`value_and_grad`, the raw `derivative`, `vjp`'s pullback, called twice),
- forward mode two ways (`jvp` along a random tangent, `jacobian(mode="forward")` for one argument),

with central finite differences (Richardson-extrapolated, steps 1e-5, 2e-5 and 4e-5) and, where
autograd can run the program, with autograd. Every exception s2s raises is a finding, except an
UnsupportedSyntaxError about an in-place update in a program written to have one another name may
observe (`REFUSALS_ALLOWED`), and a refusal on the line of a tagged construct (`programs.TAG_CLASSES`)
that its class allows: an UnsupportedSyntaxError at an alias (`alias:*`; one whose message is not
about an in-place update is counted apart), at an in-place NumPy function (`inplace:*`), any
S2SError at a list or tuple concatenation (`concat:*`). An UnsupportedSyntaxError where the alias is
dead or rebound (`ok:*`) is over-caution: counted (`OverCautious`), not a failure. Any other exception
at those lines, or a wrong number, is a failure.

A program with redefinitions (`Program.redefs`: a helper, a module global, `f.__defaults__` or a
helper's, changed by assignment or by rewriting the file and `importlib.reload`) is checked in full,
changed, and checked in full again (and, with `Program.revert`, changed back and checked a third
time): a derivative that still follows the old definition is a failure ("STALE").

It raises `Rejected` where the comparison would not be meaningful: the program overflows, its value
is huge, a finite-difference step changes any decision the program takes (branch, `np.maximum`,
`abs`, ...), two Richardson estimates (steps h and 2h) disagree, or s2s refused as allowed.
It raises `KnownBugHit` for a failure a known bug explains (`KNOWN_BUGS`, `KNOWN_WRONG`,
`ZERO_ADJOINT_BUG`; each has its test in tests/test_fuzz_regressions.py), and `Mismatch` otherwise.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import math
import os
import re
import sys
import types
import warnings
from dataclasses import dataclass

import numpy as np

import s2s
from s2s.errors import S2SError, UnsupportedSyntaxError

H = 1e-5  # finite-difference step (times max(1, |x|))
FD_RTOL = 2e-6  # derivatives against finite differences
AD_RTOL = 1e-7  # derivatives against derivatives (s2s's forms, autograd)


class Rejected(Exception):
    """The program cannot be checked at this point (see the module docstring)."""


class Refused(Rejected):
    """s2s refused, with a clear error, an in-place update that another name may observe (allowed), or a
    tagged construct its class allows it to refuse (`tag`)."""

    def __init__(self, message, tag=None):
        super().__init__(message)
        self.tag = tag


class OverCautious(Rejected):
    """s2s refused an in-place update where the alias is dead or rebound (`ok:*`): it should accept it."""

    def __init__(self, message, tag):
        super().__init__(message)
        self.tag = tag


class Mismatch(AssertionError):
    """A derivative s2s computed disagrees with the reference (or s2s crashed)."""


class KnownBugHit(Exception):
    """s2s failed in a way a known, not yet fixed bug explains (see KNOWN_BUGS)."""

    def __init__(self, bug, message):
        super().__init__(message)
        self.bug = bug


@dataclass(frozen=True)
class KnownBug:
    """A bug the fuzzer found: its regression test, the exception it raises (class name, message regex),
    and the generator feature (Program.features) a program must have for the match to count, if any."""

    test: str
    exc: str
    pattern: str
    feature: str | None = None
    check: str | None = None  # the check (what oracle._s2s runs) it shows in, if only one

    def matches(self, exc, features, check=None):
        """Whether `exc`, raised by `check` for a program with `features`, is this bug's exception."""
        return (type(exc).__name__ == self.exc and re.search(self.pattern, str(exc)) is not None
                and (self.feature is None or self.feature in features)
                and (self.check is None or self.check == check))


# Crashes already reduced to a test in tests/test_fuzz_regressions.py. The fuzz test skips a program
# that hits one of them (S2S_FUZZ_KNOWN=fail reports them instead), so that it keeps looking for new
# bugs; remove the entries of a bug when its test's xfail marker comes off.
KNOWN_BUGS = [
    # refusals of in-place updates no other name can observe
    KnownBug("test_update_before_list_literal", "UnsupportedSyntaxError", r"a container holds `\w+`"),
    KnownBug("test_lambda_defined_in_loop", "UnsupportedSyntaxError", r"this function defined inside the differentiated"),
    KnownBug("test_method_on_lambda_parameter", "UnsupportedSyntaxError", r"does not know the method \.\w+\(\) here"),
    KnownBug("test_lambda_calling_lambda", "UnsupportedSyntaxError",
             r"cannot expand a local helper that calls a local helper"),
    KnownBug("test_update_before_call", "UnsupportedSyntaxError", r"a called function may keep `\w+`"),
    KnownBug("test_element_read_before_update", "UnsupportedSyntaxError", r"a view (taken before an update )?is read after"),
    # refusals of helpers that update a copy of their argument, or a number taken from it
    KnownBug("test_helper_updating_a_copy_of_its_argument (and test_helper_scaling_an_element_of_its_argument)",
             "UnsupportedSyntaxError", r"updates its argument `\w+` in place, which in Python changes"),
    # vjp of M = helper(L); M.append(v): the pullback's list adjoint has the length L had before the append
    KnownBug("test_vjp_of_a_list_appended_through_a_helpers_result", "NoDerivativeRuleError",
             r"^s2s made an adjoint of \d+ parts for a list of \d+"),
]

# Programs with these features update an array in place where another name (or a loop over it) may
# observe the update: s2s may refuse them (UnsupportedSyntaxError), or must get them right.
REFUSALS_ALLOWED = frozenset({"aliased-update", "update-while-iterating", "aliased-augment", "helper-param-update"})

# Wrong values or derivatives already reduced to a test, by the generator feature (Program.features)
# that produces them: a mismatch in a program with the feature counts as that known bug.
KNOWN_WRONG = {
}


# ---------------------------------------------------------------- the probe rendering's recorder


class Probe:
    """Records each decision the probe rendering of a program takes, in order."""

    def __init__(self):
        self.trace = []

    def _rec(self, k, decision):
        self.trace.append((k, decision))

    @staticmethod
    def _bits(a):
        return np.asarray(a).tobytes()

    def cmp(self, k, a, op, b):
        """`a > b` or `a < b`."""
        r = bool(a > b) if op == ">" else bool(a < b)
        self._rec(k, r)
        return r

    def abs(self, k, a):
        """`abs(a)`; records the signs."""
        self._rec(k, self._bits(np.asarray(a) > 0) + self._bits(np.asarray(a) < 0))
        return abs(a)

    def pymax(self, k, a, b):
        """Builtin `max(a, b)`."""
        self._rec(k, (bool(b > a), bool(a > b)))
        return max(a, b)

    def pymin(self, k, a, b):
        """Builtin `min(a, b)`."""
        self._rec(k, (bool(b < a), bool(a < b)))
        return min(a, b)

    def maximum(self, k, a, b):
        """`np.maximum(a, b)`."""
        self._rec(k, self._bits(np.asarray(a) > np.asarray(b)) + self._bits(np.asarray(a) < np.asarray(b)))
        return np.maximum(a, b)

    def minimum(self, k, a, b):
        """`np.minimum(a, b)`."""
        self._rec(k, self._bits(np.asarray(a) > np.asarray(b)) + self._bits(np.asarray(a) < np.asarray(b)))
        return np.minimum(a, b)

    def where(self, k, c, t, x, y):
        """`np.where(c > t, x, y)`."""
        self._rec(k, self._bits(np.asarray(c) > t) + self._bits(np.asarray(c) < t))
        return np.where(c > t, x, y)

    def clip(self, k, a, lo, hi):
        """`np.clip(a, lo, hi)`."""
        a_ = np.asarray(a)
        self._rec(k, b"".join(self._bits(m) for m in (a_ > lo, a_ < lo, a_ > hi, a_ < hi)))
        return np.clip(a, lo, hi)

    def not_tiny(self, k, a):
        """`a`, a positive value the program may divide by; a point where it is below 1e-6 is rejected."""
        if np.min(a) < 1e-6:
            raise FloatingPointError(f"a denominator of {np.min(a)}: rounding errors would dominate")
        return a

    def sort(self, k, a):
        """`a.sort()` (in place, along the last axis); records the order."""
        self._rec(k, self._bits(np.argsort(a, axis=-1, kind="stable")))
        a.sort()

    def reduce(self, k, fn, a, axis):
        """`np.max(a, axis=axis)` or `np.min`; records where the extremum is and whether it is tied."""
        a_ = np.asarray(a)
        ext = np.max(a_, axis=axis, keepdims=True) if fn == "max" else np.min(a_, axis=axis, keepdims=True)
        self._rec(k, self._bits(a_ == ext))
        return np.max(a, axis=axis) if fn == "max" else np.min(a, axis=axis)


# ---------------------------------------------------------------- loading


_counter = itertools.count()


def load(program, directory):
    """(plain module, probe namespace with its Probe, autograd namespace or None, path) for `program`."""
    n = next(_counter)
    path = directory / f"fuzz_program_{n}.py"
    path.write_text(program.source("plain"))
    spec = importlib.util.spec_from_file_location(f"fuzz_program_{n}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    probe = Probe()
    probe_ns = {"_P": probe, "__name__": f"fuzz_probe_{n}"}
    exec(compile(program.source("probe"), f"<probe {n}>", "exec"), probe_ns)  # noqa: S102

    ag_ns = None
    if program.autograd_ok:
        import autograd.numpy as anp
        ag_ns = {"np": anp, "math": _ag_math(), "__name__": f"fuzz_ag_{n}"}
        text = program.source("ag").replace("import math\n", "").replace("import numpy as np\n", "")
        exec(compile(text, f"<autograd {n}>", "exec"), ag_ns)  # noqa: S102
    return module, probe_ns, ag_ns, path


_AG_MATH = None


def _ag_math():
    """A `math` namespace whose functions autograd can trace."""
    global _AG_MATH
    if _AG_MATH is None:
        import autograd.numpy as anp
        ns = types.SimpleNamespace(**{k: getattr(math, k) for k in dir(math) if not k.startswith("_")})
        for name in ("sin", "cos", "tanh", "exp", "log", "sqrt", "sinh", "cosh", "expm1", "log1p", "hypot"):
            setattr(ns, name, getattr(anp, name))
        ns.atan, ns.asinh, ns.pow = anp.arctan, anp.arcsinh, anp.power
        _AG_MATH = ns
    return _AG_MATH


# ---------------------------------------------------------------- inputs and finite differences


def inputs(program, seed):
    """The arguments for `f`: floats, 0-d and other float arrays in [-1.5, 1.5], ints as the generator chose."""
    rng = np.random.default_rng(seed)
    args = []
    for _, shape, value in program.params:
        if shape is None:
            args.append(value)
        elif value == "0d":
            args.append(np.array(rng.uniform(-1.5, 1.5)))
        elif shape == ():
            args.append(float(rng.uniform(-1.5, 1.5)))
        else:
            args.append(rng.uniform(-1.5, 1.5, size=shape))
    return args


def _copy(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def run_probe(probe_ns, args):
    """(value, decision trace) of the probe rendering at `args`; Rejected on overflow or a huge value."""
    probe = probe_ns["_P"]
    probe.trace = []
    try:
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            value = probe_ns["f"](*_copy(args))
    except (FloatingPointError, OverflowError, ZeroDivisionError, RuntimeWarning) as exc:
        raise Rejected(f"overflow: {exc}") from None
    except ValueError as exc:
        if "math domain error" not in str(exc):  # (math.sqrt, math.log, ... of a value out of range)
            raise
        raise Rejected(f"outside the domain: {exc}") from None
    value = float(value)
    if not math.isfinite(value) or abs(value) > 1e8:
        raise Rejected(f"value {value}")
    return value, tuple(probe.trace)


def fd_gradient(probe_ns, args, positions):
    """Central differences (Richardson, steps h, 2h and 4h) of f at `args` for each position in `positions`.

    Rejected when a step changes a decision of the program, or the estimates from steps h and 2h disagree.
    """
    f0, trace0 = run_probe(probe_ns, args)
    grads = []
    tols = []
    for p in positions:
        x0 = np.asarray(args[p], dtype=float)
        g = np.zeros(x0.shape)
        tol = np.zeros(x0.shape)
        for idx in np.ndindex(*x0.shape):
            h = H * max(1.0, abs(float(x0[idx])))
            vals = {}
            for m in (-4, -2, -1, 1, 2, 4):
                x = x0.copy()
                x[idx] += m * h
                a = list(args)
                a[p] = float(x) if not isinstance(args[p], np.ndarray) else x
                vals[m], trace = run_probe(probe_ns, a)
                if trace != trace0:
                    raise Rejected(f"a finite-difference step of argument {p} at {idx} changes a decision")
            d = {m: (vals[m] - vals[-m]) / (2 * m * h) for m in (1, 2, 4)}
            r1 = (4 * d[1] - d[2]) / 3  # Richardson: error O(h^4)
            r2 = (4 * d[2] - d[4]) / 3  # the same with twice the step: error about 16 times larger
            if abs(r1 - r2) > 1e-4 * (1 + abs(r1)):
                raise Rejected(f"finite differences of argument {p} at {idx} are ill-conditioned ({r1} vs {r2})")
            noise = 1e-13 * max(abs(v) for v in vals.values()) / h
            g[idx] = r1
            tol[idx] = FD_RTOL * (1 + abs(r1)) + noise + abs(r1 - r2)
        grads.append(g if isinstance(args[p], np.ndarray) else float(g))
        tols.append(tol if isinstance(args[p], np.ndarray) else float(tol))
    return f0, grads, tols


# ---------------------------------------------------------------- comparisons


def _fail(what, detail, program, args):
    raise Mismatch(f"{what}\n{detail}\nprogram:\n{program.source()}\nargs = {_args_repr(args)}")


def _args_repr(args):
    return "[" + ", ".join(f"np.array({a.tolist()!r})" if isinstance(a, np.ndarray) else repr(a) for a in args) + "]"


def _check_like(g, x, what, program, args):
    if np.shape(g) != np.shape(x):
        _fail(f"{what}: gradient has shape {np.shape(g)}, argument has shape {np.shape(x)}", "", program, args)
    if isinstance(x, float) and not isinstance(g, float):
        _fail(f"{what}: gradient of a float argument is a {type(g).__name__}", repr(g), program, args)
    if not np.all(np.isfinite(np.asarray(g, dtype=float))):
        _fail(f"{what}: non-finite gradient", repr(g), program, args)


def _close_fd(g, fd, tol, what, program, args):
    err = np.abs(np.asarray(g, dtype=float) - fd)
    if np.any(err > tol):
        _fail(f"{what} disagrees with finite differences", f"s2s:  {g!r}\nfd:   {fd!r}\ntol:  {tol!r}", program, args)


def _close_ad(g, ref, what, program, args):
    g = np.asarray(g, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if g.shape != ref.shape:
        _fail(f"{what}: shape {g.shape} != {ref.shape}", "", program, args)
    scale = 1 + float(np.max(np.abs(ref))) if ref.size else 1.0
    if np.any(np.abs(g - ref) > AD_RTOL * (np.abs(ref) + scale)):
        _fail(f"{what} disagrees", f"s2s:      {g!r}\nexpected: {ref!r}", program, args)


def _s2s(what, fn, program, args):
    """Run an s2s call on `args`; any exception is a finding (the generator only writes supported programs),
    and so is a change to an argument array (s2s never modifies its caller's arrays)."""
    before = _copy(args)
    try:
        with np.errstate(all="ignore"):
            result = fn()
    except Exception as exc:  # noqa: BLE001 - every crash is reported with the program
        error = exc
    else:
        for a, b in zip(args, before):
            if isinstance(a, np.ndarray) and not np.array_equal(a, b):
                _fail(f"{what} modified an argument array", f"before: {b!r}\nafter:  {a!r}", program, before)
        return result
    # raised here, outside the handler: the report must not depend on where in generated code s2s failed
    # (Hypothesis tells failures apart by their exception's context, and generated file names change)
    verdict = _tagged_refusal(error, program)
    if verdict is not None:
        raise verdict
    if (program.features & REFUSALS_ALLOWED and isinstance(error, UnsupportedSyntaxError)
            and re.search(r"update", str(error))):
        raise Refused(str(error).splitlines()[0])
    text = f"{what} raised {type(error).__name__}: {error}"
    for bug in KNOWN_BUGS:
        if bug.matches(error, program.features, what):
            raise KnownBugHit(bug, f"{text}\nprogram:\n{program.source()}\nargs = {_args_repr(args)}")
    _fail(text, "", program, args)


_IN_PLACE = re.compile(r"in[- ]place|\bupdat")


def _tagged_refusal(error, program):
    """Refused, OverCautious or None: what a refusal on the line of a tagged construct (programs.TAG_CLASSES)
    counts as. An alias may be refused "in place" (another UnsupportedSyntaxError there is counted apart),
    an in-place NumPy function refused, a concatenation refused with any S2SError; a refusal where the
    alias is dead or rebound is over-caution."""
    if not isinstance(error, S2SError):
        return None
    if not os.path.basename(getattr(error, "filename", None) or "").startswith("fuzz_program_"):
        return None
    tags = sorted(program.tags_at(error.lineno))
    head = str(error).splitlines()[0]
    syntax = isinstance(error, UnsupportedSyntaxError)
    in_place = syntax and _IN_PLACE.search(getattr(error, "message", "") or head) is not None
    for t in tags:
        cls = t.split(":")[0]
        if cls == "alias" and syntax:  # a clear refusal; one that is not about the update is counted apart
            return Refused(head, t if in_place else f"{t} (refused, not as in place)")
        if (cls == "inplace" and syntax) or cls == "concat":
            return Refused(head, t)
    if program.features & REFUSALS_ALLOWED and in_place:
        return None  # a generic update another name may observe is on the line too: the old rule judges it
    for t in tags:
        if t.startswith("ok:") and syntax:
            return OverCautious(head, t)
    return None


# The adjoint of a value that does not reach the output is the scalar 0.0, and the adjoint rules
# of arrays mishandle it: they crash (matmul, concatenate, stack, np.max(axis), unbroadcast to a
# (1, n) array, ...) or, worse, return zeros of the wrong shape that broadcast into the real adjoints
# (np.dot: test_dot_of_value_dead_after_loop). A failure counts as this bug when it goes away once
# the runtime's adjoint helpers answer a zero adjoint (of any shape) with zero: they are linear in it.
ZERO_ADJOINT_BUG = KnownBug("test_row_array_overwritten_after_loop (and the other tests of a dead value's adjoint)",
                            "Mismatch", "")
_ADJOINT_HELPERS = ("unbroadcast", "getitem_grad", "expand_reduced", "grad_extreme", "grad_prod", "grad_var", "grad_std",
                    "grad_cumsum", "grad_norm", "grad_matmul_a", "grad_matmul_b", "grad_dot_a", "grad_dot_b",
                    "grad_tensordot", "grad_einsum", "grad_concatenate", "grad_stack", "grad_transpose",
                    "grad_expand_dims", "grad_squeeze", "grad_where", "grad_clip", "grad_trace", "grad_tile", "grad_diag",
                    "grad_vstack", "setitem_grads")


@contextlib.contextmanager
def zero_adjoints_short_circuited():
    """Within: s2s's runtime adjoint helpers return the zero adjoint for a zero adjoint (as a fix would)."""
    from s2s import pipeline, runtime

    def wrap(fn, zero):
        def helper(g, *args, **kwargs):
            # a zero adjoint of any shape (inline templates turn 0.0 into zeros of the wrong shape)
            if isinstance(g, float | int | np.number | np.ndarray) and not np.any(g):
                return zero
            return fn(g, *args, **kwargs)
        return helper

    saved = {name: getattr(runtime, name) for name in _ADJOINT_HELPERS}
    saved_unbroadcast = pipeline.HELPER_VALUES["unbroadcast"]
    try:
        for name, fn in saved.items():
            setattr(runtime, name, wrap(fn, (runtime.ZERO, runtime.ZERO) if name == "setitem_grads" else runtime.ZERO))
        pipeline.HELPER_VALUES["unbroadcast"] = runtime.unbroadcast
        yield
    finally:
        for name, fn in saved.items():
            setattr(runtime, name, fn)
        pipeline.HELPER_VALUES["unbroadcast"] = saved_unbroadcast


def check_program(program, seed, directory, stats=None):
    """All checks for one program at the inputs chosen by `seed`; raises Rejected, Mismatch, KnownBugHit or nothing.

    `stats` (a dict) collects counts: programs checked, compared with autograd, per tag the programs that
    have it ("tags"), the refusals it allowed ("refused") and the over-cautious ones ("overcautious")."""
    if stats is not None:
        tags, classes = stats.setdefault("tags", {}), stats.setdefault("classes", {})
        for t in program.tags:
            tags[t] = tags.get(t, 0) + 1
        for c in {t.split(":")[0] for t in program.tags}:
            classes[c] = classes.get(c, 0) + 1
        if program.redefs:
            stats["redefinition_programs"] = stats.get("redefinition_programs", 0) + 1
    try:
        _check_with_known_bugs(program, seed, directory, stats)
    except (Refused, OverCautious) as exc:
        if stats is not None and exc.tag is not None:
            key = "refused" if isinstance(exc, Refused) else "overcautious"
            counts = stats.setdefault(key, {})
            counts[exc.tag] = counts.get(exc.tag, 0) + 1
            stats.setdefault(key + "_messages", {}).setdefault(exc.tag, set()).add(str(exc)[:160])
        raise


def summary(stats):
    """Lines that report, per class of tagged construct, how many programs had one and how many s2s refused."""
    out = []
    tags, refused, over = stats.get("tags", {}), stats.get("refused", {}), stats.get("overcautious", {})
    for cls, (counts, word) in (("alias", (refused, "refused (allowed)")), ("inplace", (refused, "refused (allowed)")),
                                ("concat", (refused, "refused (allowed)")), ("ok", (over, "refused: over-caution"))):
        n = stats.get("classes", {}).get(cls, 0)
        r = {t: k for t, k in counts.items() if t.startswith(cls + ":")}
        total = sum(r.values())
        out.append(f"{cls}: {n} programs, {total} {word}" + (f" ({100 * total / n:.0f}%)" if n else ""))
        for t in sorted(set(r) | {t for t in tags if t.startswith(cls + ":")}):
            out.append(f"    {t}: in {tags.get(t, 0)} programs, refused {r.get(t, 0)}")
    if stats.get("redefinition_programs"):
        out.append(f"redefinition: {stats['redefinition_programs']} programs, {stats.get('redefinition_checked', 0)} "
                   f"checks after a change, {stats.get('redefinition_rejected', 0)} rejected after a change")
    return out


def _check_with_known_bugs(program, seed, directory, stats):
    try:
        _check_program(program, seed, directory, stats)
    except Mismatch as exc:
        for bug in KNOWN_BUGS:  # a bug whose symptom is a Mismatch (exc="Mismatch")
            if bug.matches(exc, program.features):
                raise KnownBugHit(bug, str(exc)) from None
        for feature in sorted(program.features):
            if feature in KNOWN_WRONG:
                raise KnownBugHit(KNOWN_WRONG[feature], str(exc)) from None
        try:
            with zero_adjoints_short_circuited():
                _check_program(program, seed, directory, None)
        except KnownBugHit:
            pass  # what remains is known too (say, the same bug in an inline rule template)
        except (Mismatch, Rejected):
            raise exc from None
        raise KnownBugHit(ZERO_ADJOINT_BUG, str(exc)) from None


def _check_program(program, seed, directory, stats):
    module, probe_ns, ag_ns, path = load(program, directory)
    args = inputs(program, seed)
    reference = _check_loaded(program, module.f, probe_ns, ag_ns, args, seed, stats)
    if program.redefs:
        _check_redefinitions(program, module, probe_ns, ag_ns, path, args, seed, stats, reference)


def _redefine(program, module, probe_ns, ag_ns, path, statements, k, swapped=()):
    """Run `statements` in the program's module and in the probe and autograd namespaces. Where the program
    says so, the module's file is rewritten instead, then importlib.reload: the helpers in `swapped` get
    their second definition's body under their own name (same line numbers), the other statements are
    appended."""
    code = "\n".join(statements) + "\n"
    if program.reload:
        kept = [st for st in statements if st.split(" = ")[0] not in swapped]
        path.write_text(program.source("plain", swapped) + "\n" + "\n".join(kept) + "\n")
        st = path.stat()  # a new modification time (whole seconds later), so no cached bytecode or lines are used
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + (k + 1) * 2_000_000_000))
        folder, name = str(path.parent), module.__name__
        sys.path.insert(0, folder)
        sys.modules[name] = module
        try:
            importlib.reload(module)
        finally:
            sys.path.remove(folder)
            sys.modules.pop(name, None)
    else:
        exec(code, module.__dict__)  # noqa: S102
    exec(code, probe_ns)  # noqa: S102
    if ag_ns is not None:
        exec(code, ag_ns)  # noqa: S102


def _check_redefinitions(program, module, probe_ns, ag_ns, path, args, seed, stats, reference):
    """After the first full check: change what `program.redefs` says, check everything again (and again
    after changing it back, with `program.revert`). A Mismatch whose gradient is the one before the change
    is reported as STALE."""
    swapped = frozenset(r.what.split()[1] for r in program.redefs if r.what.startswith("helper "))
    phases = [("changed", [r.apply for r in program.redefs], swapped)]
    if program.revert:
        phases.append(("changed back", [r.revert for r in reversed(program.redefs)], frozenset()))
    kinds = sorted({r.what.split()[0] if r.what.split()[0] in ("helper", "global") else "__defaults__"
                    for r in program.redefs})
    how = "importlib.reload" if program.reload else "assignment"
    positions = tuple(k for k, (_, shape, _) in enumerate(program.params) if shape is not None)
    for k, (name, statements, swap) in enumerate(phases):
        _redefine(program, module, probe_ns, ag_ns, path, statements, k, swap)
        label = f"after a redefinition ({', '.join(kinds)}) {name} by {how}"
        try:
            new = _check_loaded(program, module.f, probe_ns, ag_ns, args, seed, stats, phase=label)
        except Rejected:
            if stats is not None:
                stats["redefinition_rejected"] = stats.get("redefinition_rejected", 0) + 1
            return
        except Mismatch as exc:
            stale = _follows_old_definition(module.f, probe_ns, args, positions, reference)
            first, _, rest = str(exc).partition("\n")
            raise Mismatch(f"{'STALE ' if stale else ''}{label}: {first}\n{rest}\n{program.redefinition_text()}"
                           + ("s2s's gradient is the one from before the change\n" if stale else "")) from None
        reference = new


def _follows_old_definition(f, probe_ns, args, positions, reference):
    """Whether s2s's gradient now matches `reference` (finite differences before the last change) and not
    the finite differences of the function as it is now."""
    old_fd, old_tols = reference
    try:
        with np.errstate(all="ignore"):
            _, grads = s2s.value_and_grad(f, wrt=positions)(*_copy(args))
        _, new_fd, _ = fd_gradient(probe_ns, args, positions)
    except Exception:  # noqa: BLE001 - then it is not simply stale
        return False
    near = [np.all(np.abs(np.asarray(g, dtype=float) - d) <= t) for g, d, t in zip(grads, old_fd, old_tols)]
    moved = [np.any(np.abs(np.asarray(n) - d) > t) for n, d, t in zip(new_fd, old_fd, old_tols)]
    return all(near) and any(moved)


def _check_loaded(program, f, probe_ns, ag_ns, args, seed, stats, phase=None):
    """Every check of `f` (the plain module's) at `args`; returns (finite differences, their tolerances)."""
    positions = tuple(k for k, (_, shape, _) in enumerate(program.params) if shape is not None)
    f0, fd, tols = fd_gradient(probe_ns, args, positions)
    value = float(f(*_copy(args)))
    if value != f0 and not math.isclose(value, f0, rel_tol=1e-12, abs_tol=1e-12):
        raise AssertionError(f"generator bug: the probe rendering computes {f0}, the program {value}\n{program.source()}")

    # reverse mode: value_and_grad, the raw derivative, vjp (pullback called twice)
    v, grads = _s2s("value_and_grad", lambda: s2s.value_and_grad(f, wrt=positions)(*args), program, args)
    if not math.isclose(float(v), value, rel_tol=1e-9, abs_tol=1e-9):
        _fail("value_and_grad's value differs from f", f"{v!r} != {value!r}", program, args)
    flat = _s2s("derivative(mode='reverse')", lambda: s2s.derivative(f, wrt=positions)(*args), program, args)
    if len(positions) == 1 and not isinstance(flat, tuple):
        flat = (flat,)  # the raw derivative answers wrt=(k,) with a bare gradient (grad gives a 1-tuple)
    for what, gs in (("value_and_grad", grads), ("derivative(mode='reverse')", flat)):
        if not isinstance(gs, tuple) or len(gs) != len(positions):
            _fail(f"{what} with a tuple wrt returned {type(gs).__name__}, not a tuple of {len(positions)}", "", program, args)
    for p, g, d, t in zip(positions, grads, fd, tols):
        _check_like(g, args[p], f"value_and_grad, argument {p}", program, args)
        _close_fd(g, d, t, f"value_and_grad, argument {p},", program, args)
    for p, g, ref in zip(positions, flat, grads):
        _close_ad(g, ref, f"derivative(mode='reverse'), argument {p}, against value_and_grad", program, args)
    # grad: code specialised to these shapes that need not compute the value (value_and_grad's is checked)
    only = _s2s("grad", lambda: s2s.grad(f, wrt=positions)(*args), program, args)
    for p, g, ref in zip(positions, only, grads):
        _check_like(g, args[p], f"grad, argument {p}", program, args)
        _close_ad(g, ref, f"grad, argument {p}, against value_and_grad", program, args)
    # the same gradient function called again: its hot code (api._runner), whose tests must see every change
    again = _s2s("grad called a second time", lambda: s2s.grad(f, wrt=positions)(*args), program, args)
    for p, g, ref in zip(positions, again, grads):
        _close_ad(g, ref, f"grad's second call, argument {p}, against value_and_grad", program, args)

    def pullback_once():
        val, pb = s2s.vjp(f, *args, wrt=positions)
        return val, pb, pb(1.0)

    val, pb, pb1 = _s2s("vjp", pullback_once, program, args)
    pb2 = _s2s("vjp's pullback called a second time", lambda: pb(2.5), program, args)
    if not math.isclose(float(val), value, rel_tol=1e-9, abs_tol=1e-9):
        _fail("vjp's value differs from f", f"{val!r} != {value!r}", program, args)
    for p, g1, g2, ref in zip(positions, pb1, pb2, grads):
        _close_ad(g1, ref, f"vjp pullback(1.0), argument {p}, against value_and_grad", program, args)
        _close_ad(g2, 2.5 * np.asarray(ref), f"vjp pullback(2.5) (second call), argument {p}", program, args)

    # forward mode: jvp along a random tangent, and the forward Jacobian for one argument
    rng = np.random.default_rng(seed + 1)
    tangents = [None if shape is None else (float(rng.normal()) if shape == () else rng.normal(size=shape))
                for _, shape, _ in program.params]
    tangents = [np.array(t) if v == "0d" else t for t, (_, _, v) in zip(tangents, program.params)]
    jv_val, jv = _s2s("jvp", lambda: s2s.jvp(f, args, tangents), program, args)
    if not math.isclose(float(jv_val), value, rel_tol=1e-9, abs_tol=1e-9):
        _fail("jvp's value differs from f", f"{jv_val!r} != {value!r}", program, args)
    expected = sum(float(np.sum(np.asarray(g) * tangents[p])) for p, g in zip(positions, grads))
    bound = sum(float(np.sum(np.abs(np.asarray(g) * tangents[p]))) for p, g in zip(positions, grads))
    fd_dir = sum(float(np.sum(np.asarray(d) * tangents[p])) for p, d in zip(positions, fd))
    fd_tol = sum(float(np.sum(np.asarray(t) * np.abs(tangents[p]))) for p, t in zip(positions, tols))
    if np.ndim(jv) != 0 or not abs(float(jv) - fd_dir) <= fd_tol:
        _fail("jvp disagrees with finite differences", f"s2s: {jv!r}\nfd:  {fd_dir!r} (tol {fd_tol})", program, args)
    if not abs(float(jv) - expected) <= AD_RTOL * (abs(expected) + 1 + bound):
        _fail("jvp disagrees with the reverse-mode gradient", f"jvp: {jv!r}\n<grad, t>: {expected!r}", program, args)
    k = positions[seed % len(positions)]
    jac = _s2s(f"jacobian(wrt={k}, mode='forward')", lambda: s2s.jacobian(f, wrt=k, mode="forward")(*args),
               program, args)
    jac = np.asarray(jac, dtype=float).reshape(np.shape(args[k]))
    _close_fd(jac, fd[positions.index(k)], tols[positions.index(k)], f"jacobian(wrt={k}, mode='forward')", program, args)
    _close_ad(jac, grads[positions.index(k)], f"jacobian(wrt={k}, mode='forward') against value_and_grad", program, args)

    # autograd, where it runs the program
    if ag_ns is not None:
        import autograd
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ag = autograd.grad(ag_ns["f"], positions)(*_copy(args))
        except Exception as exc:  # noqa: BLE001 - autograd's own limits are not s2s's findings
            if stats is not None:
                stats["autograd_error"] = stats.get("autograd_error", 0) + 1
                stats.setdefault("autograd_errors", set()).add(f"{type(exc).__name__}: {exc}"[:200])
            ag = None
        if ag is not None:
            for p, g, ref in zip(positions, grads, ag):
                _close_ad(g, ref, f"value_and_grad, argument {p}, against autograd", program, args)
            if stats is not None:
                stats["autograd"] = stats.get("autograd", 0) + 1
    if stats is not None:
        key = "redefinition_checked" if phase else "checked"
        stats[key] = stats.get(key, 0) + 1
    return fd, tols
