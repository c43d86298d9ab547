"""`s2s check`, `s2s graph` and the command line's error paths, run as subprocesses."""

import subprocess
import sys
import textwrap

import pytest

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


@pytest.fixture(scope="module")
def s2s_cli(workdir):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "s2s", *args], capture_output=True, text=True, cwd=workdir, timeout=300)
    return run


def assert_clean_error(out, *fragments):
    """Exit status 2, one `s2s: error:` message on stderr, no traceback, nothing on stdout."""
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stderr.startswith("s2s: error: "), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    for fragment in fragments:
        assert fragment in out.stderr, (fragment, out.stderr)


def test_check_scalar_and_list_values_agree(s2s_cli):
    out = s2s_cli("check", "funcs.py:mixed", "--at", "x=1.5", "--at", "y=[1, 2, 3]")
    assert out.returncode == 0, out.stderr
    table = out.stdout
    assert table.startswith("dmixed/d{x} at x=1.5, y=[1., 2., 3.]")
    for method in ("s2s reverse", "s2s forward", "SymPy", "central differences", "complex step", "Richardson"):
        assert f"  {method} " in table, method
    assert table.count("with respect to") == 1 and "with respect to x:" in table
    assert "n/a" not in table
    assert "s2s agrees with the most accurate other method" in table
    assert "DISAGREES" not in table


def test_check_two_parameters_gives_two_sections(s2s_cli):
    out = s2s_cli("check", "funcs.py:mixed", "--at", "x=0.5", "--at", "y=[0.5, -1.0]", "--wrt", "x,y", "--tol", "1e-5")
    assert out.returncode == 0, out.stderr
    table = out.stdout
    assert table.startswith("dmixed/d{x, y} at ")
    assert "with respect to x:" in table and "with respect to y:" in table
    x_part, y_part = table.split("with respect to y:")
    assert x_part.count("s2s reverse") == 1 and y_part.count("s2s reverse") == 1
    assert "SymPy" in y_part and "central differences" in y_part
    assert "relative tolerance 1e-05" in table


def test_wrong_custom_rule_disagrees(s2s_cli):
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
    assert "x: s2s differs from" in table


def test_graph_prints_dot(s2s_cli):
    out = s2s_cli("graph", "funcs.py:mixed", "--wrt", "y")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('digraph "mixed" {')
    assert out.stdout.rstrip().endswith("}") and "->" in out.stdout
    assert "w.r.t. y" in out.stdout


def test_show_stages_lists_titles(s2s_cli):
    out = s2s_cli("show", "funcs.py:mixed", "--stages")
    assert out.returncode == 0, out.stderr
    titles = [line.split()[2] for line in out.stdout.splitlines() if line.startswith("# ---- ")]
    assert titles == ["source", "desugared", "lowered", "derivative"]


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
], ids=["missing-file", "no-colon", "missing-function", "at-without-equals", "at-not-a-number", "at-ragged",
        "at-unknown-parameter", "at-missing", "bad-wrt", "syntax-error", "import-error", "vector-output", "graph-missing"])
def test_bad_input_exits_2_without_traceback(s2s_cli, args, fragments):
    assert_clean_error(s2s_cli(*args), *fragments)


@pytest.mark.parametrize("command", ["check", "show", "graph"])
def test_cannot_differentiate_points_at_the_users_line(s2s_cli, command, workdir):
    extra = ["--at", "x=1.0"] if command == "check" else []
    out = s2s_cli(command, "funcs.py:tricky", *extra)
    assert_clean_error(out, "s2s cannot differentiate try/except", f'funcs.py", line {TRY_LINE}', "try:", "Hint:")
    assert str(workdir / "funcs.py") in out.stderr


def test_function_raising_at_the_point_is_bad_input(s2s_cli):
    out = s2s_cli("check", "funcs.py:dividing", "--at", "x=1.5")
    assert_clean_error(out, "ZeroDivisionError")
