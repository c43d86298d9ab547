"""The README's examples run as written.

Every ```python block of README.md is saved to a file of its own and run with this Python (s2s reads a
function's source, so the examples must work from a file). Blocks of output (```text) and shell commands
(```bash) are not run. The generated code the README prints after its first example must be what s2s
prints for it.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.S | re.M)


PYTHON_BLOCKS = _blocks("python")


def _run(code, tmp_path, name):
    path = tmp_path / name
    path.write_text(code)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)


def test_readme_has_python_examples_and_stays_short():
    assert len(PYTHON_BLOCKS) >= 4
    assert len(README.read_text().splitlines()) <= 200


_RUNS = {}


def _run_block(index, tmp_path_factory):
    """Block `index` run once for this module (the first block's run serves both tests of it)."""
    if index not in _RUNS:
        _RUNS[index] = _run(PYTHON_BLOCKS[index], tmp_path_factory.mktemp("readme"), f"readme_block_{index}.py")
    return _RUNS[index]


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_readme_python_block_runs(index, tmp_path_factory):
    code = PYTHON_BLOCKS[index]
    out = _run_block(index, tmp_path_factory)
    assert out.returncode == 0, f"README python block {index} failed:\n{code}\n--- stderr:\n{out.stderr}"


def test_first_example_prints_the_code_the_readme_shows(tmp_path_factory):
    out = _run_block(0, tmp_path_factory)
    assert out.returncode == 0, out.stderr
    shown = _blocks("text")[0].strip()
    assert shown in out.stdout, f"README.md shows other code than s2s prints now; update it:\n{out.stdout}"


def test_readme_links_exist():
    for target in re.findall(r"\]\(([^)#]+)\)", README.read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), target
