"""One derivative several ways, at one point: s2s (reverse and forward), SymPy, finite differences.

`compare` is what `s2s check` prints: each method's value, its largest difference from s2s's, and
the time it took. The point is bound to the function's parameters by name (`bind`), the function's
defaults filling in the rest.

Every method runs in a worker process of its own (forked), under a time limit: SymPy can spend
minutes on a long loop and cannot be interrupted reliably from its own thread, so a worker that
runs out of time is killed (and reaped) and its row says that it gave up. A method that gave up
takes no part in the verdict. Rows are handed to `echo` as each method finishes.
"""

from __future__ import annotations

import gc
import inspect
import multiprocessing
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from s2s.errors import S2SError

DEFAULT_TIMEOUT = 10.0  # seconds per method

_FORK = "fork" in multiprocessing.get_all_start_methods()


class CheckError(S2SError):
    """`compare` cannot run at this point: a bad point, a function that raises or returns no number
    there, or one s2s cannot differentiate. The message says which."""


@dataclass
class Row:
    """One method's answer: values (one per parameter), difference from s2s, seconds.

    outcome: "ok"; "timeout" (gave up after the time limit); "refused" (an S2SError: this mode does
    not support the function); "failed" (any other error, or the worker died).
    """

    method: str
    values: tuple | None = None
    diffs: tuple | None = None  # per parameter: max |value - s2s's|
    seconds: float | None = None  # steady state: the best of a few calls
    first_seconds: float | None = None  # the first call, including generating the derivative
    note: str = ""
    outcome: str = "ok"


@dataclass
class Report:
    """Everything `s2s check` prints; `status` ("agrees", "disagrees" or "unchecked") and `agrees`
    give its verdict."""

    func_name: str
    point: list  # (parameter, value, from the default?) for every named parameter
    names: tuple  # the parameters differentiated with respect to
    tolerance: float
    timeout: float | None
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    status: str = "unchecked"
    judge: str | None = None  # the method s2s was judged against

    @property
    def agrees(self) -> bool:
        return self.status == "agrees"

    @property
    def reference(self) -> Row | None:
        """The s2s row the differences are measured from: reverse mode, else forward mode."""
        return next((r for r in self.rows if r.method.startswith("s2s") and r.values is not None), None)

    def header_lines(self) -> list:
        at = ", ".join(f"{k}={_short(v)}" + (" (default)" if default else "") for k, v, default in self.point)
        wrt = "wrt".ljust(self._wrt_width()) + " " if len(self.names) > 1 else ""
        return [f"d{self.func_name}/d{{{', '.join(self.names)}}} at {at}", "",
                f"  {'method':<22} {wrt}{'value':<34} {'max |diff| vs s2s':>18} {'time':>12} {'first call':>12}"]

    def row_lines(self, row: Row) -> list:
        if row.values is None:
            text = row.note if row.outcome == "timeout" else "n/a: " + row.note
            return [f"  {row.method:<22} {text}"]
        lines = []
        for i, (name, value) in enumerate(zip(self.names, row.values)):
            method = row.method if i == 0 else ""
            wrt = name.ljust(self._wrt_width()) + " " if len(self.names) > 1 else ""
            diff = "" if row.diffs is None else f"{row.diffs[i]:.2e}"
            times = f" {_ms(row.seconds):>12} {_ms(row.first_seconds):>12}" if i == 0 else ""
            note = f"  {row.note}" if row.note and i == 0 else ""
            lines.append(f"  {method:<22} {wrt}{_short(value):<34} {diff:>18}{times}{note}".rstrip())
        return lines

    def footer_lines(self) -> list:
        lines = [""] + self.notes
        if self.status == "agrees":
            lines.append(f"s2s agrees with the most accurate other method, {self.judge} "
                         f"(relative tolerance {self.tolerance:g}).")
        elif self.status == "disagrees" and self.judge is None:
            lines.append("s2s FAILED where the function itself runs.")
        elif self.status == "disagrees":
            lines.append(f"s2s DISAGREES with the most accurate other method (relative tolerance {self.tolerance:g}).")
        else:
            lines.append("s2s's derivative is NOT CHECKED.")
        return lines

    def table(self) -> str:
        """The comparison as a plain text table (what `echo` was given, line by line)."""
        lines = self.header_lines()
        for row in self.rows:
            lines += self.row_lines(row)
        return "\n".join(lines + self.footer_lines())

    def _wrt_width(self) -> int:
        return max(3, *(len(n) for n in self.names))


def _short(value) -> str:
    if isinstance(value, dict):  # a structured --at value: each part as short as an array's
        return "{" + ", ".join(f"{k!r}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple) and any(isinstance(v, np.ndarray | dict | list | tuple) for v in value):
        inner = ", ".join(_short(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if type(value).__repr__ is object.__repr__:  # an object (self of a method): its class, not its address
        return f"{type(value).__name__}()"
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return repr(value)
    if array.ndim == 0:
        return f"{float(array):.12g}"
    text = np.array2string(array, precision=6, separator=", ", threshold=6, edgeitems=2)
    return " ".join(text.split())


def _ms(seconds) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _seconds(limit) -> str:
    return f"{limit:.1f} s"


def _timed(fn, repeat=5, budget=0.5):
    """fn's value, the first call's seconds and the best of up to `repeat` more (within `budget` s)."""
    t0 = time.perf_counter()
    value = fn()
    first = time.perf_counter() - t0
    best, spent = first, 0.0
    for _ in range(repeat):
        if spent > budget:
            break
        t0 = time.perf_counter()
        fn()
        took = time.perf_counter() - t0
        best, spent = min(best, took), spent + took
    return value, first, best


def _maxdiff(a, b) -> float:
    """Largest |a - b|; equal infinities and NaN against NaN count as equal, any other NaN as inf."""
    try:
        a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    except (TypeError, ValueError):
        return float("inf")
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(np.max(diff, initial=0.0))


# ---- binding the point to the parameters ---------------------------------------------------------

def _parameters_text(signature) -> str:
    return str(signature.replace(return_annotation=inspect.Signature.empty))[1:-1]


def bind(func, point: dict, option: str = ""):
    """`point` ({parameter: value}) as the arguments of a call: `(args, kwargs, used)`.

    Values are bound by parameter name; parameters not in `point` take the function's defaults.
    `used` lists (parameter, value, from the default?) for every named parameter. Raises
    `CheckError` for a name that is no parameter, a value for `*args` or `**kwargs`, or a parameter
    without a default left out; `option` (e.g. "--at ") is put before the names in those messages.
    """
    signature = inspect.signature(func)
    params = signature.parameters
    listed = f"its parameters: {_parameters_text(signature)}"
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name in point:
        p = params.get(name)
        if p is None and not takes_any:
            raise CheckError(f"bad {option}{name}=...: {func.__name__} has no parameter {name!r} ({listed})")
        if p is not None and p.kind in variadic:
            star = "*" if p.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            raise CheckError(f"bad {option}{name}=...: {star}{name} collects extra arguments; give values to named "
                             f"parameters only ({listed})")
    missing = [p.name for p in params.values()
               if p.kind not in variadic and p.default is inspect.Parameter.empty and p.name not in point]
    if missing:
        raise CheckError(f"missing {option}{'=..., '.join(missing)}=...: every parameter without a default needs a "
                         f"value ({listed})")
    args, kwargs, used = [], {}, []
    for p in params.values():
        if p.kind in variadic:
            continue
        given = p.name in point
        value = point[p.name] if given else p.default
        used.append((p.name, value, not given))
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[p.name] = value
        else:
            args.append(value)
    for name, value in point.items():
        if name not in params:  # collected by **kwargs
            kwargs[name] = value
            used.append((name, value, False))
    return args, kwargs, used


def _argument(func, args, kwargs, name):
    """The value the call (args, kwargs) gives parameter `name`."""
    if name in kwargs:
        return kwargs[name]
    positional = [p.name for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return args[positional.index(name)]


# ---- running a method in a worker process under a time limit ------------------------------------

def _outcome(job, catch=BaseException):
    """("ok", job()) or ("error", details of what it raised)."""
    try:
        return ("ok", job())
    except catch as exc:  # whatever the user's code raises (SystemExit too) is reported, not re-raised
        message = exc.message if isinstance(exc, S2SError) else str(exc)
        return ("error", {"type": type(exc).__name__, "text": str(exc), "message": message,
                          "s2s": isinstance(exc, S2SError)})


def _child(job, conn):
    result = _outcome(job)
    try:
        conn.send(result)
    except Exception as exc:  # a value that cannot be pickled
        conn.send(("error", {"type": type(exc).__name__, "text": f"the result could not be sent back: {exc}",
                             "message": f"the result could not be sent back: {exc}", "s2s": False}))
    conn.close()


def _run_limited(job, timeout):
    """Run `job()` in a forked worker; ("ok", value), ("error", details) or ("timeout", None).

    The worker is killed when `timeout` seconds pass (None: no limit) and always reaped, so none is
    left behind, also when the caller is interrupted. Without fork (Windows) the job runs here,
    without a limit.
    """
    if not _FORK:
        return _outcome(job, Exception)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(job, send), daemon=True)
    sys.stdout.flush()  # a forked worker flushes what it inherited: nothing may be pending
    sys.stderr.flush()
    gc.freeze()  # the worker's collector leaves the inherited objects alone: no copied pages, fair timings
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            process.start()
    finally:
        gc.unfreeze()
    send.close()  # the worker holds the only writing end now: its death reads as end of file
    outcome = ("timeout", None)  # also what an interruption leaves: the worker is killed
    try:
        if receive.poll(timeout):
            try:
                outcome = receive.recv()
            except (EOFError, OSError):
                process.join(1.0)
                died = _death(process.exitcode)
                outcome = ("error", {"type": "WorkerDied", "text": died, "message": died, "s2s": False})
    finally:
        if outcome[0] != "timeout":
            process.join(1.0)  # it has answered: a moment to exit by itself
        if process.is_alive():
            process.kill()
        process.join()  # reaped: no zombie is left
        receive.close()
    return outcome


def _death(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        return f"the worker process died (signal {-exitcode})"
    return f"the worker process exited (status {exitcode}) without an answer"


# ---- the methods ---------------------------------------------------------------------------------

def _output(func, args, kwargs):
    """f at the point as a float, or a CheckError saying why it is not a real scalar."""
    out = func(*args, **kwargs)
    try:
        array = np.asarray(out)
    except Exception:  # noqa: BLE001 -- an object NumPy cannot take in
        array = np.asarray(None)
    name = func.__name__
    if array.dtype.kind == "c":
        raise CheckError(f"{name} returns a complex value ({out!r}); s2s check compares derivatives of a real "
                         "scalar output")
    if array.dtype.kind not in "iuf":
        raise CheckError(f"{name} returns {type(out).__name__} {_clip(repr(out))}, not a number; s2s check compares "
                         "derivatives of a real scalar output")
    if array.size != 1:
        raise CheckError(f"{name} returns an array of shape {array.shape}; s2s check needs a scalar output "
                         "(reduce it first, e.g. with np.sum)")
    return float(array.reshape(()))


def _clip(text, limit=60):
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _reverse(func, args, kwargs, names, budget):
    import s2s
    t0 = time.perf_counter()  # the first call includes generating the derivative
    df = s2s.grad(func, wrt=names)
    values = df(*args, **kwargs)
    first = time.perf_counter() - t0
    _, _, best = _timed(lambda: df(*args, **kwargs), budget=budget)
    return {"values": tuple(values), "first": first, "best": best}


def _forward(func, args, kwargs, names, budget):
    """One forward sweep per element of each parameter (the tangent code, called by name)."""
    import s2s
    own = set(inspect.signature(func).parameters)
    t0 = time.perf_counter()
    sweeps = []
    for n in names:
        fn = s2s.derivative(func, mode="forward", wrt=n)
        dot = next(p.name for p in inspect.signature(fn).parameters.values()
                   if p.kind is p.KEYWORD_ONLY and p.name not in own)
        sweeps.append((fn, dot, np.shape(_argument(func, args, kwargs, n))))

    def df():
        out = []
        for fn, dot, shape in sweeps:
            columns = []
            for j in np.ndindex(*shape):
                t = np.zeros(shape)
                t[j] = 1.0
                _, tangent = fn(*args, **kwargs, **{dot: t if shape else 1.0})
                columns.append(float(np.asarray(tangent, dtype=float).reshape(())))
            out.append(np.array(columns).reshape(shape) if shape else columns[0])
        return tuple(out)

    values = df()
    first = time.perf_counter() - t0
    _, _, best = _timed(df, budget=budget)
    return {"values": values, "first": first, "best": best}


def _sympy(func, args, kwargs, names, budget):
    from s2s import symbolic
    t0 = time.perf_counter()  # building: run on symbols, diff, lambdify
    sym = symbolic.derivative(func, *args, kwargs=kwargs, wrt=names, compare=False, simplify=False)
    values = sym(*args, **kwargs)
    first = time.perf_counter() - t0
    _, _, best = _timed(lambda: sym(*args, **kwargs), budget=budget)
    notes = ["SymPy: " + sym.program.note()] if sym.conditions else []
    detached = any(e.has(symbolic.StopGradient) for e in symbolic._flat(sym.program.expression))
    return {"values": tuple(values), "first": first, "best": best, "note": "(diff + lambdify)",
            "notes": notes, "detached": detached}


def _numeric(method):
    def run(func, args, kwargs, names, budget):
        from s2s import numeric
        values, first, best = _timed(lambda: numeric.gradient(func, *args, kwargs=kwargs, wrt=names, method=method),
                                     repeat=2, budget=budget)
        return {"values": tuple(values), "first": first, "best": best}
    return run


METHODS = (("s2s reverse", _reverse), ("s2s forward", _forward), ("SymPy", _sympy),
           ("central differences", _numeric("central")), ("complex step", _numeric("complex")),
           ("Richardson", _numeric("richardson")))


def compare(func, point: dict, wrt=0, tolerance=1e-6, timeout=DEFAULT_TIMEOUT, echo=None) -> Report:
    """Differentiate `func` at `point` ({parameter: value}) with every method and compare.

    `point` is bound by name, the function's defaults filling in the rest (`bind`). Each method
    runs in a worker process and gives up after `timeout` seconds (None: no limit); `echo`, when
    given, receives the report's lines as they are known: the header and each row as its method
    finishes, then the verdict. Raises `CheckError` when the point does not fit the function, the
    function raises there, does not return a real scalar, or takes longer than `timeout` to
    return, or s2s cannot differentiate it.
    """
    import s2s  # noqa: F401 -- imported here, so that no worker pays for the imports
    from s2s import numeric, pipeline, symbolic  # noqa: F401
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, not {timeout!r}")
    names = pipeline._wrt_names(func, wrt)
    args, kwargs, used = bind(func, point)
    values = {k: v for k, v, _ in used}
    for n in names:
        value = values.get(n)
        if isinstance(value, dict | list | tuple) and not _is_number_like(value) or isinstance(value, dict):
            raise CheckError(f"cannot check {func.__name__} with respect to {n}: its value is a {type(value).__name__} "
                             "(s2s check compares derivatives with respect to numbers and arrays); check with "
                             f"respect to another parameter, or call s2s.grad({func.__name__}, wrt={n!r}) in Python, "
                             "which gives a gradient of the same structure")
        if not _is_number_like(value):
            raise CheckError(f"cannot differentiate {func.__name__} with respect to {n}: its value {_clip(repr(value))} "
                             "is not a number or an array of numbers")
    emit = echo or (lambda line: None)
    budget = 0.5 if timeout is None else min(0.5, timeout / 4)

    kind, payload = _run_limited(lambda: _output(func, args, kwargs), timeout)
    if kind == "timeout":
        raise CheckError(f"{func.__name__} did not return within {_seconds(timeout)} at this point; "
                         "give it more time (--timeout SECONDS)")
    if kind == "error":
        if payload["type"] == "CheckError":
            raise CheckError(payload["message"])
        if payload["type"] == "WorkerDied":
            raise CheckError(f"{func.__name__} did not return at this point: {payload['text']}")
        raise CheckError(f"{func.__name__} raises {payload['type']} at this point: {payload['text']}")

    report = Report(func.__name__, used, names, tolerance, timeout)
    detached = False
    for label, method in METHODS:
        kind, payload = _run_limited(lambda method=method: method(func, args, kwargs, names, budget), timeout)
        row = Row(label)
        if kind == "ok":
            row.values, row.seconds, row.first_seconds = payload["values"], payload["best"], payload["first"]
            row.note = payload.get("note", "")
            report.notes += payload.get("notes", [])
            detached = detached or payload.get("detached", False)
        elif kind == "timeout":
            row.outcome, row.note = "timeout", f"gave up after {_seconds(timeout)}"
        else:
            if label == "s2s reverse" and payload["s2s"]:  # s2s cannot differentiate this function
                raise CheckError(payload["text"])
            row.outcome = "refused" if payload["s2s"] else "failed"
            row.note = _first_line(payload["message"] if payload["s2s"] else f"{payload['type']}: {payload['text']}")
        reference = report.reference or (row if row.method.startswith("s2s") and row.values is not None else None)
        if row.values is not None and reference is not None:
            row.diffs = tuple(_maxdiff(v, r) for v, r in zip(row.values, reference.values))
        report.rows.append(row)
        if len(report.rows) == 1:
            for line in report.header_lines():
                emit(line)
        for line in report.row_lines(row):
            emit(line)

    if not detached and not _finished(report, "SymPy") and _mentions_stop_gradient(func):
        detached = True
    _judge(report, detached)
    for line in report.footer_lines():
        emit(line)
    return report


def _is_number_like(value) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    try:
        return np.asarray(value).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0].split("; use method=")[0] if lines else ""


def _finished(report, method) -> bool:
    return any(r.method == method and r.values is not None for r in report.rows)


def _mentions_stop_gradient(func) -> bool:
    try:
        return "stop_gradient" in inspect.getsource(func)
    except (OSError, TypeError):
        return False


def _judge(report: Report, detached: bool):
    """Set the verdict: every s2s row that finished against the most accurate other method that did."""
    order = ("SymPy",) if detached else ("Richardson", "complex step", "SymPy", "central differences")
    judge = next((r for m in order for r in report.rows if r.method == m and r.values is not None), None)
    timed_out = [r.method for r in report.rows if r.outcome == "timeout"]
    if timed_out:
        report.notes.append(f"{', '.join(timed_out)} gave up after the time limit of {_seconds(report.timeout)} "
                            "per method (--timeout SECONDS); a method that gives up takes no part in the verdict.")
    if detached and judge is not None:
        report.notes.append("the function uses stop_gradient, which finite differences cannot see: "
                            "s2s is judged against SymPy, which honours it.")
    failed = [r for r in report.rows if r.method.startswith("s2s") and r.outcome == "failed"]
    for r in failed:
        report.notes.append(f"{r.method} failed where the function itself runs: {r.note}")
    s2s_rows = [r for r in report.rows if r.method.startswith("s2s") and r.values is not None]
    if judge is None or not s2s_rows:
        report.status = "disagrees" if failed else "unchecked"
        if not s2s_rows:
            report.notes.append("s2s gave no value here, so there is nothing to check.")
        elif detached:
            report.notes.append("SymPy gave no value, and finite differences cannot see stop_gradient, so s2s's "
                                "derivative is not checked.")
        else:
            report.notes.append("no other method gave a value here, so s2s's derivative is not checked.")
        return
    report.judge = judge.method
    agrees = not failed
    for r in s2s_rows:
        for n, value, expected in zip(report.names, r.values, judge.values):
            diff = _maxdiff(value, expected)
            magnitude = np.abs(np.asarray(expected, dtype=float))
            scale = max(1.0, float(np.max(magnitude[np.isfinite(magnitude)], initial=0.0)))
            if diff > report.tolerance * scale:
                agrees = False
                report.notes.append(f"{n}: {r.method} differs from {judge.method} by {diff:.3g}.")
    report.status = "agrees" if agrees else "disagrees"


# ---- values given on the command line (s2s check --at NAME=VALUE) ---------------------------------------

# the NumPy functions a value may call: constructors of arrays from literal arguments, nothing else
_ARRAY_MAKERS = ("array", "asarray", "zeros", "ones", "full", "eye", "identity", "arange", "linspace")
_MAX_ELEMENTS = 10_000_000  # a larger array is refused before it is made


def parse_value(text: str):
    """The value of `--at NAME=TEXT`: Python literals (numbers, lists, tuples, dicts with string keys) and
    calls of a few NumPy constructors with literal arguments (`np.ones((2, 3))`, `np.zeros(2)`,
    `np.full(3, 0.5)`, `np.eye(2)`, `np.arange(4.0)`, `np.linspace(0, 1, 5)`, `np.array([...])`; `numpy.`
    too). Nothing is evaluated but these: no names, attributes or other calls (a ValueError says what
    was found). A list of numbers becomes a float array; a list holding arrays or dicts stays a list.

        >>> parse_value('{"W": np.ones((2, 3)), "b": [0, 1]}')["b"]
        array([0., 1.])
    """
    import ast
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{text.strip()!r} is not a number, list or dict ({exc.msg})") from None
    return _structure(_evaluate(tree.body))


def _evaluate(node):
    import ast
    if isinstance(node, ast.Constant) and (isinstance(node.value, int | float | str) and not isinstance(node.value, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        if isinstance(value, int | float):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List | ast.Tuple):
        items = [_evaluate(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(k is None or not (isinstance(k, ast.Constant) and isinstance(k.value, str)) for k in node.keys):
            raise ValueError("a dict's keys must be strings")
        return {k.value: _evaluate(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy") \
            and node.attr in ("pi", "e"):
        return float(getattr(np, node.attr))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Name) and node.func.value.id in ("np", "numpy") and \
            node.func.attr in _ARRAY_MAKERS:
        args = [_evaluate(a) for a in node.args]
        kwargs = {k.arg: _evaluate(k.value) for k in node.keywords if k.arg is not None}
        if len(kwargs) != len(node.keywords) or set(kwargs) - {"dtype"} - ({"num"} if node.func.attr == "linspace"
                                                                              else set()):
            raise ValueError(f"np.{node.func.attr}: only positional arguments (and dtype=\"float64\"/\"float32\")")
        if kwargs.get("dtype", "float64") not in ("float64", "float32", "float"):
            raise ValueError("dtype must be \"float64\" or \"float32\"")
        _check_size(node.func.attr, args, kwargs)
        try:
            return np.asarray(getattr(np, node.func.attr)(*args, **kwargs), dtype=float if "dtype" not in kwargs
                              else kwargs["dtype"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"np.{node.func.attr}{tuple(args)}: {exc}") from None
    raise ValueError(f"{ast.unparse(node)!r} is not a number, list, dict or np.ones/zeros/full/eye/arange/"
                     "linspace/array call with literal arguments")


def _check_size(name, args, kwargs):
    """Refuse a constructor call that would make more than _MAX_ELEMENTS elements, before it runs."""
    def count(shape):
        shape = shape if isinstance(shape, list | tuple) else (shape,)
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"np.{name}: a shape is non-negative integers")
        return int(np.prod(shape, dtype=object)) if shape else 1
    if name in ("zeros", "ones", "full") and args:
        n = count(args[0])
    elif name in ("eye", "identity") and args:
        n = count(args[0]) * count(args[1] if len(args) > 1 and name == "eye" else args[0])
    elif name == "arange":
        if not args or not all(isinstance(a, int | float) for a in args) or (len(args) > 2 and args[2] == 0):
            raise ValueError("np.arange takes numbers (stop, or start, stop[, step] with step not 0)")
        start, stop = (0, args[0]) if len(args) == 1 else args[:2]
        step = args[2] if len(args) > 2 else 1
        n = max(0, int(np.ceil((stop - start) / step))) if np.isfinite((stop - start) / step) else _MAX_ELEMENTS + 1
    elif name == "linspace":
        num = args[2] if len(args) > 2 else kwargs.get("num", 50)
        n = count(num)
    else:
        n = 0
    if n > _MAX_ELEMENTS:
        raise ValueError(f"np.{name}: {n} elements is more than the {_MAX_ELEMENTS} s2s check takes")


def _structure(value):
    """Numbers become floats, lists of numbers float arrays; lists holding arrays or dicts stay lists."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if _numbers_only(value):
            try:
                return np.array(value, dtype=float)
            except ValueError:
                raise ValueError("not a rectangular list of numbers") from None
        items = [_structure(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, str):
        raise ValueError(f"{value!r}: a string is only a dict key here")
    return value


def _numbers_only(value) -> bool:
    if isinstance(value, list | tuple):
        return all(_numbers_only(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def leaves(value):
    """The numbers and arrays in a parsed value (for the finiteness check)."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]
