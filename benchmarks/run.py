"""`make bench`: s2s's gradients against a hand-written NumPy gradient and the installed peers.

For every problem in benchmarks/problems.py, in one run:

- steady state: the primal, the hand-written gradient, s2s's gradient and each installed peer
  (autograd, PyTorch eager on the CPU, JAX eager and jax.jit, tangent) are timed in interleaved
  rounds (every method once per round, in a rotating order); each round times a batch of calls
  sized to about --batch-ms; the table gives the min (or --stat median) over rounds, and the
  ratio to the hand-written gradient;
- time to first derivative: transform plus first call, with the tool's caches cleared first
  (s2s: s2s/cache.py, by code and on the function; jax: jax.clear_caches,
  so jax.jit's time includes tracing and compiling; tangent: tangent.clear_cache), the min of
  --cold trials; library-wide one-time start-up is paid before, on a trivial function;
- s2s transform: generating the code s2s.grad(f) runs for the problem's arguments (specialised
  to their shapes), and, beside it, the general code of s2s.derivative(f), each with the caches
  cleared, the min of max(--cold, 7) trials (target < 20 ms);
- the overhead of a cached s2s.grad call on f(x) = x * x with a float x, against the
  hand-written derivative 2 * x (timeit; target < 2 us);
- threads: NumPy's BLAS, PyTorch and XLA get --threads each (default 1), set before they load.

Every gradient is checked against the hand-written one (np.allclose) before it is timed; a
peer that is not installed, or fails on a problem, is skipped with a note under the table.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import timeit


def _threads_from_argv(argv):
    """--threads, read before NumPy, PyTorch and JAX start their thread pools."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


THREADS = _threads_from_argv(sys.argv[1:]) if __name__ == "__main__" else None
if THREADS is not None:
    # every library on the same number of threads (one by default): on a small shared machine,
    # several libraries' spinning thread pools otherwise fight over the cores and the times say
    # more about the scheduler than about differentiation
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = THREADS
    if THREADS == "1":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers as peer_set  # noqa: E402
import problems as problem_set  # noqa: E402

import s2s  # noqa: E402
from s2s import cache as s2s_cache  # noqa: E402

TRANSFORM_TARGET = 20e-3
OVERHEAD_TARGET = 2e-6
WITHIN = 1.2


def clear_s2s(f):
    """Forget every derivative s2s generated (the ones kept by code and the ones kept on `f`: s2s/cache.py), and
    everything else it keeps but the parsed source files: problems.py is read and compiled once per process
    (about 8 ms for its 500 lines), not once per problem."""
    s2s_cache.clear(keep_sources=True)
    f.__dict__.pop(s2s_cache.BOUND_ATTRIBUTE, None)


def _load():
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def machine_line():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = f"{line.split(':', 1)[1].strip()} ({platform.machine()})"
                    break
    except OSError:
        pass
    u = platform.uname()
    return (f"machine: {cpu}, {os.cpu_count()} cores, {u.system} {u.release}; "
            f"Python {platform.python_version()}, NumPy {np.__version__}")


def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f}us" if seconds < 1e-4 else f"{seconds * 1e6:.0f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f}ms" if seconds < 0.1 else f"{seconds * 1e3:.0f}ms"
    return f"{seconds:.2f}s"


def fmt_ratio(r):
    if r is None:
        return ""
    return f"{r:.2f}x" if r < 100 else f"{r:.0f}x"


def batch(fn, args, number):
    t0 = time.perf_counter()
    for _ in range(number):
        fn(*args)
    return (time.perf_counter() - t0) / number


def calibrate(fn, args, target):
    """Calls per batch so that one batch takes about `target` seconds."""
    number = 1
    while True:
        per_call = batch(fn, args, number)
        if per_call * number >= target / 8 or number >= 1 << 20:
            return max(1, int(target / max(per_call, 1e-9)))
        number *= 8


def interleaved(methods, rounds, target, stat):
    """{name: time per call}: every method once per round, the order rotating between rounds."""
    numbers = {name: calibrate(fn, args, target) for name, (fn, args) in methods.items()}
    names = list(methods)
    samples = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn, args = methods[name]
            samples[name].append(batch(fn, args, numbers[name]))
    reduce = np.min if stat == "min" else np.median
    return {name: float(reduce(v)) for name, v in samples.items()}


def cold(trials, clear, make, args):
    """Min over trials of (clear caches; make the gradient function; call it once)."""
    best = float("inf")
    fn = value = None
    for _ in range(trials):
        clear()
        gc.collect()
        t0 = time.perf_counter()
        fn = make()
        value = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, fn, value


def close(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-8))


def max_err(a, b):
    try:
        return f"max abs difference {float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float)))):.3g}"
    except Exception:  # noqa: BLE001
        return f"shapes {np.shape(a)} and {np.shape(b)}"


def first_line(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:150] if text else ''}"


def warm_up(peer_names, notes):
    """Pay each library's one-time start-up on a trivial function; drop peers that cannot import."""
    square = problem_set.Problem("square", problem_set.square, problem_set.square_grad, (0.5,), 0)
    s2s.grad(problem_set.square)(0.5)
    usable = []
    for name in peer_names:
        try:
            prep = peer_set.PEERS[name](square)
            prep.to_numpy(prep.make()(*prep.args))
            usable.append(name)
        except peer_set.Unavailable as exc:
            notes.append(f"{name}: skipped, {exc}; install: {peer_set.INSTALL_HINT[name]}")
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{name}: skipped, fails on f(x) = x * x: {first_line(exc)}")
    return usable


def run_problem(problem, peer_names, opts, notes):
    name, f, hand, fargs, wrt = problem
    hand_value = hand(*fargs)
    row = {"name": name, "first": {}, "steady": {}, "ok": True}

    # s2s: transform alone, and transform + first call, caches cleared each time; the trials
    # alternate, and the transform (about 10 ms) gets at least 7 of them
    def clear():
        clear_s2s(f)

    transform = generic = first = float("inf")
    for trial in range(max(opts.cold, 7)):
        clear()
        t0 = time.perf_counter()
        s2s.source(s2s.grad(f, wrt=wrt), *fargs)  # the code grad(f) runs for these arguments
        transform = min(transform, time.perf_counter() - t0)
        clear()
        t0 = time.perf_counter()
        s2s.derivative(f, wrt=wrt)  # the general code, for any shapes
        generic = min(generic, time.perf_counter() - t0)
        if trial < opts.cold:
            t, g, value = cold(1, clear, lambda: s2s.grad(f, wrt=wrt), fargs)
            first = min(first, t)
    row["transform"] = transform
    row["generic"] = generic
    row["first"]["s2s"] = first
    if not close(value, hand_value):
        notes.append(f"{name}: s2s's gradient differs from the hand-written one ({max_err(value, hand_value)})")
        row["ok"] = False
    methods = {"primal": (f, fargs), "hand": (hand, fargs), "s2s": (g, fargs)}
    reference = problem_set.REFERENCES.get(f)
    if reference is not None:
        if not close(reference[1](*fargs), hand_value):
            notes.append(f"{name}: the reference ({reference[0]}) differs from the hand-written gradient")
        else:
            methods["reference"] = (reference[1], fargs)
            row["reference"] = reference[0]

    for peer in peer_names:
        try:
            prep = peer_set.PEERS[peer](problem)
            first, fn, value = cold(opts.cold, prep.clear, prep.make, prep.args)
            value = prep.to_numpy(value)
        except Exception as exc:  # noqa: BLE001
            why = ""
            if peer == "jax.jit" and ("Tracer" in type(exc).__name__ or "Concretization" in type(exc).__name__):
                why = (" (Python control flow on a traced value: under jit it must become lax.while_loop/lax.cond, "
                       "and JAX cannot reverse-differentiate lax.while_loop)")
            notes.append(f"{peer}: skipped on {name}: {first_line(exc)}{why}")
            continue
        if not close(value, hand_value):
            notes.append(f"{peer}: skipped on {name}: its gradient differs from the hand-written one "
                         f"({max_err(value, hand_value)})")
            continue
        row["first"][peer] = first
        methods[peer] = (fn, prep.args)

    row["steady"] = interleaved(methods, opts.rounds, opts.batch_ms * 1e-3, opts.stat)
    return row


def overhead(repeats, number):
    """(s2s call, hand call) seconds for f(x) = x * x at a float x, both cached, interleaved timeit."""
    g = s2s.grad(problem_set.square)
    hand = problem_set.square_grad
    x = 0.7
    assert g(x) == hand(x)
    best = {"s2s": float("inf"), "hand": float("inf")}
    for _ in range(repeats):
        for name, fn in (("s2s", g), ("hand", hand)):
            t = timeit.timeit("fn(x)", globals={"fn": fn, "x": x}, number=number) / number
            best[name] = min(best[name], t)
    return best["s2s"], best["hand"]


def print_tables(rows, peer_cols, opts, notes):
    steady_cols = ["primal", "hand", "s2s"] + peer_cols
    width = max(len(r["name"]) for r in rows) + 1
    cell = 15
    print(f"\nsteady state: time per call ({opts.stat} of {opts.rounds} interleaved rounds) "
          f"and ratio to the hand-written NumPy gradient")
    header = f"{'problem':<{width}}" + "".join(f"{c:>{cell}}" for c in steady_cols)
    print(header)
    print("-" * len(header))
    for r in rows:
        t = r["steady"]
        cells = []
        for c in steady_cols:
            if c not in t:
                cells.append(f"{'n/a':>{cell}}")
            elif c == "hand":
                cells.append(f"{fmt_time(t[c]):>{cell}}")
            else:
                cells.append(f"{fmt_time(t[c]) + ' ' + fmt_ratio(t[c] / t['hand']):>{cell}}")
        print(f"{r['name']:<{width}}" + "".join(cells) + ("" if r["ok"] else "  (s2s WRONG)"))

    for r in rows:
        if "reference" in r["steady"]:
            t = r["steady"]
            print(f"{r['name']}: {r['reference']}: {fmt_time(t['reference'])}; s2s is "
                  f"{t['s2s'] / t['reference']:.2f}x of it")

    first_cols = ["s2s"] + peer_cols
    print(f"\ntime to first derivative: transform + first call, caches cleared (min of {opts.cold}); "
          f"s2s transform alone (target < {TRANSFORM_TARGET * 1e3:.0f} ms)")
    header = f"{'problem':<{width}}{'s2s transform':>{cell}}{'(any shapes)':>{cell}}" + \
        "".join(f"{c:>{cell}}" for c in first_cols)
    print(header)
    print("-" * len(header))
    for r in rows:
        mark = "" if r["transform"] < TRANSFORM_TARGET else " !"
        cells = [f"{fmt_time(r['first'].get(c)) if c in r['first'] else 'n/a':>{cell}}" for c in first_cols]
        print(f"{r['name']:<{width}}{fmt_time(r['transform']) + mark:>{cell}}{fmt_time(r['generic']):>{cell}}"
              + "".join(cells))

    within = [f"{r['name']} ({r['steady']['s2s'] / r['steady']['hand']:.2f}x)" for r in rows
              if r["steady"]["s2s"] <= WITHIN * r["steady"]["hand"]]
    beyond = [f"{r['name']} ({r['steady']['s2s'] / r['steady']['hand']:.2f}x)" for r in rows
              if r["steady"]["s2s"] > WITHIN * r["steady"]["hand"]]
    print(f"\ns2s within {WITHIN}x of hand-written: {', '.join(within) or 'none'}")
    print(f"s2s beyond {WITHIN}x of hand-written: {', '.join(beyond) or 'none'}")
    slow = [f"{r['name']} ({fmt_time(r['transform'])})" for r in rows if r["transform"] >= TRANSFORM_TARGET]
    print(f"s2s transform over {TRANSFORM_TARGET * 1e3:.0f} ms: {', '.join(slow) or 'none'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller logreg, fewer and shorter rounds")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 41, quick 9)")
    parser.add_argument("--batch-ms", type=float, help="time of one batch of calls (default 2)")
    parser.add_argument("--cold", type=int, help="first-derivative trials (default 3, quick 1)")
    parser.add_argument("--stat", choices=("min", "median"), default="min")
    parser.add_argument("--threads", default="1",
                        help="threads for NumPy's BLAS, PyTorch and XLA (default 1; read when run as a script)")
    parser.add_argument("--peers", default=",".join(peer_set.PEERS),
                        help="comma-separated peers to try (default: all); empty for none")
    parser.add_argument("--only", default="",
                        help="comma-separated substrings: run only the problems whose name contains one of them")
    opts = parser.parse_args(argv)
    opts.rounds = opts.rounds or (9 if opts.quick else 41)
    # short batches: on a shared machine a batch that fits in one scheduler time slice is often
    # not preempted at all, and the min over many of them is the uncontended time
    opts.batch_ms = opts.batch_ms or 2.0
    opts.cold = opts.cold or (1 if opts.quick else 3)
    scale = 0.1 if opts.quick else 1.0
    requested = [p for p in opts.peers.split(",") if p]
    unknown = [p for p in requested if p not in peer_set.PEERS]
    if unknown:
        parser.error(f"unknown peers {unknown}; known: {list(peer_set.PEERS)}")

    notes = []
    load_start = _load()
    print(machine_line())
    peer_names = warm_up(requested, notes)
    versions = [f"{p} {peer_set.version(p)}" for p in peer_names if p != "jax.jit"]
    if "tangent" in peer_names:
        notes.append(peer_set.tangent_note())
    threads = os.environ.get("OMP_NUM_THREADS", "library default")
    print(f"s2s {getattr(s2s, '__version__', '?')}; peers: {', '.join(versions) or ('none installed' if requested else 'none requested')}; "
          f"threads per library: {threads}; JAX and PyTorch on the CPU; all float64")

    chosen = [p for p in problem_set.problems(scale)
              if not opts.only or any(part in p.name for part in opts.only.split(",") if part)]
    if not chosen:
        parser.error(f"--only {opts.only!r} matches no problem")
    rows = [run_problem(p, peer_names, opts, notes) for p in chosen]
    print_tables(rows, peer_names, opts, notes)

    # short timeit batches (about 3 ms), many of them: the min is the call's uncontended cost
    s2s_call, hand_call = overhead(repeats=31 if opts.quick else 151, number=1000)
    extra = s2s_call - hand_call
    verdict = "met" if extra < OVERHEAD_TARGET else "NOT met"
    print(f"cached s2s.grad call on f(x) = x * x, float x: {s2s_call * 1e6:.2f} us, hand-written 2 * x: "
          f"{hand_call * 1e6:.2f} us, overhead {extra * 1e6:.2f} us (target < {OVERHEAD_TARGET * 1e6:.0f} us: {verdict})")
    load_end = _load()
    if load_start is not None and max(load_start, load_end) > 0.5 * (os.cpu_count() or 1):
        notes.append(f"load average (1 min) {load_start:.1f} at the start, {load_end:.1f} at the end, on "
                     f"{os.cpu_count()} cores: other processes shared the machine; the interleaved rounds keep "
                     "the ratios comparable, the absolute times less so")
    if notes:
        print("\nnotes:")
        for n in notes:
            print(f"- {n}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
