"""A test of the tests: break a derivative rule on purpose and check that the test suite notices.

The repository's `s2s/`, `transforms/` (as `s2s/transforms/`, where it installs) and `tests/` are
copied into a temporary directory; each
mutant changes one rule there by textual replacement (asserting that the text was found), and the
relevant test file runs from the copy in a subprocess, which must fail. The unmutated copy must
pass the same selections, so a failure is the mutant's doing. The copy's conftest records which
`s2s` each run imported, so the runs provably test the copy, not the installed package.
"""

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COPIED = {"s2s": "s2s", "transforms": os.path.join("s2s", "transforms"), "tests": "tests"}  # repository path: path in the copy
MARKER_ENV = "S2S_MUTATION_IMPORTED"
CONFTEST_PROBE = f"""

# added by test_mutation.py in the copy only: record which s2s this run imports
import os as _os  # noqa: E402

import s2s as _s2s  # noqa: E402

if _os.environ.get("{MARKER_ENV}"):
    with open(_os.environ["{MARKER_ENV}"], "w") as _fh:
        _fh.write(_s2s.__file__)
"""

# (name, file, original text, mutated text, pytest arguments that must catch it)
MUTANTS = [
    ("np.sin sign flipped", "s2s/rules/numpy_elementwise.py",
     'defrule("np.sin(x)", x="g * np.cos(x)"', 'defrule("np.sin(x)", x="-g * np.cos(x)"',
     ["tests/test_rules_numpy.py", "-k", "sin"]),
    ("math.sin differentiated as sin", "s2s/rules/math_rules.py",
     'defrule("math.sin(x)", x="g * math.cos(x)"', 'defrule("math.sin(x)", x="g * math.sin(x)"',
     ["tests/test_rules_math.py", "-k", "sin"]),
    ("x ** y loses its factor y (x ** 2 loses its 2)", "s2s/rules/__init__.py",
     'simple = make(False, slope=f"{y} * {x} ** ({y} - 1)")', 'simple = make(False, slope=f"{x} ** ({y} - 1)")',
     ["tests/test_rules_operators.py", "-k", "pow"]),
    ("a power's safe slope loses its factor y (power_slope(x, y) is power_term(y, x, y - 1))",
     "s2s/runtime/elementwise.py",
     "return np.where(zero, 0.0, c * np.power(x, np.where(zero, 1, y)))",
     "return np.where(zero, 0.0, np.power(x, np.where(zero, 1, y)))",
     ["tests/test_rules_operators.py", "-k", "pow"]),
    ("matmul's adjoint without the transpose", "s2s/runtime/linalg.py",
     "return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)", "return unbroadcast(np.matmul(g, b), a)",
     ["tests/test_rules_linalg.py", "-k", "matmul"]),
    ("inv's adjoint without its transposes", "s2s/rules/linalg.py",
     'a="-np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)"', 'a="-ans @ g @ ans"',
     ["tests/test_rules_linalg.py", "-k", "inv"]),
    ("adjoints subtracted instead of accumulated", "transforms/reverse.py",
     "value = ast.BinOp(left=load(bar), op=ast.Add(), right=contribution)",
     "value = ast.BinOp(left=load(bar), op=ast.Sub(), right=contribution)",
     ["tests/test_seed_examples.py"]),
]


def _copy_tree(dest):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")
    for name, target in COPIED.items():
        shutil.copytree(os.path.join(ROOT, name), os.path.join(dest, target), ignore=ignore)
    with open(os.path.join(dest, "tests", "conftest.py"), "a") as fh:
        fh.write(CONFTEST_PROBE)


def _mutate(dest, path, original, mutated):
    top, _, rest = path.partition("/")
    full = os.path.join(dest, COPIED[top], rest)
    with open(full) as fh:
        text = fh.read()
    assert text.count(original) == 1, f"{path}: the rule text {original!r} changed; update this mutant"
    with open(full, "w") as fh:
        fh.write(text.replace(original, mutated))


def _pytest(dest, args):
    """Run pytest from the copy at `dest`; (exit code, output, file of the s2s it imported)."""
    marker = os.path.join(dest, "imported.txt")
    env = dict(os.environ, PYTHONPATH=dest, PYTHONDONTWRITEBYTECODE="1", **{MARKER_ENV: marker})
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args],
                          cwd=dest, env=env, capture_output=True, text=True, timeout=300)
    imported = open(marker).read() if os.path.exists(marker) else None
    return done.returncode, done.stdout + done.stderr, imported


def _baseline_args():
    """One pytest run selecting (at least) every test some mutant's run selects."""
    files, keywords = [], []
    for *_, args in MUTANTS:
        files.append(args[0])
        # -k also matches module names: a run without -k is selected by its module's name
        keywords.append(args[args.index("-k") + 1] if "-k" in args else os.path.basename(args[0])[:-3])
    return sorted(set(files)) + ["-k", " or ".join(sorted(set(keywords)))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every mutant's run and the unmutated baselines, in parallel: {key: (code, output, imported, dest)}."""
    jobs = {}
    base = str(tmp_path_factory.mktemp("unmutated"))
    _copy_tree(base)
    jobs["baseline"] = (base, _baseline_args())
    for name, path, original, mutated, args in MUTANTS:
        dest = str(tmp_path_factory.mktemp("mutant"))
        _copy_tree(dest)
        _mutate(dest, path, original, mutated)
        jobs[name] = (dest, args)
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        futures = {name: pool.submit(_pytest, dest, args) for name, (dest, args) in jobs.items()}
        return {name: (*future.result(), jobs[name][0]) for name, future in futures.items()}


def test_the_copy_is_what_gets_imported(tmp_path):
    _copy_tree(str(tmp_path))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import s2s, s2s.transforms.reverse as r; print(s2s.__file__); print(r.__file__)"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for line in done.stdout.split():
        assert os.path.realpath(line).startswith(os.path.realpath(str(tmp_path))), done.stdout


def test_the_unmutated_copy_passes(runs):
    """Every mutant's selection passes on the unmutated copy (one run), so each failure is the mutant's."""
    code, output, imported, dest = runs["baseline"]
    assert code == 0, output[-4000:]
    assert "passed" in output
    assert imported and os.path.realpath(imported).startswith(os.path.realpath(dest)), imported


@pytest.mark.parametrize("name", [m[0] for m in MUTANTS])
def test_the_tests_catch_the_mutant(runs, name):
    code, output, imported, dest = runs[name]
    assert imported and os.path.realpath(imported).startswith(os.path.realpath(dest)), imported
    assert code == 1, f"the tests did not fail on the mutant {name!r} (exit {code}):\n{output[-4000:]}"
    assert "failed" in output
