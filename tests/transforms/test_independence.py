"""`s2s.transforms` depends on nothing else in s2s: each pass imports alone.

Every module under transforms/ is imported in a fresh interpreter by its installed name
(`import s2s.transforms.lower`: s2s's own __init__ loads nothing of the API until a public name is used;
it takes the snapshot of NumPy and math, s2s/patches.py), and afterwards no module of s2s outside
s2s.transforms and s2s.patches is loaded. A static check reads the imports of every module too.
"""

import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRANSFORMS = os.path.join(ROOT, "transforms")
MODULES = sorted(f[:-3] for f in os.listdir(TRANSFORMS) if f.endswith(".py"))

PROBE = """
import importlib, sys
importlib.import_module({name!r})
print(sorted(m for m in sys.modules if m.startswith("s2s.") and not m.startswith("s2s.transforms")
             and m != "s2s.patches"))
"""


@pytest.mark.parametrize("module", MODULES)
def test_each_pass_imports_alone(module):
    name = "s2s.transforms" if module == "__init__" else f"s2s.transforms.{module}"
    done = subprocess.run([sys.executable, "-c", PROBE.format(name=name)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.parametrize("module", MODULES)
def test_no_import_from_the_rest_of_s2s(module):
    tree = ast.parse(open(os.path.join(TRANSFORMS, module + ".py")).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                continue  # relative: another module of transforms
            names = [node.module or ""]
        else:
            continue
        for n in names:
            assert n.split(".")[0] not in ("s2s", "transforms"), f"{module}.py line {node.lineno} imports {n}"


RUN_ALONE = """
import ast, importlib.util, sys, types
spec = importlib.util.find_spec("s2s")
stand_in = types.ModuleType("s2s")
stand_in.__path__ = list(spec.submodule_search_locations)
sys.modules["s2s"] = stand_in
from s2s.transforms import dce, exits, ownership, simplify
from s2s.transforms.names import NameAllocator, names_in
source = "def f(x):\\n    for i in range(3):\\n        if x > 1:\\n            break\\n"
tree = ast.parse(source + "        x = x * 2 ** (2 - 1)\\n    return x").body[0]
exits.structure_exits(tree, NameAllocator(names_in(tree)))
simplify.simplify(tree)
dce.eliminate_dead_code(tree, set())
ownership.analyse(tree, lambda name: None)
print(ast.unparse(tree))
print(sorted(m for m in sys.modules if m.startswith("s2s.") and not m.startswith("s2s.transforms")))
"""


def test_passes_that_need_no_context_run_without_the_rest_of_s2s():
    done = subprocess.run([sys.executable, "-c", RUN_ALONE], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    *code, loaded = done.stdout.strip().splitlines()
    assert loaded == "[]"
    assert "x = x * 2\n" in "\n".join(code) + "\n" and "stop = True" in "\n".join(code)
