"""The command line, run as a subprocess."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.py"


def run(*args):
    return subprocess.run([sys.executable, "-m", "s2s", *args], capture_output=True, text=True, cwd=ROOT)


def test_version_and_help():
    assert "s2s" in run("--version").stdout
    out = run("--help")
    assert out.returncode == 0 and "show" in out.stdout


def test_show_prints_generated_source():
    out = run("show", f"{DEMO}:predict", "--wrt", "W,b")
    assert out.returncode == 0, out.stderr
    assert "\ndef dpredict_dW_b(" in out.stdout and "import s2s.runtime as s2s" in out.stdout
    assert "W_bar" in out.stdout and "b_bar" in out.stdout


def test_show_stages():
    out = run("show", f"{DEMO}:predict", "--stages")
    assert out.returncode == 0, out.stderr
    for stage in ("desugar", "lower", "reverse", "simplify", "dce", "derivative"):
        assert stage in out.stdout


def test_show_stages_for_shapes(tmp_path):
    # with --shape, the passes of s2s.grad's code for those shapes: the loop's first trip peeled
    src = tmp_path / "horner.py"
    src.write_text("import numpy as np\n\n\ndef horner(c, x):\n    y = 0.0\n    for k in range(c.shape[0]):\n"
                   "        y = y * x + c[k]\n    return np.sum(y ** 2)\n")
    out = run("show", f"{src}:horner", "--stages", "--shape", "c=6", "--shape", "x=4")
    assert out.returncode == 0, out.stderr
    unrolled = out.stdout.split("-- unroll ")[1].split("# ----")[0]
    assert "range(1, " in unrolled and "specialize" in out.stdout


def test_missing_file_and_function(tmp_path):
    out = run("show", str(tmp_path / "nope.py") + ":f")
    assert out.returncode != 0 and "no such file" in out.stderr
    out = run("show", f"{DEMO}:nope")
    assert out.returncode != 0 and "no function" in out.stderr


def test_unsupported_function_points_at_line(tmp_path):
    src = tmp_path / "bad.py"
    src.write_text("def f(x):\n    try:\n        y = x\n    except Exception:\n        y = 0\n    return y\n")
    out = run("show", f"{src}:f")
    assert out.returncode == 2
    assert "line 2" in out.stderr and "try" in out.stderr


def test_show_forward_mode():
    out = run("show", f"{DEMO}:predict", "--mode", "forward")
    assert out.returncode == 0, out.stderr
    assert "\ndef predict_jvp(" in out.stdout and "W_dot" in out.stdout


def test_terminal_colouring_without_pygments_keeps_the_text():
    """The tokenizer-based colouring adds ANSI codes but no other characters."""
    import re

    from s2s import cli
    text = "def f(x, *, y_bar=1.0):\n    # a comment\n    return 'a' + 2 * x_bar\n"
    coloured = cli._colour_tokens(text)
    assert "\033[" in coloured
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == text


def test_a_shape_with_an_empty_size_is_refused():
    """(`--shape W=3x` was read as 3: an empty size between the x's is a typing slip, not nothing)"""
    for bad in ("3x", "x4", "3xx4", ""):
        out = run("show", f"{DEMO}:predict", "--shape", f"W={bad}")
        assert out.returncode != 0 and "a shape is sizes joined by x" in out.stderr, (bad, out.stderr)
    from s2s.cli import _shape_sizes
    assert _shape_sizes("(3, 4,)") == ["3", "4"] and _shape_sizes("()") == [] and _shape_sizes("(3,)") == ["3"]
