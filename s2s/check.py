"""One derivative three ways, at one point: s2s (reverse and forward), SymPy, finite differences.

`compare` is what `s2s check` prints: each method's value, its largest
difference from s2s's reverse mode, and the time it took.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field

import numpy as np

from s2s.errors import S2SError


@dataclass
class Row:
    """One method's answer: value, difference from s2s, seconds (first call and steady state)."""

    method: str
    value: object = None
    diff: float | None = None
    seconds: float | None = None
    first_seconds: float | None = None
    note: str = ""


@dataclass
class Section:
    """The rows for one parameter."""

    wrt: str
    rows: list = field(default_factory=list)


@dataclass
class Report:
    """Everything `s2s check` prints, with `agrees` for its exit status."""

    func_name: str
    point: dict
    sections: list
    tolerance: float
    agrees: bool
    notes: list

    def table(self) -> str:
        """The comparison as a plain text table."""
        at = ", ".join(f"{k}={_short(v)}" for k, v in self.point.items())
        lines = [f"d{self.func_name}/d{{{', '.join(s.wrt for s in self.sections)}}} at {at}", ""]
        for section in self.sections:
            lines.append(f"with respect to {section.wrt}:")
            lines.append(f"  {'method':<22} {'value':<34} {'max |diff| vs s2s':>18} {'time':>12} {'first call':>12}")
            for r in section.rows:
                if r.value is None:
                    lines.append(f"  {r.method:<22} {'n/a: ' + r.note}")
                    continue
                diff = "" if r.diff is None else f"{r.diff:.2e}"
                lines.append(f"  {r.method:<22} {_short(r.value):<34} {diff:>18} {_ms(r.seconds):>12} "
                             f"{_ms(r.first_seconds):>12}" + (f"  {r.note}" if r.note else ""))
            lines.append("")
        lines += self.notes
        verdict = "agrees" if self.agrees else "DISAGREES"
        lines.append(f"s2s {verdict} with the most accurate other method (relative tolerance {self.tolerance:g}).")
        return "\n".join(lines)


def _short(value) -> str:
    if np.ndim(value) == 0:
        return f"{float(value):.12g}"
    text = np.array2string(np.asarray(value, dtype=float), precision=6, separator=", ", threshold=6, edgeitems=2)
    return " ".join(text.split())


def _ms(seconds) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _timed(fn, repeat=5):
    t0 = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t0
    best = first
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return value, first, best


def _maxdiff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)), initial=0.0))


def compare(func, point: dict, wrt=0, tolerance=1e-6) -> Report:
    """Differentiate `func` at `point` ({parameter: value}) with every method and compare."""
    import s2s
    from s2s import numeric, pipeline, symbolic
    names = pipeline._wrt_names(func, wrt)
    params = list(inspect.signature(func).parameters)
    args = [point[p] for p in params if p in point]
    notes = []
    detached = False
    sections = {n: Section(n) for n in names}

    def run_s2s(label, mode):
        t0 = time.perf_counter()  # the first call includes generating the derivative
        if mode == "reverse":
            df = s2s.grad(func, wrt=names)
        else:  # forward mode: one Jacobian (here a gradient) per parameter
            jacobians = [s2s.jacobian(func, wrt=n, mode="forward") for n in names]

            def df(*a):
                return tuple(j(*a) for j in jacobians)
        df(*args)
        first = time.perf_counter() - t0
        values, _, best = _timed(lambda: df(*args))
        values = values if isinstance(values, tuple) else (values,)
        for n, v in zip(names, values):
            sections[n].rows.append(Row(label, v, None, best, first))
        return values

    reference = run_s2s("s2s reverse", "reverse")
    try:
        run_s2s("s2s forward", "forward")
    except S2SError as exc:
        for n in names:
            sections[n].rows.append(Row("s2s forward", note=exc.message))

    try:
        t0 = time.perf_counter()
        sym = symbolic.derivative(func, *args, wrt=names, compare=False, simplify=False)
        build = time.perf_counter() - t0
        values, _, best = _timed(lambda: sym(*args))
        for n, v in zip(names, values):
            sections[n].rows.append(Row("SymPy", v, None, best, build, "(diff + lambdify)"))
        if sym.conditions:
            notes.append("SymPy: " + sym.program.note())
        if any(e.has(symbolic.StopGradient) for e in symbolic._flat(sym.program.expression)):
            detached = True
            notes.append("the function uses stop_gradient, which finite differences cannot see: "
                         "s2s is judged against SymPy, which honours it.")
    except Exception as exc:  # SymPy may fail in many ways; the other methods still report
        message = exc.message if isinstance(exc, S2SError) else f"{type(exc).__name__}: {exc}"
        for n in names:
            sections[n].rows.append(Row("SymPy", note=message.splitlines()[0]))

    for method, label in (("central", "central differences"), ("complex", "complex step"), ("richardson", "Richardson")):
        try:
            values, first, best = _timed(lambda: numeric.gradient(func, *args, wrt=names, method=method), repeat=2)
        except Exception as exc:  # the user's function may not run on complex numbers, or at all in plain Python
            for n in names:
                sections[n].rows.append(Row(label, note=f"{type(exc).__name__}: {str(exc).splitlines()[0].split(';')[0]}"))
            continue
        for n, v in zip(names, values):
            sections[n].rows.append(Row(label, v, None, best, first))

    agrees = True
    for n, ref in zip(names, reference):
        for row in sections[n].rows:
            if row.value is not None:
                row.diff = _maxdiff(row.value, ref)
        judge = _judge(sections[n].rows, prefer_sympy=detached)
        if judge is None:
            notes.append(f"{n}: no other method could evaluate this derivative, so s2s's value is not checked.")
            continue
        scale = max(1.0, float(np.max(np.abs(np.asarray(ref, dtype=float)), initial=0.0)))
        if judge.diff > tolerance * scale:
            agrees = False
            notes.append(f"{n}: s2s differs from {judge.method} by {judge.diff:.3g}.")
    return Report(func.__name__, dict(point), list(sections.values()), tolerance, agrees, notes)


def _judge(rows, prefer_sympy=False):
    """The most accurate independent estimate available: Richardson, then complex step, SymPy, central."""
    order = ("Richardson", "complex step", "SymPy", "central differences")
    for method in ("SymPy",) if prefer_sympy else order:
        for row in rows:
            if row.method == method and row.value is not None:
                return row
    return None
