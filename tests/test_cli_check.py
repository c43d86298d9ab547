"""`s2s check`, `s2s graph` and the command line's error paths, run as subprocesses."""

import inspect
import json
import os
import select
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from s2s import pipeline

FUNCS = textwrap.dedent('''\
    import numpy as np

    import s2s


    def mixed(x, y):
        return np.sin(x) * np.sum(y * y) + x * np.prod(y)


    def mysq(x):
        return x * x


    s2s.defvjp(mysq, "x", x="g * 3.0 * x")  # deliberately wrong: d(x * x)/dx is 2 * x


    def wrong(x):
        return mysq(x) + x


    def tricky(x):
        try:
            y = x * 2.0
        except ValueError:
            y = x
        return y


    def vector(x):
        return x * 2.0


    def dividing(x):
        return 1.0 / (x - x)


    def scaled(x, a=1.0, b=10.0):
        return a * x + b * x * x


    def keywords(x, a=2.0, *, k=3.0, mode="sin"):
        y = np.sin(x) * a if mode == "sin" else x * a
        return y + k * x * x


    def needs_k(x, *, k):
        return k * x * x


    def starred(x, *rest, **options):
        return x * x


    def returns_none(x):
        return None


    def returns_complex(x):
        return x * 1j


    def exits(x):
        raise SystemExit(3)


    def dies(x):
        import os
        os._exit(4)


    def hangs(x):
        while True:
            x = x + 1.0


    def loop(x):
        for i in range(100):
            x = x * 0.99 + 0.01 * np.sin(x)
        return x


    def detached_loop(x):
        for i in range(100):
            x = x * 0.99 + 0.01 * np.sin(s2s.stop_gradient(x))
        return x
''')
TRY_LINE = FUNCS.splitlines().index("    try:") + 1

BROKEN = "import numpy as np\n\ndef f(x)\n    return x\n"
RAISES = "import numpy as np\n\nraise RuntimeError('boom at import')\n\n\ndef f(x):\n    return x\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_check")
    (d / "funcs.py").write_text(FUNCS)
    (d / "broken.py").write_text(BROKEN)
    (d / "raises.py").write_text(RAISES)
    return d


# `python -m s2s` in a fresh process: what a user runs
def _process(workdir, *args):
    return subprocess.run([sys.executable, "-m", "s2s", *args], capture_output=True, text=True, cwd=workdir, timeout=300)


# The same command in a process of its own, forked from a server that has imported s2s once: the start of
# Python and the import of s2s (over a second each) are paid once for the module instead of once a command.
# Each command still runs in a new process (its own module state, stdout and stderr, exit status, atexit
# handlers); what it does not run is the interpreter's start and `python -m`'s `sys.exit(main())`, which
# the tests through `s2s_process` (and tests/test_cli.py) run.
_FORK_SERVER = textwrap.dedent('''\
    import atexit, json, os, sys, tempfile, traceback
    import s2s.api, s2s.check, s2s.cli
    for request in sys.stdin:
        args = json.loads(request)
        out, err = tempfile.mkstemp(), tempfile.mkstemp()
        pid = os.fork()
        if pid == 0:  # as `python -m s2s ARGS` would, from here on
            code = 1
            try:
                os.dup2(out[0], 1)
                os.dup2(err[0], 2)
                sys.argv = ["s2s", *args]
                try:
                    try:
                        code = s2s.cli.main(args)
                    except SystemExit as exc:
                        code = exc.code
                    if code is None:
                        code = 0
                    elif not isinstance(code, int):
                        print(code, file=sys.stderr)
                        code = 1
                except BaseException:
                    traceback.print_exc()
                    code = 1
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        texts = []
        for fd, path in (out, err):
            os.close(fd)
            with open(path) as f:
                texts.append(f.read())
            os.unlink(path)
        print(json.dumps([os.waitstatus_to_exitcode(status), *texts]), flush=True)
''')


@pytest.fixture(scope="module")
def s2s_process(workdir):
    return lambda *args: _process(workdir, *args)


@pytest.fixture(scope="module")
def s2s_cli(workdir):
    if not hasattr(os, "fork"):
        yield lambda *args: _process(workdir, *args)
        return
    # (one BLAS thread: a process forked while a thread pool runs may inherit its locks held)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    server = subprocess.Popen([sys.executable, "-c", _FORK_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=workdir, env=env)

    def run(*args):
        server.stdin.write(json.dumps(args) + "\n")
        server.stdin.flush()
        ready, _, _ = select.select([server.stdout], [], [], 300)  # (a command that hangs fails, as with a timeout)
        assert ready, f"s2s {' '.join(args)} gave no answer in 300 s"
        reply = server.stdout.readline()
        assert reply, "the fork server died"
        code, out, err = json.loads(reply)
        return subprocess.CompletedProcess(["s2s", *args], code, out, err)

    try:
        yield run
    finally:
        server.stdin.close()
        server.wait(timeout=60)
        server.stdout.close()


def assert_clean_error(out, *fragments):
    """Exit status 2, one `s2s: error:` message on stderr, no traceback, nothing on stdout."""
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stderr.startswith("s2s: error: "), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    for fragment in fragments:
        assert fragment in out.stderr, (fragment, out.stderr)


def test_check_scalar_and_list_values_agree(s2s_process):
    s2s_cli = s2s_process
    out = s2s_cli("check", "funcs.py:mixed", "--at", "x=1.5", "--at", "y=[1, 2, 3]")
    assert out.returncode == 0, out.stderr
    table = out.stdout
    assert table.startswith("dmixed/d{x} at x=1.5, y=[1., 2., 3.]")
    for method in ("s2s reverse", "s2s forward", "SymPy", "central differences", "complex step", "Richardson"):
        assert f"  {method} " in table, method
    assert table.splitlines()[2].split()[:2] == ["method", "value"]  # one parameter: no wrt column
    assert "n/a" not in table
    assert "s2s agrees with the most accurate other method" in table
    assert "DISAGREES" not in table


def test_check_two_parameters_gives_one_line_per_parameter(s2s_cli):
    out = s2s_cli("check", "funcs.py:mixed", "--at", "x=0.5", "--at", "y=[0.5, -1.0]", "--wrt", "x,y", "--tol", "1e-5")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("dmixed/d{x, y} at ")
    assert lines[2].split()[:3] == ["method", "wrt", "value"]
    for method in ("s2s reverse", "s2s forward", "SymPy", "central differences", "complex step", "Richardson"):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"  {method} "))
        assert lines[at][2:].split()[len(method.split())] == "x"
        assert lines[at + 1].split()[0] == "y" and lines[at + 1].startswith(" " * 20)
    assert "relative tolerance 1e-05" in out.stdout


def test_wrong_custom_rule_disagrees(s2s_process):
    s2s_cli = s2s_process
    out = s2s_cli("check", "funcs.py:wrong", "--at", "x=1.5")
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    table = out.stdout
    assert "s2s DISAGREES with the most accurate other method" in table

    def value(method):
        line = next(line for line in table.splitlines() if line.strip().startswith(method + " "))
        return float(line.strip()[len(method):].split()[0])

    assert value("s2s reverse") == pytest.approx(5.5)  # 3x + 1 at 1.5: the wrong rule's answer
    assert value("central differences") == pytest.approx(4.0, rel=1e-6)  # 2x + 1
    assert value("SymPy") == pytest.approx(4.0)  # SymPy differentiates mysq's source, not the rule
    assert "x: s2s reverse differs from" in table


def test_graph_prints_dot(s2s_cli):
    out = s2s_cli("graph", "funcs.py:mixed", "--wrt", "y")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('digraph "mixed" {')
    assert out.stdout.rstrip().endswith("}") and "->" in out.stdout
    assert "w.r.t. y" in out.stdout


def test_show_stages_lists_titles(s2s_cli):
    out = s2s_cli("show", "funcs.py:mixed", "--stages")
    assert out.returncode == 0, out.stderr
    titles = [line[len("# ---- "):].rstrip(" -").removesuffix(" (no change)")
              for line in out.stdout.splitlines() if line.startswith("# ---- ")]
    assert titles == ["source"] + pipeline.passes("reverse")


@pytest.mark.parametrize("args, fragments", [
    (("check", "nope.py:f", "--at", "x=1"), ("no such file: nope.py",)),
    (("check", "funcs.py", "--at", "x=1"), ("expected FILE.py:FUNC",)),
    (("check", "funcs.py:nope", "--at", "x=1"), ("funcs.py has no function 'nope'", "it defines", "mixed", "wrong", "tricky")),
    (("check", "funcs.py:mixed", "--at", "x", "--at", "y=1"), ("bad --at 'x'", "expected NAME=VALUE")),
    (("check", "funcs.py:mixed", "--at", "x=abc", "--at", "y=1"), ("bad --at 'x=abc'", "not a number")),
    (("check", "funcs.py:mixed", "--at", "x=[[1, 2], [3]]", "--at", "y=1"), ("not a rectangular list",)),
    (("check", "funcs.py:mixed", "--at", "x=1", "--at", "y=2", "--at", "z=3"), ("no parameter 'z'", "its parameters: x, y")),
    (("check", "funcs.py:mixed", "--at", "x=1"), ("missing --at y=",)),
    (("check", "funcs.py:mixed", "--at", "x=1", "--at", "y=2", "--wrt", "q"), ("wrt='q' names no parameter",)),
    (("check", "broken.py:f", "--at", "x=1"), ("cannot import broken.py", "syntax error at line 3")),
    (("check", "raises.py:f", "--at", "x=1"), ("cannot import raises.py", "RuntimeError: boom at import")),
    (("check", "funcs.py:vector", "--at", "x=[1, 2]"), ("scalar output",)),
    (("graph", "funcs.py:nope"), ("no function 'nope'",)),
    (("check", "funcs.py:scaled", "--at", "x=1", "--at", "c=2"),
     ("no parameter 'c'", "its parameters: x, a=1.0, b=10.0")),
    (("check", "funcs.py:scaled", "--at", "b=2"), ("missing --at x=", "its parameters: x, a=1.0, b=10.0")),
    (("check", "funcs.py:needs_k", "--at", "x=1"), ("missing --at k=", "its parameters: x, *, k")),
    (("check", "funcs.py:keywords", "--at", "x=1", "--at", "kk=1"), ("no parameter 'kk'", "*, k=3.0, mode='sin'")),
    (("check", "funcs.py:starred", "--at", "x=1", "--at", "rest=2"), ("*rest collects extra arguments",)),
    (("check", "funcs.py:scaled", "--at", "x=1", "--at", "x=2"), ("x is given twice",)),
    (("check", "funcs.py:scaled", "--at", "x=1e400"), ("must be finite",)),
    (("check", "funcs.py:scaled", "--at", "x=(1,"), ("not a number",)),
    (("check", "funcs.py:keywords", "--at", "x=1", "--wrt", "mode"), ("with respect to mode", "'sin' is not a number")),
    (("check", "funcs.py:returns_none", "--at", "x=1"), ("returns NoneType None, not a number",)),
    (("check", "funcs.py:returns_complex", "--at", "x=1"), ("returns a complex value",)),
    (("check", "funcs.py:exits", "--at", "x=1"), ("exits raises SystemExit at this point",)),
    (("check", "funcs.py:dies", "--at", "x=1"), ("dies did not return at this point", "exited (status 4)")),
    (("check", "funcs.py:hangs", "--at", "x=1", "--timeout", "1"), ("hangs did not return within 1.0 s",)),
], ids=["missing-file", "no-colon", "missing-function", "at-without-equals", "at-not-a-number", "at-ragged",
        "at-unknown-parameter", "at-missing", "bad-wrt", "syntax-error", "import-error", "vector-output", "graph-missing",
        "unknown-with-defaults", "missing-required", "missing-keyword-only", "unknown-keyword", "at-star-args",
        "at-twice", "at-infinite", "at-syntax", "wrt-not-a-number", "returns-none", "returns-complex", "system-exit",
        "worker-dies", "hangs"])
def test_bad_input_exits_2_without_traceback(s2s_cli, args, fragments):
    assert_clean_error(s2s_cli(*args), *fragments)


@pytest.mark.parametrize("args", [
    ("check", "funcs.py:mixed", "--at", "x=1"),
    ("check", "funcs.py:dies", "--at", "x=1"),
    ("show", "funcs.py:tricky"),
    ("graph", "funcs.py:mixed", "--wrt", "y"),
], ids=["at-missing", "worker-dies", "cannot-differentiate", "graph"])
def test_forked_commands_give_what_a_fresh_process_gives(s2s_cli, s2s_process, args):
    # the fork server (s2s_cli) stands for `python -m s2s` in the tests above: the same exit status and output
    forked, fresh = s2s_cli(*args), s2s_process(*args)
    assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)


@pytest.mark.parametrize("command", ["check", "show", "graph"])
def test_cannot_differentiate_points_at_the_users_line(s2s_cli, command, workdir):
    extra = ["--at", "x=1.0"] if command == "check" else []
    out = s2s_cli(command, "funcs.py:tricky", *extra)
    assert_clean_error(out, "s2s cannot differentiate try/except", f'funcs.py", line {TRY_LINE}', "try:", "Hint:")
    assert str(workdir / "funcs.py") in out.stderr


def test_function_raising_at_the_point_is_bad_input(s2s_cli):
    out = s2s_cli("check", "funcs.py:dividing", "--at", "x=1.5")
    assert_clean_error(out, "ZeroDivisionError")


@pytest.mark.parametrize("value", ["-1", "abc", "nan"])
def test_bad_timeout_is_a_usage_error(s2s_cli, value):
    out = s2s_cli("check", "funcs.py:scaled", "--at", "x=1", "--timeout", value)
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stdout == ""
    assert "argument --timeout" in out.stderr


def method_values(table):
    """{method: first value} from a printed table (rows that gave no value are left out)."""
    values = {}
    for line in table.splitlines():
        for method in ("s2s reverse", "s2s forward", "SymPy", "central differences", "complex step", "Richardson"):
            if line.startswith(f"  {method} "):
                word = line[2 + len(method):].split()[0]
                if word not in ("gave", "n/a:"):
                    values[method] = float(word)
    return values


def test_at_binds_by_name_keeping_the_defaults(s2s_cli):
    # scaled(x, a=1.0, b=10.0) = a x + b x^2 at x=1, b=0 (a keeps its default 1): the derivative is a + 2 b x = 1;
    # binding by position put 0 into a and gave 20
    out = s2s_cli("check", "funcs.py:scaled", "--at", "x=1", "--at", "b=0")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("dscaled/d{x} at x=1, a=1 (default), b=0\n")
    values = method_values(out.stdout)
    assert len(values) == 6 and all(v == pytest.approx(1.0, abs=1e-6) for v in values.values()), values


def test_keyword_only_parameters(s2s_cli):
    import math
    # keywords(x, a=2.0, *, k=3.0, mode="sin") = a sin x + k x^2
    out = s2s_cli("check", "funcs.py:keywords", "--at", "x=1", "--at", "k=0.5")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("dkeywords/d{x} at x=1, a=2 (default), k=0.5, mode='sin' (default)\n")
    values = method_values(out.stdout)
    assert len(values) == 6 and all(v == pytest.approx(2 * math.cos(1.0) + 1.0, rel=1e-8) for v in values.values())
    out = s2s_cli("check", "funcs.py:needs_k", "--at", "k=2", "--at", "x=3", "--wrt", "x,k")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  s2s reverse "))
    assert lines[at].split()[2:4] == ["x", "12"] and lines[at + 1].split()[:2] == ["k", "9"]  # 2 k x and x^2


def scaled(x, a=1.0, b=10.0):
    return a * x + b * x * x


def keywords(x, a=2.0, *, k=3.0, mode="sin"):
    return np.sin(x) * a + k * x * x


def needs_k(x, *, k):
    return k * x * x


def positional_only(x, /, a=2.0):
    return a * x * x


def starred(x, *rest, **options):
    return x * x


@pytest.mark.parametrize("func, point, args, kwargs, defaults", [
    (scaled, {"x": 1, "b": 0}, [1, 1.0, 0], {}, ["a"]),
    (scaled, {"b": 0, "a": 3, "x": 1}, [1, 3, 0], {}, []),
    (scaled, {"x": 2}, [2, 1.0, 10.0], {}, ["a", "b"]),
    (keywords, {"x": 1, "k": 0.5}, [1, 2.0], {"k": 0.5, "mode": "sin"}, ["a", "mode"]),
    (keywords, {"x": 1}, [1, 2.0], {"k": 3.0, "mode": "sin"}, ["a", "k", "mode"]),
    (needs_k, {"k": 2, "x": 3}, [3], {"k": 2}, []),
    (positional_only, {"x": 1}, [1, 2.0], {}, ["a"]),
    (starred, {"x": 1, "scale": 2}, [1], {"scale": 2}, []),  # **options takes names that are no parameter
], ids=["issue-example", "all-given-out-of-order", "only-required", "keyword-only-given", "keyword-only-default",
        "keyword-only-required", "positional-only", "var-keyword"])
def test_bind_by_name(func, point, args, kwargs, defaults):
    from s2s import check
    got_args, got_kwargs, used = check.bind(func, point)
    assert got_args == args and got_kwargs == kwargs
    assert [name for name, _, default in used if default] == defaults
    parameters = inspect.signature(func).parameters
    for name, value, default in used:
        assert value == (parameters[name].default if default else point[name])
    assert func(*got_args, **got_kwargs) is not None


@pytest.mark.parametrize("func, point, fragments", [
    (scaled, {"x": 1, "c": 2}, ["no parameter 'c'", "its parameters: x, a=1.0, b=10.0"]),
    (scaled, {"b": 1}, ["missing --at x=...", "its parameters: x, a=1.0, b=10.0"]),
    (needs_k, {"x": 1}, ["missing --at k=...", "its parameters: x, *, k"]),
    (keywords, {}, ["missing --at x=..."]),
    (starred, {"x": 1, "rest": 2}, ["*rest collects extra arguments"]),
    (starred, {"x": 1, "options": 2}, ["**options collects extra arguments"]),
], ids=["unknown", "missing-positional", "missing-keyword-only", "nothing-given", "var-positional", "var-keyword"])
def test_bind_refuses_with_the_parameter_list(func, point, fragments):
    from s2s import check
    with pytest.raises(check.CheckError) as info:
        check.bind(func, point, option="--at ")
    for fragment in fragments:
        assert fragment in str(info.value)


def slow_loop(x):
    for _ in range(100):
        x = x * 0.99 + np.sin(x)
    return x


def _children():
    """Process ids whose parent is this process (zombies included)."""
    import os
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                pids.append(int(entry))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_compare_streams_the_table_and_leaves_no_worker_behind():
    import multiprocessing

    from s2s import check
    lines = []
    before = _children()
    report = check.compare(slow_loop, {"x": 0.5}, timeout=1.0, echo=lines.append)
    assert lines == report.table().splitlines()
    sympy_row = next(r for r in report.rows if r.method == "SymPy")
    assert sympy_row.outcome == "timeout" and sympy_row.values is None and "gave up after 1.0 s" in sympy_row.note
    assert report.status == "agrees" and report.agrees and report.judge == "Richardson"
    assert multiprocessing.active_children() == [] and _children() == before  # every worker killed and reaped


def test_slow_sympy_gives_up_and_the_others_agree(s2s_process):
    s2s_cli = s2s_process
    # a 100-step loop: SymPy's expression takes minutes; with --timeout 1 its worker is killed after a second
    start = time.perf_counter()
    out = s2s_cli("check", "funcs.py:loop", "--at", "x=0.5", "--timeout", "1")
    took = time.perf_counter() - start
    assert out.returncode == 0, out.stdout + out.stderr
    assert took < 20, took  # the limit, the other methods, and Python's start on a loaded machine;
    # SymPy alone would take minutes
    rows = {line.split("  ")[1]: line for line in out.stdout.splitlines() if line.startswith("  ") and "  " in line[2:]}
    assert rows["SymPy"].split(None, 1)[1] == "gave up after 1.0 s"
    values = method_values(out.stdout)
    assert set(values) == {"s2s reverse", "s2s forward", "central differences", "complex step", "Richardson"}
    assert all(v == pytest.approx(values["s2s reverse"], rel=1e-8) for v in values.values()), values
    assert values["s2s reverse"] == pytest.approx(0.8888, abs=1e-3)
    assert "SymPy gave up after the time limit of 1.0 s per method" in out.stdout
    assert "s2s agrees with the most accurate other method, Richardson" in out.stdout


def test_rows_are_printed_as_each_method_finishes(workdir):
    # stdout is a pipe (block-buffered unless flushed): each row must arrive when its method ends, in order
    proc = subprocess.Popen([sys.executable, "-m", "s2s", "check", "funcs.py:loop", "--at", "x=0.5", "--timeout", "1.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=workdir)
    start, arrivals = time.perf_counter(), []
    try:
        for line in proc.stdout:
            arrivals.append((time.perf_counter() - start, line.rstrip("\n")))
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read()
    order = ["s2s reverse", "s2s forward", "SymPy", "central differences", "complex step", "Richardson"]
    seen = [next(m for m in order if text.startswith(f"  {m} ")) for _, text in arrivals
            if any(text.startswith(f"  {m} ") for m in order)]
    assert seen == order
    when = {next(m for m in order if text.startswith(f"  {m} ")): t for t, text in arrivals
            if any(text.startswith(f"  {m} ") for m in order)}
    # the s2s rows were out well before SymPy's worker ran out of time, and SymPy's row before the verdict
    assert when["SymPy"] - when["s2s forward"] >= 1.2, arrivals
    assert arrivals[-1][0] >= when["SymPy"] and arrivals[-1][1].startswith("s2s agrees")


def test_nothing_to_compare_with_exits_3(s2s_process):
    s2s_cli = s2s_process
    # stop_gradient hides part of the derivative from finite differences, so only SymPy can judge; it gives up
    out = s2s_cli("check", "funcs.py:detached_loop", "--at", "x=0.5", "--timeout", "1")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "SymPy gave no value, and finite differences cannot see stop_gradient" in out.stdout
    assert out.stdout.rstrip().endswith("s2s's derivative is NOT CHECKED.")
