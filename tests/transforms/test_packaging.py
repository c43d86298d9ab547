"""The wheel installs the passes as `s2s.transforms`, and nothing named `transforms` at top level.

Builds the wheel from this checkout without network (`pip wheel --no-deps --no-build-isolation`,
with the setuptools of the running environment) and installs it into a fresh virtual environment
that sees this environment's NumPy, SymPy and astor (`--system-site-packages` is not enough for a
venv made from a venv, so a .pth file points at this environment's site-packages).
"""

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.slow


def _run(args, **kw):
    done = subprocess.run(args, capture_output=True, text=True, timeout=240, **kw)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("setuptools")
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ, PIP_NO_INDEX="1")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), ROOT],
         env=env, cwd=str(out))
    (path,) = [p for p in out.iterdir() if p.suffix == ".whl"]
    return path


def test_wheel_holds_s2s_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"s2s"}, tops
    assert "s2s/transforms/lower.py" in names and "s2s/py.typed" in names
    # every module of the checkout is in the wheel (a new subpackage is picked up by setup.py)
    for folder, prefix in (("s2s", "s2s"), ("transforms", "s2s/transforms")):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, folder)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, os.path.join(ROOT, folder))
            for f in filenames:
                if f.endswith(".py"):
                    inside = os.path.normpath(os.path.join(prefix, rel, f)).replace(os.sep, "/")
                    assert inside in names, inside


def test_installed_wheel_imports_s2s_transforms_not_transforms(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # the dependencies come from this environment, after the fresh venv's own site-packages
    with open(os.path.join(site, "zz_outer_env.pth"), "w") as fh:
        fh.write(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)])
    probe = ("import importlib.util, s2s, s2s.transforms.lower, s2s.api\n"
             "print(s2s.__file__)\n"
             "print(importlib.util.find_spec('transforms'))\n")
    done = _run([str(python), "-I", "-c", probe], cwd=str(tmp_path))
    first, second = done.stdout.split("\n")[:2]
    assert os.path.realpath(first).startswith(os.path.realpath(site)), first
    assert second == "None", second
    assert not os.path.exists(os.path.join(site, "transforms"))
