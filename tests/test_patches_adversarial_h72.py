"""s2s/patches.py against the orders people import and patch in: a replacement in effect while s2s's own
modules load (their tables would keep it), `import s2s` before `import numpy` (the snapshot would take it),
and the watched modules still pickled by reference (cloudpickle, which dask and joblib use)."""

import math
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2s

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(tmp_path, code: str) -> str:
    """Run `code` in a fresh interpreter (s2s's modules not loaded yet), from a file (s2s reads the source)."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _refused(module: str) -> str:
    """A script's lines that print `refused: True` where grad of `module.sin` is refused naming `module.cos`."""
    return f"""
    try:
        s2s.grad(lambda x: {module}.sin(x))(1.0)
        print("not refused")
    except s2s.NoDerivativeRuleError as e:
        print("refused:", "{module}.cos is replaced" in str(e))
"""


_SWAP_AND_RESTORE = """
    genuine = np.cos
    np.cos = np.sin""" + _refused("np") + """
    np.cos = genuine

    def f(x):
        return np.sin(x)

    def h(x):
        return np.cos(x)

    print(abs(s2s.grad(f)(1.0) - np.cos(1.0)) < 1e-12, abs(s2s.grad(h)(1.0) + np.sin(1.0)) < 1e-12)
"""


@pytest.mark.parametrize("imports", ["import numpy as np\nimport s2s", "import s2s\nimport numpy as np"])
def test_a_replacement_while_s2s_loads_is_refused_and_leaves_no_trace(imports, tmp_path):
    """numpy then s2s: the rules loaded while np.cos was np.sin keyed the rule of cos to np.sin, so after the
    restore grad(sin) was -sin(1) and grad(cos) had no rule. s2s then numpy: the snapshot was taken as the rules
    loaded, with np.cos = np.sin in it: grad(sin) gave -sin(1) while it lasted and every derivative was refused
    after the restore."""
    out = _run(tmp_path, imports + "\n" + textwrap.dedent(_SWAP_AND_RESTORE))
    assert out.split() == ["refused:", "True", "True", "True"], out


def test_math_is_imported_and_watched_by_import_s2s(tmp_path):
    out = _run(tmp_path, textwrap.dedent("""
        import s2s
        import math
        math.cos = math.sin""") + textwrap.dedent(_refused("math")))
    assert out.split() == ["refused:", "True"], out


def test_the_watched_modules_pickle_by_reference():
    """cloudpickle pickles a module by reference through a table keyed by `types.ModuleType` itself: a function
    of __main__ that reads `np` raised "cannot pickle 'module' object" once s2s watched NumPy."""
    s2s.grad(lambda x: np.sin(x))(0.5)
    assert pickle.loads(pickle.dumps(np)) is np  # (a plain module, math, pickles by reference in cloudpickle only)
    cloudpickle = pytest.importorskip("cloudpickle")
    fn = pickle.loads(cloudpickle.dumps(lambda x: np.sin(x) + math.cos(x) + np.linalg.norm([x])))
    assert fn(0.5) == pytest.approx(np.sin(0.5) + math.cos(0.5) + 0.5)
